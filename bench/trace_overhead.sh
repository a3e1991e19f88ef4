#!/bin/bash
# trace_overhead.sh — what meshward's tracing costs, in two tables:
#
# 1. Tracepoints compiled in but not enabled: callgrind instruction counts of the churn
#    workload preloaded with the MW_TRACE=ON library of BUILD_DIR and with an MW_TRACE=OFF
#    build of the same sources (configured here, in RESULTS_DIR/build-notrace).
# 2. Tracing on: wall time of the churn and server workloads recorded by LTTng through
#    meshward's provider (meshward:*, what `meshward trace` records: the caller's address
#    as a stack id; and with `--stacks`, MESHWARD_TRACE_STACKS=32, whole call stacks),
#    through LTTng's libc wrapper (lttng_ust_libc:* on glibc malloc) and by heaptrack (whole
#    call stacks), each against the same allocator untraced; events recorded, events per
#    second, nanoseconds each event adds, trace bytes per event. Both LTTng sessions use the
#    channel size of `meshward trace` and the contexts each needs to name threads, processes
#    and call sites: meshward's are those of `meshward trace` (the allocation events in a
#    channel with vtid, the others in a second one with vtid and vpid: each thread's `thread`
#    event names its process; the events carry a stack id), the libc wrapper's vtid, vpid and
#    ip (its only call site); and meshward as `meshward trace --no-threads` records (no
#    context on the allocation events, per-process buffers). The libc wrapper runs on glibc,
#    and again on meshward (preloaded after it), whose untraced run is then its base: the
#    same allocator under both tracers, where glibc's own cost differs from meshward's.
# 2b. In-process instructions per event: callgrind counts of churn traced by meshward
#    (without and with --stacks, and with --no-threads) and by the libc wrapper, less the same
#    run untraced, over the events recorded.
# 3. Real programs (python3 building dicts and lists, sqlite3 running a script, gcc's cc1
#    compiling one of the report's sources): wall time untraced, traced by meshward without and with
#    --stacks, and by heaptrack (which records stacks), with the number of events.
#
# usage: bench/trace_overhead.sh BUILD_DIR [RESULTS_DIR]
# needs: valgrind, lttng-tools, liblttng-ust (libc wrapper), heaptrack, babeltrace2.
# Prints markdown tables; the traces and callgrind files stay in RESULTS_DIR.
set -euo pipefail

BUILD=$(realpath "${1:?usage: trace_overhead.sh BUILD_DIR [RESULTS_DIR]}")
OUT=$(realpath -m "${2:-$(mktemp -d /tmp/meshward-trace-overhead.XXXXXX)}")
SRC=$(realpath "$(dirname "$0")/..")
RUNS=${RUNS:-3}                   # timed runs per configuration (the median is reported)
CHURN_SCALE=${CHURN_SCALE:-0.1}   # 2.5 M malloc/free pairs
SERVER_SCALE=${SERVER_SCALE:-0.4} # 100 k requests
CG_SCALE=${CG_SCALE:-0.02}        # churn under callgrind: 500 k pairs
WRAPPER=$(ldconfig -p | awk '/liblttng-ust-libc-wrapper.so.1 /{print $NF; exit}')
mkdir -p "$OUT"

LIB_ON=$BUILD/src/libmeshward.so
TP=$BUILD/trace/libmeshward-tp.so
for f in "$LIB_ON" "$TP" "$BUILD/bench/mwb-churn" "$BUILD/bench/mwb-server"; do
    [ -e "$f" ] || { echo "trace_overhead.sh: $f missing (build BUILD_DIR first)" >&2; exit 1; }
done

# ---- 1. disabled tracepoints: instruction counts ----------------------------------------
cmake -S "$SRC" -B "$OUT/build-notrace" -DMW_TRACE=OFF -DMW_BUILD_TESTS=OFF \
    -DMW_BUILD_TOOLS=OFF -DMW_BUILD_BENCH=OFF \
    -DCMAKE_BUILD_TYPE="$(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$BUILD/CMakeCache.txt")" \
    >/dev/null
cmake --build "$OUT/build-notrace" --target meshward -j"$(nproc)" >/dev/null
LIB_OFF=$OUT/build-notrace/src/libmeshward.so

instructions() { # LIB NAME: total instructions of churn under callgrind
    if ! LD_PRELOAD=$1 valgrind --tool=callgrind --callgrind-out-file="$OUT/callgrind.$2" \
        "$BUILD/bench/mwb-churn" "$CG_SCALE" >/dev/null 2>"$OUT/callgrind.$2.log"; then
        echo "trace_overhead.sh: churn failed under callgrind, see $OUT/callgrind.$2.log" >&2
        exit 1
    fi
    sed -n 's/^summary: //p' "$OUT/callgrind.$2"
}
ir_off=$(instructions "$LIB_OFF" off)
ir_on=$(instructions "$LIB_ON" on)
echo "### Tracepoints compiled in, not enabled (callgrind, mwb-churn $CG_SCALE)"
echo
echo "| build | instructions | vs MW_TRACE=OFF |"
echo "|---|---:|---:|"
echo "| MW_TRACE=OFF | $ir_off | 1.0000 |"
awk -v on="$ir_on" -v off="$ir_off" \
    'BEGIN { printf "| MW_TRACE=ON, no probe loaded | %d | %.4f |\n", on, on / off }'
echo

# ---- 2. tracing on ------------------------------------------------------------------------
# A reachable session daemon is used as it is; otherwise one is started for this script and
# stopped at the end (by the pid it wrote when it started, nothing else).
daemon_pid=
if ! lttng list >/dev/null 2>&1; then
    lttng-sessiond --daemonize --no-kernel
    pidfile=/var/run/lttng/lttng-sessiond.pid
    [ "$(id -u)" = 0 ] || pidfile=${LTTNG_HOME:-$HOME}/.lttng/lttng-sessiond.pid
    daemon_pid=$(cat "$pidfile")
fi
trap '[ -z "$daemon_pid" ] || kill "$daemon_pid"' EXIT

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.6f\n", b - a }'; }
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# timed ENV... -- CMD...: seconds of one run, the program's output discarded
timed() {
    local t0 t1
    t0=$(now)
    env "$@" >/dev/null 2>>"$OUT/stderr.log"
    t1=$(now)
    elapsed "$t0" "$t1"
}

# channel SESSION NAME EVENTS BUFFERS CONTEXT...: a channel of `meshward trace`'s size with
# those events (comma-separated), buffers (uid or pid) and contexts (maybe none)
channel() {
    local session=$1 name=$2 events=$3 buffers=$4
    shift 4
    lttng enable-channel --userspace --session "$session" --buffers-"$buffers" \
        --subbuf-size=4M --num-subbuf=8 "$name" >/dev/null
    lttng enable-event --userspace --session "$session" --channel "$name" "$events" >/dev/null
    [ $# = 0 ] || lttng add-context --userspace --session "$session" --channel "$name" "$@" \
        >/dev/null
}
MW_ALLOC_EVENTS=meshward:alloc,meshward:alloc_slab,meshward:heap_alloc,meshward:free,meshward:free_slab,meshward:realloc
# the others, one by one as `meshward trace` names them (tools/lttng_session.c)
MW_OTHER_EVENTS=$(grep -o '"meshward:[a-z_]*"' "$SRC/tools/lttng_session.c" |
    grep -v -x -F -e '"meshward:alloc"' -e '"meshward:alloc_slab"' -e '"meshward:heap_alloc"' \
        -e '"meshward:free"' -e '"meshward:free_slab"' -e '"meshward:realloc"' |
    tr -d '"' | paste -sd,)
setup_meshward() { # SESSION: the channels and contexts of `meshward trace`
    channel "$1" meshward "$MW_ALLOC_EVENTS" uid -t vtid
    channel "$1" process "$MW_OTHER_EVENTS" uid -t vtid -t vpid
}
setup_nothreads() { # SESSION: those of `meshward trace --no-threads`
    channel "$1" meshward "$MW_ALLOC_EVENTS" pid
    channel "$1" process "$MW_OTHER_EVENTS" pid -t vtid -t vpid
}
setup_libc() { # SESSION
    channel "$1" c 'lttng_ust_libc:*' uid -t vtid -t vpid -t ip
}

# lttng_run NAME SETUP ENV...: one run inside a fresh session set up by the function SETUP;
# prints "seconds events bytes discarded"
lttng_run() {
    local name=$1 setup=$2 dir="$OUT/trace-$1"
    shift 2
    rm -rf "$dir"
    lttng create "mwbench-$name" --output="$dir" >/dev/null
    "$setup" "mwbench-$name"
    lttng start "mwbench-$name" >/dev/null
    local secs
    secs=$(timed "$@")
    lttng stop "mwbench-$name" >/dev/null
    local discarded
    discarded=$(lttng list "mwbench-$name" | awk '/Discarded events:/ { n += $3 } END { print n + 0 }')
    if [ "$setup" = setup_nothreads ]; then # per-process counts go with their process
        discarded=$("$BUILD/tools/meshward" report --json "$dir" |
            python3 -c 'import json, sys; print(json.load(sys.stdin)["summary"]["discarded_events"])')
    fi
    lttng destroy "mwbench-$name" >/dev/null
    local n
    n=$(babeltrace2 "$dir" -c sink.utils.counter -p step=+0 2>/dev/null |
        awk '/ Event messages/ { print $1 }')
    echo "$secs $n $(du -sb "$dir" | cut -f1) $discarded"
}

heaptrack_run() { # CMD...: "seconds events bytes 0" for one heaptrack run
    local file="$OUT/heaptrack.out" t0 t1 data calls
    rm -f "$file"*
    t0=$(now)
    heaptrack -o "$file" "$@" >/dev/null 2>>"$OUT/stderr.log"
    t1=$(now)
    data=$(ls "$file"*)
    # one record per allocation and one per free
    calls=$(heaptrack_print "$data" 2>/dev/null |
        awk '/calls to allocation functions:/ { print $5 }')
    echo "$(elapsed "$t0" "$t1") $((2 * calls)) $(stat -c %s "$data") 0"
}

row() { # TOOL WORKLOAD BASE_SECONDS RESULTS...(one "secs events bytes discarded" per run)
    local tool=$1 wl=$2 base=$3 secs
    shift 3
    secs=$(printf '%s\n' "$@" | cut -d' ' -f1 | median)
    # counts and sizes from the last run (they hardly vary between runs)
    echo "${@: -1}" | awk -v tool="$tool" -v wl="$wl" -v base="$base" -v s="$secs" '{
        printf "| %s | %s | %.3f | %.3f | %.2fx | %d | %d | %.0f | %.0f | %.1f |\n",
            wl, tool, base, s, s / base, $2, $4, $2 / s, (s - base) * 1e9 / $2, $3 / $2 }'
}

echo "### Tracing on (median of $RUNS rounds)"
echo
echo "| workload | tool | untraced s | traced s | slowdown | events | discarded | events/s | ns/event | bytes/event |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
# traced CONFIG: one traced run of $prog at $scale, added to that configuration's results
traced() {
    case $1 in
    mw) mw+=("$(lttng_run "meshward-$wl" setup_meshward LD_PRELOAD="$TP:$LIB_ON" "$prog" "$scale")") ;;
    st) st+=("$(lttng_run "stacks-$wl" setup_meshward MESHWARD_TRACE_STACKS=32 \
        LD_PRELOAD="$TP:$LIB_ON" "$prog" "$scale")") ;;
    nt) nt+=("$(lttng_run "nothreads-$wl" setup_nothreads LD_PRELOAD="$TP:$LIB_ON" "$prog" \
        "$scale")") ;;
    libc) libc+=("$(lttng_run "libc-$wl" setup_libc LD_PRELOAD="$WRAPPER" "$prog" "$scale")") ;;
    libcmw) libcmw+=("$(lttng_run "libcmw-$wl" setup_libc LD_PRELOAD="$WRAPPER:$LIB_ON" \
        "$prog" "$scale")") ;;
    ht) ht+=("$(heaptrack_run "$prog" "$scale")") ;;
    esac
}
# One round runs every configuration once, and the rounds repeat: load that comes and goes
# on a shared machine then weighs on every configuration alike. Each round starts the
# traced configurations one further along, so that none always runs first (right after the
# untraced runs) or last (in an earlier run with a fixed order, the first, meshward without
# stacks, came out slower per event than the second, with stacks, which does more).
CONFIGS=(mw st nt libc libcmw ht)
for wl in churn server; do
    prog=$BUILD/bench/mwb-$wl
    scale=$CHURN_SCALE
    [ "$wl" = server ] && scale=$SERVER_SCALE
    base_mw=() base_glibc=() mw=() st=() nt=() libc=() libcmw=() ht=()
    for round in $(seq "$RUNS"); do
        base_mw+=("$(timed LD_PRELOAD="$LIB_ON" "$prog" "$scale")")
        base_glibc+=("$(timed "$prog" "$scale")")
        for k in "${!CONFIGS[@]}"; do
            traced "${CONFIGS[$(((round + k) % ${#CONFIGS[@]}))]}"
        done
    done
    b_mw=$(printf '%s\n' "${base_mw[@]}" | median)
    b_glibc=$(printf '%s\n' "${base_glibc[@]}" | median)
    row "meshward (LTTng)" "$wl" "$b_mw" "${mw[@]}"
    row "meshward --stacks (LTTng)" "$wl" "$b_mw" "${st[@]}"
    row "meshward --no-threads (LTTng)" "$wl" "$b_mw" "${nt[@]}"
    row "glibc + lttng-ust-libc-wrapper" "$wl" "$b_glibc" "${libc[@]}"
    row "meshward + lttng-ust-libc-wrapper" "$wl" "$b_mw" "${libcmw[@]}"
    row "glibc + heaptrack" "$wl" "$b_glibc" "${ht[@]}"
done
echo

# ---- 2b. instructions per event ----------------------------------------------------------
cg_run() { # NAME LABEL SETUP ENV...: instructions per event of churn traced under callgrind
    local name=$1 label=$2 setup=$3 base traced
    shift 3
    if [ "$setup" = setup_libc ]; then base=glibc; else base=meshward; fi
    traced=$(lttng_run "cg-$name" "$setup" "$@" valgrind --tool=callgrind \
        --callgrind-out-file="$OUT/callgrind.traced-$name" "$BUILD/bench/mwb-churn" "$CG_SCALE")
    awk -v name="$label" -v events="$(echo "$traced" | cut -d' ' -f2)" \
        -v t="$(sed -n 's/^summary: //p' "$OUT/callgrind.traced-$name")" \
        -v u="$(sed -n 's/^summary: //p' "$OUT/callgrind.untraced-$base")" \
        'BEGIN { printf "| %s | %d | %.0f |\n", name, events, (t - u) / events }'
}
valgrind --tool=callgrind --callgrind-out-file="$OUT/callgrind.untraced-glibc" \
    "$BUILD/bench/mwb-churn" "$CG_SCALE" >/dev/null 2>&1
LD_PRELOAD=$LIB_ON valgrind --tool=callgrind --callgrind-out-file="$OUT/callgrind.untraced-meshward" \
    "$BUILD/bench/mwb-churn" "$CG_SCALE" >/dev/null 2>&1
echo "### In-process instructions per event (callgrind, mwb-churn $CG_SCALE traced)"
echo
echo "| tool | events | instructions per event |"
echo "|---|---:|---:|"
cg_run meshward meshward setup_meshward LD_PRELOAD="$TP:$LIB_ON"
cg_run stacks "meshward --stacks" setup_meshward MESHWARD_TRACE_STACKS=32 LD_PRELOAD="$TP:$LIB_ON"
cg_run nothreads "meshward --no-threads" setup_nothreads LD_PRELOAD="$TP:$LIB_ON"
cg_run libc "glibc + lttng-ust-libc-wrapper" setup_libc LD_PRELOAD="$WRAPPER"
echo

# ---- 3. real programs ---------------------------------------------------------------------
cat >"$OUT/script.py" <<'PY'
d = {}
for i in range(200000):
    d[str(i)] = [i] * (i % 7)
print(sum(len(v) for v in d.values()))
PY
cat >"$OUT/script.sql" <<'SQL'
create table t(a integer primary key, b text);
with recursive n(i) as (select 1 union all select i+1 from n where i < 100000)
insert into t select i, printf('row-%d', i * 7919 % 10007) from n;
create index tb on t(b);
select count(*), max(b) from t;
SQL
CC1=$(gcc -print-prog-name=cc1)
real_run() { # NAME CMD...: one table row
    local name=$1 base mw st ht
    shift
    base=$(for _ in $(seq "$RUNS"); do timed "$@"; done | median)
    mw=$(for _ in $(seq "$RUNS"); do lttng_run "real-$name" setup_meshward \
        LD_PRELOAD="$TP:$LIB_ON" "$@"; done | sort -g | awk '{ v[NR] = $0 } END { print v[int((NR + 1) / 2)] }')
    st=$(for _ in $(seq "$RUNS"); do lttng_run "real-st-$name" setup_meshward \
        MESHWARD_TRACE_STACKS=32 LD_PRELOAD="$TP:$LIB_ON" "$@"; done |
        sort -g | awk '{ v[NR] = $0 } END { print v[int((NR + 1) / 2)] }')
    ht=$(for _ in $(seq "$RUNS"); do heaptrack_run "$@"; done | sort -g |
        awk '{ v[NR] = $0 } END { print v[int((NR + 1) / 2)] }')
    echo "$base $mw $st $ht" | awk -v n="$name" '{
        printf "| %s | %.3f | %.3f (%d) | %.3f | %.3f (%d) | %.2fx |\n",
            n, $1, $2, $3, $6, $10, $11, $6 / $10 }'
}
echo
echo "### Real programs (median of $RUNS runs; events in parentheses)"
echo
echo "| program | untraced s | meshward s | meshward --stacks s | heaptrack s | --stacks / heaptrack |"
echo "|---|---:|---:|---:|---:|---:|"
# the interpreter itself, not a wrapper script (pyenv's shim) that tools would trace instead
real_run python3 "$(python3 -c 'import sys; print(sys.executable)')" "$OUT/script.py"
real_run sqlite3 sqlite3 :memory: ".read $OUT/script.sql"
real_run cc1 "$CC1" -quiet -O2 -imultiarch "$(gcc -print-multiarch)" -D_GNU_SOURCE \
    -I"$SRC/tools" "$SRC/tools/report/replay.c" -o "$OUT/report_replay.s"
echo
echo "(traces and logs in $OUT)"
