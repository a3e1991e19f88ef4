#!/bin/bash
# report_bench.sh — what reading a trace costs `meshward report`, in three tables:
#
# 1. Throughput on a ~10 M-event trace of the churn workload (CHURN_SCALE): `meshward report
#    --json` with its own reader and with libbabeltrace2's (`--reader babeltrace2`), and
#    `babeltrace2 -c sink.utils.dummy` (decodes every event, does nothing with it): wall and
#    CPU time (median of RUNS), events per second of wall time.
# 2. Memory: peak RSS of `meshward report` against the trace's size and the traced
#    program's live heap: churn (4096 live blocks) at growing lengths, fragmentation (3 M
#    live blocks at its peak) at growing sizes.
# 3. heaptrack: the churn workload recorded by heaptrack and read by heaptrack_print, beside
#    the same workload recorded by `meshward trace` and read by `meshward report`: time per
#    event and what each finds (allocations, temporaries, peak, leaks).
#
# usage: bench/report_bench.sh BUILD_DIR [RESULTS_DIR]
# needs: lttng-tools, babeltrace2, heaptrack. Prints markdown; traces stay in RESULTS_DIR.
set -euo pipefail

BUILD=$(realpath "${1:?usage: report_bench.sh BUILD_DIR [RESULTS_DIR]}")
OUT=$(realpath -m "${2:-$(mktemp -d /tmp/meshward-report-bench.XXXXXX)}")
RUNS=${RUNS:-3}
CHURN_SCALE=${CHURN_SCALE:-0.2} # 5 M malloc/free pairs: 10 M events
MW=$BUILD/tools/meshward
mkdir -p "$OUT"

record() { # record NAME PROG ARGS...: a meshward trace in OUT/NAME (once)
    local name=$1
    shift
    [ -d "$OUT/$name" ] || "$MW" trace -o "$OUT/$name" -- "$@" >/dev/null 2>"$OUT/$name.log"
}

# median of RUNS runs of a command: "wall user+sys maxrss_kb"
timed() {
    for _ in $(seq "$RUNS"); do
        /usr/bin/time -f "%e %U %S %M" -o "$OUT/time.txt" "$@" >/dev/null 2>&1
        awk '{printf "%.3f %.3f %d\n", $1, $2 + $3, $4}' "$OUT/time.txt"
    done | sort -n | awk -v n="$RUNS" 'NR == int((n + 1) / 2)'
}

json() { "$MW" report --json "$1" | python3 -c "import json, sys; d = json.load(sys.stdin)
print(' '.join(str(eval(e, {'d': d})) for e in sys.argv[1:]))" "${@:2}"; }

record churn "$BUILD/bench/mwb-churn" "$CHURN_SCALE"
events=$(json "$OUT/churn" "d['summary']['events']")
echo "### Reading a trace of $events events (churn $CHURN_SCALE), median of $RUNS runs"
echo
echo "| reader | wall s | CPU s | events/s (wall) | peak RSS MiB |"
echo "|---|---|---|---|---|"
row() {
    read -r wall cpu rss <<<"$(timed "${@:2}")"
    echo "| $1 | $wall | $cpu | $(awk -v e="$events" -v w="$wall" 'BEGIN{printf "%.1f M", e/w/1e6}') | $((rss / 1024)) |"
}
row "meshward report --json" "$MW" report --json "$OUT/churn"
row "meshward report --json --reader babeltrace2" "$MW" report --json --reader babeltrace2 "$OUT/churn"
row "babeltrace2 -c sink.utils.dummy" babeltrace2 "$OUT/churn" -c sink.utils.dummy

echo
echo "### Peak RSS of meshward report: trace size against live heap"
echo
echo "| trace | events | trace MiB | peak live blocks | report peak RSS MiB | wall s |"
echo "|---|---|---|---|---|---|"
for spec in churn:0.05 churn:0.1 churn:"$CHURN_SCALE" fragmentation:0.25 fragmentation:0.5 \
    fragmentation:1; do
    w=${spec%%:*} s=${spec#*:}
    record "$w-$s" "$BUILD/bench/mwb-$w" "$s"
    read -r ev blocks <<<"$(json "$OUT/$w-$s" "d['summary']['events']" "d['summary']['peak_blocks']")"
    read -r wall _ rss <<<"$(timed "$MW" report --json "$OUT/$w-$s")"
    mib=$(du -sm "$OUT/$w-$s" | cut -f1)
    echo "| $w $s | $ev | $mib | $blocks | $((rss / 1024)) | $wall |"
done

echo
echo "### heaptrack_print and meshward report on churn $CHURN_SCALE"
echo
rm -f "$OUT"/heaptrack.*
heaptrack -o "$OUT/heaptrack.churn" "$BUILD/bench/mwb-churn" "$CHURN_SCALE" >/dev/null 2>&1
ht=$(ls "$OUT"/heaptrack.churn*)
heaptrack_print "$ht" >"$OUT/heaptrack.txt" 2>/dev/null
read -r ht_wall ht_cpu ht_rss <<<"$(timed heaptrack_print "$ht")"
read -r mw_wall mw_cpu mw_rss <<<"$(timed "$MW" report --json "$OUT/churn")"
read -r allocs temps peak leaked <<<"$(json "$OUT/churn" "d['summary']['allocations']" \
    "d['summary']['temporaries']" "d['summary']['peak_bytes']" "d['summary']['leaked_bytes']")"
ht_allocs=$(sed -n 's/^total runtime.*//; s/^calls to allocation functions: \([0-9]*\).*/\1/p' "$OUT/heaptrack.txt")
ht_temps=$(sed -n 's/^temporary memory allocations: \([0-9]*\).*/\1/p' "$OUT/heaptrack.txt")
ht_peak=$(sed -n 's/^peak heap memory consumption: \(.*\)/\1/p' "$OUT/heaptrack.txt")
ht_leak=$(sed -n 's/^total memory leaked: \(.*\)/\1/p' "$OUT/heaptrack.txt")
# Events: meshward records one per alloc and per free; heaptrack one per allocation and free.
per_event() { awk -v t="$1" -v e="$2" 'BEGIN{printf "%.0f", t * 1e9 / e}'; }
echo "| | heaptrack_print | meshward report |"
echo "|---|---|---|"
echo "| wall s (median of $RUNS) | $ht_wall | $mw_wall |"
echo "| CPU s | $ht_cpu | $mw_cpu |"
echo "| ns per event (wall) | $(per_event "$ht_wall" $((2 * ht_allocs))) | $(per_event "$mw_wall" "$events") |"
echo "| peak RSS MiB | $((ht_rss / 1024)) | $((mw_rss / 1024)) |"
echo "| allocations | $ht_allocs | $allocs |"
echo "| temporary allocations | $ht_temps | $temps |"
echo "| peak heap | $ht_peak | $peak B |"
echo "| leaked | $ht_leak | $leaked B |"
