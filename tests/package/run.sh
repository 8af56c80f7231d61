#!/usr/bin/env bash
# Installs confide from BUILD_DIR into a temporary prefix, builds the consumer project
# against it with find_package(confide), runs it and checks its output.
set -euo pipefail
build_dir=$1
src_dir=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake --install "$build_dir" --prefix "$work/prefix" >/dev/null
test -x "$work/prefix/bin/confide" || { echo "confide CLI was not installed"; exit 1; }
cmake -S "$src_dir/consumer" -B "$work/build" -G Ninja -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/build" >/dev/null
out=$("$work/build/consumer")
echo "$out"
grep -qx 'sha256(abc)=ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad' <<<"$out"
grep -qx 'time=2025-06-19T10:56:11Z' <<<"$out"
grep -qx 'status=UpToDate' <<<"$out"
echo "package: installed confide builds and runs an outside project"
