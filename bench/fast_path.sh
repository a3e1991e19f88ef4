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

# per_call NAME FILE: instructions per call of the program's calls of NAME in FILE (the
# inclusive cost of every call arc from mwb-fast-path's own functions, over their count).
per_call() {
    callgrind_annotate --tree=calling --threshold=100 "$2" 2>/dev/null |
        awk -v name="$1" '
            /  \*  / { ours = ($0 ~ /mwb-fast-path\]$/); next }
            ours && $0 ~ ">   [^ ]*:" name " \\(" {
                c = $1; gsub(",", "", c); cost += c
                for (i = 1; i <= NF; i++)
                    if ($i ~ /^\([0-9,]+x\)$/) { n = $i; gsub(/[(),x]/, "", n); calls += n }
            }
            END { if (calls) printf "%.1f", cost / calls; else printf "?" }'
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

echo "| allocator | malloc | free, same thread | free, another thread |"
echo "|---|---:|---:|---:|"
for a in "${ALLOC_ORDER[@]}"; do
    if [ -n "${ALLOC_LIBS[$a]}" ] && [ ! -e "${ALLOC_LIBS[$a]}" ]; then
        echo "fast_path.sh: $a is not installed, skipped" >&2
        continue
    fi
    l=$(run "$a" local $LOCAL_N)
    r=$(run "$a" remote $REMOTE_N)
    echo "| $a | $(per_call malloc "$l") | $(per_call free "$l") | $(per_call free "$r") |"
done
