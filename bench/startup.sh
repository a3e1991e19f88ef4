#!/bin/bash
# startup.sh — what an allocator costs a program that does almost nothing, in two tables:
#
# 1. Start-up: N runs (default 500) of /bin/true with each allocator preloaded, timed as a
#    whole (hyperfine, mean and standard deviation per run), and the peak RSS of one run.
# 2. A build of a real project: this project's core library (the `meshward` target) built
#    from scratch with every process of the build (make, the compiler driver, cc1, as, ld)
#    running on each allocator; wall time of the build, RUNS times (default 3), median.
#
# usage: bench/startup.sh BUILD_DIR [RESULTS_DIR]
# needs: hyperfine, the peers of run.py (any that is missing is skipped), cmake, make.
set -euo pipefail

BUILD=$(realpath "${1:?usage: startup.sh BUILD_DIR [RESULTS_DIR]}")
OUT=$(realpath -m "${2:-$(mktemp -d /tmp/meshward-startup.XXXXXX)}")
SRC=$(realpath "$(dirname "$0")/..")
N=${N:-500}
RUNS=${RUNS:-3}
mkdir -p "$OUT"

source "$(dirname "$0")/allocators.sh"
present=()
for a in "${ALLOC_ORDER[@]}"; do
    if [ -z "${ALLOC_LIBS[$a]}" ] || [ -e "${ALLOC_LIBS[$a]}" ]; then present+=("$a"); fi
done

# ---- 1. /bin/true ------------------------------------------------------------------------
echo "### Start-up: $N runs of /bin/true"
echo
echo "| allocator | ms per run (mean ± sd) | peak RSS (KB) |"
echo "|---|---:|---:|"
for a in "${present[@]}"; do
    json=$OUT/true-$a.json
    hyperfine -N --warmup 20 --runs "$N" --export-json "$json" \
        "env LD_PRELOAD=${ALLOC_LIBS[$a]} /bin/true" >/dev/null 2>&1
    stats=$(python3 -c "import json,sys; r=json.load(open(sys.argv[1]))['results'][0]; \
print(f\"{r['mean']*1e3:.2f} ± {r['stddev']*1e3:.2f}\")" "$json")
    rss=$( { env LD_PRELOAD="${ALLOC_LIBS[$a]}" /usr/bin/time -f %M /bin/true; } 2>&1 | tail -1)
    echo "| $a | $stats | $rss |"
done

# ---- 2. a build ----------------------------------------------------------------------------
echo
echo "### A build of this project's core library, every build process on the allocator"
echo
echo "| allocator | seconds (median of $RUNS) |"
echo "|---|---:|"
cmake -S "$SRC" -B "$OUT/build" -G "Unix Makefiles" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DMW_BUILD_TESTS=OFF -DMW_BUILD_TOOLS=OFF -DMW_BUILD_BENCH=OFF >/dev/null
for a in "${present[@]}"; do
    times=()
    for _ in $(seq "$RUNS"); do
        make -C "$OUT/build" clean >/dev/null
        start=$(date +%s.%N)
        LD_PRELOAD=${ALLOC_LIBS[$a]} make -C "$OUT/build" -j"$(nproc)" meshward >/dev/null
        times+=("$(echo "$(date +%s.%N) - $start" | bc)")
    done
    median=$(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(((RUNS + 1) / 2))p")
    echo "| $a | $(printf '%.2f' "$median") |"
done
