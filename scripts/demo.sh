#!/usr/bin/env bash
# Demo: builds leakwatch and replays the bundled capture with the default
# detectors, printing the alerts (one JSON event per line).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
cargo build --release --quiet
export LEAKWATCH_HASH_KEY="${LEAKWATCH_HASH_KEY:-demo-key-change-me-in-production}"
exec ./target/release/leakwatch replay --signatures signatures pcaps/demo.pcap
