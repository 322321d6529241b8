#!/usr/bin/env bash
# Bulk-record capture for the records estimate: curl POSTs a gzip'd CSV
# export (600 order rows) and GETs a gzip'd JSON array export (120 user
# objects) from a python http.server, in a throw-away netns lw-records-http
# (records_http.pcap); and GETs an HTML page of 12 staff profiles in HTML
# label layouts (html_labels.pcap: the flow from client port 41503); GETs
# a profile-edit page of pre-filled form controls and POSTs a PHP-style
# form (form_controls.pcap: client ports 41504 and 41505).
# Run as root:  sudo bash pcaps/make_records.sh        (make.sh calls it too)
# No traffic leaves the namespace's loopback. 127.0.0.1 (client) and
# 127.0.0.2 (server) are rewritten to 10.20.1.15 and 198.51.100.80.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PY=${PYTHON:-python3}
RS="$PY $HERE/tools/records_scenarios.py"
REWRITE_NAT='127.0.0.1/32:10.20.1.15/32,127.0.0.2/32:198.51.100.80/32'

BGPIDS=()
stop_bg() {
    local p
    for p in "${BGPIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${BGPIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    BGPIDS=()
}

start_bg() { # LOG WORD CMD...: start CMD in the background, wait for WORD in LOG
    local log=$1 word=$2 i
    shift 2
    "$@" >"$log" 2>&1 &
    BGPIDS+=("$!")
    for i in $(seq 200); do
        grep -q "$word" "$log" 2>/dev/null && return 0
        sleep 0.05
    done
    echo "make_records.sh: '$*' did not start:" >&2
    cat "$log" >&2
    return 1
}

scenario_http() { # DIR (holds the generated bodies)
    local d=$1
    start_bg "$d/srv.log" ready $RS http-server "$d"
    local c=(curl -sS -o /dev/null --interface 127.0.0.1 --resolve shop.example.cn:8080:127.0.0.2)
    "${c[@]}" --local-port 41501 -H 'Content-Type: text/csv; charset=utf-8' \
        -H 'Content-Encoding: gzip' --data-binary @"$d/orders.csv.gz" \
        http://shop.example.cn:8080/api/orders/import
    "${c[@]}" --local-port 41502 --compressed http://shop.example.cn:8080/export.json
    "${c[@]}" --local-port 41503 http://shop.example.cn:8080/profile.html
    "${c[@]}" --local-port 41504 http://shop.example.cn:8080/edit.html
    "${c[@]}" --local-port 41505 -H 'Content-Type: application/x-www-form-urlencoded' \
        --data-binary @"$d/save.form" http://shop.example.cn:8080/profile/save
}

if [[ ${1:-} == __inner ]]; then
    d=$2
    trap stop_bg EXIT
    ip link set lo up mtu 1500
    ethtool -K lo tso off gso off gro off >/dev/null 2>&1 || true
    start_bg "$d/tcpdump.log" "listening on" tcpdump -i lo -U --immediate-mode -s 0 -w "$d/raw.pcap" tcp
    td=${BGPIDS[0]}
    scenario_http "$d"
    sleep 1
    kill -INT "$td"
    wait "$td" || true
    exit 0
fi

[[ $(id -u) == 0 ]] || { echo "make_records.sh: run as root" >&2; exit 1; }
command -v tcprewrite >/dev/null || {
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tcpreplay
}

WORK=$(mktemp -d)
chmod 755 "$WORK"
NS=lw-records-http
cleanup() {
    ip netns del "$NS" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

$RS gen "$WORK"
ip netns del "$NS" 2>/dev/null || true
ip netns add "$NS"
ip netns exec "$NS" bash "$HERE/make_records.sh" __inner "$WORK"
ip netns del "$NS"
split_out() { # NAME FILTER: the flows of FILTER, rewritten, into NAME
    local out=$HERE/$1
    tcpdump -r "$WORK/raw.pcap" -w "$WORK/$1" "$2" 2>/dev/null
    tcprewrite --pnat="$REWRITE_NAT" --fixcsum -i "$WORK/$1" -o "$out"
    echo "== $out: $(tcpdump -nn -r "$out" 2>/dev/null | wc -l) packets, $(stat -c %s "$out") bytes"
}
split_out records_http.pcap 'not (port 41503 or port 41504 or port 41505)'
split_out html_labels.pcap 'port 41503'
split_out form_controls.pcap 'port 41504 or port 41505'
PY_V=$($PY -c 'import sys; print("python3 %d.%d.%d" % sys.version_info[:3])')
CURL_V=$(curl --version | head -1 | cut -d' ' -f1-2)
$RS truth "$WORK" records_http.pcap \
    "$CURL_V POST of a gzip'd CSV export (600 rows) and GET of a gzip'd JSON array export (120 objects) from a $PY_V http.server subclass; in netns lo (MTU 1500, offloads off), tcprewrite to 10.20.1.15 -> 198.51.100.80" \
    "$HERE/records_http.truth.json"
$RS truth "$WORK" html_labels.pcap \
    "$CURL_V GET of an HTML page of 12 staff profiles (th/td, dt/dd, colon-label, four-column and two-column td layouts, Bootstrap read-only form groups, Element description lists, with header-row and form decoys) from a $PY_V http.server subclass; in netns lo (MTU 1500, offloads off), tcprewrite to 10.20.1.15 -> 198.51.100.80" \
    "$HERE/html_labels.truth.json" labels.json
$RS truth "$WORK" form_controls.pcap \
    "$CURL_V GET of a profile-edit page of pre-filled form controls (Django, Rails and PHP styles, with decoys) and POST of a PHP-style urlencoded form (info[0][realname]=...) to a $PY_V http.server subclass; in netns lo (MTU 1500, offloads off), tcprewrite to 10.20.1.15 -> 198.51.100.80" \
    "$HERE/form_controls.truth.json" controls.json
