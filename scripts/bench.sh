#!/usr/bin/env bash
# The benchmarks behind BENCHMARKS.md: cold starts of the release binaries against the
# Runtime API stand-in (median of RUNS, default 20) and criterion's per-request costs.
# Not part of the test command: numbers are measured and written down, never asserted.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-20}

echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "Building release binaries (the release profile: fat LTO, one codegen unit, stripped)"
cargo build --release --locked -p token -p users-me -p well-known -p account -p authorize -p benchmarks --bins

echo
echo "## Cold starts (median of $runs runs each)"
target/release/cold_start "$runs"

echo
echo "## Per-request costs (criterion)"
cargo bench --locked -p benchmarks --bench requests
