#!/bin/bash
# fast_path.sh — instructions per call of malloc and free on their fast paths, for meshward
# and each peer allocator installed, counted by callgrind (exact and repeatable, unlike
# time on a shared machine): the inclusive instructions of `malloc` and `free` over the
# calls made by mwb-fast-path (fast_path.c), slow paths included, in two runs:
#   local   1,000,000 malloc/free pairs of 16-72 byte blocks, 64 live, one thread
#   remote  409,600 blocks allocated by one thread and freed by another
#
# usage: bench/fast_path.sh BUILD_DIR
# needs: valgrind; peers from Debian's packages (scripts/deps.sh --bench), skipped if absent.
# Prints a markdown table.
set -euo pipefail

BUILD=$(realpath "${1:?usage: fast_path.sh BUILD_DIR}")
PROG=$BUILD/bench/mwb-fast-path
LOCAL_N=1000000
REMOTE_N=409600
[ -x "$PROG" ] || { echo "fast_path.sh: $PROG is missing (build the bench targets)" >&2; exit 1; }

source "$(dirname "$0")/allocators.sh"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# inclusive NAME FILE: the largest inclusive count of a function called NAME in FILE.
inclusive() {
    callgrind_annotate --inclusive=yes --threshold=100 "$2" 2>/dev/null |
        awk -v name="$1" '$0 ~ ":" name " \\[" { gsub(",", "", $1); if ($1 > max) max = $1 }
                          END { print max + 0 }'
}

# run ALLOC MODE N: writes the callgrind profile of one run to $WORK/ALLOC.MODE.
run() {
    local out=$WORK/$1.$2
    if [ -n "${ALLOC_LIBS[$1]}" ]; then
        LD_PRELOAD=${ALLOC_LIBS[$1]} valgrind --tool=callgrind --callgrind-out-file="$out" \
            "$PROG" "$2" "$3" >/dev/null 2>&1
    else
        valgrind --tool=callgrind --callgrind-out-file="$out" "$PROG" "$2" "$3" >/dev/null 2>&1
    fi
    echo "$out"
}

per_call() { # COUNT CALLS
    awk -v c="$1" -v n="$2" 'BEGIN { printf "%.1f", c / n }'
}

echo "| allocator | malloc | free, same thread | free, another thread |"
echo "|---|---:|---:|---:|"
for a in "${ALLOC_ORDER[@]}"; do
    if [ -n "${ALLOC_LIBS[$a]}" ] && [ ! -e "${ALLOC_LIBS[$a]}" ]; then
        echo "fast_path.sh: $a is not installed, skipped" >&2
        continue
    fi
    l=$(run "$a" local $LOCAL_N)
    r=$(run "$a" remote $REMOTE_N)
    echo "| $a | $(per_call "$(inclusive malloc "$l")" $LOCAL_N)" \
        "| $(per_call "$(inclusive free "$l")" $((LOCAL_N + 64)))" \
        "| $(per_call "$(inclusive free "$r")" $REMOTE_N) |"
done
