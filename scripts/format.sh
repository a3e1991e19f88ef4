#!/usr/bin/env bash
# clang-formats the C and C++ sources (with --check: fails listing files that differ).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
mapfile -t files < <(git ls-files '*.c' '*.h' '*.cpp' '*.cc')
if [[ "${1:-}" == "--check" ]]; then
    bad=()
    for f in "${files[@]}"; do
        clang-format "$f" | cmp -s - "$f" || bad+=("$f")
    done
    if [[ ${#bad[@]} -gt 0 ]]; then
        echo "meshward: error: not clang-formatted: ${bad[*]} (run scripts/format.sh)" >&2
        exit 1
    fi
else
    clang-format -i "${files[@]}"
fi
