#!/usr/bin/env bash
# End-to-end throughput of `leakwatch replay` with the default signatures
# and policy: MB/s and packets/s of pcap (wall clock), CPU seconds (user +
# sys of the whole process) and peak RSS, for 1 and 2 workers.
#
#   benches/e2e.sh [PCAP] [RUNS]
#
# PCAP defaults to benches/data/replay-400mb.pcap, generated with
# benches/gen_replay_pcap.py when missing (benches/gen_real_pcap.sh makes a
# capture of real clients and servers instead). RUNS (default 3) runs per
# worker count, interleaved; every run's line is printed, then the best.
# LEAKWATCH_BIN picks the binary (default: a release build made here).
set -euo pipefail
cd "$(dirname "$0")/.."
pcap=${1:-benches/data/replay-400mb.pcap}
runs=${2:-3}
if [[ ! -f $pcap ]]; then
    mkdir -p "$(dirname "$pcap")"
    python3 benches/gen_replay_pcap.py "$pcap" --size-mb 400 --seed 1 >/dev/null
fi
bin=${LEAKWATCH_BIN:-}
if [[ -z $bin ]]; then
    feat=()
    if pkg-config --exists libhs 2>/dev/null; then feat=(--features hyperscan); fi
    cargo build --release --quiet "${feat[@]}"
    bin=target/release/leakwatch
fi
bytes=$(stat -c %s "$pcap")
packets=$(python3 - "$pcap" <<'EOF'
import struct, sys
f = open(sys.argv[1], 'rb'); h = f.read(24); n = 0
end = '<' if h[:4] in (b'\xd4\xc3\xb2\xa1', b'\x4d\x3c\xb2\xa1') else '>'
while True:
    r = f.read(16)
    if len(r) < 16: break
    incl = struct.unpack(end + 'IIII', r)[2]; f.seek(incl, 1); n += 1
print(n)
EOF
)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "pcap $pcap: $((bytes / 1000000)) MB, $packets packets; binary $bin; load $(cut -d' ' -f1-3 /proc/loadavg)"
declare -A bestwall bestline
for ((r = 1; r <= runs; r++)); do
    for w in 1 2; do
        /usr/bin/time -f '%e %U %S %M' -o "$tmp/time" \
            "$bin" replay --workers "$w" --eve "$tmp/eve.json" "$pcap" 2>/dev/null
        read -r wall user sys rss <"$tmp/time"
        line=$(awk -v b="$bytes" -v p="$packets" -v w="$wall" -v u="$user" -v s="$sys" -v m="$rss" -v n="$w" \
            'BEGIN { printf "workers=%d  %7.1f MB/s  %9.0f pkt/s  wall %6.2f s  cpu %6.2f s (%5.1f MB/cpu-s)  peak RSS %4d MB", n, b/w/1e6, p/w, w, u+s, b/(u+s)/1e6, m/1024 }')
        echo "run $r  $line  events $(wc -l <"$tmp/eve.json")"
        prev=${bestwall[$w]:-}
        if [[ -z $prev ]] || awk -v a="$wall" -v b="$prev" 'BEGIN { exit !(a < b) }'; then
            bestwall[$w]=$wall
            bestline[$w]=$line
        fi
    done
done
for w in 1 2; do echo "best ${bestline[$w]}"; done
