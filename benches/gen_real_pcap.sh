#!/usr/bin/env bash
# Bench pcap captured from real clients and servers (root only; never in CI).
#
#   sudo benches/gen_real_pcap.sh [SIZE_MB] [OUT.pcap] [SEED]
#   (defaults: 400, benches/data/real-SIZE_MB.pcap, 1)
#
# In a network namespace of its own (lw-ops-bench-PID; loopback up, MTU 1500,
# TSO/GSO/GRO off so every frame is a real <=1514-byte frame), tcpdump
# captures loopback while benches/gen_real_traffic.py runs real servers and
# clients on 127.0.0.1 (HTTP keep-alive GET/POST, gzip bodies, TLS, raw TCP,
# SMTP) until the capture reaches SIZE_MB. Writes OUT.pcap.truth.json
# (distinct synthetic PI per direction and type, generation time, packets,
# kernel drops). Nothing leaves the namespace.
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE_MB=${1:-400}
OUT=${2:-benches/data/real-$SIZE_MB.pcap}
SEED=${3:-1}
[ "$(id -u)" -eq 0 ] || { echo "gen_real_pcap: needs root (network namespace)" >&2; exit 77; }
for t in ip ethtool tcpdump curl openssl python3; do
  command -v "$t" >/dev/null || { echo "gen_real_pcap: $t not installed" >&2; exit 77; }
done
python3 -c 'import aiosmtpd' 2>/dev/null || { echo "gen_real_pcap: pip install aiosmtpd" >&2; exit 77; }
mkdir -p "$(dirname "$OUT")"
OUT=$(realpath "$OUT")
NS=lw-ops-bench-$$
WORK=$(mktemp -d /tmp/lw-ops-bench.XXXXXX)
TD=""
cleanup() {
  [ -n "$TD" ] && kill "$TD" 2>/dev/null || true
  ip netns del "$NS" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

ip netns add "$NS"
ip netns exec "$NS" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
ip -n "$NS" link set lo up mtu 1500
ip netns exec "$NS" ethtool -K lo tso off gso off gro off 2>/dev/null || true

T0=$(date +%s.%N)
rm -f "$OUT"
# 256 MiB kernel buffer: the clients are rate-limited, tcpdump must keep up.
ip netns exec "$NS" tcpdump -i lo -s 0 -B 262144 -Z root -w "$OUT" 2>"$WORK/tcpdump.err" &
TD=$!
for _ in $(seq 100); do [ -s "$OUT" ] && break; sleep 0.05; done
ip netns exec "$NS" python3 benches/gen_real_traffic.py drive \
  --pcap "$OUT" --size-mb "$SIZE_MB" --work "$WORK" --seed "$SEED"
sleep 0.5
kill -INT "$TD"
wait "$TD" || true
TD=""
T1=$(date +%s.%N)
cat "$WORK/tcpdump.err" >&2
DROPS=$(sed -n 's/^\([0-9]*\) packets dropped by kernel.*/\1/p' "$WORK/tcpdump.err")
PACKETS=$(sed -n 's/^\([0-9]*\) packets captured.*/\1/p' "$WORK/tcpdump.err")
python3 - "$OUT.truth.json" "$(stat -c %s "$OUT")" "${PACKETS:-0}" "${DROPS:-0}" "$T0" "$T1" <<'EOF'
import json, sys
path, size, packets, drops, t0, t1 = sys.argv[1:]
t = json.load(open(path))
t.update(bytes=int(size), packets=int(packets), kernel_drops=int(drops),
         generate_seconds=round(float(t1) - float(t0), 1))
json.dump(t, open(path, "w"), indent=1)
print(json.dumps(t, indent=1))
EOF
[ "${DROPS:-0}" -eq 0 ] || { echo "gen_real_pcap: tcpdump dropped $DROPS packets: truth may be off" >&2; exit 1; }
