#!/usr/bin/env bash
# Runs the whole test suite from a fresh build folder (build-test/): configures with
# warnings as errors after checking formatting, builds everything, and runs ctest.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build="$root/build-test"

"$root/scripts/deps.sh"
"$root/scripts/format.sh" --check
rm -rf "$build"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMW_WERROR=ON >/dev/null
cmake --build "$build" -j"$(nproc)" >/dev/null
ctest --test-dir "$build" --output-on-failure -j"$(nproc)" "$@"
