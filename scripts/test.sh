#!/usr/bin/env bash
# The whole test suite, as CI runs it: formatting, lints, doc links, unit, signature,
# integration and property tests with and without Hyperscan, and a build of
# the benches and fuzz targets.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
export CARGO_TERM_COLOR=never
echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy (default features and without hyperscan)"
cargo clippy --all-targets -- -D warnings
cargo clippy --all-targets --no-default-features -- -D warnings
echo "== cargo doc (broken or private intra-doc links fail)"
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --quiet
echo "== tests with Hyperscan"
cargo test
echo "== tests with the pure-Rust fallback"
cargo test --no-default-features
