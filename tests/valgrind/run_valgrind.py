#!/usr/bin/env python3
"""run_valgrind.py — runs one case under memcheck through `meshward run --valgrind
[--hardened]` and checks memcheck's report, word for word where it matters.

    run_valgrind.py --meshward CLI --cases VG_CASES --stress STRESS --cxx CXX --python PY
                    [--hardened] CASE

Buggy cases (vg_cases.c) must give exactly the expected errors — their kind ("Invalid
write of size 1", "Invalid free() / delete / delete[] / realloc()", ...), the block they
hit ("0 bytes after a block of size 20 alloc'd") and a "Block was alloc'd at" (and "free'd")
stack naming the case's own function — and nothing else. Clean cases (the rest of
vg_cases.c, the threaded stress test, the C++ program of tests/api, python3 running a
script) must give "ERROR SUMMARY: 0 errors" and no definitely lost bytes. Every run also
checks that meshward served the program (MESHWARD_STATS=1 prints its statistics), or
memcheck could have been checking its own malloc. Exits 77 (skip) when valgrind is missing.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys

SKIP = 77
TIMEOUT_S = 500
STATS_MARKER = re.compile(r"^meshward: allocations [0-9]+$", re.M)
# Memcheck keeps freed blocks for its "free'd" descriptions up to this many bytes: enough
# for the huge cases.
VALGRIND_OPTIONS = ["--leak-check=full", "--errors-for-leak-kinds=definite",
                    "--freelist-vol=200000000", "--num-callers=30"]

KB = "{:,}".format
SMALL, REGION, HUGE, ARENA_LARGE = 20, 100000, (70 << 20) + 3, 20000
INVALID_FREE = "Invalid free() / delete / delete[] / realloc()"


def overflow(size):
    return {"errors": [("Invalid write of size 1", f"0 bytes after a block of size {KB(size)} alloc'd")]}


def after_free(kind, size, huge=False):
    return {"errors": [(f"Invalid {kind} of size 1", f"3 bytes inside a block of size {KB(size)} free'd")],
            "freed": True, "signal": huge}


# case -> what memcheck must say. errors: (kind, address description) pairs, in order.
BUGGY = {
    "overflow_small": overflow(SMALL),
    "overflow_region": overflow(REGION),
    "overflow_huge": overflow(HUGE),
    "overflow_arena": overflow(ARENA_LARGE),
    "uaf_read_arena": after_free("read", ARENA_LARGE),
    "uaf_read_small": after_free("read", SMALL),
    "uaf_read_region": after_free("read", REGION),
    "uaf_read_huge": after_free("read", HUGE, huge=True),
    "uaf_write_small": after_free("write", SMALL),
    "uaf_write_region": after_free("write", REGION),
    "uaf_write_huge": after_free("write", HUGE, huge=True),
    "double_free": {"errors": [(INVALID_FREE, f"0 bytes inside a block of size {SMALL} free'd")],
                    "freed": True},
    "foreign_free": {"errors": [(INVALID_FREE, "inside data symbol \"not_ours\"")], "alloc": False},
    "uninit": {"errors": [("Conditional jump or move depends on uninitialised value(s)", None)],
               "alloc": False},
    "leak": {"errors": [], "lost": (80500, 7)},
    "heap_destroy_uaf": {"errors": [("Invalid read of size 1", "1 bytes inside a block of size 64 free'd"),
                                    ("Invalid write of size 1", f"1 bytes inside a block of size {KB(REGION)} free'd")],
                         "freed": True, "freed_by": "mw_heap_destroy"},
}
CLEAN_CASES = {"realloc_regimes", "heaps_api", "aligned", "arena_large", "forked"}


def fail(msg, report=""):
    sys.stderr.write(report[-6000:] + "\n")
    raise SystemExit(f"FAIL: {msg}")


def error_blocks(report):
    """memcheck's error reports: blocks of '==PID== ' lines, blank-line separated, that
    are not the heap/leak summaries."""
    blocks, cur = [], []
    for line in report.splitlines():
        m = re.match(r"==\d+== ?(.*)$", line)
        if not m:
            continue
        text = m.group(1)
        if text.startswith("Warning: set address range perms"):
            continue  # meshward's reservations are large; memcheck says so
        if text == "":
            if cur:
                blocks.append(cur)
            cur = []
        else:
            cur.append(text)
    if cur:
        blocks.append(cur)
    kinds = ("Invalid ", "Conditional jump", "Use of uninitialised", "Mismatched", "Syscall param",
             "Source and destination overlap", "Argument 'size'")
    return [b for b in blocks if b[0].startswith(kinds)]


def stack_after(block, header):
    """The function names of the stack that follows `header` in an error block."""
    names, inside = [], False
    for line in block:
        if header in line:
            inside = True
            continue
        if inside:
            m = re.match(r"\s*(?:at|by) 0x[0-9A-F]+: (\S+)", line)
            if not m:
                break
            names.append(m.group(1))
    return names


def check_buggy(case, want, report):
    blocks = error_blocks(report)
    if len(blocks) != len(want["errors"]):
        fail(f"{case}: {len(blocks)} errors reported, expected {len(want['errors'])}: "
             f"{[b[0] for b in blocks]}", report)
    for block, (kind, where) in zip(blocks, want["errors"]):
        if block[0] != kind:
            fail(f"{case}: error '{block[0]}', expected '{kind}'", report)
        top = stack_after(block, kind)
        if case not in top:
            fail(f"{case}: the error's stack {top} does not name {case}", report)
        if where and not any(where in line for line in block):
            fail(f"{case}: no '{where}' in the error", report)
        if want.get("alloc", True):
            alloc = stack_after(block, "alloc'd")
            if case not in alloc:
                fail(f"{case}: the alloc'd-at stack {alloc} does not name {case}", report)
        if want.get("freed"):
            freed = stack_after(block, "free'd")
            if case not in freed:
                fail(f"{case}: 'free'd' stack {freed} does not name {case}", report)
            if want.get("freed_by") and want["freed_by"] not in freed:
                fail(f"{case}: 'free'd' stack {freed} does not name {want['freed_by']}", report)
    lost = re.search(r"definitely lost: ([\d,]+) bytes in ([\d,]+) blocks", report)
    got = (int(lost.group(1).replace(",", "")), int(lost.group(2).replace(",", ""))) if lost else (0, 0)
    if got != want.get("lost", (0, 0)):
        fail(f"{case}: definitely lost {got} (bytes, blocks), expected {want.get('lost', (0, 0))}", report)
    if want.get("lost"):
        records = re.findall(r"are definitely lost in loss record.*\n(?:==\d+==\s+(?:at|by) .*\n)+", report)
        if not records or not all(f": {case} (" in r for r in records):
            fail(f"{case}: a leak record's stack does not name {case}", report)


def check_clean(case, report):
    blocks = error_blocks(report)
    if blocks or not re.search(r"ERROR SUMMARY: 0 errors", report):
        fail(f"{case}: memcheck reported errors: {[b[0] for b in blocks]}", report)
    if re.search(r"definitely lost: [1-9]", report):
        fail(f"{case}: memcheck reports definitely lost bytes", report)


def command(args, case):
    """The program (and its environment) for a case."""
    here = os.path.dirname(os.path.abspath(__file__))
    if case == "stress":
        return [args.stress], {"STRESS_OPS": "1500", "STRESS_MAX_LOG": "18", "STRESS_THREADS": "4"}
    if case == "cxx":
        return [args.cxx], {}
    if case == "python":
        # PYTHONMALLOC=malloc: every object through malloc, not only pymalloc's arenas. The
        # distribution's python3 when there is one: an interpreter built from source may
        # give memcheck errors with memcheck's own malloc too (measured: 622 at start-up).
        python = "/usr/bin/python3" if os.access("/usr/bin/python3", os.X_OK) else args.python
        return [python, os.path.join(here, "vg_script.py")], {"PYTHONMALLOC": "malloc"}
    return [args.cases, case], {}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--meshward", required=True)
    ap.add_argument("--cases", required=True)
    ap.add_argument("--stress", required=True)
    ap.add_argument("--cxx", required=True)
    ap.add_argument("--python", default="python3")
    ap.add_argument("--hardened", action="store_true")
    ap.add_argument("case")
    args = ap.parse_args()
    if not shutil.which("valgrind"):
        print("valgrind is not installed; skipping")
        return SKIP
    prog, extra = command(args, args.case)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MESHWARD_")}
    env.update(extra, MESHWARD_STATS="1")
    argv = [args.meshward, "run", "--valgrind"] + (["--hardened"] if args.hardened else [])
    for opt in VALGRIND_OPTIONS:
        argv += ["-V", opt]
    proc = subprocess.run(argv + ["--"] + prog, env=env, capture_output=True, text=True,
                          timeout=TIMEOUT_S)
    report = proc.stderr
    want = BUGGY.get(args.case)
    if not STATS_MARKER.search(report) and not (want and want.get("signal")):
        fail("meshward's statistics missing: meshward did not serve the program", report)
    if want:
        expected = -11 if want.get("signal") else 0  # valgrind (exec'd) dies of SIGSEGV
        if proc.returncode != expected:
            fail(f"exit status {proc.returncode}, expected {expected}", report)
        check_buggy(args.case, want, report)
    else:
        if proc.returncode != 0:
            fail(f"exit status {proc.returncode}", report)
        check_clean(args.case, report)
    if want and want.get("signal") and "(mw_valgrind.h:" not in report:
        fail("killed before the end, and no meshward annotation in memcheck's stacks", report)
    print(f"{args.case}: memcheck reported what it should")
    return 0


if __name__ == "__main__":
    sys.exit(main())
