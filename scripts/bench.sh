#!/usr/bin/env bash
# Builds the default preset and runs every benchmark under bench/. Each benchmark reports its
# target as a ratio against a baseline measured in the same run (see docs/performance.md).
# BENCH_MIN_TIME (default 0.5 s) sets Google Benchmark's minimum time per case.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake --preset default >/dev/null
cmake --build --preset default
for b in build/default/bench/*_bench; do
  echo "== $(basename "$b")"
  "$b" --benchmark_min_time="${BENCH_MIN_TIME:-0.5}"
done
