#!/usr/bin/env bash
# HTTP evasion set (http_evasion.pcap) checked against real clients, built
# over loopback inside a throw-away network namespace (lw-http-evasion).
# Then http_servers.pcap: nginx + aiohttp with curl and python clients
# (pcaps/tools/http_servers.py, netns lw-http-servers).
# Run as root: `sudo bash pcaps/make_http_evasion.sh [servers]` (pcaps/make.sh
# runs it; `servers` rebuilds only http_servers.pcap).
#   1. pcaps/tools/http_evasion.py serves ~40 crafted responses raw on
#      127.0.0.2:8080 (captured) and :8081 (not captured).
#   2. curl --compressed / --raw, urllib3, requests, http.client and headless
#      Chromium (when installed) fetch every case from :8081; what each one
#      decoded is the ground truth (oracle.json -> http_evasion.truth.json).
#   3. curl fetches every case once from :8080 (client port 43000+i) and a raw
#      client sends crafted requests to an aiohttp receiver on :8090 (client
#      port 43500+i); only ports 8080 and 8090 are captured.
# Captured 127.0.0.1 / 127.0.0.2 are rewritten to 10.20.1.15 / 198.51.100.80.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOOL=$HERE/tools/http_evasion.py
PY=${PYTHON:-python3}
REWRITE_NAT='127.0.0.1/32:10.20.1.15/32,127.0.0.2/32:198.51.100.80/32'

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
    echo "make_http_evasion.sh: '$*' did not start:" >&2
    cat "$log" >&2
    return 1
}

wait_port() { # PORT: wait until 127.0.0.2:PORT accepts
    local i
    for i in $(seq 200); do
        $PY -c "import socket,sys; socket.create_connection(('127.0.0.2', int(sys.argv[1])), 1).close()" "$1" \
            2>/dev/null && return 0
        sleep 0.05
    done
    echo "make_http_evasion.sh: nothing listens on $1" >&2
    return 1
}

inner_servers() { # DIR RAW: nginx + aiohttp, curl and python clients
    local d=$1 raw=$2 srv=$HERE/tools/http_servers.py
    trap 'stop_bg' EXIT
    ip link set lo up mtu 1500
    ethtool -K lo tso off gso off gro off >/dev/null 2>&1 || true
    sysctl -qw net.ipv4.ip_local_port_range="50000 60999"
    start_bg "$d/backend.log" ready $PY "$srv" backend "$d"
    nginx -c "$d/nginx.conf" >"$d/nginx.log" 2>&1 &
    BGPIDS+=("$!")
    wait_port 8088
    # Only the clients' side (127.0.0.1): not nginx's proxy connections.
    start_bg "$d/tcpdump.log" "listening on" tcpdump -i lo -U --immediate-mode -s 0 -w "$raw" \
        'tcp and host 127.0.0.1'
    local td=${BGPIDS[-1]}
    $PY "$srv" clients "$d"
    sleep 1
    kill -INT "$td"
    wait "$td" || true
    stop_bg
}

inner() { # DIR RAW
    local d=$1 raw=$2
    trap 'stop_bg' EXIT
    ip link set lo up mtu 1500
    ethtool -K lo tso off gso off gro off >/dev/null 2>&1 || true
    # Ephemeral ports (oracle clients) stay clear of the captured client ports.
    sysctl -qw net.ipv4.ip_local_port_range="50000 60999"
    start_bg "$d/srv.log" ready $PY "$TOOL" serve
    start_bg "$d/req.log" ready $PY "$TOOL" req-server "$d"
    $PY "$TOOL" oracle "$d"
    start_bg "$d/tcpdump.log" "listening on" tcpdump -i lo -U --immediate-mode -s 0 -w "$raw" \
        'tcp port 8080 or tcp port 8090'
    local td=${BGPIDS[-1]}
    $PY "$TOOL" capture
    $PY "$TOOL" send-requests "$d"
    sleep 1
    kill -INT "$td"
    wait "$td" || true
    stop_bg
}

if [[ ${1:-} == __inner ]]; then
    inner "$2" "$3"
    exit 0
fi
if [[ ${1:-} == __inner_servers ]]; then
    inner_servers "$2" "$3"
    exit 0
fi

[[ $(id -u) == 0 ]] || { echo "make_http_evasion.sh: run as root" >&2; exit 1; }
for m in aiohttp brotli zstandard urllib3 requests; do
    $PY -c "import $m" 2>/dev/null || $PY -m pip install -q "$m" ||
        $PY -m pip install -q --break-system-packages "$m"
done
command -v chromium >/dev/null ||
    echo "make_http_evasion.sh: no chromium (apt-get install chromium); curl is the oracle" >&2

command -v nginx >/dev/null && [[ -e /usr/lib/nginx/modules/ngx_http_brotli_filter_module.so ]] || {
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx libnginx-mod-http-brotli-filter
}

WORK=$(mktemp -d)
chmod 755 "$WORK"
NS=lw-http-evasion
NS2=lw-http-servers
cleanup() {
    ip netns del "$NS" 2>/dev/null || true
    ip netns del "$NS2" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
CURL_V=$(curl --version | head -1 | cut -d' ' -f1-2)
PY_V=$($PY -c 'import sys; print("python3 %d.%d.%d" % sys.version_info[:3])')
NOTE="in netns lo (MTU 1500, offloads off), tcprewrite to 10.20.1.15 -> 198.51.100.80"

build_servers() {
    local d=$WORK/servers out=$HERE/http_servers.pcap
    mkdir -p "$d"
    $PY "$HERE/tools/http_servers.py" prepare "$d"
    ip netns del "$NS2" 2>/dev/null || true
    ip netns add "$NS2"
    ip netns exec "$NS2" bash "$HERE/make_http_evasion.sh" __inner_servers "$d" "$d/raw.pcap"
    ip netns del "$NS2"
    tcprewrite --pnat="$REWRITE_NAT" --fixcsum -i "$d/raw.pcap" -o "$out"
    local ngx aio
    ngx=$(nginx -v 2>&1 | cut -d' ' -f3)
    aio=$($PY -c 'import aiohttp, requests; print("aiohttp", aiohttp.__version__, "+ requests", requests.__version__)')
    $PY "$HERE/tools/http_servers.py" truth "$d" "${out%.pcap}.truth.json" \
        "$ngx (gzip, brotli filter, proxy) in front of $aio app; $CURL_V --compressed keep-alive GETs, form/JSON/multipart POSTs (client 44001-44004 -> 8088), $PY_V requests keep-alive session (44005 -> 8091), http.client (44006 -> 8088); $NOTE"
    echo "== $out: $(tcpdump -nn -r "$out" 2>/dev/null | wc -l) packets, $(stat -c %s "$out") bytes"
}
if [[ ${1:-} == servers ]]; then
    build_servers
    exit 0
fi
ip netns del "$NS" 2>/dev/null || true
ip netns add "$NS"
ip netns exec "$NS" bash "$HERE/make_http_evasion.sh" __inner "$WORK" "$WORK/raw.pcap"
ip netns del "$NS"
OUT=$HERE/http_evasion.pcap
tcprewrite --pnat="$REWRITE_NAT" --fixcsum -i "$WORK/raw.pcap" -o "$OUT"
$PY "$TOOL" truth "$WORK" "${OUT%.pcap}.truth.json" \
    "crafted responses from a raw $PY_V socket server fetched by $CURL_V --compressed (port 8080, client 43000+i); crafted requests from a raw client (curl for Expect: 100-continue) to aiohttp (port 8090, client 43500+i); oracle: curl, urllib3, requests, http.client, headless Chromium; in netns lo (MTU 1500, offloads off), tcprewrite to 10.20.1.15 -> 198.51.100.80"
echo "== $OUT: $(tcpdump -nn -r "$OUT" 2>/dev/null | wc -l) packets, $(stat -c %s "$OUT") bytes"
build_servers
