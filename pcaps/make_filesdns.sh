#!/usr/bin/env bash
# Captures of the filesdns work (run as root; pcaps/make.sh runs it too):
#   filesdns_files.pcap:   curl multipart uploads of a legacy .xls (xlwt), a
#                          .doc (LibreOffice headless from an .odt; left out
#                          when soffice is missing) and a GBK text file
#                          with no charset label, to a python http.server.
#   filesdns_dns_tcp.pcap: dig +tcp to dnsmasq, then a POST without a Host
#                          header to the address answered over TCP.
# Real software on loopback inside throw-away netns lw-filesdns-*; the
# addresses stay 127.0.0.x (DNS answers name them).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOOL=$HERE/tools/filesdns_scenarios.py
NETTLS=$HERE/tools/nettls.py
PY=${PYTHON:-python3}

BGPIDS=()
stop_bg() {
    local p
    for p in "${BGPIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${BGPIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    BGPIDS=()
}
start_bg() { # LOG WORD CMD...
    local log=$1 word=$2 i
    shift 2
    "$@" >"$log" 2>&1 &
    BGPIDS+=("$!")
    for i in $(seq 200); do
        grep -q "$word" "$log" 2>/dev/null && return 0
        sleep 0.05
    done
    echo "make_filesdns.sh: '$*' did not start:" >&2
    cat "$log" >&2
    return 1
}

scenario_files() {
    local d=$1 ports="{" sep=""
    start_bg "$d/srv.log" ready $PY "$TOOL" http-server 127.0.0.2 8080
    up() { # FILE TYPE PORT
        [[ -f $d/$1 ]] || return 0
        curl -sS -o /dev/null --interface 127.0.0.1 --local-port "$3" \
            -F "file=@$d/$1;type=$2" http://127.0.0.2:8080/upload
        ports+="$sep\"$1\": $3"
        sep=", "
    }
    up staff.xls application/vnd.ms-excel 42301
    up record.doc application/msword 42302
    up contacts.txt text/plain 42303
    echo "$ports}" >"$d/ports.json"
}

scenario_dns_tcp() {
    local d=$1
    start_bg "$d/dnsmasq.log" started dnsmasq --no-daemon --log-queries --port 53 \
        --listen-address 127.0.0.53 --bind-interfaces --no-resolv --no-hosts \
        --address=/tcp.example.cn/127.0.0.6
    start_bg "$d/h.log" ready $PY "$NETTLS" http-server 127.0.0.6 8086
    dig +tcp +tries=1 +time=2 -b 127.0.0.1 @127.0.0.53 tcp.example.cn A >"$d/dig.txt"
    grep -q 127.0.0.6 "$d/dig.txt" || { cat "$d/dig.txt" >&2; return 1; }
    $PY "$NETTLS" post-nohost 127.0.0.6 8086 42401 "$d/form.txt"
}

inner() { # SCENARIO DIR RAW
    local name=$1 d=$2 raw=$3
    trap 'stop_bg' EXIT
    ip link set lo up mtu 1500
    ip addr add 127.0.0.53/8 dev lo 2>/dev/null || true
    ethtool -K lo tso off gso off gro off >/dev/null 2>&1 || true
    start_bg "$d/tcpdump.log" "listening on" tcpdump -i lo -U --immediate-mode -s 0 -w "$raw" 'tcp or udp'
    local td=${BGPIDS[0]}
    "scenario_$name" "$d"
    sleep 1
    kill -INT "$td"
    wait "$td" || true
    stop_bg
}

if [[ ${1:-} == __inner ]]; then
    inner "$2" "$3" "$4"
    exit 0
fi

[[ $(id -u) == 0 ]] || { echo "make_filesdns.sh: run as root" >&2; exit 1; }
$PY -c 'import xlwt' 2>/dev/null || $PY -m pip install -q xlwt ||
    $PY -m pip install -q --break-system-packages xlwt

WORK=$(mktemp -d)
NSES=()
cleanup() {
    local ns
    for ns in "${NSES[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

capture() { # SCENARIO OUT.pcap
    local ns=lw-filesdns-${1//_/-} d=$WORK/$1
    ip netns del "$ns" 2>/dev/null || true
    ip netns add "$ns"
    NSES+=("$ns")
    ip netns exec "$ns" bash "$HERE/make_filesdns.sh" __inner "$1" "$d" "$d/raw.pcap"
    ip netns del "$ns"
    cp "$d/raw.pcap" "$2"
    echo "== $2: $(tcpdump -nn -r "$2" 2>/dev/null | wc -l) packets, $(stat -c %s "$2") bytes"
}

mkdir -p "$WORK/files" "$WORK/dns_tcp"
$PY "$TOOL" make-files "$WORK/files"
$PY "$TOOL" values "$WORK/dns_tcp"
CURL_V=$(curl --version | head -1 | cut -d' ' -f1-2)
PY_V=$($PY -c 'import sys; print("python3 %d.%d.%d" % sys.version_info[:3])')
XLWT_V=$($PY -c 'import xlwt; print("xlwt", xlwt.__VERSION__)')
SOFFICE_V=$(soffice --version 2>/dev/null | head -1 | cut -d' ' -f1-2 || true)
capture files "$HERE/filesdns_files.pcap"
$PY "$TOOL" truth filesdns_files "$WORK/files" "$HERE/filesdns_files.truth.json" \
    "$CURL_V multipart uploads to a $PY_V http.server: .xls by $XLWT_V, .doc by ${SOFFICE_V:-no LibreOffice (left out)} from an .odt, a GBK text file without charset; netns lo 127.0.0.1 -> 127.0.0.2"
DNSMASQ_V=$(dnsmasq --version | head -1 | cut -d' ' -f1-3)
DIG_V=$(dig -v 2>&1 | head -1)
capture dns_tcp "$HERE/filesdns_dns_tcp.pcap"
$PY "$TOOL" truth filesdns_dns_tcp "$WORK/dns_tcp" "$HERE/filesdns_dns_tcp.truth.json" \
    "$DIG_V +tcp query to $DNSMASQ_V, then a python socket POST without Host to the answered address; netns lo 127.0.0.x"
