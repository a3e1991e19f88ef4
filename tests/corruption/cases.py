"""cases.py — the corruption catalog: every case, the regimes it runs in, what the hardened
library must report for it (DESIGN.md's report contract), and how one run is judged.
run_catalog.py (the ctest runner) and bench/detection.py (every allocator) both use it.

A case is one bug of one program of this folder (`corrupt-PROGRAM CASE REGIME`). A run
matches an expected report when the process died of the expected signal and the first
`meshward: error:` line of its stderr names the expected kind, says `N-byte block` for the
block's requested size N when a block is involved, and the `block allocated by` line
names the test's allocating function (victim_malloc, victim_new or victim_new_array).
Where two reports describe the bug equally well (a small overflow found by a canary on
free, or by a guard page at the write), either is accepted.
"""

import re
import resource
import signal
import subprocess
from collections import namedtuple

REGIMES = {"8": 8, "4k": 4096, "256k": 256 << 10, "80m": 80 << 20}
REGIME_TITLES = {"8": "8 B", "4k": "4 KiB", "256k": "256 KiB", "80m": "80 MiB"}
ALL = tuple(REGIMES)
SLAB = ("8", "4k")
# A case that ignores the regime (stack, static, malloc(0)...) runs once, as regime 8.
ANY = ("8",)
NOT_APPLICABLE = 77
END_MARKER = "catalog: ran to the end"

# One acceptable report: the signal the process dies of, the kind, whether the detail must
# say "N-byte block", and the function the allocation history must name (None: no block).
Report = namedtuple("Report", "kind sig block history")


def report(kind, sig=signal.SIGABRT, block=True, history="victim_malloc"):
    return Report(kind, sig, block, history)


def fault(kind="guard page hit", block=True, history="victim_malloc"):
    return report(kind, signal.SIGSEGV, block, history)


# A probabilistic case runs `runs` times with `env`; the share of runs caught (each with an
# expected report) must lie within `rate`.
Sampling = namedtuple("Sampling", "runs env rate")

Case = namedtuple("Case", "program name klass regimes reports sampling")


def case(program, name, klass, regimes, reports, sampling=None):
    return Case(program, name, klass, regimes, tuple(reports), sampling)


OVERFLOW = (report("heap overflow"), fault())
NOT_OURS = report("invalid free", block=False, history=None)
LINK = report("free list corrupted", block=False, history=None)
# Found at reuse (abort), or at the faulting write into a protected freed block (huge).
WRITE_AFTER_FREE = (report("write after free"), fault(), fault("write after free"), LINK)
# One in 4 allocations sampled; over 64 runs the victim is caught 4 to 16 times (measured
# over 20 runs of each library: about 10 on average, fewer than one in 4, as the sampler
# also counts the program's other allocations). The band is wide enough that a correct
# sampler falls outside it about once in 2500 runs of the test (a floor of 5% failed once
# in about 60).
SAMPLED = Sampling(64, {"MESHWARD_GUARD_SAMPLE": "4"}, (0.02, 0.6))

CASES = [
    case("overflow", "small", "heap overflow", ALL, OVERFLOW),
    # Grown in place, the block keeps its allocation history; moved, realloc allocated it.
    case("overflow", "grown", "heap overflow", ALL,
         OVERFLOW + (report("heap overflow", history="victim_realloc"),
                     fault(history="victim_realloc"))),
    case("overflow", "underflow", "heap overflow", ALL, OVERFLOW),
    # The nearest block to the guard page a linear overflow runs into need not be the one
    # it started from, so the block and its history are not checked.
    case("overflow", "far", "linear overflow", ALL, [fault(block=False, history=None)]),
    case("double_free", "immediate", "double free", ALL, [report("double free")]),
    case("double_free", "delayed", "double free", ALL, [report("double free")]),
    case("double_free", "interleaved", "double free", ALL, [report("double free")]),
    case("double_free", "reused", "double free", ALL, [report("double free")]),
    case("invalid_free", "interior", "invalid free", ALL, [report("invalid free")]),
    case("invalid_free", "kib", "invalid free", ALL[1:], [report("invalid free")]),
    case("invalid_free", "past-end", "invalid free", ALL, [report("invalid free")]),
    case("invalid_free", "unaligned", "invalid free", ALL, [report("invalid free")]),
    case("invalid_free", "stack", "invalid free", ANY, [NOT_OURS]),
    case("invalid_free", "alloca", "invalid free", ANY, [NOT_OURS]),
    case("invalid_free", "static", "invalid free", ANY, [NOT_OURS]),
    case("invalid_free", "mmap", "invalid free", ANY, [NOT_OURS]),
    case("invalid_free", "unmapped", "invalid free", ANY, [NOT_OURS]),
    # A freed region or huge block may be unmapped or protected: the write then faults.
    # In an 8-byte block the byte written lies in the first word, where a free-list link
    # may be kept: finding the link corrupted is as good.
    case("write_after_free", "then-alloc", "write after free", ALL, WRITE_AFTER_FREE),
    case("write_after_free", "then-exit", "write after free", ALL, WRITE_AFTER_FREE),
    case("write_after_free", "realloc", "write after free", ALL, WRITE_AFTER_FREE),
    case("malloc_zero", "read", "malloc(0) access", ANY, [fault()]),
    case("malloc_zero", "write", "malloc(0) access", ANY, [fault()]),
    case("mismatched_free", "new-array-delete", "mismatched free", ALL,
         [report("mismatched free", history="victim_new_array")]),
    case("mismatched_free", "new-delete-array", "mismatched free", ALL,
         [report("mismatched free", history="victim_new")]),
    case("mismatched_free", "new-free", "mismatched free", ALL,
         [report("mismatched free", history="victim_new")]),
    case("mismatched_free", "malloc-delete", "mismatched free", ALL,
         [report("mismatched free")]),
    case("size_mismatch", "free-sized", "size mismatch", ALL, [report("size mismatch")]),
    case("size_mismatch", "sized-delete", "size mismatch", ALL,
         [report("size mismatch", history="victim_new")]),
    case("invalid_realloc", "freed", "invalid realloc", ALL, [report("invalid realloc")]),
    case("invalid_realloc", "interior", "invalid realloc", ALL, [report("invalid realloc")]),
    # The contract has no kind of its own for malloc_usable_size: a pointer that is not a
    # live block is the invalid free (or, freed, the double free) it would be if freed.
    case("usable_size", "freed", "usable size", ALL,
         [report("invalid free"), report("double free")]),
    case("usable_size", "interior", "usable size", ALL, [report("invalid free")]),
    # The link may be caught decoded (no block named) or as a write to a freed block.
    case("free_list", "link", "free list", SLAB,
         [LINK, report("write after free")]),
    case("sampled", "read-after-free", "sampled guard", ANY, [fault()], SAMPLED),
    case("sampled", "read-overflow", "sampled guard", ANY, [fault()], SAMPLED),
]

# Cases a library is known to miss, with the reason: {"PROGRAM/CASE@REGIME": "why"}.
# The runner then expects the miss and fails if the case is caught (remove the entry).
EXPECTED_MISSES = {
    "overflow/underflow@256k": "the first region of the range has no guard page below it "
                               "(the memory there is not meshward's to protect)",
    "size_mismatch/free-sized@80m": "sizes are compared by class, and every huge size is one "
                                    "class",
    "size_mismatch/sized-delete@80m": "sizes are compared by class, and every huge size is one "
                                      "class",
}

ERROR_LINE = re.compile(r"^meshward: error: ([a-z ]+?): (.*)$", re.MULTILINE)
ALLOCATED_LINE = re.compile(r"^meshward: +block allocated by .*$", re.MULTILINE)


def case_id(c):
    return f"{c.program}/{c.name}"


def test_name(c):
    return f"{c.program}-{c.name}".replace("_", "-")


def executable(bin_dir, program, static=False):
    return f"{bin_dir}/corrupt-{program}{'-static' if static else ''}"


def no_core_dumps():
    """The cases abort on purpose: their children inherit a core file limit of 0."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def run(argv, env, timeout):
    """Runs one case: (returncode, stdout, stderr), the returncode None if it hung."""
    try:
        p = subprocess.run(argv, env=env, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, "", f"(killed after {timeout} s)"
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


def signal_name(sig):
    try:
        return signal.Signals(sig).name
    except ValueError:
        return f"signal {sig}"


def outcome(returncode):
    if returncode < 0:
        return f"died of {signal_name(-returncode)}"
    return f"exit status {returncode}"


def first_report(stderr):
    """(kind, detail, allocated-by line or None) of the first report, or None."""
    m = ERROR_LINE.search(stderr)
    if not m:
        return None
    alloc = ALLOCATED_LINE.search(stderr, m.end())
    return m.group(1), m.group(2), alloc.group(0) if alloc else None


def describe(expected, n):
    parts = [f"died of {signal_name(expected.sig)}", f"kind '{expected.kind}'"]
    if expected.block:
        parts.append(f"'{n}-byte block'")
    if expected.history:
        parts.append(f"history naming {expected.history}")
    return ", ".join(parts)


def problems(expected, n, returncode, found):
    """What differs between one expected report and a run (an empty list: it matches)."""
    out = []
    if returncode != -expected.sig:
        out.append(f"{outcome(returncode)} instead of dying of {signal_name(expected.sig)}")
    if found is None:
        return out + ["no 'meshward: error:' line on stderr"]
    kind, detail, alloc = found
    if kind != expected.kind:
        out.append(f"kind '{kind}' instead of '{expected.kind}'")
    if expected.block and not re.search(rf"(^|\D){n}-byte block", detail):
        out.append(f"no '{n}-byte block' in the detail")
    if expected.history:
        if alloc is None:
            out.append("no 'block allocated by' line after the error line")
        elif not re.search(rf"\b{expected.history}\b", alloc):
            out.append(f"the allocation history does not name {expected.history}")
    return out


def judge(c, regime, returncode, stderr):
    """None if the run shows one of the case's expected reports, else why not (expected
    versus got, precise enough to act on)."""
    n = 0 if c.program == "malloc_zero" else REGIMES[regime]
    found = first_report(stderr)
    misses = [problems(e, n, returncode, found) for e in c.reports]
    if any(not m for m in misses):
        return None
    expected = " or ".join(f"[{describe(e, n)}]" for e in c.reports)
    got = outcome(returncode)
    if found:
        got += f"; first report: 'meshward: error: {found[0]}: {found[1]}'"
        got += f"; history: '{found[2]}'" if found[2] else "; no history line"
    else:
        got += "; no report"
    closest = min(misses, key=len)
    return f"expected {expected}\n    got {got}\n    differences: {'; '.join(closest)}"


def caught_at_all(returncode, stderr):
    """Did the allocator stop or flag the bug in any way: a signal, an error status, or
    anything written on stderr (the programs write nothing there themselves)?"""
    return returncode < 0 or returncode not in (0, NOT_APPLICABLE) or stderr.strip() != ""
