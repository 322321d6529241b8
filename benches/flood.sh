#!/usr/bin/env bash
# SYN-flood memory check (not a timed test): replays a pcap of spoofed SYNs,
# half-open flows and a few real flows with PI under a configured flow-table
# bound; prints peak RSS (/usr/bin/time -v) and checks that every real
# flow's value was still reported.
#
#   benches/flood.sh [MAX_FLOWS] [SYNS] [HALF_OPEN]   (defaults 100000 2000000 200000)
set -euo pipefail
cd "$(dirname "$0")/.."
MAX_FLOWS=${1:-100000}
SYNS=${2:-2000000}
HALF=${3:-200000}
DIR=${FLOOD_DIR:-/tmp/leakwatch-flood}
mkdir -p "$DIR"
PCAP="$DIR/flood-$SYNS-$HALF.pcap"
[ -f "$PCAP" ] || python3 benches/gen_synflood.py "$PCAP" --syns "$SYNS" --half-open "$HALF" >/dev/null
if [ -z "${LEAKWATCH_BIN:-}" ]; then
    cargo build --release --quiet
fi
BIN=${LEAKWATCH_BIN:-${CARGO_TARGET_DIR:-target}/release/leakwatch}
cat >"$DIR/flood.toml" <<TOML
hash_key = "flood-bench-key-0123456789"
workers = 2
[flow]
max_flows = $MAX_FLOWS
TOML
/usr/bin/time -v "$BIN" replay --config "$DIR/flood.toml" --eve "$DIR/eve.json" "$PCAP" 2>"$DIR/time.txt"
RSS=$(awk -F: '/Maximum resident set size/ {gsub(/ /,"",$2); print $2}' "$DIR/time.txt")
ELAPSED=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$DIR/time.txt")
python3 - "$DIR/eve.json" "$PCAP.truth.json" "$RSS" "$ELAPSED" "$MAX_FLOWS" <<'PY'
import json, sys
eve, truth, rss, elapsed, max_flows = sys.argv[1:]
t = json.load(open(truth))
dlp = [json.loads(l) for l in open(eve) if '"event_type":"dlp"' in l]
stats = [json.loads(l) for l in open(eve) if '"event_type":"stats"' in l][-1]["stats"]
masked = {v["masked"] for e in dlp for f in e["findings"] for v in f["values"]}
want = {v[:3] + "****" + v[-4:] for v in t["real_values"]}
fl = stats["flow"]
print(f"packets {t['packets']}  max_flows {max_flows}  peak_flows {fl['peak_flows']}  "
      f"evicted {fl['evicted_total']} (embryonic {fl['evicted_embryonic_total']})  "
      f"emergency_entered {fl['emergency_entered_total']}")
print(f"peak RSS {int(rss) / 1024:.1f} MiB  elapsed {elapsed}")
missing = want - masked
print(f"real flows reported: {len(want) - len(missing)}/{len(want)}")
sys.exit(1 if missing or fl["peak_flows"] > int(max_flows) else 0)
PY
