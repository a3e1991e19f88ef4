#!/usr/bin/env python3
"""run.py — runs the benchmark workloads under each allocator and prints markdown tables.

For every workload (the mwb-* programs built from bench/workloads/), every allocator is run
--runs times in alternation (A B C A B C ...) so that drift of the machine spreads evenly
over the allocators; each allocator but glibc is swapped in with LD_PRELOAD. Reported per
workload and allocator: the median wall time, its ratio to mimalloc, the median peak RSS
(ru_maxrss of the child, from wait4) and, for workloads that print live_bytes and
heap_rss_bytes, the ratio of resident heap to live data. Every workload prints a checksum
that does not depend on the allocator: a run whose checksum differs from the others is
flagged, since it means the allocator corrupted memory.

Only the Python standard library is used. Progress goes to stderr, the tables to stdout.
"""

import argparse
import glob
import json
import math
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
BASELINE = "mimalloc"
LIBDIRS = ["/usr/lib/*-linux-gnu", "/usr/lib64", "/usr/lib", "/usr/local/lib"]
# The workloads that measure the small-object paths (most of their blocks are below a few
# KiB; mixed_sizes adds a tail of large ones). The wall-time table adds geometric means over
# these alone: the large-object workloads (large_blocks, large_realloc, large_server) differ
# between allocators by factors of ten and would swamp them in the mean over all. A workload
# not listed here counts only in the mean over all, and is shown after these.
SMALL_OBJECT_WORKLOADS = {
    "churn", "false_sharing", "fragmentation", "fragmentation_threads", "glibc_simple",
    "larson", "mixed_sizes", "mstress", "prodcons", "prodcons_ring", "realloc_growth", "server",
    "thread_churn",
}


# Real programs (bench/programs/): python3, sqlite3 and gcc on fixed inputs. The wall-time
# table adds a geometric mean over these alone: what a program that is not a benchmark of
# allocation pays.
REAL_PROGRAM_WORKLOADS = {"python", "sqlite", "cc"}


def group_of(workload):
    """Table order: small-object workloads, real programs, then the others."""
    if workload in SMALL_OBJECT_WORKLOADS:
        return 0
    return 1 if workload in REAL_PROGRAM_WORKLOADS else 2


def peer_candidates():
    """Where the Debian packages of the peer allocators put their libraries."""
    arch = platform.machine()
    return {
        "mimalloc": [f"{d}/libmimalloc.so.2" for d in LIBDIRS],
        "jemalloc": [f"{d}/libjemalloc.so.2" for d in LIBDIRS],
        "tcmalloc": [f"{d}/libtcmalloc_minimal.so.4" for d in LIBDIRS],
        "scudo": [f"/usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.scudo_standalone-{arch}.so"],
    }


PEER_PACKAGES = {
    "mimalloc": "libmimalloc2.0",
    "jemalloc": "libjemalloc2",
    "tcmalloc": "libtcmalloc-minimal4",
    "scudo": "libclang-rt-14-dev",
}


def find_first(patterns):
    for pattern in patterns:
        hits = sorted(glob.glob(pattern))
        if hits:
            return hits[-1]
    return None


def exports_malloc(lib):
    """True if lib defines malloc (None when nm is unavailable): a library that does not
    would silently measure glibc under the allocator's name."""
    nm = shutil.which("nm")
    if not nm:
        return None
    out = subprocess.run([nm, "-D", "--defined-only", lib], capture_output=True, text=True)
    return any(line.split()[-1:] and line.split()[-1].split("@")[0] == "malloc"
               for line in out.stdout.splitlines())


def resolve_allocators(args):
    """Returns ([(name, preload path or None)], [notes about skipped allocators])."""
    libs = {"glibc": None}
    notes = []
    for name, patterns in peer_candidates().items():
        libs[name] = find_first(patterns) or f"missing: install {PEER_PACKAGES[name]}"
    for variant in ("meshward", "meshward-hardened"):
        libs[variant] = os.path.join(args.build, "src", f"lib{variant}.so")
    for spec in args.lib:
        name, sep, path = spec.partition("=")
        if not sep or not name or "," in name:
            sys.exit(f"--lib expects NAME=PATH, got {spec!r}")
        libs[name] = path
    wanted = args.allocators.split(",") if args.allocators else list(libs)
    chosen = []
    for name in wanted:
        if name not in libs:
            sys.exit(f"unknown allocator {name!r} (known: {', '.join(libs)}; add one with --lib)")
        path = libs[name]
        if path is None:
            chosen.append((name, None))
        elif path.startswith("missing:"):
            notes.append(f"{name} skipped: not installed ({path[len('missing: '):]})")
        elif not os.path.isfile(path):
            notes.append(f"{name} skipped: {path} not found (build it, or pass --build/--lib)")
        elif exports_malloc(path) is False:
            notes.append(f"{name} skipped: {path} does not define malloc")
        else:
            chosen.append((name, os.path.abspath(path)))
    return chosen, notes


def find_workloads(build, only):
    listing = os.path.join(build, "bench", "workloads.txt")
    if not os.path.isfile(listing):
        sys.exit(f"{listing} missing: configure and build {build} with MW_BUILD_BENCH=ON")
    with open(listing) as f:
        names = {w: os.path.join(build, "bench", f"mwb-{w}") for w in f.read().split()}
    if only:
        unknown = [w for w in only.split(",") if w not in names]
        if unknown:
            sys.exit(f"unknown workload(s) {', '.join(unknown)}; known: {', '.join(names)}")
        names = {w: names[w] for w in only.split(",")}
    missing = [e for e in names.values() if not os.access(e, os.X_OK)]
    if missing:
        sys.exit(f"{', '.join(missing)} not built: cmake --build {build} --target bench-workloads")
    return sorted(names.items(), key=lambda kv: (group_of(kv[0]), kv[0]))


class Run:
    """One run of one workload under one allocator."""

    def __init__(self, measured, status, fields):
        self.wall = measured.get("wall_ns", 0) / 1e9
        self.cpu = (measured.get("user_ns", 0) + measured.get("sys_ns", 0)) / 1e9
        self.sys = measured.get("sys_ns", 0) / 1e9
        self.maxrss = measured.get("maxrss_kib", 0) * 1024
        self.minflt = measured.get("minflt", 0)
        self.status = status  # None if the run succeeded, else a short reason
        self.fields = fields


def run_once(launcher, exe, argv, preload, extra_env, timeout):
    """Runs exe through bench-launch, which kills and reaps it after timeout seconds; the
    launcher runs in its own process group, killed as a whole if it overstays too."""
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    env.update(extra_env)
    cmd = ([launcher, "-t", str(math.ceil(timeout))] + (["-p", preload] if preload else [])
           + [exe] + argv)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.TemporaryFile() as res:
        actions = [(os.POSIX_SPAWN_DUP2, out.fileno(), 1), (os.POSIX_SPAWN_DUP2, err.fileno(), 2),
                   (os.POSIX_SPAWN_DUP2, res.fileno(), 3)]
        pid = os.posix_spawn(launcher, cmd, env, file_actions=actions, setpgroup=0)
        timed_out = []

        def on_alarm(_sig, _frame):
            timed_out.append(True)
            os.killpg(pid, signal.SIGKILL)

        previous = signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, timeout + 30)
        try:
            _, status = os.waitpid(pid, 0)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
        texts = []
        for f in (out, err, res):
            f.seek(0)
            texts.append(f.read().decode(errors="replace"))
    text, errtext, launch = texts
    fields = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
    measured = dict(kv.split("=", 1) for kv in launch.split())
    problem = None
    if timed_out:
        problem = f"timeout {timeout:g}s"
    elif "status" not in measured:
        problem = "launcher failed"
    elif measured["status"].startswith("timeout:"):
        problem = f"timeout {timeout:g}s"
    elif measured["status"] != "exit:0":
        problem = measured["status"].replace(":", " ")
    elif "checksum" not in fields:
        problem = "no checksum"
    if problem and errtext.strip():
        problem += ": " + errtext.strip().splitlines()[-1][:80]
    if problem:
        return Run({}, problem, fields)
    return Run({k: int(v) for k, v in measured.items() if k != "status"}, None, fields)


def baseline_of(names):
    return BASELINE if BASELINE in names else names[0]


def too_slow(runs, base_runs, args):
    """True when the first run took more than --cap-ratio times the baseline's first run:
    such an allocator is not rerun for this workload, which keeps pathological cells from
    dominating the total time."""
    if not runs or not base_runs or runs[0].status or base_runs[0].status:
        return False
    return runs[0].wall > args.cap_ratio * base_runs[0].wall


def measure(workloads, allocators, args):
    """results[workload][allocator] = [Run, ...], runs taken in alternation."""
    results = {}
    argv = [repr(args.scale)] if args.scale != 1.0 else []
    base = baseline_of([a for a, _ in allocators])
    for wname, exe in workloads:
        results[wname] = {a: [] for a, _ in allocators}
        for r in range(args.runs):
            for aname, preload in allocators:
                if r > 0 and too_slow(results[wname][aname], results[wname][base], args):
                    continue
                run = run_once(args.launcher, exe, argv, preload, args.env.get(aname, {}),
                               args.timeout)
                results[wname][aname].append(run)
                shown = run.status or f"{run.wall:.3f}s {run.maxrss / 2**20:.0f}MiB"
                print(f"  {wname:16} {aname:18} run {r + 1}/{args.runs}: {shown}",
                      file=sys.stderr, flush=True)
    return results


class Cell:
    """The summary of one workload under one allocator."""

    def __init__(self, runs):
        good = [r for r in runs if r.status is None]
        self.runs = len(runs)
        self.failure = next((r.status for r in runs if r.status), None)
        self.wall = statistics.median(r.wall for r in good) if good else None
        self.cpu = statistics.median(r.cpu for r in good) if good else None
        self.maxrss = statistics.median(r.maxrss for r in good) if good else None
        self.minflt = statistics.median(r.minflt for r in good) if good else None
        shares = [r.sys / r.cpu for r in good if r.cpu]
        self.sys_share = statistics.median(shares) if shares else None
        self.checksums = {r.fields["checksum"] for r in good}
        self.frag = None
        ratios = [int(r.fields["heap_rss_bytes"]) / int(r.fields["live_bytes"])
                  for r in good if "live_bytes" in r.fields and "heap_rss_bytes" in r.fields]
        if ratios:
            self.frag = statistics.median(ratios)
        self.bad_checksum = False


def summarize(results):
    cells = {}
    for wname, per_alloc in results.items():
        cells[wname] = {a: Cell(runs) for a, runs in per_alloc.items()}
        # The reference checksum is the one most allocators agree on.
        votes = {}
        for cell in cells[wname].values():
            for c in cell.checksums:
                votes[c] = votes.get(c, 0) + 1
        if votes:
            reference = max(votes, key=votes.get)
            for cell in cells[wname].values():
                cell.bad_checksum = bool(cell.checksums - {reference})
    return cells


def geomean(values):
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else None


def fmt_ratio(x):
    return "–" if x is None else f"{x:.2f}"


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def ratio_row(label, cells, names, value, base):
    """A row of geometric means over workloads of value(cell) / value(base cell)."""
    row = [label]
    total = len(cells)
    for a in names:
        ratios = [value(c[a]) / value(c[base]) for c in cells.values()
                  if value(c[a]) and value(c[base]) and not c[a].bad_checksum]
        g = geomean(ratios)
        cell = fmt_ratio(g)
        if g is not None and len(ratios) < total:
            cell += f" ({len(ratios)}/{total})"
        row.append(cell)
    return row


def report(cells, names, notes, args):
    out = []
    base = baseline_of(names)
    if base != BASELINE:
        notes.append(f"{BASELINE} not measured: ratios are to {base}")
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                if line.startswith("model name")), platform.processor())
    load = os.getloadavg()[0]
    out.append(f"Machine: {os.cpu_count()} CPUs ({cpu}), Linux {platform.release()}, "
               f"load average {load:.2f} at the end. "
               f"Median of {args.runs} runs per cell, allocators run in alternation"
               + (f", scale {args.scale:g}" if args.scale != 1.0 else "") + ".")
    out.append("")
    for n in notes:
        out.append(f"- note: {n}")
    if notes:
        out.append("")

    def flag(c):
        if c.failure and c.wall is None:
            return f"FAIL ({c.failure})"
        return ("" if not c.failure else " (some runs failed)") + (
            f" ({c.runs} run{'s' if c.runs > 1 else ''})" if c.runs < args.runs else "") + (
            " (checksum differs!)" if c.bad_checksum else "")

    out.append(f"### Wall time: median seconds (ratio to {base})")
    out.append("")
    rows = []
    for w, c in cells.items():
        row = [w]
        for a in names:
            x = c[a]
            if x.wall is None:
                row.append(flag(x))
                continue
            ratio = x.wall / c[base].wall if c[base].wall else None
            row.append(f"{x.wall:.3f} ({fmt_ratio(ratio)})" + flag(x))
        rows.append(row)
    rows.append(ratio_row(f"**geomean ratio to {base}**", cells, names, lambda c: c.wall, base))
    # CPU time (user + system) is less disturbed than wall time by other jobs on the machine.
    rows.append(ratio_row(f"geomean CPU-time ratio to {base}", cells, names, lambda c: c.cpu,
                          base))
    small = {w: c for w, c in cells.items() if w in SMALL_OBJECT_WORKLOADS}
    if small:
        rows.append(ratio_row(f"**geomean ratio to {base}, small objects**", small, names,
                              lambda c: c.wall, base))
        rows.append(ratio_row(f"geomean CPU-time ratio to {base}, small objects", small, names,
                              lambda c: c.cpu, base))
    programs = {w: c for w, c in cells.items() if w in REAL_PROGRAM_WORKLOADS}
    if programs:
        rows.append(ratio_row(f"**geomean ratio to {base}, real programs**", programs, names,
                              lambda c: c.wall, base))
    out.append(table(["workload"] + names, rows))
    out.append("")

    out.append("### Peak RSS: median MiB (ru_maxrss)")
    out.append("")
    rows = []
    for w, c in cells.items():
        rows.append([w] + [f"{c[a].maxrss / 2**20:.1f}" if c[a].maxrss else flag(c[a])
                           for a in names])
    rows.append(ratio_row(f"**geomean ratio to {base}**", cells, names, lambda c: c.maxrss, base))
    if "glibc" in names and base != "glibc":
        rows.append(ratio_row("**geomean ratio to glibc**", cells, names,
                              lambda c: c.maxrss, "glibc"))
    out.append(table(["workload"] + names, rows))

    out.append("")
    out.append("### Page faults: median minor faults (thousands) / system share of CPU time")
    out.append("")
    rows = []
    for w, c in cells.items():
        rows.append([w] + [f"{c[a].minflt / 1000:.1f}k / {c[a].sys_share:.0%}"
                           if c[a].minflt is not None and c[a].sys_share is not None
                           else flag(c[a]) for a in names])
    out.append(table(["workload"] + names, rows))

    frag = {w: c for w, c in cells.items() if any(x.frag for x in c.values())}
    if frag:
        out.append("")
        out.append("### Fragmentation: resident heap / live bytes at the end (lower is better)")
        out.append("")
        rows = [[w] + [fmt_ratio(c[a].frag) for a in names] for w, c in frag.items()]
        out.append(table(["workload"] + names, rows))
    return "\n".join(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", default=os.path.join(os.path.dirname(HERE), "build"),
                        help="the CMake build directory (default: %(default)s)")
    parser.add_argument("--runs", type=int, default=5, help="runs per allocator (default 5)")
    parser.add_argument("--only", help="comma-separated workloads to run (default: all)")
    parser.add_argument("--allocators",
                        help="comma-separated allocators (default: glibc, mimalloc, jemalloc, "
                        "tcmalloc, scudo, meshward, meshward-hardened and any --lib)")
    parser.add_argument("--lib", action="append", default=[], metavar="NAME=PATH",
                        help="preload PATH as allocator NAME (adds one, or overrides the "
                        "default path of a known one); repeatable")
    parser.add_argument("--env", action="append", default=[], metavar="NAME:VAR=VALUE",
                        help="set VAR=VALUE in the environment of allocator NAME's runs only "
                        "(e.g. meshward:MESHWARD_PURGE_DELAY_MS=100); repeatable")
    parser.add_argument("--scale", type=float, default=1.0,
                        help="work factor passed to every workload (default 1)")
    parser.add_argument("--timeout", type=float, default=300,
                        help="seconds before a run is killed (default 300)")
    parser.add_argument("--cap-ratio", type=float, default=10,
                        help="an allocator whose first run of a workload takes more than this "
                        "many times the baseline's is not rerun for it (default 10)")
    parser.add_argument("--json", metavar="FILE",
                        help="also write every run's measurements to FILE as JSON")
    parser.add_argument("--list", action="store_true", help="list workloads and allocators")
    args = parser.parse_args()
    if args.runs < 1 or args.scale <= 0 or args.timeout <= 0 or args.cap_ratio <= 0:
        parser.error("--runs, --scale, --timeout and --cap-ratio must be positive")

    args.build = os.path.abspath(args.build)
    env = {}
    for spec in args.env:
        name, sep, assignment = spec.partition(":")
        var, eq, value = assignment.partition("=")
        if not sep or not eq or not name or not var:
            parser.error(f"--env expects NAME:VAR=VALUE, got {spec!r}")
        env.setdefault(name, {})[var] = value
    args.env = env
    args.launcher = os.path.join(args.build, "bench", "bench-launch")
    if not os.access(args.launcher, os.X_OK):
        sys.exit(f"{args.launcher} missing: cmake --build {args.build} --target bench-workloads")
    workloads = find_workloads(args.build, args.only)
    allocators, notes = resolve_allocators(args)
    if args.list:
        print("workloads:", ", ".join(w for w, _ in workloads))
        for name, path in allocators:
            extra = " ".join(f"{k}={v}" for k, v in args.env.get(name, {}).items())
            print(f"allocator {name}: {path or '(system malloc, no preload)'} {extra}".rstrip())
        for n in notes:
            print("note:", n)
        return
    for n in notes:
        print("note:", n, file=sys.stderr)
    if not allocators:
        sys.exit("no allocator to measure")
    results = measure(workloads, allocators, args)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({w: {a: [vars(r) for r in runs] for a, runs in per.items()}
                       for w, per in results.items()}, f, indent=1)
    print(report(summarize(results), [a for a, _ in allocators], notes, args))


if __name__ == "__main__":
    main()
