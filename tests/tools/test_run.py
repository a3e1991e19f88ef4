#!/usr/bin/env python3
"""test_run.py — tests of `meshward run` (and of how the command finds its libraries), one
case per ctest test:

  status     the program's exit status passes through (0, 7, 128+N for a signal is the
             shell's business: run execs the program), and 127 for a missing program
  variant    libmeshward.so is preloaded, --hardened preloads libmeshward-hardened.so instead
  options    --stats prints the statistics at exit; -O NAME=VALUE sets MESHWARD_NAME
  usage      a missing program or a bad -O is a `meshward: error:` with status 125
  installed  after `cmake --install`, P/bin/meshward finds P/lib/... by itself"""
import argparse
import os
import re
import shutil
import subprocess
import sys


class Failure(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Failure(msg)


def run(meshward, argv, **kw):
    return subprocess.run([meshward] + argv, capture_output=True, text=True, timeout=120, **kw)


def mapped_meshward(maps):
    """The file names of the meshward libraries in a /proc/PID/maps listing."""
    return {os.path.basename(m) for m in re.findall(r"\S*/libmeshward[\w-]*\.so", maps)}


def case_status(args):
    for code in (0, 7, 42):
        p = run(args.meshward, ["run", "--", "sh", "-c", f"exit {code}"])
        check(p.returncode == code, f"exit {code} came back as {p.returncode}")
    p = run(args.meshward, ["run", "--", "/nonexistent/program"])
    check(p.returncode == 127, f"a missing program gave {p.returncode}")
    check(p.stderr.startswith("meshward: error: cannot run /nonexistent/program"), p.stderr)


def case_variant(args):
    p = run(args.meshward, ["run", "--", "cat", "/proc/self/maps"])
    check(p.returncode == 0, p.stderr)
    check(mapped_meshward(p.stdout) == {"libmeshward.so"}, f"mapped: {mapped_meshward(p.stdout)}")
    p = run(args.meshward, ["run", "--hardened", "--", "cat", "/proc/self/maps"])
    check(p.returncode == 0, p.stderr)
    check(mapped_meshward(p.stdout) == {"libmeshward-hardened.so"},
          f"--hardened mapped: {mapped_meshward(p.stdout)}")
    # The caller's own LD_PRELOAD is kept, after ours.
    env = dict(os.environ, LD_PRELOAD="libdl.so.2")
    p = run(args.meshward, ["run", "--", "sh", "-c", 'echo "$LD_PRELOAD"'], env=env)
    check(re.fullmatch(r"\S*/libmeshward\.so:libdl\.so\.2\n", p.stdout), p.stdout)


def case_options(args):
    p = run(args.meshward, ["run", "--stats", "--", "true"])
    check(p.returncode == 0 and re.search(r"^meshward: live_blocks \d+$", p.stderr, re.M),
          f"--stats printed no statistics: {p.stderr!r}")
    p = run(args.meshward, ["run", "--", "true"], env=dict(os.environ, MESHWARD_STATS="0"))
    check("live_blocks" not in p.stderr, "statistics printed without --stats")
    p = run(args.meshward, ["run", "-O", "purge_delay_ms=1234", "--", "sh", "-c",
                            'echo "$MESHWARD_PURGE_DELAY_MS"'])
    check(p.stdout == "1234\n", f"-O did not set MESHWARD_PURGE_DELAY_MS: {p.stdout!r}")
    p = run(args.meshward, ["run", "-O", "verbose=1", "--", "true"])
    check("MESHWARD_VERBOSE=1" in p.stderr, f"-O verbose=1 had no effect: {p.stderr!r}")


def case_usage(args):
    for argv, message in ((["run"], "no program given"), (["run", "-O", "novalue", "--", "true"],
                          "-O expects NAME=VALUE"), (["frobnicate"], "unknown subcommand")):
        p = run(args.meshward, argv)
        check(p.returncode == 125, f"{argv}: status {p.returncode}")
        check(p.stderr.startswith("meshward: error: ") and message in p.stderr,
              f"{argv}: {p.stderr!r}")
    p = run(args.meshward, ["run", "--libdir", "/nonexistent", "--", "true"])
    check(p.returncode == 125 and "not found in --libdir" in p.stderr, p.stderr)


def case_installed(args):
    prefix = os.path.join(args.workdir, "prefix")
    subprocess.run(["cmake", "--install", args.build, "--prefix", prefix], check=True,
                   capture_output=True)
    meshward = os.path.join(prefix, "bin", "meshward")
    p = run(meshward, ["run", "--hardened", "--", "cat", "/proc/self/maps"])
    check(p.returncode == 0, p.stderr)
    libs = set(re.findall(r"\S*/libmeshward[\w-]*\.so", p.stdout))
    check(len(libs) == 1 and os.path.dirname(libs.pop()).startswith(os.path.realpath(prefix)),
          f"the installed command did not preload the installed library: {p.stdout}")


CASES = {"status": case_status, "variant": case_variant, "options": case_options,
         "usage": case_usage, "installed": case_installed}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("case", choices=sorted(CASES))
    ap.add_argument("--meshward", required=True)
    ap.add_argument("--build")
    ap.add_argument("--workdir", required=True)
    args = ap.parse_args()
    shutil.rmtree(args.workdir, ignore_errors=True)
    os.makedirs(args.workdir)
    try:
        CASES[args.case](args)
    except Failure as f:
        print(f"FAIL {args.case}: {f}", file=sys.stderr)
        return 1
    print(f"ok {args.case}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
