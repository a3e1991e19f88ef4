#!/usr/bin/env python3
"""detection.py — runs the corruption catalog (tests/corruption) against every allocator
and prints, in Markdown, which heap bugs each one catches, per bug class and size regime.

    bench/detection.py --build build > detection.md

A run counts as caught when the process died of a signal, exited with an error status, or
wrote anything on stderr (the programs write nothing there themselves). For meshward's
libraries a catch is also checked against the report contract: a report of the right kind,
naming the block's size and its allocating function, is an exact catch. Cases that only a
sampling allocator can catch run --runs times each and show the share caught; they are left
out of the totals. Allocators: glibc (plain, and with its checks: libc_malloc_debug.so and
GLIBC_TUNABLES=glibc.malloc.check=3), the peers of bench/run.py, tcmalloc's debug library,
meshward and meshward-hardened; each with its default options.
"""
import argparse
import os
import sys
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "corruption"))
import cases as catalog  # noqa: E402
import run as bench  # noqa: E402

TIMEOUT_S = 30
GLIBC_DEBUG = [f"{d}/libc_malloc_debug.so.0" for d in bench.LIBDIRS]
TCMALLOC_DEBUG = [f"{d}/libtcmalloc_minimal_debug.so.4" for d in bench.LIBDIRS]
# What one run shows: the letters of the table.
EXACT, CAUGHT, MISSED, NA, HANG = "E", "C", "-", ".", "H"
# The correct program, run like the cases: an allocator that flags it has its column void.
CONTROL = catalog.case("correct", "mixed", "control: no bug", catalog.ALL, [])


def allocators(args):
    """[(name, preload or None, extra environment)] of the allocators found, and notes."""
    found = [("glibc", None, {})]
    notes = []
    debug = bench.find_first(GLIBC_DEBUG)
    if debug:
        found.append(("glibc-check", debug, {"GLIBC_TUNABLES": "glibc.malloc.check=3"}))
    else:
        notes.append("glibc-check skipped: libc_malloc_debug.so.0 not found")
    for name, patterns in bench.peer_candidates().items():
        path = bench.find_first(patterns)
        if path:
            found.append((name, path, {}))
        else:
            notes.append(f"{name} skipped: install {bench.PEER_PACKAGES[name]}")
        if name == "tcmalloc" and bench.find_first(TCMALLOC_DEBUG):
            found.append(("tcmalloc-debug", bench.find_first(TCMALLOC_DEBUG), {}))
    for variant in ("meshward", "meshward-hardened"):
        path = os.path.join(args.build, "src", f"lib{variant}.so")
        if os.path.isfile(path):
            found.append((variant, os.path.abspath(path), {}))
        else:
            notes.append(f"{variant} skipped: {path} not built")
    if args.allocators:
        wanted = args.allocators.split(",")
        found = [a for a in found if a[0] in wanted]
    return found, notes


def run_once(exe, c, regime, preload, extra):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("MESHWARD_") and k not in ("LD_PRELOAD", "GLIBC_TUNABLES")}
    env.update(extra)
    if preload:
        env["LD_PRELOAD"] = preload
    rc, _, err = catalog.run([exe, c.name, regime], env, TIMEOUT_S)
    if rc is None:
        return HANG
    if rc == catalog.NOT_APPLICABLE:
        return NA
    if not catalog.caught_at_all(rc, err):
        return MISSED
    return EXACT if catalog.judge(c, regime, rc, err) is None else CAUGHT


def cell(exe, c, regime, alloc, runs):
    """One letter for a deterministic case, or 'k/N' for a sampled one."""
    name, preload, extra = alloc
    if not c.sampling:
        return run_once(exe, c, regime, preload, extra)
    results = [run_once(exe, c, regime, preload, extra) for _ in range(runs)]
    return f"{sum(r in (EXACT, CAUGHT) for r in results)}/{runs}"


def measure(args, allocs):
    exe_dir = os.path.join(args.build, "tests", "corruption")
    jobs = {}
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        for c in [CONTROL, *catalog.CASES]:
            exe = catalog.executable(exe_dir, c.program)
            if not os.access(exe, os.X_OK):
                sys.exit(f"{exe} not built: cmake --build {args.build} --target corruption-catalog")
            for regime in c.regimes:
                for a in allocs:
                    jobs[(catalog.case_id(c), regime, a[0])] = pool.submit(
                        cell, exe, c, regime, a, args.runs)
        return {k: f.result() for k, f in jobs.items()}


def row_cells(results, c, name):
    """The four regimes of one case under one allocator, e.g. 'CC--' ('.' where the case
    does not run in a regime)."""
    if c.sampling:
        return " ".join(results[(catalog.case_id(c), r, name)] for r in c.regimes)
    return "".join(results.get((catalog.case_id(c), r, name), NA) for r in catalog.ALL)


def totals(results, name):
    caught = exact = total = 0
    for c in catalog.CASES:
        if c.sampling:
            continue
        for r in c.regimes:
            v = results[(catalog.case_id(c), r, name)]
            if v == NA:
                continue
            total += 1
            caught += v in (EXACT, CAUGHT)
            exact += v == EXACT
    return caught, exact, total


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(x) for x in r) + " |" for r in rows]
    return "\n".join(lines)


def report(results, allocs, notes):
    names = [a[0] for a in allocs]
    regimes = ", ".join(catalog.REGIME_TITLES[r] for r in catalog.ALL)
    print(f"Each cell: one letter per regime ({regimes}): {EXACT} caught with the exact "
          f"report (meshward), {CAUGHT} caught, {MISSED} missed, {HANG} hung, {NA} not "
          "run (regime-free cases run once, as 8 B; free_sized missing). The control row is "
          "a correct program: anything but - there is a false positive.\n")
    rows = [[c.klass, f"`{catalog.case_id(c)}`"] + [row_cells(results, c, n) for n in names]
            for c in [CONTROL, *catalog.CASES]]
    print(table(["class", "case"] + names, rows))
    print("\nTotals over the deterministic cases (caught / runs that apply):\n")
    rows = []
    for n in names:
        caught, exact, total = totals(results, n)
        rows.append([n, f"{caught}/{total}", f"{exact}" if n.startswith("meshward") else ""])
    print(table(["allocator", "caught", "exact reports"], rows))
    by_class = {}
    for c in catalog.CASES:
        by_class.setdefault(c.klass, []).append(c)
    print("\nPer class (caught / runs that apply, all regimes):\n")
    rows = []
    for klass, cs in by_class.items():
        if any(c.sampling for c in cs):
            continue
        row = [klass]
        for n in names:
            vals = [results[(catalog.case_id(c), r, n)] for c in cs for r in c.regimes]
            vals = [v for v in vals if v != NA]
            row.append(f"{sum(v in (EXACT, CAUGHT) for v in vals)}/{len(vals)}")
        rows.append(row)
    print(table(["class"] + names, rows))
    for note in notes:
        print(f"\n_{note}_")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build", default=os.path.join(HERE, "..", "build"),
                        help="the CMake build directory (default: build next to bench/)")
    parser.add_argument("--allocators", help="comma-separated names (default: all found)")
    parser.add_argument("--runs", type=int, default=20,
                        help="runs of each sampled case per allocator (default 20)")
    parser.add_argument("--jobs", type=int, default=2, help="runs at a time (default 2)")
    args = parser.parse_args()
    catalog.no_core_dumps()
    allocs, notes = allocators(args)
    for name, path, _ in allocs:
        print(f"{name}: {path or 'no preload'}", file=sys.stderr)
    results = measure(args, allocs)
    report(results, allocs, notes)


if __name__ == "__main__":
    main()
