#!/usr/bin/env python3
"""run_program.py — runs a real program on the system allocator and again with a meshward
library preloaded, and fails unless both runs print the same standard output and exit
with the same statuses.

    run_program.py --lib path/to/libmeshward.so [--cxx path/to/api-cxx-plain] PROGRAM

PROGRAM is one of: python (a JSON and dict heavy script), sqlite3 (builds and queries a
table of 200k rows), git (init, add, commit, log with fixed author and dates), gcc
(compiles a C file; the object file and the program's output are compared), cxx (the C++
program of tests/api). Every preloaded command runs with MESHWARD_STATS=1 and must print
meshward's statistics on stderr: proof that the library really served the program. A
program that is not installed makes the test skip (exit status 77).
"""
import argparse
import difflib
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile

SKIP = 77
HERE = os.path.dirname(os.path.abspath(__file__))
TIMEOUT_S = 600
# A line of the statistics MESHWARD_STATS=1 prints at exit (mw_stats_print's format); the
# loader's "cannot be preloaded" error names the library too, so the name alone proves nothing.
STATS_MARKER = re.compile(r"^meshward: allocations [0-9]+$", re.MULTILINE)


class Runner:
    """Runs commands with or without the library preloaded, recording what they print."""

    def __init__(self, lib, cwd):
        self.lib = lib
        self.cwd = cwd
        self.output = []
        self.stderr = []

    def env(self, extra, preload):
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("MESHWARD_") and k != "LD_PRELOAD"}
        env.update(extra)
        if preload:
            env["LD_PRELOAD"] = self.lib
            env["MESHWARD_STATS"] = "1"
        return env

    def __call__(self, cmd, stdin=None, env=None, preload=True, label=None):
        """Runs cmd; preload=False runs it on the system allocator even in a meshward pass.
        label stands for the command in the transcript when the passes run it differently."""
        preload = preload and self.lib is not None
        proc = subprocess.run(cmd, cwd=self.cwd, env=self.env(env or {}, preload), input=stdin,
                              capture_output=True, timeout=TIMEOUT_S)
        shown = label or " ".join(os.path.basename(c) if i == 0 else c for i, c in enumerate(cmd))
        self.output.append(f"$ {shown}\n")
        self.output.append(proc.stdout.decode(errors="replace"))
        self.output.append(f"[exit {proc.returncode}]\n")
        self.stderr.append(f"$ {shown}\n{proc.stderr.decode(errors='replace')}")
        if preload and not STATS_MARKER.search(proc.stderr.decode(errors="replace")):
            raise SystemExit(f"{shown}: no meshward statistics on stderr with MESHWARD_STATS=1; "
                             f"was the library loaded? stderr:\n{proc.stderr.decode()[-2000:]}")
        return proc


def need(program):
    path = shutil.which(program)
    if path is None:
        print(f"{program} is not installed; skipping")
        sys.exit(SKIP)
    return path


def python(run, args):
    script = os.path.join(HERE, "workload_json.py")
    run([args.python or need("python3"), script], env={"PYTHONHASHSEED": "0"})


SQL_FILE = os.path.join(HERE, "rows.sql")


def sqlite3(run, args):
    with open(SQL_FILE, "rb") as f:
        run([need("sqlite3"), "rows.db"], stdin=f.read())
    run([need("sqlite3"), "rows.db", "PRAGMA integrity_check; SELECT count(*) FROM t;"])


GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test Author", "GIT_AUTHOR_EMAIL": "author@example.org",
    "GIT_COMMITTER_NAME": "Test Committer", "GIT_COMMITTER_EMAIL": "committer@example.org",
    "GIT_AUTHOR_DATE": "2020-01-02T03:04:05Z", "GIT_COMMITTER_DATE": "2020-01-02T03:04:05Z",
    "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": "/dev/null", "HOME": "/nonexistent",
    "TZ": "UTC", "LC_ALL": "C",
}


def git(run, args):
    g = need("git")
    os.makedirs(os.path.join(run.cwd, "repo"))
    for i in range(300):
        with open(os.path.join(run.cwd, "repo", f"file{i:03}.txt"), "w") as f:
            f.write("".join(f"line {j} of file {i}\n" for j in range(i % 40 + 1)))
    c = ["-C", "repo"]
    run([g, "init", "-q", "-b", "main", "repo"], env=GIT_ENV)
    run([g, *c, "add", "."], env=GIT_ENV)
    run([g, *c, "commit", "-q", "-m", "first commit"], env=GIT_ENV)
    for i in range(0, 300, 7):
        with open(os.path.join(run.cwd, "repo", f"file{i:03}.txt"), "a") as f:
            f.write("changed\n")
    os.remove(os.path.join(run.cwd, "repo", "file001.txt"))
    run([g, *c, "add", "-A"], env=GIT_ENV)
    run([g, *c, "commit", "-q", "-m", "second commit"], env=GIT_ENV)
    run([g, *c, "log", "--stat", "--format=fuller"], env=GIT_ENV)
    run([g, *c, "diff", "HEAD~1", "--", "file007.txt", "file001.txt"], env=GIT_ENV)
    run([g, *c, "rev-parse", "HEAD", "HEAD^{tree}"], env=GIT_ENV)
    run([g, *c, "fsck", "--no-progress", "--strict"], env=GIT_ENV)


def gcc(run, args):
    cc = need("gcc")
    shutil.copy(os.path.join(HERE, "compile_me.c"), run.cwd)
    run([cc, "-O2", "-Wall", "-c", "compile_me.c", "-o", "compile_me.o"])
    run([cc, "-O2", "compile_me.o", "-o", "compile_me"])
    with open(os.path.join(run.cwd, "compile_me.o"), "rb") as f:
        run.output.append(f"object sha256 {hashlib.sha256(f.read()).hexdigest()}\n")
    run([os.path.join(run.cwd, "compile_me")], preload=False)


def cxx(run, args):
    if not args.cxx:
        raise SystemExit("cxx needs --cxx path/to/api-cxx-plain")
    run([args.cxx, "--require-meshward"] if run.lib else [args.cxx], label="api-cxx-plain")


PROGRAMS = {"python": python, "sqlite3": sqlite3, "git": git, "gcc": gcc, "cxx": cxx}


def transcript(program, args, lib):
    """Runs PROGRAM's commands in a fresh directory; returns their stdout and stderr."""
    with tempfile.TemporaryDirectory(prefix="meshward-programs-") as tmp:
        run = Runner(lib, tmp)
        PROGRAMS[program](run, args)
        return "".join(run.output), "".join(run.stderr)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lib", required=True, help="the meshward shared library to preload")
    parser.add_argument("--python", help="the Python interpreter for the python workload")
    parser.add_argument("--cxx", help="the api-cxx-plain program for cxx")
    parser.add_argument("program", choices=sorted(PROGRAMS))
    args = parser.parse_args()
    lib = os.path.abspath(args.lib)
    if not os.path.exists(lib):
        raise SystemExit(f"{lib} does not exist")

    expected, _ = transcript(args.program, args, None)
    actual, errors = transcript(args.program, args, lib)
    if expected != actual:
        diff = difflib.unified_diff(expected.splitlines(True), actual.splitlines(True),
                                    "system allocator", os.path.basename(lib))
        sys.stdout.writelines(list(diff)[:200])
        print(f"--- stderr under {os.path.basename(lib)} (end):\n{errors[-3000:]}")
        raise SystemExit(f"{args.program}: output under {os.path.basename(lib)} differs")
    print(actual[:4000])
    print(f"{args.program}: same output on the system allocator and {os.path.basename(lib)}")


if __name__ == "__main__":
    main()
