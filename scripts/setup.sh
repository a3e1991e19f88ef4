#!/usr/bin/env bash
# Sets meshward up on a fresh Debian 12 machine and runs its main job: installs missing
# packages, builds everything into build/ (log: build/setup.log), installs it into
# prefix/, then records the allocations of a real program (python3) with `meshward trace`
# and prints its report (`meshward trace --report`: leaks, peak, hot call sites, ...).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

"$root/scripts/deps.sh"
mkdir -p "$root/build"
echo "meshward: building into $root/build and installing into $root/prefix" >&2
{
    cmake -S "$root" -B "$root/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo
    cmake --build "$root/build" -j"$(nproc)"
    cmake --install "$root/build" --prefix "$root/prefix"
} >"$root/build/setup.log" 2>&1 || { tail -n 30 "$root/build/setup.log" >&2; exit 1; }

python=$(python3 -c 'import sys; print(sys.executable)') # the interpreter, not a wrapper
script='import json; d = {str(i): [i] * 8 for i in range(50000)}; print(len(json.dumps(d)))'
trace_dir="$root/traces/python3-$(date +%Y%m%d-%H%M%S)"
mkdir -p "$root/traces"
"$root/prefix/bin/meshward" trace --report -o "$trace_dir" -- "$python" -c "$script"
echo "meshward: more: $root/prefix/bin/meshward report --html report.html $trace_dir" >&2
