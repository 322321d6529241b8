#!/usr/bin/env bash
# Scenario captures (pcaps/scenarios/), from real software in throw-away
# network namespaces lw-scen-* (loopback only, MTU 1500, offloads off).
# Run as root:   sudo bash pcaps/make_scen.sh [impaired] [policy]
#
# impaired: a Python client/server pair exchanges one ~8 KB stream each way
#   (synthetic PI) at 1 %, 5 % and 20 % impairment:
#   - before the capture point (OUTPUT, NFQUEUE, tools/scen_impair.py):
#     segments held 1-10 ms (reordering + jitter), and corrupted (a payload
#     byte flipped, checksum NOT fixed: the receiver drops it) at rate/4;
#   - nftables postrouting `dup` (both copies captured) and prerouting
#     random `drop` (after the capture point: seen by the sensor, lost for
#     the receiver, retransmitted) at the rate.
#   lo's tx checksum offload is off, so every captured checksum is real and
#   only the corrupted copies are wrong. Each side writes the bytes it
#   received; the truth keeps their SHA-256 and the PI found in them.
#   Addresses stay 127.0.0.1 -> 127.0.0.2 (a rewrite would fix checksums).
# policy: curl -> Python http.server POST/GET with synthetic PI, one flow
#   per case, then each flow is given its scenario addresses with
#   tcprewrite (v4: --pnat; v6, where both ends are ::1: --srcipmap /
#   --dstipmap per direction) and the flows are merged by time. The truth
#   (tools/scen_traffic.py policy_cases) lists the expected violations
#   under scenarios/leakwatch-scenarios.toml.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOOLS=$HERE/tools
OUT=$HERE/scenarios
PY=${PYTHON:-python3}
RATES=(1 5 20)

# ------------------------------------------------------------------ inner
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
    echo "make_scen.sh: '$*' did not start:" >&2
    cat "$log" >&2
    return 1
}

lo_setup() { # extra ethtool features to turn off
    ip link set lo up mtu 1500
    ethtool -K lo tso off gso off gro off "$@" >/dev/null 2>&1 || true
}

inner_impaired() { # RATE SEED CPORT OUTDIR RAW
    local rate=$1 seed=$2 cport=$3 dir=$4 raw=$5 tmp nfq
    tmp=$(mktemp -d)
    lo_setup tx off
    iptables -A OUTPUT -p tcp --dport 9200 -j NFQUEUE --queue-num 9 --queue-bypass
    iptables -A OUTPUT -p tcp --sport 9200 -j NFQUEUE --queue-num 9 --queue-bypass
    nft -f - <<EOF
table ip lwscen {
    chain pre {
        type filter hook prerouting priority 0; policy accept;
        tcp dport 9200 meta length > 100 numgen random mod 100 < $rate drop
        tcp sport 9200 meta length > 100 numgen random mod 100 < $rate drop
    }
    chain post {
        type filter hook postrouting priority 0; policy accept;
        tcp dport 9200 meta length > 100 numgen random mod 100 < $rate dup to 127.0.0.2 device "lo"
        tcp sport 9200 meta length > 100 numgen random mod 100 < $rate dup to 127.0.0.1 device "lo"
    }
}
EOF
    start_bg "$tmp/tcpdump.log" "listening on" tcpdump -i lo -U --immediate-mode -s 0 -w "$raw" 'tcp port 9200'
    local td=${BGPIDS[0]}
    start_bg "$tmp/nfq.log" ready $PY "$TOOLS/scen_impair.py" 9 "$rate" "$seed"
    nfq=${BGPIDS[-1]}
    start_bg "$tmp/srv.log" ready $PY "$TOOLS/scen_traffic.py" imp-server "$dir"
    $PY "$TOOLS/scen_traffic.py" imp-client "$dir" "$seed" "$cport"
    sleep 0.5
    kill "$nfq"
    wait "$nfq" || true
    cat "$tmp/nfq.log" >&2
    kill -INT "$td"
    wait "$td" || true
    stop_bg
    rm -rf "$tmp"
}

inner_policy() { # RAW
    local raw=$1 tmp cport method family host client server body
    tmp=$(mktemp -d)
    lo_setup
    start_bg "$tmp/tcpdump.log" "listening on" tcpdump -i lo -U --immediate-mode -s 0 -w "$raw" 'tcp port 8080'
    local td=${BGPIDS[0]}
    start_bg "$tmp/srv4.log" ready $PY "$TOOLS/scen_traffic.py" policy-server 4
    start_bg "$tmp/srv6.log" ready $PY "$TOOLS/scen_traffic.py" policy-server 6
    while read -r cport method family host client server body; do
        local addr=127.0.0.2 iface=(--interface 127.0.0.1)
        [[ $family == 6 ]] && { addr='[::1]'; iface=(); }
        local args=(-sS -o /dev/null "${iface[@]}" --local-port "$cport"
            --resolve "$host:8080:$addr" -H 'Content-Type: application/json')
        [[ $method == POST ]] && args+=(-d "$body")
        curl "${args[@]}" "http://$host:8080/api/customer"
    done < <($PY "$TOOLS/scen_traffic.py" policy-cases)
    sleep 1
    kill -INT "$td"
    wait "$td" || true
    stop_bg
    rm -rf "$tmp"
}

if [[ ${1:-} == __inner ]]; then
    shift
    kind=$1
    shift
    trap stop_bg EXIT
    "inner_$kind" "$@"
    exit 0
fi

# ------------------------------------------------------------------ outer
[[ $(id -u) == 0 ]] || { echo "make_scen.sh: run as root (sudo bash $0)" >&2; exit 1; }
for c in tcpdump tcprewrite nft iptables ethtool ip curl; do
    command -v "$c" >/dev/null || { echo "make_scen.sh: needs $c (run pcaps/make.sh once: it installs them)" >&2; exit 1; }
done
$PY -c 'import netfilterqueue' || { echo "make_scen.sh: needs python NetfilterQueue (pcaps/make.sh installs it)" >&2; exit 1; }

NSES=()
WORK=$(mktemp -d)
cleanup() {
    local ns
    for ns in "${NSES[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT
mkdir -p "$OUT"

in_netns() { # NAME ARGS...: run `make_scen.sh __inner ARGS` in netns lw-scen-NAME
    local ns=lw-scen-$1
    shift
    ip netns del "$ns" 2>/dev/null || true
    ip netns add "$ns"
    NSES+=("$ns")
    ip netns exec "$ns" bash "$HERE/make_scen.sh" __inner "$@"
    ip netns del "$ns"
}

PY_V=$($PY -c 'import sys; print("python3 %d.%d.%d" % sys.version_info[:3])')
CURL_V=$(curl --version | head -1 | cut -d' ' -f1-2)

build_impaired() {
    local rate seed cport dir name
    for rate in "${RATES[@]}"; do
        seed=$((700 + rate)) cport=$((43000 + rate)) name=impaired_$rate
        dir=$WORK/$name
        mkdir -p "$dir"
        in_netns "imp$rate" impaired "$rate" "$seed" "$cport" "$dir" "$WORK/$name.pcap"
        cp "$WORK/$name.pcap" "$OUT/$name.pcap"
        $PY "$TOOLS/scen_traffic.py" imp-truth "$dir" "$rate" "$seed" "$cport" "$OUT/$name.pcap" \
            "$PY_V client/server, one ~8 KB stream each way in 160-byte writes; $rate % NFQUEUE hold 1-10 ms + $((rate))/4 % corrupt (OUTPUT, before capture), $rate % nft dup (postrouting) and drop (prerouting, after capture); lo MTU 1500, tso/gso/gro/tx-csum off" \
            "$OUT/$name.truth.json"
        echo "== $OUT/$name.pcap: $(tcpdump -nn -r "$OUT/$name.pcap" 2>/dev/null | wc -l) packets, $(stat -c %s "$OUT/$name.pcap") bytes"
    done
}

build_policy() {
    local raw=$WORK/policy.raw.pcap parts=() cport method family host client server body p
    in_netns policy policy "$raw"
    while read -r cport method family host client server body; do
        p=$WORK/policy_$cport
        if [[ $family == 4 ]]; then
            tcpdump -r "$raw" -w "$p.pcap" "tcp port $cport" 2>/dev/null
            tcprewrite --pnat="127.0.0.1/32:$client/32,127.0.0.2/32:$server/32" --fixcsum \
                -i "$p.pcap" -o "$p.out.pcap"
            parts+=("$p.out.pcap")
        else
            tcpdump -r "$raw" -w "$p.up.pcap" "tcp src port $cport" 2>/dev/null
            tcpdump -r "$raw" -w "$p.down.pcap" "tcp dst port $cport" 2>/dev/null
            tcprewrite --srcipmap="[::1/128]:[$client/128]" --dstipmap="[::1/128]:[$server/128]" \
                --fixcsum -i "$p.up.pcap" -o "$p.up.out.pcap"
            tcprewrite --srcipmap="[::1/128]:[$server/128]" --dstipmap="[::1/128]:[$client/128]" \
                --fixcsum -i "$p.down.pcap" -o "$p.down.out.pcap"
            parts+=("$p.up.out.pcap" "$p.down.out.pcap")
        fi
    done < <($PY "$TOOLS/scen_traffic.py" policy-cases)
    (cd "$TOOLS" && $PY scen_traffic.py merge "$OUT/policy.pcap" "${parts[@]}")
    $PY "$TOOLS/scen_traffic.py" policy-truth "$OUT/policy.truth.json" policy.pcap \
        "$CURL_V POST/GET -> $PY_V http.server with synthetic PI, one flow per case over lo (v4 127.0.0.1 -> 127.0.0.2, v6 ::1), given scenario addresses per flow with tcprewrite --pnat / --srcipmap+--dstipmap --fixcsum"
    echo "== $OUT/policy.pcap: $(tcpdump -nn -r "$OUT/policy.pcap" 2>/dev/null | wc -l) packets, $(stat -c %s "$OUT/policy.pcap") bytes"
}

STEPS=("$@")
((${#STEPS[@]})) || STEPS=(impaired policy)
for s in "${STEPS[@]}"; do "build_$s"; done
