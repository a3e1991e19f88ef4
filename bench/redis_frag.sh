#!/bin/bash
# redis_frag.sh — how much memory Redis keeps resident after a workload fragments its heap,
# and Redis's throughput, under several allocators swapped into Debian's redis-server with
# LD_PRELOAD.
#
# Per allocator and run: a fresh redis-server (private loopback port, temporary directory,
# no persistence: --save "" --appendonly no) is loaded with KEYS string keys whose values
# have a random length of 10–700 bytes; then a random half of the keys is deleted, which
# leaves most slabs half full and few pages empty (the heap meshing is meant to shrink).
# Recorded: INFO memory's used_memory (bytes Redis asked for, as the allocator's
# malloc_usable_size counts them) and used_memory_rss after the load and ~7 s after the
# deletes (2 s, then polled once a second for 5 s, last value: an allocator that returns or
# meshes memory in the background gets the time to do it), the PSS of the server after the
# deletes (/proc/PID/smaps_rollup), then the SET and GET rates of a fixed redis-benchmark
# run against the fragmented server. Allocators run in alternation (A B C A B C ...);
# medians over the runs go to stdout as a markdown table, progress to stderr.
#
# Invariants:
# - The load and the deletes are deterministic (fixed seeds): every allocator and every run
#   sees the same keys, values and delete order. The benchmark's own key choice is not
#   seeded, only its parameters are fixed.
# - LD_PRELOAD is set for redis-server only, never for redis-cli or redis-benchmark.
# - Debian's redis-server is linked against libjemalloc.so.2 (INFO says mem_allocator=jemalloc
#   whatever is preloaded) and calls the unprefixed malloc, free, calloc, realloc and
#   malloc_usable_size, so a preloaded library takes them over; only mallctl (statistics)
#   still reaches jemalloc. glibc is therefore measured by preloading libc.so.6 itself
#   (which puts glibc's malloc ahead of jemalloc's), and jemalloc by preloading the library
#   Redis links anyway. Whether the swap took effect is checked on every run with
#   jemalloc's own count of allocated bytes (INFO's allocator_allocated): near zero unless
#   jemalloc serves Redis. A run where it does not match is flagged in the table.
# - RSS counts a physical page once per virtual page that maps it, so once meshing maps two
#   spans onto one page RSS overstates what the process holds; PSS divides each page by its
#   mappings and is the figure to compare then (without meshing, PSS ≈ RSS).
# - Servers and temporary directories are removed on every exit (trap), including errors
#   and interrupts; a server that fails to start or dies fails its run, not the script.
#
# usage: bench/redis_frag.sh [--build DIR] [--keys N] [--runs N] [--allocators A,B]
# needs: redis-server, redis-tools and the peers (scripts/deps.sh --bench), python3.
set -euo pipefail

SRC=$(realpath "$(dirname "$0")/..")
CMDLINE="bench/redis_frag.sh${*:+ $*}"
BUILD=$SRC/build
KEYS=1500000
RUNS=3
ALLOCATORS=glibc,mimalloc,jemalloc,meshward,meshward-nomesh
SEED=20190622                 # the load's seed; the deletes use SEED+1
MIN_LEN=10
MAX_LEN=700
BENCH_ARGS=(-q -n 1000000 -t "set,get" -P 16 -d 100 -r 100000 --csv)

usage() {
    sed -n '/^# usage:/,/^# needs:/s/^# //p' "$0" >&2
    cat >&2 <<'EOF'
  --build DIR        CMake build directory holding src/libmeshward.so (default: build)
  --keys N           keys loaded (default 1500000); half of them are deleted
  --runs N           runs per allocator, medians reported (default 3)
  --allocators A,B   among glibc, mimalloc, jemalloc, meshward, meshward-nomesh (default: all)
EOF
    exit "${1:-2}"
}

while [[ $# -gt 0 ]]; do
    case $1 in
        --build) BUILD=$(realpath -m "${2:?--build needs a directory}"); shift 2 ;;
        --keys) KEYS=${2:?--keys needs a number}; shift 2 ;;
        --runs) RUNS=${2:?--runs needs a number}; shift 2 ;;
        --allocators) ALLOCATORS=${2:?--allocators needs a list}; shift 2 ;;
        -h|--help) usage 0 ;;
        *) echo "redis_frag.sh: unknown argument $1" >&2; usage ;;
    esac
done
[[ $KEYS =~ ^[0-9]+$ && $KEYS -ge 2 ]] || { echo "--keys must be a number >= 2" >&2; exit 2; }
[[ $RUNS =~ ^[0-9]+$ && $RUNS -ge 1 ]] || { echo "--runs must be a number >= 1" >&2; exit 2; }

for tool in redis-server redis-cli redis-benchmark python3; do
    command -v "$tool" >/dev/null || {
        echo "redis_frag.sh: $tool missing (scripts/deps.sh --bench installs it)" >&2; exit 1; }
done
REDIS_SERVER=$(command -v redis-server)

log() { echo "redis_frag: $*" >&2; }

# --- allocators: NAME -> "PRELOAD|ENV" (ENV: space-separated VAR=VALUE, may be empty) ----
first_lib() {   # first existing file named $1 in the usual library directories
    local d
    for d in /usr/lib/*-linux-gnu /lib/*-linux-gnu /usr/lib64 /usr/lib /usr/local/lib; do
        [[ -f $d/$1 ]] && { realpath "$d/$1"; return 0; }
    done
    return 1
}
# glibc: the libc.so.6 that redis-server loads (preloading it puts its malloc first).
LIBC=$(ldd "$REDIS_SERVER" 2>/dev/null | awk '$1 == "libc.so.6" { print $3 }')
[[ -n $LIBC ]] || LIBC=$(first_lib libc.so.6 || true)

declare -A SPEC=()
declare -a ORDER=()
IFS=, read -r -a wanted <<<"$ALLOCATORS"
for name in "${wanted[@]}"; do
    lib="" env="" missing=""
    case $name in
        glibc) lib=$LIBC; [[ -n $lib ]] || missing="libc.so.6 not found" ;;
        mimalloc) lib=$(first_lib libmimalloc.so.2) || missing="install libmimalloc2.0" ;;
        jemalloc) lib=$(first_lib libjemalloc.so.2) || missing="install libjemalloc2" ;;
        meshward|meshward-nomesh)
            lib=$BUILD/src/libmeshward.so
            [[ -f $lib ]] || missing="$lib not found (build it, or pass --build)"
            [[ $name == meshward-nomesh ]] && env="MESHWARD_MESH=0" ;;
        *) echo "redis_frag.sh: unknown allocator $name" >&2; usage ;;
    esac
    if [[ -n $missing ]]; then
        log "$name skipped: $missing"
        continue
    fi
    SPEC[$name]="$lib|$env"
    ORDER+=("$name")
done
[[ ${#ORDER[@]} -gt 0 ]] || { log "no allocator to measure"; exit 1; }

# --- temporary state and cleanup ----------------------------------------------------------
TMP=$(mktemp -d /tmp/redis-frag.XXXXXX)
RESULTS=$TMP/results.tsv
: >"$RESULTS"
RUN_PID=""

stop_server() {   # stop_server PORT PID: a clean shutdown, then SIGKILL if it lingers
    local port=$1 pid=$2 i
    [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 0
    redis-cli -h 127.0.0.1 -p "$port" shutdown nosave >/dev/null 2>&1 || true
    for ((i = 0; i < 50; i++)); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
}

cleanup() {
    if [[ -n $RUN_PID ]]; then kill "$RUN_PID" 2>/dev/null || true; fi
    if [[ -f $TMP/server ]]; then
        # shellcheck disable=SC2046  # "PORT PID", two words
        stop_server $(cat "$TMP/server")
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- the RESP streams fed to redis-cli --pipe ---------------------------------------------
# gen.py MODE N SEED: "load" writes SET key:%08d <value> for every key, value lengths
# uniform in [MIN_LEN, MAX_LEN]; "delete" writes DEL for a random half of the keys, in
# random order. Same output for the same arguments, on any machine (Python's Mersenne
# Twister and random.sample are stable across versions for integer arguments).
cat >"$TMP/gen.py" <<EOF
import random, sys
mode, n, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
out = sys.stdout.buffer
def cmd(*parts):
    return b"*%d\r\n" % len(parts) + b"".join(b"\$%d\r\n%s\r\n" % (len(p), p) for p in parts)
chunk = []
def emit(c):
    chunk.append(c)
    if len(chunk) >= 10000:
        out.write(b"".join(chunk)); chunk.clear()
if mode == "load":
    rng = random.Random(seed)
    pool = bytes(rng.randrange(97, 123) for _ in range(4096))
    for i in range(n):
        length = rng.randint($MIN_LEN, $MAX_LEN)
        start = rng.randrange(0, len(pool) - length)
        emit(cmd(b"SET", b"key:%08d" % i, pool[start:start + length]))
else:
    rng = random.Random(seed + 1)
    for i in rng.sample(range(n), n // 2):
        emit(cmd(b"DEL", b"key:%08d" % i))
out.write(b"".join(chunk))
EOF

free_port() {   # a loopback TCP port in 7000–7999 that nothing listens on now
    python3 - <<'EOF'
import random, socket
for port in random.sample(range(7000, 8000), 1000):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
    except OSError:
        continue
    finally:
        s.close()
    print(port)
    break
else:
    raise SystemExit("no free port in 7000-7999")
EOF
}

# --- one run --------------------------------------------------------------------------------
info_field() {   # info_field PORT NAME: one field of INFO memory
    redis-cli -h 127.0.0.1 -p "$1" info memory | tr -d '\r' | awk -F: -v k="$2" '$1 == k { print $2 }'
}

pipe_in() {   # pipe_in PORT MODE: stream gen.py's commands, check every reply came back clean
    local port=$1 mode=$2 out
    out=$(python3 "$TMP/gen.py" "$mode" "$KEYS" "$SEED" |
          redis-cli -h 127.0.0.1 -p "$port" --pipe 2>&1)
    if ! grep -q "errors: 0," <<<"$out"; then
        log "redis-cli --pipe ($mode) reported errors: $(tail -n 1 <<<"$out")"
        return 1
    fi
}

mib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }

run_one() {   # run_one NAME RUN: appends one line to $RESULTS; runs in a subshell
    local name=$1 run=$2 lib env port dir pid i used_load rss_load used_del rss_del pss_del
    local je_alloc series="" bench set_rps get_rps dbsize
    IFS='|' read -r lib env <<<"${SPEC[$name]}"
    port=$(free_port)
    dir=$TMP/$name.$run
    mkdir -p "$dir"
    local -a envs=("LD_PRELOAD=$lib")
    [[ -n $env ]] && read -r -a extra <<<"$env" && envs+=("${extra[@]}")

    env "${envs[@]}" "$REDIS_SERVER" --port "$port" --bind 127.0.0.1 --save "" \
        --appendonly no --dir "$dir" --logfile "$dir/redis.log" --daemonize no &
    pid=$!
    echo "$port $pid" >"$TMP/server"
    trap 'stop_server "$port" "$pid"; rm -f "$TMP/server"' EXIT
    for ((i = 0; ; i++)); do
        [[ $(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null) == PONG ]] && break
        if ! kill -0 "$pid" 2>/dev/null || ((i >= 100)); then
            log "$name: redis-server did not start; its log ends with:"
            tail -n 5 "$dir/redis.log" >&2 || true
            return 1
        fi
        sleep 0.1
    done

    pipe_in "$port" load
    dbsize=$(redis-cli -h 127.0.0.1 -p "$port" dbsize)
    [[ $dbsize == "$KEYS" ]] || { log "$name: $dbsize keys after the load, not $KEYS"; return 1; }
    used_load=$(info_field "$port" used_memory)
    rss_load=$(info_field "$port" used_memory_rss)
    # jemalloc's statistics say something only where Redis was built with jemalloc.
    je_alloc=""
    if [[ $(info_field "$port" mem_allocator) == jemalloc* ]]; then
        je_alloc=$(info_field "$port" allocator_allocated)
    fi

    pipe_in "$port" delete
    dbsize=$(redis-cli -h 127.0.0.1 -p "$port" dbsize)
    [[ $dbsize == "$((KEYS - KEYS / 2))" ]] || { log "$name: $dbsize keys after the deletes"; return 1; }
    sleep 2
    for ((i = 0; i < 5; i++)); do
        sleep 1
        rss_del=$(info_field "$port" used_memory_rss)
        series+=" $(mib "$rss_del")"
    done
    used_del=$(info_field "$port" used_memory)
    pss_del=$(awk '$1 == "Pss:" { print $2 * 1024 }' "/proc/$pid/smaps_rollup" 2>/dev/null || echo "")

    bench=$(redis-benchmark -h 127.0.0.1 -p "$port" "${BENCH_ARGS[@]}")
    set_rps=$(awk -F'"' '$2 == "SET" { print $4 }' <<<"$bench")
    get_rps=$(awk -F'"' '$2 == "GET" { print $4 }' <<<"$bench")
    kill -0 "$pid" 2>/dev/null || { log "$name: redis-server died during the benchmark"; return 1; }

    log "$name run $run: load used $(mib "$used_load") rss $(mib "$rss_load") MiB;" \
        "after deletes used $(mib "$used_del") MiB, rss over 3–7 s:$series MiB," \
        "pss $(mib "${pss_del:-0}") MiB; SET ${set_rps:-?}/s GET ${get_rps:-?}/s"
    printf '%s\t%s\tok\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$run" "$used_load" \
        "$rss_load" "$used_del" "$rss_del" "${pss_del:--}" "${set_rps:--}" "${get_rps:--}" \
        "${je_alloc:--}" >>"$RESULTS"
}

REDIS_VERSION=$(redis-server --version | sed -n 's/.* v=\([^ ]*\).*/\1/p')
log "redis-server $REDIS_VERSION ($REDIS_SERVER); $KEYS keys, $RUNS run(s); allocators: ${ORDER[*]}"
for name in "${ORDER[@]}"; do
    IFS='|' read -r lib env <<<"${SPEC[$name]}"
    log "  $name: LD_PRELOAD=$lib${env:+ $env}"
done

for ((run = 1; run <= RUNS; run++)); do
    for name in "${ORDER[@]}"; do
        log "$name run $run/$RUNS ..."
        # A subshell in the background keeps set -e in force inside run_one (a function
        # called as a condition runs with errexit off); its failure fails only this run.
        run_one "$name" "$run" &
        RUN_PID=$!
        if ! wait "$RUN_PID"; then
            log "$name run $run failed"
            printf '%s\t%s\tfail\n' "$name" "$run" >>"$RESULTS"
        fi
        RUN_PID=""
    done
done

# --- the table ------------------------------------------------------------------------------
python3 - "$RESULTS" "$CMDLINE" "$REDIS_VERSION" "$KEYS" "$RUNS" "${ORDER[@]}" <<'EOF'
import statistics, sys
results, cmdline, version, keys, runs, *order = sys.argv[1:]
rows = {}
for line in open(results):
    f = line.rstrip("\n").split("\t")
    rows.setdefault(f[0], []).append(f)

def num(x):
    return None if x in ("-", "") else float(x)

MiB = 1 << 20
print(f"Redis {version}: {int(keys):,} keys of 10–700 B loaded, a random half deleted; "
      f"median of {runs} run(s); produced by `{cmdline}`.")
print()
print("| allocator | used_memory MiB after load | rss MiB after load | used_memory MiB after "
      "deletes | rss MiB after deletes | pss MiB after deletes | rss/used after deletes "
      "| SET ops/s | GET ops/s |")
print("|---|" + "---:|" * 8)
checks, flagged = [], []
for name in order:
    good = [f for f in rows.get(name, []) if f[2] == "ok"]
    if not good:
        print(f"| {name} | FAIL |" + " |" * 7)
        continue
    col = lambda i: statistics.median(v for v in (num(f[i]) for f in good) if v is not None) \
        if any(num(f[i]) is not None for f in good) else None
    used_l, rss_l, used_d, rss_d, pss_d, set_r, get_r = (col(i) for i in range(3, 10))
    # jemalloc's own count of what it allocated, as a share of used_memory after the load:
    # near 1 when jemalloc serves Redis, near 0 when the preloaded allocator does.
    shares = [num(f[10]) / num(f[3]) for f in good if num(f[10]) is not None and num(f[3])]
    label = name
    if shares:
        share = statistics.median(shares)
        checks.append(f"{name} {100 * share:.1f}%")
        if (name == "jemalloc") != (share > 0.5):
            label += " (!)"
            flagged.append(name)
    m = lambda b: "–" if b is None else f"{b / MiB:.1f}"
    r = lambda x: "–" if x is None else f"{x:,.0f}"
    ratio = "–" if not used_d else f"{rss_d / used_d:.2f}"
    note = "" if len(good) == len(rows[name]) else f" ({len(good)} of {len(rows[name])} runs)"
    print(f"| {label}{note} | {m(used_l)} | {m(rss_l)} | {m(used_d)} | {m(rss_d)} | {m(pss_d)} "
          f"| {ratio} | {r(set_r)} | {r(get_r)} |")
print()
if checks:
    print("Check that LD_PRELOAD replaced malloc: jemalloc's own count of allocated bytes "
          "(INFO's allocator_allocated) after the load, as a share of used_memory: "
          + ", ".join(checks) + ".")
if flagged:
    print(f"(!) {', '.join(flagged)}: the allocator serving Redis is not the one named.")
EOF
