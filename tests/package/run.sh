#!/usr/bin/env bash
# Installs confide from BUILD_DIR into a temporary prefix, then, with find_package(confide)
# only: builds a small consumer of the libraries, the hello sample, and the app that
# docs/getting-started.md walks a newcomer through — and runs each one.
set -euo pipefail
build_dir=$1
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake --install "$build_dir" --prefix "$work/prefix" >/dev/null
test -x "$work/prefix/bin/confide" || { echo "confide CLI was not installed"; exit 1; }
test -x "$work/prefix/bin/confide-edger8r" || { echo "confide-edger8r was not installed"; exit 1; }

build() {  # build SOURCE_DIR BUILD_DIR
  cmake -S "$1" -B "$2" -G Ninja -DCMAKE_PREFIX_PATH="$work/prefix" >"$2.log" 2>&1 &&
    cmake --build "$2" >>"$2.log" 2>&1 || { cat "$2.log"; exit 1; }
}

build "$here/consumer" "$work/consumer"
out=$("$work/consumer/consumer")
echo "$out"
grep -qx 'sha256(abc)=ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad' <<<"$out"
grep -qx 'time=2025-06-19T10:56:11Z' <<<"$out"
grep -qx 'status=UpToDate' <<<"$out"

build "$root/samples/hello" "$work/hello"
out=$("$work/hello/hello_host" "$work/hello/hello_enclave.signed.so" --backend sim package)
echo "$out"
grep -q 'Hello, package!' <<<"$out"

# A library EDL imported from the installed headers, and the protected-file libraries.
build "$root/samples/protected-files" "$work/protected-files"
out=$("$work/protected-files/protected_files_host" "$work/protected-files/protected_files_enclave.signed.so" --backend sim)
echo "$out"
grep -q 'protected-files sample: OK' <<<"$out"

python3 "$here/extract_doc_files.py" "$root/docs/getting-started.md" "$work/doc"
build "$work/doc/counter" "$work/counter"
out=$("$work/counter/counter_host" "$work/counter/counter_enclave.signed.so")
echo "$out"
grep -q 'total: 30' <<<"$out"
echo "package: the installed confide builds an outside library user, the hello and protected-files samples and the getting-started app"
