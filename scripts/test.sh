#!/usr/bin/env bash
# The README's test command: installs dependencies, builds (GCC, RelWithDebInfo) and runs
# the whole ctest suite, including the outside-project find_package(confide) check.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake --preset default
cmake --build --preset default
ctest --preset default "$@"
