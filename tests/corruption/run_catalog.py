#!/usr/bin/env python3
"""run_catalog.py — runs the corruption catalog against the hardened library and checks
every report (cases.py says what each case must report).

    run_catalog.py --bin DIR --lib libmeshward-hardened.so [--production libmeshward.so] TEST
    run_catalog.py --list

TEST is one case (e.g. double-free-immediate), run in each of its regimes with the library
preloaded and, in its first regime, as the program linked with the static hardened
library; or one of the report-path checks:

  no-false-positive  the correct program, every regime, preloaded and static, with
                     MESHWARD_ON_CORRUPTION=report, with default sampling and with every
                     allocation sampled: no report, a count of 0, exit 0
  own-fault          a program with its own SIGSEGV handler receives its own fault
  guard-chain        a guard-page report first, then the program's own handler runs
  report-mode        MESHWARD_ON_CORRUPTION=report: an immediate double free is reported
                     once, the program runs to its end and the count at exit says 1

Deterministic cases run with MESHWARD_GUARD_SAMPLE=0, so that no sampled block changes
what is found; the sampled cases run many times (in separate processes) with sampling on,
against the hardened and the production library, and the share of runs caught must fall
within the case's band. Every failure says what was expected and what happened.
"""
import argparse
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cases as catalog  # noqa: E402

TIMEOUT_S = 60
NO_SAMPLING = {"MESHWARD_GUARD_SAMPLE": "0"}
# The count of reports MESHWARD_STATS=1 prints at exit: a "meshward: " line naming
# corruptions with a number.
COUNT_LINE = re.compile(r"^meshward: .*corruption\w*\D*(\d+)", re.MULTILINE | re.IGNORECASE)
STATS_LINE = re.compile(r"^meshward: allocations [0-9]+$", re.MULTILINE)


class Runner:
    def __init__(self, args):
        self.bin = args.bin
        self.lib = os.path.abspath(args.lib)
        self.production = args.production and os.path.abspath(args.production)
        self.failures = []

    def run(self, program, argv, lib=None, static=False, env=None):
        """Runs corrupt-PROGRAM argv with lib preloaded (or the static build); returns
        (returncode, stdout, stderr)."""
        exe = catalog.executable(self.bin, program, static)
        full = {k: v for k, v in os.environ.items()
                if not k.startswith("MESHWARD_") and k != "LD_PRELOAD"}
        full.update(env or {})
        if not static:
            full["LD_PRELOAD"] = lib or self.lib
        return catalog.run([exe, *argv], full, TIMEOUT_S)

    def fail(self, what, why, stderr=""):
        tail = "\n".join(stderr.rstrip().splitlines()[-12:])
        self.failures.append(f"{what}: {why}" + (f"\n    stderr (end):\n{tail}" if tail else ""))

    def check_case(self, c, regime, static=False):
        what = f"{catalog.case_id(c)} {regime}{' (static)' if static else ''}"
        key = f"{catalog.case_id(c)}@{regime}"
        rc, _, err = self.run(c.program, [c.name, regime], static=static, env=NO_SAMPLING)
        if rc is None:
            return self.fail(what, f"hung: {err}")
        if rc == catalog.NOT_APPLICABLE:
            return self.fail(what, "the program says the case does not apply (exit 77)")
        why = catalog.judge(c, regime, rc, err)
        if key in catalog.EXPECTED_MISSES:
            if why is None or catalog.caught_at_all(rc, err):
                self.fail(what, "caught, though EXPECTED_MISSES lists it as missed "
                          f"({catalog.EXPECTED_MISSES[key]}): remove its entry")
            else:
                print(f"{what}: missed, as expected ({catalog.EXPECTED_MISSES[key]})")
            return None
        if why:
            return self.fail(what, why, err)
        print(f"{what}: ok ({catalog.outcome(rc)}, {catalog.first_report(err)[0]})")

    def check_sampled(self, c, regime, lib, label):
        s = c.sampling
        caught = 0
        for _ in range(s.runs):
            rc, _, err = self.run(c.program, [c.name, regime], lib=lib, env=s.env)
            if rc == 0:
                continue
            why = catalog.judge(c, regime, rc, err)
            if why:
                return self.fail(f"{catalog.case_id(c)} {regime} ({label})", why, err)
            caught += 1
        low, high = s.rate
        share = caught / s.runs
        what = (f"{catalog.case_id(c)} {regime} ({label}, {s.env}): caught in {caught} of "
                f"{s.runs} runs")
        if not low <= share <= high:
            return self.fail(what, f"expected a share between {low:.0%} and {high:.0%}, "
                             f"got {share:.0%}")
        print(f"{what}: ok")

    def case(self, c):
        if c.sampling:
            for lib, label in ((self.lib, "hardened"), (self.production, "production")):
                if lib:
                    for regime in c.regimes:
                        self.check_sampled(c, regime, lib, label)
            return
        for regime in c.regimes:
            self.check_case(c, regime)
        self.check_case(c, c.regimes[0], static=True)

    def expect_clean(self, what, rc, out, err, count=0, status=0):
        """A run that must end with `status`, having reported exactly `count` times."""
        reports = catalog.ERROR_LINE.findall(err)
        counted = COUNT_LINE.search(err)
        if rc != status:
            self.fail(what, f"expected exit status {status}, got {catalog.outcome(rc)}", err)
        elif len(reports) != count:
            self.fail(what, f"expected {count} report(s), got {len(reports)}", err)
        elif not STATS_LINE.search(err):
            self.fail(what, "no statistics at exit with MESHWARD_STATS=1: was the library "
                      "loaded?", err)
        elif counted is None:
            self.fail(what, "the statistics at exit print no count of corruptions", err)
        elif int(counted.group(1)) != count:
            self.fail(what, f"expected a count of {count} corruptions at exit, got "
                      f"'{counted.group(0)}'", err)
        else:
            return True
        return False

    def no_false_positive(self):
        base = {"MESHWARD_ON_CORRUPTION": "report", "MESHWARD_STATS": "1"}
        for sample in (None, "1"):
            env = dict(base, **({"MESHWARD_GUARD_SAMPLE": sample} if sample else {}))
            for static in (False, True):
                for regime in catalog.ALL:
                    what = (f"correct/mixed {regime}{' (static)' if static else ''} "
                            f"(MESHWARD_GUARD_SAMPLE={sample or 'default'})")
                    rc, out, err = self.run("correct", ["mixed", regime], static=static,
                                            env=env)
                    if not self.expect_clean(what, rc, out, err):
                        continue
                    if catalog.END_MARKER not in out:
                        self.fail(what, "the program did not run to its end", err)
                    else:
                        print(f"{what}: ok, no report")

    def own_fault(self):
        for static in (False, True):
            what = f"own_handler/own-fault{' (static)' if static else ''}"
            rc, out, err = self.run("own_handler", ["own-fault", "8"], static=static)
            if rc != 0 or "own handler ran" not in out or catalog.ERROR_LINE.search(err):
                self.fail(what, "expected the program's own handler to take its fault "
                          f"(exit 0, its marker, no report); got {catalog.outcome(rc)}, "
                          f"stdout {out.strip()!r}", err)
            else:
                print(f"{what}: ok")

    def guard_chain(self):
        kind = "guard page hit"
        for static in (False, True):
            what = f"own_handler/guard-chain{' (static)' if static else ''}"
            rc, out, err = self.run("own_handler", ["guard-chain", "8"], static=static,
                                    env=NO_SAMPLING)
            found = catalog.first_report(err)
            if found is None or found[0] != kind:
                self.fail(what, f"expected a '{kind}' report first, got "
                          f"{found[0] if found else 'no report'!r} ({catalog.outcome(rc)})", err)
            elif rc != 42 or "own handler ran" not in out:
                self.fail(what, "expected the program's own handler to run after the "
                          f"report (exit status 42); got {catalog.outcome(rc)}", err)
            else:
                print(f"{what}: ok")

    def report_mode(self):
        env = dict(NO_SAMPLING, MESHWARD_ON_CORRUPTION="report", MESHWARD_STATS="1")
        c = next(x for x in catalog.CASES if catalog.case_id(x) == "double_free/immediate")
        for regime in catalog.ALL:
            what = f"double_free/immediate {regime} (report mode)"
            rc, out, err = self.run("double_free", ["immediate", regime], env=env)
            if not self.expect_clean(what, rc, out, err, count=1):
                continue
            why = catalog.judge(c, regime, -c.reports[0].sig, err)
            if why:
                self.fail(what, why, err)
            elif catalog.END_MARKER not in out:
                self.fail(what, "the program did not run to its end", err)
            else:
                print(f"{what}: ok, reported once, ran on")


PATH_CHECKS = {"no-false-positive": Runner.no_false_positive, "own-fault": Runner.own_fault,
               "guard-chain": Runner.guard_chain, "report-mode": Runner.report_mode}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--list", action="store_true", help="print the test names")
    parser.add_argument("--bin", help="the folder of the corrupt-* programs")
    parser.add_argument("--lib", help="libmeshward-hardened.so")
    parser.add_argument("--production", help="libmeshward.so (for the sampled cases)")
    parser.add_argument("test", nargs="?")
    args = parser.parse_args()
    tests = {catalog.test_name(c): c for c in catalog.CASES}
    if args.list:
        print("\n".join([*tests, *PATH_CHECKS]))
        return
    if not (args.bin and args.lib and args.test):
        parser.error("--bin, --lib and a TEST are needed")
    catalog.no_core_dumps()
    runner = Runner(args)
    if args.test in PATH_CHECKS:
        PATH_CHECKS[args.test](runner)
    elif args.test in tests:
        runner.case(tests[args.test])
    else:
        parser.error(f"unknown test {args.test!r}; see --list")
    if runner.failures:
        print("\n".join(["", "FAILED:", *runner.failures]))
        sys.exit(1)


if __name__ == "__main__":
    main()
