#!/usr/bin/env bash
# Live capture, tested for real (root only; CI never runs it).
#
# In a network namespace of its own (lw-live-PID) with a veth pair lwa<->lwb
# (no addresses, no routes, IPv6 off), `leakwatch live -i lwb` captures what
# tcpreplay injects into lwa. The test pcaps are first rewritten with
# `tcprewrite --pnat=0.0.0.0/0:127.0.0.0/8`, so every address in them is in
# 127.0.0.0/8 and nothing could ever be routed. Checks, per capture backend:
#   1. same findings: the dlp events of the live run equal those of
#      `leakwatch replay` of the same rewritten pcap (timestamps and flow ids
#      aside), at several tcpreplay rates, with zero kernel drops;
#   2. SIGHUP with an invalid config: error logged (file, line), old config
#      kept, traffic still reported; with a valid one: new zones in force;
#   3. SIGTERM flushes: flows still open in reassembly are reported, exit 0.
#   5. logrotate: the event file is moved away, SIGHUP creates a new one,
#      events continue in it, none lost or written twice (event_id).
#   --bench: the highest tcpreplay rate with zero drops on a generated pcap
#   (env BENCH_MB: its size, BENCH_RATES: --mbps values, BENCH_BLOCKS: ring
#   blocks of 1 MiB per socket; keep the ring smaller than the pcap, or the
#   ring alone absorbs the burst).
#
# Usage: sudo scripts/live_test.sh [--quick] [--bench] [--bin PATH] [--backends "afpacket pcap"]
# Exit 77 (skip) without root, ip, tcpreplay or tcprewrite.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
QUICK=0 BENCH=0 BIN="" BACKENDS="afpacket pcap"
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=1 ;;
    --bench) BENCH=1 ;;
    --bin) BIN=$2; shift ;;
    --backends) BACKENDS=$2; shift ;;
    *) echo "usage: $0 [--quick] [--bench] [--bin PATH] [--backends LIST]" >&2; exit 2 ;;
  esac
  shift
done
skip() { echo "live_test: SKIP: $*" >&2; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "needs root (creates a network namespace)"
for t in ip tcpreplay tcprewrite python3; do
  command -v "$t" >/dev/null || skip "$t not installed"
done
if [ -z "$BIN" ]; then
  BIN=${CARGO_TARGET_DIR:-target}/debug/leakwatch
  cargo build -q
fi

NS=${LW_NETNS:-lw-live-$$}   # LW_NETNS: a name of your own
WORK=$(mktemp -d /tmp/lw-live.XXXXXX)
chmod 755 "$WORK"     # readable after leakwatch drops to nobody (reload)
LWPID=""
cleanup() {
  [ -n "$LWPID" ] && kill -KILL "$LWPID" 2>/dev/null || true
  ip netns del "$NS" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
export LEAKWATCH_HASH_KEY=live-test-key-0123456789

ip netns add "$NS"
ip netns exec "$NS" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
ip -n "$NS" link set lo up
ip -n "$NS" link add lwa type veth peer name lwb
ip -n "$NS" link set lwa up
ip -n "$NS" link set lwb up
ip -n "$NS" link add lwc type veth peer name lwd
ip -n "$NS" link set lwc up
ip -n "$NS" link set lwd up
ip netns exec "$NS" ethtool -K lwb gro off >/dev/null 2>&1 || true

FAILS=0
fail() { echo "live_test: FAIL: $*" >&2; FAILS=$((FAILS + 1)); }
ok() { echo "live_test: ok: $*"; }

# Pcaps without tunnels (tcprewrite maps outer addresses only).
PCAPS="demo http_form_json raw_tcp_segments reorder_loss_dup benign_decoys udp_payload udp_fragments"
[ "$QUICK" = 1 ] && PCAPS="demo raw_tcp_segments udp_fragments"
for p in $PCAPS; do
  tcprewrite --pnat=0.0.0.0/0:127.0.0.0/8 --infile="pcaps/$p.pcap" --outfile="$WORK/$p.pcap"
done
chmod 644 "$WORK"/*.pcap

# canon FILE: the dlp events of an EVE file, without time-derived fields, sorted.
canon() {
  python3 - "$1" <<'EOF'
import json, sys
out = []
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e.get("event_type") != "dlp":
        continue
    for k in ("timestamp", "flow_id", "event_id"):
        e.pop(k, None)
    out.append(json.dumps(e, sort_keys=True))
print("\n".join(sorted(out)))
EOF
}

# stat_field FILE PATH: a field of the last stats event (e.g. capture.kernel_drops_total).
stat_field() {
  python3 - "$1" "$2" <<'EOF'
import json, sys
last = None
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e.get("event_type") == "stats" and not e["stats"].get("periodic"):
        last = e
v = last["stats"] if last else {}
for k in sys.argv[2].split("."):
    v = v.get(k, {}) if isinstance(v, dict) else {}
print(v if v != {} else "missing")
EOF
}

# start_live BACKEND CONFIG EVE [ARGS...]: starts leakwatch live on lwb.
start_live() {
  local backend=$1 cfg=$2 eve=$3; shift 3
  : >"$WORK/live.err"
  ip netns exec "$NS" "$BIN" live -i lwb --capture "$backend" --workers 2 \
    --config "$cfg" --signatures "$ROOT/signatures" --eve "$eve" --user nobody "$@" \
    2>"$WORK/live.err" &
  LWPID=$!
  for _ in $(seq 100); do
    grep -q "capturing on" "$WORK/live.err" && return 0
    kill -0 "$LWPID" 2>/dev/null || break
    sleep 0.1
  done
  cat "$WORK/live.err" >&2
  fail "leakwatch live did not start"
  return 1
}

# stop_live: SIGTERM, expect exit 0.
stop_live() {
  kill -TERM "$LWPID"
  local rc=0
  wait "$LWPID" || rc=$?
  LWPID=""
  [ "$rc" -eq 0 ] || { cat "$WORK/live.err" >&2; fail "exit status $rc after SIGTERM"; }
}

inject() { # inject PCAP [tcpreplay rate args...]
  local p=$1; shift
  ip netns exec "$NS" tcpreplay -q -i lwa "$@" "$p" >/dev/null 2>&1
}

# compare NAME LIVE_EVE PCAP...: live findings == replay findings.
compare() {
  local name=$1 eve=$2; shift 2
  "$BIN" replay --config "$WORK/base.toml" --signatures "$ROOT/signatures" --workers 1 \
    --eve "$WORK/replay.json" "$@" 2>/dev/null
  canon "$WORK/replay.json" >"$WORK/replay.canon"
  canon "$eve" >"$WORK/live.canon"
  local n drops
  n=$(grep -c . "$WORK/replay.canon" || true)
  drops=$(stat_field "$eve" capture.kernel_drops_total)
  if ! diff -q "$WORK/replay.canon" "$WORK/live.canon" >/dev/null; then
    diff "$WORK/replay.canon" "$WORK/live.canon" | head -5 >&2
    fail "$name: live findings differ from replay ($n dlp events in replay; drops $drops)"
  elif [ "$drops" != 0 ]; then
    fail "$name: $drops kernel drops"
  else
    ok "$name: $n dlp events, identical to replay, 0 drops"
  fi
}

printf '[output]\nstats_interval = 1\n[live]\n%s\n' "${BENCH_BLOCKS:+block_count = $BENCH_BLOCKS}" >"$WORK/base.toml"
chmod 644 "$WORK/base.toml"

RATES=("" "--mbps=20" "--topspeed")
[ "$QUICK" = 1 ] && RATES=("" "--topspeed")

if [ "$BENCH" = 0 ]; then
for backend in $BACKENDS; do
  # 1. Same findings as replay, at several rates.
  for p in $PCAPS; do
    for rate in "${RATES[@]}"; do
      start_live "$backend" "$WORK/base.toml" "$WORK/live.json" || continue
      # shellcheck disable=SC2086
      inject "$WORK/$p.pcap" $rate
      sleep 1.2
      stop_live
      compare "$backend $p ${rate:-recorded-speed}" "$WORK/live.json" "$WORK/$p.pcap"
    done
  done

  # 2. SIGHUP: a bad config is refused, a good one takes over.
  # Dedup off: the same pcap is injected twice.
  printf '[output]\nstats_interval = 1\n[live]\n[dedup]\nenabled = false\n' >"$WORK/reload.toml"
  chmod 644 "$WORK/reload.toml"
  start_live "$backend" "$WORK/reload.toml" "$WORK/hup.json" || continue
  printf '[output]\nstats_interval = 1\n[live]\n[flow]\nmax_flow = 3\n' >"$WORK/reload.toml"
  kill -HUP "$LWPID"; sleep 1
  if grep -q "reload failed.*reload.toml.*line 5" "$WORK/live.err" && kill -0 "$LWPID"; then
    ok "$backend SIGHUP with a bad config: refused with file and line, still running"
  else
    cat "$WORK/live.err" >&2; fail "$backend SIGHUP with a bad config"
  fi
  inject "$WORK/demo.pcap" --topspeed; sleep 1.2
  printf '[output]\nstats_interval = 1\n[live]\n[dedup]\nenabled = false\n[zones.lab]\ncidrs = ["127.0.0.0/8"]\n' >"$WORK/reload.toml"
  kill -HUP "$LWPID"; sleep 1
  grep -q "reloaded signatures" "$WORK/live.err" || fail "$backend SIGHUP with a good config: no reload logged"
  inject "$WORK/demo.pcap" --topspeed; sleep 1.2
  stop_live
  zones=$(python3 -c '
import json,sys
z=[e.get("src_zone") for e in map(json.loads,open(sys.argv[1])) if e.get("event_type")=="dlp"]
print(" ".join(sorted(set(z[:len(z)//2])))+"|"+" ".join(sorted(set(z[len(z)//2:]))), len(z))' "$WORK/hup.json")
  case "$zones" in
    *"|lab "*) if [[ "$zones" != lab* ]]; then ok "$backend SIGHUP: zones before/after reload: $zones"; else fail "$backend SIGHUP: $zones"; fi ;;
    *) fail "$backend SIGHUP: new zones not in force ($zones)" ;;
  esac

  # 3. SIGTERM flushes flows still open (no FIN/RST seen) in reassembly.
  python3 - "$WORK/raw_tcp_segments.pcap" "$WORK/open.pcap" <<'EOF'
import struct, sys
data = open(sys.argv[1], "rb").read()
out, at = [data[:24]], 24
while at + 16 <= len(data):
    incl = struct.unpack("<I", data[at + 8:at + 12])[0]
    rec = data[at:at + 16 + incl]
    frame = rec[16:]
    # Ethernet + IPv4 + TCP flags: stop at the first FIN or RST.
    if frame[12:14] == b"\x08\x00" and frame[23] == 6:
        ihl = (frame[14] & 15) * 4
        if frame[14 + ihl + 13] & 0x05:
            break
    out.append(rec)
    at += 16 + incl
open(sys.argv[2], "wb").write(b"".join(out))
EOF
  chmod 644 "$WORK/open.pcap"
  start_live "$backend" "$WORK/base.toml" "$WORK/term.json" || continue
  inject "$WORK/open.pcap" --topspeed; sleep 1.2
  before=$(python3 -c 'import json,sys; print(sum(1 for e in map(json.loads,open(sys.argv[1])) if e.get("event_type")=="dlp"))' "$WORK/term.json")
  stop_live
  compare "$backend SIGTERM flush (open flows; $before dlp events before the signal)" "$WORK/term.json" "$WORK/open.pcap"

  # 4. Two interfaces at once (a second veth pair lwc<->lwd).
  start_live "$backend" "$WORK/base.toml" "$WORK/two.json" -i lwd || continue
  inject "$WORK/demo.pcap" --topspeed &
  ip netns exec "$NS" tcpreplay -q -i lwc --topspeed "$WORK/raw_tcp_segments.pcap" >/dev/null 2>&1
  wait $!
  sleep 1.2
  stop_live
  compare "$backend two interfaces (lwb + lwd)" "$WORK/two.json" "$WORK/demo.pcap" "$WORK/raw_tcp_segments.pcap"

  # 5. logrotate: mv the event file, SIGHUP, events continue in a new file.
  # (in a directory the unprivileged user may create files in, like /var/log/leakwatch)
  mkdir -p "$WORK/rot" && chown nobody "$WORK/rot"
  start_live "$backend" "$WORK/base.toml" "$WORK/rot/rot.json" || continue
  inject "$WORK/demo.pcap" --topspeed; sleep 1.2
  mv "$WORK/rot/rot.json" "$WORK/rot.json.1"
  kill -HUP "$LWPID"; sleep 1
  inject "$WORK/raw_tcp_segments.pcap" --topspeed; sleep 1.2
  stop_live
  cat "$WORK/rot.json.1" "$WORK/rot/rot.json" >"$WORK/rot.both" 2>/dev/null || true
  rot=$(python3 - "$WORK/rot.json.1" "$WORK/rot/rot.json" <<'EOF'
import json, os, sys
old, new = ([json.loads(l) for l in open(p)] if os.path.exists(p) else [] for p in sys.argv[1:])
ids = [e["event_id"] for e in old + new]
dlp = lambda evs: sum(e.get("event_type") == "dlp" for e in evs)
print(dlp(old), dlp(new), len(ids) - len(set(ids)), int(os.path.exists(sys.argv[2])))
EOF
)
  read -r rot_old rot_new rot_dup rot_exists <<<"$rot"
  if [ "$rot_exists" = 1 ] && [ "$rot_old" -gt 0 ] && [ "$rot_new" -gt 0 ] && [ "$rot_dup" = 0 ]; then
    compare "$backend logrotate (mv + SIGHUP: $rot_old dlp events in the moved file, $rot_new in the new one, 0 duplicate event_ids)" \
      "$WORK/rot.both" "$WORK/demo.pcap" "$WORK/raw_tcp_segments.pcap"
  else
    fail "$backend logrotate: new file $rot_exists, dlp old/new $rot_old/$rot_new, duplicate ids $rot_dup"
  fi
done
fi

# --bench: highest tcpreplay --mbps with zero kernel drops.
if [ "$BENCH" = 1 ]; then
  python3 benches/gen_replay_pcap.py "$WORK/gen.pcap" --size-mb "${BENCH_MB:-40}" >/dev/null
  tcprewrite --pnat=0.0.0.0/0:127.0.0.0/8 --infile="$WORK/gen.pcap" --outfile="$WORK/bench.pcap"
  chmod 644 "$WORK/bench.pcap"
  for backend in $BACKENDS; do
    for mbps in ${BENCH_RATES:-100 200 400 800 1600 topspeed}; do
      start_live "$backend" "$WORK/base.toml" "$WORK/bench.json" --stats-interval 0 || continue
      if [ "$mbps" = topspeed ]; then arg=--topspeed; else arg=--mbps=$mbps; fi
      t0=$(date +%s.%N)
      ip netns exec "$NS" tcpreplay -i lwa "$arg" "$WORK/bench.pcap" >"$WORK/tcpreplay.out" 2>&1
      t1=$(date +%s.%N)
      sleep 2
      stop_live
      rate=$(grep -o "Rated: [0-9.]* Bps, [0-9.]* Mbps" "$WORK/tcpreplay.out" | head -1)
      echo "bench $backend $mbps: $rate; $(python3 -c "print(round($t1-$t0,2))") s; packets $(stat_field "$WORK/bench.json" capture.packets_total); kernel drops $(stat_field "$WORK/bench.json" capture.kernel_drops_total); dlp $(stat_field "$WORK/bench.json" output.dlp_events_total)"
    done
  done
fi

[ "$FAILS" -eq 0 ] || { echo "live_test: $FAILS failures" >&2; exit 1; }
echo "live_test: all passed"
