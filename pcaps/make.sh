#!/usr/bin/env bash
# Rebuild the leakwatch test pcaps from real software talking over loopback
# inside throw-away network namespaces (lw-*). Run as root:
#     sudo bash pcaps/make.sh            # all
#     sudo bash pcaps/make.sh http udp   # some (http decoys tiny bulk udp split
#                                        #       broken udpfrag tunnels)
# No traffic leaves the namespaces' loopback. Captured 127.0.0.1 (client) and
# 127.0.0.2 (server) are rewritten to 10.20.1.15 and 198.51.100.80.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOOLS=$HERE/tools
PY=${PYTHON:-python3}
REWRITE_NAT='127.0.0.1/32:10.20.1.15/32,127.0.0.2/32:198.51.100.80/32'

# ------------------------------------------------------------------ inner
# `make.sh __inner SCENARIO RAW_OUT` runs inside the netns: capture + traffic.
BGPIDS=()
stop_bg() {
    local p
    for p in "${BGPIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${BGPIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    BGPIDS=()
}

# start_bg LOG WORD CMD...: start CMD in the background, wait for WORD in LOG.
start_bg() {
    local log=$1 word=$2 i
    shift 2
    "$@" >"$log" 2>&1 &
    BGPIDS+=("$!")
    for i in $(seq 200); do
        grep -q "$word" "$log" 2>/dev/null && return 0
        sleep 0.05
    done
    echo "make.sh: '$*' did not start:" >&2
    cat "$log" >&2
    return 1
}

curl_local() { # PORT ARGS...: curl from 127.0.0.1:PORT to the netns server
    local port=$1
    shift
    curl -sS -o /dev/null --interface 127.0.0.1 --local-port "$port" \
        --resolve shop.example.cn:8080:127.0.0.2 "$@"
}

scenario_http() {
    local tmp=$1
    (cd "$TOOLS" && $PY scenarios.py write-curl-bodies "$tmp")
    start_bg "$tmp/srv.log" ready $PY "$TOOLS/scenarios.py" http-server http_form_json
    curl_local 41001 -d @"$tmp/form.txt" http://shop.example.cn:8080/api/register
    curl_local 41002 -H 'Content-Type: application/json' -d @"$tmp/json.txt" \
        http://shop.example.cn:8080/api/profile
}

scenario_decoys() {
    local tmp=$1
    start_bg "$tmp/srv.log" ready $PY "$TOOLS/scenarios.py" http-server benign_decoys
    curl_local 41301 http://shop.example.cn:8080/page.html
    curl_local 41302 http://shop.example.cn:8080/orders.json
    curl_local 41303 http://shop.example.cn:8080/app.log
}

scenario_tiny() {
    local tmp=$1
    start_bg "$tmp/srv.log" ready $PY "$TOOLS/scenarios.py" tiny-server 202 41101
    $PY "$TOOLS/scenarios.py" tiny-client 202 41101
}

scenario_udp() {
    local tmp=$1
    start_bg "$tmp/srv.log" ready $PY "$TOOLS/scenarios.py" udp-server 505 41401
    $PY "$TOOLS/scenarios.py" udp-client 505 41401
}

scenario_udpfrag() { # 4000-byte datagrams over lo (MTU 1280): IPv4 and IPv6 fragments
    local tmp=$1
    ip link set lo mtu 1280
    start_bg "$tmp/srv4.log" ready $PY "$TOOLS/scenarios.py" udpfrag-server 4
    start_bg "$tmp/srv6.log" ready $PY "$TOOLS/scenarios.py" udpfrag-server 6
    $PY "$TOOLS/scenarios.py" udpfrag-client 4
    $PY "$TOOLS/scenarios.py" udpfrag-client 6
}

scenario_split() { # TCP dribble and UDP at the same time, split later by time
    local tmp=$1 p
    start_bg "$tmp/srv1.log" ready $PY "$TOOLS/scenarios.py" tiny-server 606 41501
    start_bg "$tmp/srv2.log" ready $PY "$TOOLS/scenarios.py" udp-server 707 41502
    $PY "$TOOLS/scenarios.py" udp-client 707 41502 &
    p=$!
    $PY "$TOOLS/scenarios.py" tiny-client 606 41501
    wait "$p"
}

scenario_bulk() {
    local tmp=$1
    # (a) reordering: NFQUEUE in OUTPUT (before the lo capture point). The
    # kernel has no nft `queue` expression, but has the xt NFQUEUE target, so
    # iptables (nft backend, xt compat) adds the rule.
    iptables -A OUTPUT -p tcp --dport 9100 -j NFQUEUE --queue-num 7 --queue-bypass
    iptables -A OUTPUT -p tcp --sport 9100 -j NFQUEUE --queue-num 7 --queue-bypass
    # (b) loss after the capture point (prerouting on lo rx) and (c) duplication
    # before it (postrouting: the copy is transmitted on lo and captured too).
    nft -f - <<'EOF'
table ip lwimpair {
    chain pre {
        type filter hook prerouting priority 0; policy accept;
        tcp dport 9100 meta length > 200 numgen random mod 100 < 3 drop
        tcp sport 9100 meta length > 200 numgen random mod 100 < 3 drop
    }
    chain post {
        type filter hook postrouting priority 0; policy accept;
        tcp dport 9100 meta length > 200 numgen random mod 100 < 3 dup to 127.0.0.2 device "lo"
        tcp sport 9100 meta length > 200 numgen random mod 100 < 3 dup to 127.0.0.1 device "lo"
    }
}
EOF
    start_bg "$tmp/nfq.log" ready $PY "$TOOLS/nfq_reorder.py" 7 4 42
    local nfq=${BGPIDS[-1]}
    start_bg "$tmp/srv.log" ready $PY "$TOOLS/scenarios.py" bulk-server
    $PY "$TOOLS/scenarios.py" bulk-client
    kill "$nfq"
    wait "$nfq" || true
    cat "$tmp/nfq.log" >&2
    nft list table ip lwimpair >/dev/null
}

inner() {
    local name=$1 raw=$2
    INNER_TMP=$(mktemp -d)
    local tmp=$INNER_TMP
    trap 'stop_bg; rm -rf "$INNER_TMP"' EXIT
    ip link set lo up mtu 1500
    ethtool -K lo tso off gso off gro off >/dev/null 2>&1 || true
    start_bg "$tmp/tcpdump.log" "listening on" tcpdump -i lo -U --immediate-mode -s 0 -w "$raw" 'tcp or udp or (ip6 and ip6[6] == 44)'
    local td=${BGPIDS[0]}
    "scenario_$name" "$tmp"
    sleep 1
    kill -INT "$td"
    wait "$td" || true
    stop_bg
}

if [[ ${1:-} == __inner ]]; then
    inner "$2" "$3"
    exit 0
fi

# ------------------------------------------------------------------ outer
[[ $(id -u) == 0 ]] || { echo "make.sh: run as root (sudo bash $0)" >&2; exit 1; }

ensure_deps() {
    local need=() c
    for c in tcpdump:tcpdump tcprewrite:tcpreplay nft:nftables iptables:iptables \
        ethtool:ethtool ip:iproute2 curl:curl; do
        command -v "${c%%:*}" >/dev/null || need+=("${c#*:}")
    done
    if ! $PY -c 'import netfilterqueue' 2>/dev/null; then
        [[ -e /usr/include/libnetfilter_queue/libnetfilter_queue.h ]] ||
            need+=(libnetfilter-queue-dev build-essential python3-dev)
    fi
    if ((${#need[@]})); then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
    fi
    # Debian's own python3 refuses plain `pip install` (PEP 668).
    $PY -c 'import netfilterqueue' 2>/dev/null || $PY -m pip install -q NetfilterQueue ||
        $PY -m pip install -q --break-system-packages NetfilterQueue
}

NSES=()
WORK=$(mktemp -d)
cleanup() {
    local ns
    for ns in "${NSES[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

# capture NAME OUT.pcap: run scenario NAME in its own netns, rewrite addresses.
capture() {
    local name=$1 out=$2 ns=lw-$1
    ip netns del "$ns" 2>/dev/null || true
    ip netns add "$ns"
    NSES+=("$ns")
    ip netns exec "$ns" bash "$HERE/make.sh" __inner "$name" "$WORK/$name.raw.pcap"
    ip netns del "$ns"
    mkdir -p "$(dirname "$out")"
    tcprewrite --pnat="$REWRITE_NAT" --fixcsum -i "$WORK/$name.raw.pcap" -o "$out"
    echo "== $out: $(tcpdump -nn -r "$out" 2>/dev/null | wc -l) packets, $(stat -c %s "$out") bytes"
}

truth() { # SCENARIO PCAP-NAME ORIGIN [--analyze]
    (cd "$TOOLS" && $PY pcaptool.py truth "$1" "$2" "$3" "$HERE/${2%.pcap}.truth.json" ${4:-})
}

CURL_V=$(curl --version | head -1 | cut -d' ' -f1-2)
PY_V=$($PY -c 'import sys; print("python3 %d.%d.%d" % sys.version_info[:3])')
NAT_NOTE="in netns lo, tcprewrite to 10.20.1.15 -> 198.51.100.80"

build_http() {
    capture http "$HERE/http_form_json.pcap"
    truth http_form_json http_form_json.pcap \
        "$CURL_V POST (form + JSON, 2 connections) to $PY_V http.server subclass answering JSON with PI; $NAT_NOTE"
    cp "$HERE/http_form_json.pcap" "$HERE/demo.pcap"
    truth http_form_json demo.pcap "copy of http_form_json.pcap (README demo)"
}
build_decoys() {
    capture decoys "$HERE/benign_decoys.pcap"
    truth benign_decoys benign_decoys.pcap \
        "$CURL_V GETs of HTML/JSON/log pages full of PI look-alikes from $PY_V http.server; $NAT_NOTE"
}
build_tiny() {
    capture tiny "$HERE/raw_tcp_segments.pcap"
    truth raw_tcp_segments raw_tcp_segments.pcap \
        "$PY_V TCP client/server with TCP_NODELAY writing 1-5 bytes per send, 1-3 ms apart; $NAT_NOTE"
}
build_bulk() { # impairments are random: retry until each kind occurred
    local try
    for try in 1 2 3 4 5; do
        capture bulk "$HERE/reorder_loss_dup.pcap"
        (cd "$TOOLS" && $PY -c 'import json, sys, pcaptool
a = pcaptool.analyze(sys.argv[1]); print("impairments:", json.dumps(a))
sys.exit(0 if min(a["reordered"], a["retransmitted"], a["duplicated"]) > 0 else 1)' \
            "$HERE/reorder_loss_dup.pcap") && break
    done
    truth reorder_loss_dup reorder_loss_dup.pcap \
        "$PY_V bulk TCP transfer (~290 KB) with NFQUEUE reordering (output), nftables numgen drop (prerouting, after capture) and nftables dup (postrouting); $NAT_NOTE" \
        --analyze
}
build_udp() {
    capture udp "$HERE/udp_payload.pcap"
    truth udp_payload udp_payload.pcap "$PY_V UDP syslog-like datagrams; $NAT_NOTE"
}
build_split() {
    capture split "$WORK/split_whole.pcap"
    rm -rf "$HERE/split"
    mkdir -p "$HERE/split"
    (cd "$TOOLS" && $PY pcaptool.py split "$WORK/split_whole.pcap" \
        "$HERE/split/part1.pcap" "$HERE/split/part2.pcap" 20)
    truth split split \
        "one capture of a $PY_V TCP dribble + UDP datagrams at the same time, split into alternating 20 ms windows (part1, part2); $NAT_NOTE"
}
build_udpfrag() {
    capture udpfrag "$HERE/udp_fragments.pcap"
    truth udp_fragments udp_fragments.pcap \
        "$PY_V 4000-byte UDP datagrams over IPv4 and IPv6 (::1) on lo with MTU 1280, fragmented by the kernel; $NAT_NOTE (IPv6 left as ::1)"
}
# Tunnel captures: real captures wrapped by tools/encap.py (no tunnel
# endpoints can be reached from a namespace's loopback). Outer addresses
# are documentation ranges; the inner traffic and its truth are unchanged.
build_tunnels() {
    local kind
    [[ -e $HERE/udp_fragments.pcap ]] || build_udpfrag
    for kind in gre erspan1 erspan2 erspan3 vxlan mpls ipip6 nested; do
        (cd "$TOOLS" && $PY encap.py "$kind" "$HERE/http_form_json.pcap" "$HERE/tunnels_$kind.pcap")
        truth http_form_json "tunnels_$kind.pcap" "http_form_json.pcap wrapped in $kind by tools/encap.py"
    done
    (cd "$TOOLS" && $PY encap.py vxlan "$HERE/udp_fragments.pcap" "$HERE/tunnels_vxlan_fragments.pcap")
    truth udp_fragments tunnels_vxlan_fragments.pcap "udp_fragments.pcap wrapped in vxlan by tools/encap.py"
}
build_broken() {
    (cd "$TOOLS" && $PY pcaptool.py broken "$HERE/http_form_json.pcap" "$HERE/broken")
}

build_nettls() { bash "$HERE/make_nettls.sh"; } # tls_sni.pcap, dns_names.pcap
verify_all() {
    local f
    for f in http_form_json demo benign_decoys raw_tcp_segments reorder_loss_dup udp_payload; do
        [[ -e $HERE/$f.pcap ]] && (cd "$TOOLS" && $PY pcaptool.py verify "$HERE/$f.pcap" "$HERE/$f.truth.json")
    done
    [[ -d $HERE/split ]] && (cd "$TOOLS" && $PY pcaptool.py verify "$HERE/split" "$HERE/split.truth.json")
    return 0
}

build_mail() { bash "$HERE/make_mail.sh"; } # SMTP/POP3/IMAP captures (own netns lw-mail-*)
ensure_deps
(cd "$TOOLS" && $PY content.py >/dev/null)
build_scen() { bash "$HERE/make_scen.sh"; }   # impaired + policy scenarios (pcaps/scenarios/)
build_files() { bash "$HERE/make_files.sh"; } # files_http, files_ftp (own script)
build_httpev() { bash "$HERE/make_http_evasion.sh"; } # http_evasion, http_servers (own script)
build_records() { bash "$HERE/make_records.sh"; } # records_http (own script)
build_filesdns() { bash "$HERE/make_filesdns.sh"; } # filesdns_files, filesdns_dns_tcp (own script)
STEPS=("$@")
((${#STEPS[@]})) || STEPS=(http decoys tiny bulk udp split broken udpfrag tunnels nettls mail files filesdns scen httpev records)
for s in "${STEPS[@]}"; do "build_$s"; done
verify_all
