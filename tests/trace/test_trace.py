#!/usr/bin/env python3
"""test_trace.py — integration tests of `meshward trace` with real LTTng sessions, read back
with babeltrace2. One case per ctest test:

  known    tp_known's exact allocations are exactly the events recorded, field by field
  real     sqlite3 traced prints what it prints untraced; the trace accounts for every block
  threads  8 threads: nothing lost, and replaying the trace finds no block allocated twice
           and no free of an unknown block
  fork     a forking (and exec'ing) program: every process traced, nothing lost, no hang,
           each child's allocations at their own call sites (with and without --stacks)
  hardened --hardened traces the program with libmeshward-hardened.so
  discard  tiny buffers lose events and say so (with the option that avoids it);
           --no-discard with the same buffers loses none (one thread: with several, LTTng
           still drops an event whenever a thread is preempted in the middle of writing one
           while the others fill the whole buffer)
  errors   no lttng-tools on PATH, a daemon that cannot start, unwritable or non-empty DIR,
           a missing program
  stacks   --stacks: tp_stacks's call stacks name the expected chains (C, a C++ container, a
           dlopen'ed library, generated code), with exact counts; one id per stack and
           process whatever the thread, every id described before its first use, a forked
           child with stacks of its own, a signal handler allocating mid-unwind
  stacks-discard  the same with tiny buffers: events are lost (stack events too, at times),
           and the trace still never uses an id before describing it; the report counts
           allocations whose stack event was lost under (unknown stack), never another

Events name their call site by a stack id (`stack` events say what each id holds, per
process); the program's own events are those whose innermost frame lies in the program
(its address range from the statedump).

Each case runs against its own LTTng session daemon, which `meshward trace` starts and stops:
as root inside a private mount namespace with an empty /var/run/lttng (so that no daemon of
anyone else on the machine is seen or disturbed), otherwise with LTTNG_HOME in the case's
work folder. Exit status 77 (skipped) when lttng-tools or babeltrace2 is not installed."""
import argparse
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile

LINE = re.compile(r"^\[[^\]]*\] \([^)]*\) \S+ (\w+):(\w+): (.*)$")
FIELD = re.compile(r'(\w+) = (\( "(\w+)" : container = -?\d+ \)|"(?:[^"\\]|\\.)*"|[^,{}\s]+)')
ELEMENT = re.compile(r"\[\d+\] = (0x[0-9a-fA-F]+|\d+)")


class Failure(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Failure(msg)


def value(raw, label):
    if label:
        return label
    if raw.startswith('"'):
        return raw[1:-1]
    try:
        return int(raw, 0)
    except ValueError:
        return raw


SLAB = {"alloc_slab": "alloc", "free_slab": "free"}


def unpack_slab(ev, arena, last_known):
    """An `alloc_slab` or `free_slab` event made the `alloc` or `free` of its block, ptr =
    arena + 8 * granule, with its process's arena (`thread` events; a forked child whose
    `thread` events were lost: the arena of the latest process seen with one)."""
    base = arena.get(ev["vpid"], arena.get(last_known, 0))
    arena.setdefault(ev["vpid"], base)
    ev["event"] = SLAB[ev["event"]]
    ev["ptr"] = base + 8 * ev.pop("granule")


def read_events(trace_dir):
    """The trace's events in timestamp order: dicts with 'provider', 'event' and every field
    and context; a `stack` event's addresses in 'frames'; 'vpid' of the events recorded
    without it (the allocation events) from their thread's latest event that has one (the
    thread's id when none has: a main thread), and the `_slab` events made the `alloc` and
    `free` of their block's address, as `meshward report` does."""
    out = subprocess.run(["babeltrace2", trace_dir], check=True, capture_output=True,
                         text=True).stdout
    events = []
    pid_of = {}  # vtid -> vpid
    arena = {}  # vpid -> start of the span range
    last_known = None  # the latest event's process with an arena
    for line in out.splitlines():
        m = LINE.match(line)
        if not m:
            continue
        ev = {"provider": m.group(1), "event": m.group(2)}
        for name, raw, label in FIELD.findall(m.group(3)):
            ev[name] = value(raw, label)
        if ev["event"] == "stack":
            ev["frames"] = [int(x, 0) for x in ELEMENT.findall(m.group(3))]
        if "vtid" in ev and "vpid" in ev:
            pid_of[ev["vtid"]] = ev["vpid"]
        elif "vtid" in ev:
            ev["vpid"] = pid_of.get(ev["vtid"], ev["vtid"])
        if ev["event"] == "thread" and ev.get("arena"):
            arena[ev["vpid"]] = ev["arena"]
        if ev["provider"] == "meshward" and ev["event"] in SLAB:
            unpack_slab(ev, arena, last_known)
        if ev.get("vpid") in arena:
            last_known = ev["vpid"]
        events.append(ev)
    return events


def attribute(events, prog):
    """Keeps the `meshward` events, each with 'frames' (its stack, from its process's `stack`
    events; [] when it names none or an undescribed one) and 'mine' (whether its innermost
    frame lies in the program named prog, mapped where the statedump says)."""
    ranges = [(e["baddr"], e["baddr"] + e["memsz"]) for e in events
              if e["event"] in ("bin_info", "dlopen") and os.path.basename(e["path"]) == prog]
    check(ranges, f"the statedump does not map {prog}")
    stacks = {}
    kept = []
    for e in events:
        if e["provider"] != "meshward":
            continue
        if e["event"] == "stack":
            stacks[(e["vpid"], e["id"])] = e["frames"]
        e.setdefault("frames", stacks.get((e["vpid"], e.get("stack")), []))
        e["mine"] = bool(e["frames"]) and any(a <= e["frames"][0] < b for a, b in ranges)
        kept.append(e)
    return kept


def procnames(events):
    """pid -> process name, from the statedump."""
    return {e["vpid"]: e["procname"] for e in events if e["event"] == "procname"}


def meshward_trace(args, trace_dir, prog, stdin=None, env=None, options=()):
    """Runs `meshward trace -o trace_dir OPTIONS -- prog...`; returns (status, stdout,
    stderr)."""
    cmd = [args.meshward, "trace", "-o", trace_dir] + list(options) + ["--"] + prog
    p = subprocess.run(cmd, stdin=stdin, capture_output=True, text=True, env=env, timeout=600)
    sys.stderr.write(p.stderr)
    return p.returncode, p.stdout, p.stderr


def recorded(stderr):
    """(events recorded, events discarded) as `meshward trace` reports them."""
    m = re.search(r"events recorded: (\d+), discarded: (\d+)", stderr)
    check(m, "meshward trace did not report its event counts")
    return int(m.group(1)), int(m.group(2))


def traced_ok(args, trace_dir, prog, **kw):
    status, out, err = meshward_trace(args, trace_dir, prog, **kw)
    n, discarded = recorded(err)
    check(discarded == 0, f"{discarded} events discarded")
    check(f"trace: {os.path.realpath(trace_dir)}" in err, "trace folder not printed")
    return status, out, err, n


# ---- known ---------------------------------------------------------------------------------


def expected_events(path):
    lines = open(path).read().split("\n")
    check(lines[0] == "start" and "end" in lines, "tp_known did not finish its expectations")
    exp = []
    for line in lines[1 : lines.index("end")]:
        w = line.split()
        k = w[0]
        if k == "alloc":
            exp.append({"event": "alloc", "ptr": int(w[1], 16), "size": int(w[2])})
        elif k == "heap_alloc":
            exp.append({"event": "heap_alloc", "ptr": int(w[1], 16), "size": int(w[2]),
                        "heap": "H"})
        elif k == "free":
            exp.append({"event": "free", "ptr": int(w[1], 16)})
        elif k == "realloc":
            exp.append({"event": "realloc", "old_ptr": int(w[1], 16), "new_ptr": int(w[2], 16),
                        "size": int(w[3]), "heap": "main"})
        elif k == "aligned_alloc":
            exp.append({"event": "aligned_alloc", "ptr": int(w[1], 16), "alignment": int(w[2]),
                        "size": int(w[3])})
        elif k == "heap_destroy":
            exp.append({"event": "heap_destroy", "heap": "H"})
    return exp


def program_events(events):
    """The program's events: alloc, free and realloc from its code, then the events that
    carry no stack: aligned_alloc of a block it allocated, heap events of a heap it used."""
    ptrs, heaps, mine = set(), set(), []
    for e in events:
        k = e["event"]
        if k in ("alloc", "heap_alloc", "free", "realloc") and e["mine"]:
            ptrs.add(e.get("ptr", e.get("new_ptr")))
            heaps.add(e.get("heap"))
        elif not ((k == "aligned_alloc" and e["ptr"] in ptrs) or
                  (k in ("heap_destroy", "heap_reset", "heap_delete") and e["heap"] in heaps)):
            continue
        mine.append(e)
    return mine


def check_all_events_enabled(trace_dir):
    """Every event trace/meshward_tp.h declares is recorded by `meshward trace`, in exactly
    one channel (it names them one by one: a new event must be added to its lists)."""
    tp = open(os.path.join(os.path.dirname(__file__), "..", "..", "trace", "meshward_tp.h")).read()
    declared = set(re.findall(r"LTTNG_UST_TRACEPOINT_EVENT(?:_INSTANCE)?\((?:meshward, \w+, )?"
                              r"meshward, (\w+),", tp))
    enabled = []
    for root, _, files in os.walk(trace_dir):
        if "metadata" in files:
            meta = subprocess.run(["babeltrace2", "--output-format=ctf-metadata", root],
                                  check=True, capture_output=True, text=True).stdout
            enabled += re.findall(r'name = "meshward:(\w+)"', meta)
    check(sorted(enabled) == sorted(declared),
          f"events enabled {sorted(enabled)}, declared {sorted(declared)}")


def case_known(args, work):
    exp_file = os.path.join(work, "expected.txt")
    trace_dir = os.path.join(work, "trace")
    status, _, _, _ = traced_ok(args, trace_dir, [args.prog, exp_file])
    check(status == 0, f"tp_known exited with {status}")
    check_all_events_enabled(trace_dir)
    exp = expected_events(exp_file)
    prog = os.path.basename(args.prog)
    events = attribute(read_events(trace_dir), prog)
    mine = program_events(events)
    heaps = {}  # symbolic heap name -> heap id, bound at first use

    def same_heap(sym, hid):
        check(heaps.setdefault(sym, hid) == hid, f"heap id {hid} where {sym} is {heaps[sym]}")

    for i, (want, got) in enumerate(zip(exp, mine)):
        where = f"event {i}: expected {want}, recorded {got}"
        check(got["event"] == want["event"], where)
        for key, val in want.items():
            if key == "heap":
                same_heap(val, got["heap"])
            elif key != "event":
                check(got.get(key) == val, f"{where}: field {key}")
    check(len(mine) == len(exp),
          f"{len(exp)} events expected from {prog}, {len(mine)} recorded: {mine[len(exp):]}")
    check(heaps["H"] != heaps["main"], "the first-class heap has the thread heap's id")
    created = [e for e in events if e["event"] == "heap_create" and e["heap"] == heaps["H"]]
    check(len(created) == 1, f"heap_create of heap {heaps['H']} recorded {len(created)} times")
    first = events.index(created[0])
    uses = [i for i, e in enumerate(events) if e.get("heap") == heaps["H"] and i != first]
    check(uses and min(uses) > first, "heap_create is not the first event of its heap")


# ---- real ----------------------------------------------------------------------------------

SQL = """create table t(a integer primary key, b text, c real);
with recursive n(i) as (select 1 union all select i+1 from n where i < 20000)
insert into t select i, printf('row-%d-%d', i, i * 7919 % 10007), i * 0.5 from n;
create index tb on t(b);
select count(*), sum(length(b)), max(c) from t;
select b from t where a % 4000 = 0 order by b;
update t set b = b || '-x' where a % 3 = 0;
delete from t where a % 5 = 0;
select count(*), min(b), max(b) from t;
"""


def balance(events):
    """Live blocks at the end of the recorded window, from the `stats` event at load and the
    events between the two `stats` events."""
    stats = [i for i, e in enumerate(events) if e["event"] == "stats"]
    check(len(stats) == 2, f"expected 2 stats events, found {len(stats)} (is mw_stats_get "
          "exported by libmeshward?)")
    start, end = stats
    live = events[start]["live_blocks"]
    for e in events[start + 1 : end]:
        live += (e["event"] in ("alloc", "heap_alloc")) - (e["event"] == "free")
        check(e["event"] not in ("heap_destroy", "heap_reset"), "unexpected heap destroy")
    return live, events[end]


def case_real(args, work):
    sqlite = shutil.which("sqlite3")
    if not sqlite:
        print("sqlite3 not installed", file=sys.stderr)
        sys.exit(77)
    sql = os.path.join(work, "script.sql")
    open(sql, "w").write(SQL)
    plain = subprocess.run([sqlite, ":memory:"], stdin=open(sql), capture_output=True,
                           text=True, check=True).stdout
    trace_dir = os.path.join(work, "trace")
    status, out, _, _ = traced_ok(args, trace_dir, [sqlite, ":memory:"], stdin=open(sql))
    check(status == 0, f"sqlite3 exited with {status} when traced")
    check(out == plain, "sqlite3 printed something else when traced")
    events = [e for e in read_events(trace_dir) if e["provider"] == "meshward"]
    allocs = sum(e["event"] == "alloc" for e in events)
    check(allocs > 10000, f"only {allocs} alloc events for sqlite3")
    live, end = balance(events)
    check(live == end["live_blocks"], f"alloc - free events give {live} live blocks, stats at "
          f"exit say {end['live_blocks']}")
    # (MESHWARD_STATS=1 prints later, after LTTng's own teardown has freed its blocks, so
    # the `stats` event recorded at unload is the one that matches the trace.)


# ---- threads -------------------------------------------------------------------------------


def replay(events):
    """Replays alloc/free/realloc/heap events in order; returns the problems found."""
    live = {}  # ptr -> heap id
    problems = []

    def alloc(ptr, heap, e):
        if ptr in live:
            problems.append(f"double allocation of {ptr:#x}: {e}")
        live[ptr] = heap

    def free(ptr, e, known_only):
        if live.pop(ptr, None) is None and known_only:
            problems.append(f"free of unknown block {ptr:#x}: {e}")

    for e in events:
        k = e["event"]
        # Blocks allocated before tracing began are unknown to the trace: frees of them by
        # the C library are legitimate, so "unknown" is only checked for the program's own.
        mine = e.get("mine", True)
        if k in ("alloc", "heap_alloc", "alloc_big"):  # alloc: the thread's heap, never destroyed
            alloc(e["ptr"], e.get("heap", "thread"), e)
        elif k == "free":
            free(e["ptr"], e, mine)
        elif k in ("realloc", "realloc_big"):
            if e["new_ptr"] != e["old_ptr"]:
                alloc(e["new_ptr"], e["heap"], e)
                free(e["old_ptr"], e, mine)
            elif mine and e["old_ptr"] not in live:
                problems.append(f"realloc in place of unknown block: {e}")
        elif k in ("heap_destroy", "heap_reset"):
            for p in [p for p, h in live.items() if h == e["heap"]]:
                del live[p]
    return problems


def case_threads(args, work, options=(), threads=8):
    trace_dir = os.path.join(work, "trace")
    status, out, _, _ = traced_ok(args, trace_dir, [args.prog, str(threads)], options=options)
    check(status == 0, f"tp_threads exited with {status}")
    m = re.match(r"allocs (\d+) reallocs (\d+) frees (\d+)", out)
    check(m, f"unexpected output {out!r}")
    want = {"alloc": int(m.group(1)), "realloc": int(m.group(2)), "free": int(m.group(3))}
    events = attribute(read_events(trace_dir), os.path.basename(args.prog))
    got = {k: sum(e["event"] == k and e["mine"] for e in events) for k in want}
    check(got == want, f"the program made {want}, the trace recorded {got}")
    check(len({e["vtid"] for e in events if e["mine"]}) >= threads,
          f"fewer than {threads} threads recorded")
    problems = replay(events)
    check(not problems, f"{len(problems)} replay errors, first: {problems[:5]}")


# ---- discard -------------------------------------------------------------------------------

TINY = ["--subbuf-size", "16k", "--num-subbuf", "2"]


def case_discard(args, work):
    status, _, err = meshward_trace(args, os.path.join(work, "lossy"), [args.prog], options=TINY)
    check(status == 0, f"tp_threads exited with {status}")
    _, discarded = recorded(err)
    check(discarded > 0, "16 KiB x 2 buffers discarded nothing: the test proves nothing")
    check(re.search(r"meshward: warning: \d+ events were discarded.*--no-discard", err),
          "no warning naming --no-discard")
    case_threads(args, os.path.join(work, "blocking"), options=TINY + ["--no-discard"],
                 threads=1)


# ---- fork ----------------------------------------------------------------------------------


def case_fork(args, work):
    # call sites alone (each thread caches its latest sites' ids), then whole stacks (each
    # thread caches its latest stacks)
    fork_once(args, os.path.join(work, "trace"), [])
    fork_once(args, os.path.join(work, "trace-stacks"), ["--stacks"])


def fork_once(args, trace_dir, options):
    status, out, _, _ = traced_ok(args, trace_dir, [args.prog], options=options)
    check(status == 0, f"tp_fork exited with {status}")
    m = re.match(r"children (\d+) blocks (\d+) padding (\d+)", out)
    check(m, f"unexpected output {out!r}")
    children, blocks, padding = int(m.group(1)), int(m.group(2)), int(m.group(3))
    all_events = read_events(trace_dir)
    # A forked child has no statedump of its own, but it runs the parent's code at the same
    # addresses, and its stack ids are described by its own `stack` events.
    events = attribute(all_events, os.path.basename(args.prog))
    per_pid = {}
    for e in events:
        if e["event"] == "alloc" and e["mine"]:
            per_pid[e["vpid"]] = per_pid.get(e["vpid"], 0) + 1
    parent = 1 + padding + 100 * children  # `keep`, spread, churn(100) after each fork
    check(sorted(per_pid.values()) == sorted([blocks] * children + [parent]),
          f"allocations per process: {per_pid}; expected {children} x {blocks} and {parent}")
    # churn's block i comes from call site i % 16: each child's allocations name the parent's
    # churn sites, so many each (an id cached by the parent's thread before the fork would
    # name another stack of the child's, or none).
    sites = {}
    for e in events:
        if e["event"] == "alloc" and e["mine"]:
            sites.setdefault(e["vpid"], {}).setdefault(e["frames"][0], 0)
            sites[e["vpid"]][e["frames"][0]] += 1
    root = max(sites, key=lambda pid: len(sites[pid]) if per_pid[pid] == parent else -1)
    least = 100 * children // 16  # churn's sites in the parent, apart from keep and spread
    churn_sites = {a for a, n in sites[root].items() if least <= n <= least + children}
    want = sorted([blocks // 16 + 1] * (blocks % 16) + [blocks // 16] * (16 - blocks % 16))
    for pid, counts in sites.items():
        if pid == root:
            continue
        check(set(counts) == churn_sites and sorted(counts.values()) == want,
              f"pid {pid}: allocations by call site {sorted(counts.values())}, expected {want}")
    check("true" in procnames(all_events).values(), "the exec'd child was not traced")


# ---- hardened ------------------------------------------------------------------------------


def case_hardened(args, work):
    trace_dir = os.path.join(work, "trace")
    p = subprocess.run([args.meshward, "trace", "--hardened", "-o", trace_dir, "--", "cat",
                        "/proc/self/maps"], capture_output=True, text=True, timeout=600)
    sys.stderr.write(p.stderr)
    check(p.returncode == 0, f"status {p.returncode}")
    libs = {os.path.basename(m) for m in re.findall(r"\S*/libmeshward[\w-]*\.so", p.stdout)}
    check(libs == {"libmeshward-hardened.so", "libmeshward-tp.so"}, f"mapped: {libs}")
    _, discarded = recorded(p.stderr)
    check(discarded == 0, f"{discarded} events discarded")
    events = read_events(trace_dir)
    cat = {pid for pid, name in procnames(events).items() if name == "cat"}
    allocs = [e for e in events if e["event"] == "alloc" and e["vpid"] in cat]
    check(allocs, "no alloc event from cat")


# ---- errors --------------------------------------------------------------------------------


def expect_error(args, argv, status, message, env=None):
    p = subprocess.run([args.meshward] + argv, capture_output=True, text=True, env=env,
                       timeout=120)
    check(p.returncode == status, f"{argv}: exit status {p.returncode}, expected {status}; "
          f"stderr: {p.stderr}")
    check(re.search(message, p.stderr), f"{argv}: stderr lacks /{message}/: {p.stderr!r}")
    check(p.stderr.startswith("meshward: error: "), f"{argv}: not a meshward error: {p.stderr!r}")


def fake_bin(work, name, script):
    d = os.path.join(work, name)
    os.makedirs(d, exist_ok=True)
    for tool, body in script.items():
        path = os.path.join(d, tool)
        open(path, "w").write("#!/bin/sh\n" + body + "\n")
        os.chmod(path, 0o755)
    return d


def case_errors(args, work):
    true = shutil.which("true")
    # lttng-tools missing: PATH holds only a folder without lttng.
    empty = fake_bin(work, "empty-bin", {})
    expect_error(args, ["trace", "-o", os.path.join(work, "t1"), "--", true], 125,
                 r"lttng-tools is not installed", env=dict(os.environ, PATH=empty))
    # No reachable daemon, and lttng-sessiond fails to start.
    broken = fake_bin(work, "broken-bin", {
        "lttng": 'echo "Error: No session daemon is available" >&2; exit 1',
        "lttng-sessiond": 'echo "sessiond: cannot bind socket" >&2; exit 1'})
    expect_error(args, ["trace", "-o", os.path.join(work, "t2"), "--", true], 125,
                 r"session daemon could not start.*cannot bind socket",
                 env=dict(os.environ, PATH=broken))
    # The output folder cannot be created (its parent is a file) or written.
    afile = os.path.join(work, "a-file")
    open(afile, "w").close()
    expect_error(args, ["trace", "-o", os.path.join(afile, "trace"), "--", true], 125,
                 r"cannot create trace directory")
    if os.geteuid() != 0:  # root writes through permission bits
        ro = os.path.join(work, "read-only")
        os.makedirs(ro, exist_ok=True)
        os.chmod(ro, stat.S_IRUSR | stat.S_IXUSR)
        expect_error(args, ["trace", "-o", ro, "--", true], 125, r"cannot write to trace")
    expect_error(args, ["trace", "-o", "/proc/meshward-trace", "--", true], 125,
                 r"cannot create trace directory")
    # A folder with something in it is not overwritten.
    full = os.path.join(work, "full")
    os.makedirs(full, exist_ok=True)
    open(os.path.join(full, "keep"), "w").close()
    expect_error(args, ["trace", "-o", full, "--", true], 125, r"not an empty folder")
    # The program does not exist: nothing is created.
    missing = os.path.join(work, "t3")
    expect_error(args, ["trace", "-o", missing, "--", "/nonexistent/prog"], 127, r"cannot run")
    check(not os.path.exists(missing), "a trace folder was created for a missing program")
    expect_error(args, ["trace"], 125, r"no program given")


# ---- stacks --------------------------------------------------------------------------------


def check_ids(events):
    """Every stack id of a process names one stack, is recorded once, and is described by its
    `stack` event before any event uses it (ids lost with their `stack` event are never
    described). Returns (pid, id) -> frames."""
    described, used, by_frames = {}, set(), {}
    for e in events:
        key = (e["vpid"], e.get("id") if e["event"] == "stack" else e.get("stack"))
        if e["event"] == "stack":
            check(key not in described, f"stack id {key} recorded twice")
            check(key not in used, f"stack id {key} used before its stack event")
            same = (e["vpid"], tuple(e["frames"]))
            check(same not in by_frames, f"one stack, two ids: {by_frames.get(same)}, {key}")
            described[key] = e["frames"]
            by_frames[same] = key
        elif key[1]:
            used.add(key)
    return described, used


def site_functions(site):
    return [f["function"] for f in site["stack"]]


def check_stack_report(args, trace_dir, exact):
    """The report names the chains tp_stacks made; exact: with their exact counts."""
    p = subprocess.run([args.meshward, "report", "--json", trace_dir], capture_output=True,
                       text=True, timeout=600)
    check(p.returncode == 0, f"meshward report failed: {p.stderr}")
    sites = json.loads(p.stdout)["sites"]

    def calls(prefix, lib=None):
        found = [s for s in sites if site_functions(s)[:len(prefix)] == prefix and
                 (lib is None or (s["stack"][0]["library"] or "").endswith(lib))]
        return sum(s["calls"] for s in found) if found else None

    want = {("level3", "level2", "level1", "worker"): 2000,
            ("level3", "level2", "level1", "around_fork", "main"): 200,
            ("lib_alloc", "call_lib", "main"): 1,
            ("from_jit",): 1}
    for prefix, n in want.items():
        got = calls(list(prefix), "libtp_stacks_lib.so" if prefix[0] == "lib_alloc" else None)
        check(got == n if exact else got is None or got <= n,
              f"stack {' < '.join(prefix)}: {got} allocations, {n} made")
    vector = [s for s in sites if "grow_vector" in site_functions(s)]
    check(not exact or sum(s["calls"] for s in vector) == 11,
          f"std::vector growth: {[(site_functions(s), s['calls']) for s in vector]}")
    check(not exact or calls(["level3", "level2", "level1", "main"]) >= 20100,
          "the chain from main is missing")
    return sites


def case_stacks(args, work, options=(), exact=True):
    trace_dir = os.path.join(work, "trace")
    lib = os.path.join(os.path.dirname(args.prog), "libtp_stacks_lib.so")
    status, out, err = meshward_trace(args, trace_dir, [args.prog, lib],
                                      options=["--stacks"] + list(options))
    check(status == 0, f"tp_stacks exited with {status}")
    _, discarded = recorded(err)
    check(exact == (discarded == 0), f"{discarded} events discarded")
    child = int(re.search(r"child (\d+)", out).group(1))
    events = attribute(read_events(trace_dir), os.path.basename(args.prog))
    described, used = check_ids(events)
    check(not exact or used <= set(described), f"ids never described: {used - set(described)}")
    check(any(pid == child for pid, _ in described), "the forked child has no stack of its own")
    threads = {}
    for e in events:
        if e["event"] == "alloc" and e["vtid"] != e["vpid"] and e["stack"]:
            threads.setdefault(e["stack"], set()).add(e["vtid"])
    check(not exact or any(len(t) >= 2 for t in threads.values()),
          "no stack id shared by the two worker threads")
    sites = check_stack_report(args, trace_dir, exact)
    lost = [e for e in events if e["event"] in ("alloc", "realloc") and e["stack"] and
            (e["vpid"], e["stack"]) not in described]
    unknown = [s for s in sites if s["name"] == "(unknown stack)"]
    check(not lost or (unknown and unknown[0]["calls"] >= len(lost)),
          f"{len(lost)} allocations name a lost stack; the report's unknown stack: {unknown}")


def case_stacks_discard(args, work):
    case_stacks(args, work, options=TINY, exact=False)


CASES = {"known": case_known, "real": case_real, "threads": case_threads, "fork": case_fork,
         "hardened": case_hardened, "discard": case_discard, "errors": case_errors,
         "stacks": case_stacks, "stacks-discard": case_stacks_discard}


def isolate(work):
    """Re-runs this test with a session daemon of its own (see the module's docstring)."""
    env = dict(os.environ, MESHWARD_TEST_ISOLATED="1")
    if os.geteuid() != 0:
        env["LTTNG_HOME"] = os.path.join(work, "lttng-home")
        os.makedirs(env["LTTNG_HOME"])
        os.execve(sys.executable, [sys.executable] + sys.argv, env)
    rundir = "/var/run/lttng"
    os.makedirs(rundir, exist_ok=True)
    probe = subprocess.run(["unshare", "--mount", "--propagation", "private", "true"],
                           capture_output=True)
    if probe.returncode != 0:  # no mount namespaces here: share the machine's daemon
        print("note: no private mount namespace, using the machine's session daemon",
              file=sys.stderr)
        return
    script = f'mount -t tmpfs meshward-test {rundir} && exec "$@"'
    os.execvpe("unshare", ["unshare", "--mount", "--propagation", "private", "sh", "-c",
                           script, "sh", sys.executable] + sys.argv, env)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("case", choices=sorted(CASES))
    ap.add_argument("--meshward", required=True)
    ap.add_argument("--prog")
    ap.add_argument("--workdir", required=True)
    args = ap.parse_args()
    if args.case != "errors" and not (shutil.which("lttng") and shutil.which("babeltrace2")):
        print("lttng-tools or babeltrace2 is not installed", file=sys.stderr)
        return 77
    if not os.environ.get("MESHWARD_TEST_ISOLATED"):
        shutil.rmtree(args.workdir, ignore_errors=True)
        os.makedirs(args.workdir)
        isolate(args.workdir)
    try:
        CASES[args.case](args, args.workdir)
    except Failure as f:
        print(f"FAIL {args.case}: {f}", file=sys.stderr)
        return 1
    print(f"ok {args.case}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
