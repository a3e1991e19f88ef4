#!/usr/bin/env bash
# Sets meshward up on a fresh Debian 12 machine and runs its main job: installs missing
# packages, builds everything into build/, installs it into prefix/, then records the
# allocations of a real program (python3) and prints what was recorded.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

"$root/scripts/deps.sh"
cmake -S "$root" -B "$root/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$root/build" -j"$(nproc)"
cmake --install "$root/build" --prefix "$root/prefix" >/dev/null

trace_dir="$root/traces/python3-$(date +%Y%m%d-%H%M%S)"
mkdir -p "$root/traces"
"$root/prefix/bin/meshward" trace -o "$trace_dir" -- \
    python3 -c 'import json; d = {str(i): [i] * 8 for i in range(50000)}; print(len(json.dumps(d)))'
"$root/prefix/bin/meshward" run --stats -- \
    python3 -c 'import json; d = {str(i): [i] * 8 for i in range(50000)}; print(len(json.dumps(d)))' \
    2>&1 | grep -E "^meshward: (live_blocks|allocations|frees|peak_rss_bytes) "
