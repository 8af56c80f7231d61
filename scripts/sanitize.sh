#!/usr/bin/env bash
# ASan + UBSan (clang-14): runs the unit/vector/CLI suite instrumented, then every
# libFuzzer target for FUZZ_SECONDS each (default 30) from its seed corpus.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
cmake --preset asan
cmake --build --preset asan
# The soft tests run with an instrumented host and daemon against a runtime and images built
# without sanitizers (cmake/UninstrumentedSoftParts.cmake). Not here: the isolation tests,
# which attack the uninstrumented enclave process, and the package test, which builds outside
# projects without the sanitizer runtime. Both run in the ordinary suite (scripts/test.sh).
ctest --preset asan -LE 'isolation|package'
cmake --preset fuzz
cmake --build --preset fuzz
seconds=${FUZZ_SECONDS:-30}
for fuzzer in build/fuzz/fuzz/*_fuzzer; do
  name=$(basename "$fuzzer")
  corpus=build/fuzz/corpus/$name
  mkdir -p "$corpus"
  seeds=()
  [ -d "fuzz/corpus/$name" ] && seeds=("fuzz/corpus/$name")
  echo "== $name for ${seconds}s"
  "$fuzzer" -max_total_time="$seconds" -print_final_stats=1 "$corpus" "${seeds[@]}" 2>&1 | tail -n 4
done
echo "sanitize: suite and fuzzers clean"
