#!/usr/bin/env python3
"""test_report.py — integration tests of `meshward report` on traces recorded for real with
`meshward trace` (an LTTng session daemon of the case's own, as test_trace.py does). One
case per ctest test:

  known       rp_known's exact leaks (sites, lines, blocks, bytes), exact peak by site, exact
              temporaries, the cross-thread free matrix, a first-class heap destroyed with
              live blocks; the tracer's allocations in no program figure; the replay matches
              the allocator's own counters; JSON keys as documented in tools/README.md; the
              collapsed stacks; --pid/--to; `meshward trace --report`; and the HTML page in
              headless Chromium: no console error, every figure equal to the JSON's, a
              screenshot in the work folder (skipped, with a note, without chromium)
  fork        a forked child replayed from its parent's heap: its frees of inherited blocks
              are known, its own leaks exact
  discard     a tiny channel: the gaps are reported with their counts, the replay goes on;
              with --no-threads (per-process buffers) too, `meshward trace` counting them
  corruption  a real double free on the hardened library (report mode), traced with
              --stacks: the `corruption` event's block history names the sites that
              allocated, moved and freed it, and the stacks of the detection and the free
  errors      not a trace, no meshward events, a truncated stream, an unwritable output:
              one `meshward: error:` line, status 125, nothing left behind
  no-threads  rp_known recorded with --no-threads: leaks, peak, sites, heap drops exact; the
              thread analyses (threads, cross-thread frees, temporaries) null in JSON and
              named as not recorded in the text and the HTML page
  mixed-no-threads, fork-no-threads  mixed and fork, recorded with --no-threads (a process
              per trace: the child's events found by its trace's vpid)
  mixed       rp_mixed's slab blocks (recorded by their granule), regions and huge blocks (by
              address), blocks moving between the kinds by realloc: exact calls, leaks and
              peak by site

Every case reads its traces with both readers (the specialised one and libbabeltrace2) and
checks that they deliver the same events in the same order and the same report. Exit
status 77 (skipped) when lttng-tools or babeltrace2 is not installed."""
import argparse
import html.parser
import json
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "trace"))
import test_trace as tt  # noqa: E402  (session daemon isolation, recording)

check, Failure = tt.check, tt.Failure


def report(args, trace_dir, *options, status=0):
    """Runs `meshward report OPTIONS TRACE_DIR`; returns stdout (JSON parsed with --json)."""
    p = subprocess.run([args.meshward, "report", *options, trace_dir], capture_output=True,
                       text=True, timeout=600)
    check(p.returncode == status, f"report {options}: status {p.returncode}: {p.stderr}")
    return json.loads(p.stdout) if "--json" in options else p.stdout


def canonical(dump):
    """The events of a --dump, events of equal timestamps (from different streams, which the
    two readers may interleave differently) in a fixed order."""
    lines = dump.splitlines()
    return sorted(lines, key=lambda line: (int(line.split()[0]), line))


def readers_agree(args, trace_dir):
    ctf = report(args, trace_dir, "--dump")
    bt2 = report(args, trace_dir, "--dump", "--reader", "babeltrace2")
    check(ctf.count("\n") > 0, "the reader delivered no event")
    a, b = ctf.splitlines(), bt2.splitlines()
    check(len(a) == len(b), f"ctf reader: {len(a)} events, babeltrace2: {len(b)}")
    check(canonical(ctf) == canonical(bt2), "the readers deliver different events")
    # One order, ties of one timestamp on different streams included (the ctf reader breaks
    # them as babeltrace2's muxer does: the replay of a free and an allocation of one address
    # in the same nanosecond on two CPUs depends on it).
    check(a == b, "the readers deliver events in a different order")
    j1 = report(args, trace_dir, "--json")
    j2 = report(args, trace_dir, "--json", "--reader", "babeltrace2")
    check(j1["reader"] == "ctf" and j2["reader"] == "babeltrace2", "reader not recorded")
    j1.pop("reader"), j2.pop("reader")
    check(j1 == j2, "the two readers give different reports")


# ---- the documented JSON keys ----------------------------------------------------------------


def paths(obj, prefix=""):
    """Every key path of a JSON value: `a.b`, `list[].key`."""
    out = set()
    if isinstance(obj, dict):
        for k, v in obj.items():
            p = f"{prefix}.{k}" if prefix else k
            out.add(p)
            out |= paths(v, p)
    elif isinstance(obj, list):
        for v in obj:
            out |= paths(v, prefix + "[]")
    return out


def documented(readme):
    """The key paths tools/README.md documents: every `path` in the first column of the
    tables of its JSON section."""
    text = open(readme).read()
    section = text[text.index("### JSON"):]
    section = section[:section.index("\n## ", 1)] if "\n## " in section[1:] else section
    return set(re.findall(r"^\| `([\w.\[\]]+)`", section, re.M))


def check_keys(args, j, absent=()):
    """The JSON has the documented keys; `absent`: lists that are null in this trace."""
    doc = documented(args.readme)
    got = paths(j)
    check(not got - doc, f"undocumented JSON keys: {sorted(got - doc)}")
    # Keys of list elements that happen to be empty in this trace cannot be seen.
    missing = {p for p in doc - got if not any(p.startswith(e + "[]") for e in
                                                 ("gaps", "corruptions", "heaps_dropped",
                                                  "cross_thread_frees", *absent))}
    check(not missing, f"documented keys missing from the JSON: {sorted(missing)}")


# ---- known -----------------------------------------------------------------------------------


def expectations(path):
    lines = open(path).read().split("\n")
    check("end" in lines, "rp_known did not finish its expectations")
    exp = {"site": {}, "leak": {}, "peak": {}, "temporaries": {}}
    for w in (line.split() for line in lines[: lines.index("end")]):
        if w[0] == "site":
            exp["site"][w[1]] = int(w[2])
        elif w[0] in ("leak", "peak"):
            exp[w[0]][w[1]] = (int(w[2]), int(w[3]))
        elif w[0] == "plugin":
            exp["plugin"] = int(w[1])
        elif w[0] in ("temporaries", "calls"):
            exp.setdefault(w[0], {})[w[1]] = int(w[2])
        else:
            exp[w[0]] = [int(x) for x in w[1:]]
    return exp


def site_of(j, function, prog):
    found = [s for s in j["sites"] if s["function"] == function
             and (s["library"] or "").endswith("/" + prog)]
    check(len(found) == 1, f"{len(found)} sites for {function}: {found}")
    return found[0]


def check_known(j, exp, prog):
    check_known_sites(j, exp, prog)
    for fn, n in exp["temporaries"].items():
        s = site_of(j, fn, prog)
        check(s["temporaries"] == n, f"temporaries at {fn}: {s['temporaries']}, expected {n}")
    cells = [c for c in j["cross_thread_frees"]
             if (c["from_tid"], c["to_tid"]) == (exp["xfree_from"][0], exp["xfree_to"][0])]
    check(len(cells) == 1 and (cells[0]["blocks"], cells[0]["bytes"]) == tuple(exp["xfree"]),
          f"cross-thread frees {j['cross_thread_frees']}, expected {exp['xfree']}")
    check(j["summary"]["threads_recorded"] is True, "threads_recorded is not true")


def check_known_sites(j, exp, prog):
    """rp_known's figures that need no thread: lines, leaks, peak, heap drops, the plugin's
    site, the tracer's blocks, meshes and the replay against the allocator's counters."""
    src = prog + ".c"
    for fn, line in exp["site"].items():
        s = site_of(j, fn, prog)
        check(s["file"].endswith("/" + src) and s["line"] == line,
              f"{fn}: {s['file']}:{s['line']}, expected {src}:{line}")
    for fn, (blocks, size) in exp["leak"].items():
        s = site_of(j, fn, prog)
        check((s["leaked_blocks"], s["leaked_bytes"]) == (blocks, size),
              f"leaks at {fn}: {s['leaked_blocks']} blocks {s['leaked_bytes']} B, expected "
              f"{blocks} {size}")
        check(s["id"] in j["leaks"], f"{fn} not in the leaks ranking")
    for fn, (blocks, size) in exp["peak"].items():
        s = site_of(j, fn, prog)
        check((s["peak_blocks"], s["peak_bytes"]) == (blocks, size),
              f"peak at {fn}: {s['peak_blocks']} blocks {s['peak_bytes']} B, expected "
              f"{blocks} {size}")
    peak_sum = sum(s["peak_bytes"] for s in j["sites"])
    check(j["summary"]["peak_bytes"] == peak_sum,
          f"peak {j['summary']['peak_bytes']} is not the sum of its sites' {peak_sum}")
    drops = [d for d in j["heaps_dropped"] if d["event"] == "heap_destroy"]
    check(len(drops) == 1 and [drops[0]["blocks"], drops[0]["bytes"]] == exp["heap_destroy"],
          f"heaps dropped {j['heaps_dropped']}, expected {exp['heap_destroy']}")
    plugin = site_of(j, "rp_plugin_alloc", "librp_plugin.so")
    check(plugin["file"].endswith("/rp_plugin.c") and plugin["line"] == exp["plugin"]
          and plugin["leaked_bytes"] == 4242, f"the dlopen'ed library's site: {plugin}")
    # The tracer's allocations (LTTng's dlopen hook) are in no program figure.
    check(j["tracer"]["allocations"] > 0, "no allocation by the tracer was found")
    check(not any(s["tracer"] and (s["calls"] or s["leaked_blocks"] or s["peak_bytes"])
                  for s in j["sites"]), "a site inside LTTng has program figures")
    check(all(not s["tracer"] or "lttng-ust" in s["library"] for s in j["sites"]),
          "a site outside LTTng's libraries counted as the tracer's")
    meshes, mesh_bytes = j["summary"]["meshes"], j["summary"]["mesh_bytes"]
    check(meshes > 0 and mesh_bytes >= 4096 * meshes,
          f"malloc_trim meshed nothing the report saw: {meshes} meshes, {mesh_bytes} B")
    proc = j["processes"][0]
    check(proc["stats_check"] and proc["stats_check"]["consistent"],
          f"the replay disagrees with the allocator's counters: {proc['stats_check']}")


def check_outputs(args, trace_dir, j, exp, prog, work):
    text = report(args, trace_dir)
    leaks = text[text.index("Leaks:"):text.index("Peak:")]
    check(f"leak_a ({prog}.c:{exp['site']['leak_a']}, {prog})" in leaks,
          "the text report's leaks do not name leak_a with its line")
    folded = os.path.join(work, "sites.folded")
    report(args, trace_dir, "--collapsed", folded)
    lines = open(folded).read().splitlines()
    want = f"leak_a ({prog}.c:{exp['site']['leak_a']}) {site_of(j, 'leak_a', prog)['bytes']}"
    check(want in lines, f"collapsed stacks lack {want!r}")
    check(all(re.match(r"^[^;]+(;[^;]+)* \d+$", line) for line in lines), "bad folded line")
    # --pid of another process: nothing selected; --to before the peak: no peak_alloc block.
    none = report(args, trace_dir, "--json", "--pid", "1")
    check(none["summary"]["allocations"] == 0, "--pid did not restrict the report")
    early = report(args, trace_dir, "--json", "--to", f"{j['summary']['peak_ns'] - 1}ns")
    check(early["summary"]["peak_bytes"] < j["summary"]["peak_bytes"], "--to kept the peak")
    late = report(args, trace_dir, "--json", "--from", f"{j['summary']['peak_ns'] + 1}ns")
    check(site_of(late, "peak_alloc", prog)["calls"] == 0, "--from counted earlier calls")
    check(early["summary"]["allocations"] < j["summary"]["allocations"], "--to had no effect")


def case_known(args, work):
    trace_dir = os.path.join(work, "trace")
    exp_file = os.path.join(work, "expected.txt")
    status, _, err, _ = tt.traced_ok(args, trace_dir, [args.prog, exp_file, args.plugin],
                                     options=["--report"])
    check(status == 0, f"rp_known exited with {status}")
    check("Leaks: blocks live at the end" in err, "trace --report printed no report")
    prog = os.path.basename(args.prog)
    exp = expectations(exp_file)
    j = report(args, trace_dir, "--json")
    check_known(j, exp, prog)
    check_keys(args, j)
    check_outputs(args, trace_dir, j, exp, prog, work)
    readers_agree(args, trace_dir)
    check_html(args, trace_dir, j, work)


# ---- no-threads ------------------------------------------------------------------------------


def case_no_threads(args, work):
    """rp_known recorded with --no-threads: its figures that need no thread exact, and the
    thread analyses said to be missing (null in JSON, "not recorded" in text and HTML)."""
    trace_dir = os.path.join(work, "trace")
    exp_file = os.path.join(work, "expected.txt")
    status, _, _, _ = tt.traced_ok(args, trace_dir, [args.prog, exp_file, args.plugin],
                                   options=["--no-threads"])
    check(status == 0, f"rp_known exited with {status}")
    prog = os.path.basename(args.prog)
    exp = expectations(exp_file)
    j = report(args, trace_dir, "--json")
    check_known_sites(j, exp, prog)
    s = j["summary"]
    check(s["threads_recorded"] is False and s["threads"] is None and s["temporaries"] is None,
          f"summary: threads_recorded {s['threads_recorded']}, threads {s['threads']}, "
          f"temporaries {s['temporaries']}")
    check(j["threads"] is None and j["cross_thread_frees"] is None and j["temporaries"] is None,
          "a thread analysis of a trace without threads is not null")
    check(all(site["temporaries"] is None for site in j["sites"]), "a site has temporaries")
    check_keys(args, j, absent=("threads",))
    text = report(args, trace_dir)
    check("threads not recorded (meshward trace --no-threads)" in text and
          "Threads, cross-thread frees: not recorded" in text and
          "Temporary allocations: not recorded" in text,
          "the text report does not say which analyses are missing")
    check(f"leak_a ({prog}.c:{exp['site']['leak_a']}, {prog})" in text, "text lacks leak_a")
    readers_agree(args, trace_dir)
    check_html(args, trace_dir, j, work)


def case_mixed_no_threads(args, work):
    j = case_mixed(args, work, options=["--no-threads"])
    check(j["summary"]["threads_recorded"] is False, "threads recorded with --no-threads")


# ---- mixed ---------------------------------------------------------------------------------


def event_counts(args, trace_dir):
    """Events of each kind, as the reader delivers them (--dump)."""
    counts = {}
    for line in report(args, trace_dir, "--dump").splitlines():
        kind = line.split()[1]
        counts[kind] = counts.get(kind, 0) + 1
    return counts


def check_sites(j, exp, prog):
    """rp_mixed's facts: each site's line, calls, leaks and peak, exactly."""
    for fn, line in exp["site"].items():
        check(site_of(j, fn, prog)["line"] == line, f"{fn}: line {site_of(j, fn, prog)['line']}")
    for fn, n in exp["calls"].items():
        check(site_of(j, fn, prog)["calls"] == n, f"{fn}: {site_of(j, fn, prog)['calls']} calls")
    for key, (blocks, size) in {"leak": ("leaked_blocks", "leaked_bytes"),
                                "peak": ("peak_blocks", "peak_bytes")}.items():
        for fn, want in exp[key].items():
            s = site_of(j, fn, prog)
            check((s[blocks], s[size]) == want, f"{key} at {fn}: {s[blocks]} {s[size]}, "
                  f"expected {want}")
    check(j["summary"]["peak_bytes"] == sum(s["peak_bytes"] for s in j["sites"]),
          "the peak is not the sum of its sites'")


def case_mixed(args, work, options=()):
    """Slab blocks (their granules), regions and huge blocks (their addresses) in one trace,
    blocks moving between the kinds: exact figures."""
    trace_dir = os.path.join(work, "trace")
    exp_file = os.path.join(work, "expected.txt")
    status, _, _, _ = tt.traced_ok(args, trace_dir, [args.prog, exp_file], options=options)
    check(status == 0, f"rp_mixed exited with {status}")
    counts = event_counts(args, trace_dir)
    for kind in ("alloc_slab", "free_slab", "alloc", "free", "realloc"):
        check(counts.get("meshward:" + kind, 0) > 0, f"no {kind} event in the trace: {counts}")
    j = report(args, trace_dir, "--json")
    check_sites(j, expectations(exp_file), os.path.basename(args.prog))
    readers_agree(args, trace_dir)
    return j


# ---- html ------------------------------------------------------------------------------------


class Figures(html.parser.HTMLParser):
    """Collects data-key/data-value pairs and the body's data-rendered."""

    def __init__(self):
        super().__init__()
        self.figures, self.rendered = [], None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "body":
            self.rendered = a.get("data-rendered")
        if "data-key" in a:
            self.figures.append((a["data-key"], a.get("data-value")))


def lookup(j, key):
    for part in key.split("."):
        j = j[int(part)] if isinstance(j, list) else j[part]
    return j


def check_html(args, trace_dir, j, work):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        print("note: chromium is not installed, the HTML page was not checked", file=sys.stderr)
        return
    page = os.path.join(work, "report.html")
    report(args, trace_dir, "--html", page)
    flags = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
             "--user-data-dir=" + os.path.join(work, "chromium-profile")]
    p = subprocess.run(flags + ["--enable-logging=stderr", "--v=0", "--dump-dom",
                                "file://" + page], capture_output=True, text=True, timeout=120)
    console = [line for line in p.stderr.splitlines() if "CONSOLE" in line]
    check(not console, f"console messages: {console}")
    f = Figures()
    f.feed(p.stdout)
    check(f.rendered == "ok", "the page's script did not finish drawing")
    check(len(f.figures) > 30, f"only {len(f.figures)} figures in the page")
    for key, value in f.figures:
        check(str(lookup(j, key)) == value, f"page shows {key} = {value}, JSON has "
              f"{lookup(j, key)}")
    shot = os.path.join(work, "report.png")
    subprocess.run(flags + ["--screenshot=" + shot, "--window-size=1280,2400", "file://" + page],
                   capture_output=True, timeout=120)
    check(os.path.getsize(shot) > 10000, "no screenshot")
    print(f"screenshot of the page: {shot}", file=sys.stderr)


# ---- fork ------------------------------------------------------------------------------------


def case_fork(args, work, options=()):
    trace_dir = os.path.join(work, "trace")
    status, out, _, _ = tt.traced_ok(args, trace_dir, [args.prog], options=options)
    check(status == 0, f"rp_fork exited with {status}")
    child_pid = int(re.match(r"child (\d+)", out).group(1))
    j = report(args, trace_dir, "--json")
    procs = {p["pid"]: p for p in j["processes"]}
    check(child_pid in procs, f"the child {child_pid} is not in {list(procs)}")
    child = procs[child_pid]
    parent = [p for p in j["processes"] if p["pid"] != child_pid]
    check(len(parent) == 1 and child["forked"] and child["ppid"] == parent[0]["pid"],
          f"the child is not the parent's fork: {j['processes']}")
    # The parent's 5 blocks of 300 B were inherited; the child freed 2 of them, as known
    # blocks (frees of blocks from before tracing, by LTTng's fork handler, stay unknown).
    check((child["inherited_blocks"], child["inherited_bytes"]) == (3, 900),
          f"inherited blocks {child['inherited_blocks']} {child['inherited_bytes']}, "
          f"expected 3 900")
    only = report(args, trace_dir, "--json", "--pid", str(child_pid))
    s = site_of(only, "child_alloc", os.path.basename(args.prog))
    check((s["calls"], s["leaked_blocks"], s["leaked_bytes"]) == (10, 3, 231),
          f"child_alloc: {s['calls']} calls, leaks {s['leaked_blocks']} {s['leaked_bytes']}, "
          f"expected 10, 3 231")
    check(only["summary"]["processes"] == 1 and only["processes"][0]["pid"] == child_pid,
          "--pid did not select the child")
    readers_agree(args, trace_dir)


# ---- discard ---------------------------------------------------------------------------------


def case_discard(args, work):
    for options in ([], ["--no-threads"]):
        discard(args, os.path.join(work, "trace" + "".join(options)), options)


def discard(args, trace_dir, options):
    status, _, err = tt.meshward_trace(args, trace_dir, [args.prog, "300000"],
                                       options=tt.TINY + options)
    check(status == 0, f"rp_churn exited with {status}")
    _, discarded = tt.recorded(err)
    check(discarded > 0, f"{options}: the tiny channel lost nothing (or it was not counted)")
    j = report(args, trace_dir, "--json")
    lost = sum(g["count"] for g in j["gaps"])
    check(j["summary"]["discarded_events"] == lost > 0,
          f"gaps count {lost}, summary {j['summary']['discarded_events']}")
    # Per-process buffers: LTTng's count goes with the process, the trace's packets keep it.
    check(not options or discarded == lost, f"meshward trace counted {discarded}, gaps {lost}")
    check(all(0 <= g["ns"] <= j["summary"]["duration_ns"] for g in j["gaps"]), "gap times")
    check(j["summary"]["allocations"] > 0, "nothing replayed")
    text = report(args, trace_dir)
    check("Gaps (events the tracer discarded)" in text, "the text report shows no gap")
    readers_agree(args, trace_dir)


# ---- corruption ------------------------------------------------------------------------------


def case_corruption(args, work):
    trace_dir = os.path.join(work, "trace")
    env = dict(os.environ, MESHWARD_ON_CORRUPTION="report")
    status, out, err, _ = tt.traced_ok(args, trace_dir, [args.prog], env=env,
                                       options=["--hardened", "--stacks"])
    check(status == 0, f"rp_corrupt exited with {status}")
    check("meshward: error: double free:" in err, "the hardened library reported nothing")
    lines = dict(line.split() for line in out.splitlines())
    j = report(args, trace_dir, "--json")
    check(len(j["corruptions"]) == 1, f"corruptions: {j['corruptions']}")
    c = j["corruptions"][0]
    check(c["kind"] == "double free" and c["ptr"] == int(lines["block"], 16), f"{c}")
    steps = [(h["event"], j["sites"][h["site"]]["function"], j["sites"][h["site"]]["line"])
             for h in c["history"]]
    want = [("realloc", "move_block", int(lines["move_block"])),
            ("free", "release", int(lines["release"]))]
    check(steps[-2:] == want, f"history {steps}, expected it to end with {want}")
    check(c["history"][-2]["old_ptr"] != c["ptr"], "the realloc's old block is not shown")
    stacks = [[f["function"] for f in j["sites"][site]["stack"][:2]]
              for site in (c["site"], c["history"][-1]["site"])]
    check(stacks == [["release_again", "main"], ["release", "main"]],
          f"stacks of the corruption and the free: {stacks}")
    text = report(args, trace_dir)
    check(f"release (rp_corrupt.c:{lines['release']}" in text, "text history lacks the free")
    readers_agree(args, trace_dir)


# ---- errors ----------------------------------------------------------------------------------


def expect_error(args, argv, message):
    p = subprocess.run([args.meshward] + argv, capture_output=True, text=True, timeout=120)
    check(p.returncode == 125, f"{argv}: status {p.returncode}; stderr {p.stderr!r}")
    check(re.fullmatch(r"meshward: error: [^\n]*\n", p.stderr) and re.search(message, p.stderr),
          f"{argv}: not one error line matching /{message}/: {p.stderr!r}")
    check(p.stdout == "", f"{argv}: printed {p.stdout[:200]!r}")


def copy_trace(src, dst, edit=None):
    shutil.copytree(src, dst)
    if edit:
        for root, _, files in os.walk(dst):
            for name in files:
                edit(os.path.join(root, name))
    return dst


def rename_events(path):
    """Renames the meshward events in a metadata file (same length: packets keep sizes)."""
    if os.path.basename(path) == "metadata":
        data = open(path, "rb").read()
        open(path, "wb").write(data.replace(b'"meshward:', b'"meshwarX:'))


def scribble_stream(path):
    """Overwrites 4 KiB in the middle of each stream file with 0xff bytes."""
    if re.fullmatch(r"meshward_\d+", os.path.basename(path)) and os.path.getsize(path) > 8192:
        with open(path, "r+b") as f:
            f.seek(os.path.getsize(path) // 2)
            f.write(b"\xff" * 4096)


def truncate_stream(path):
    if re.fullmatch(r"meshward_\d+", os.path.basename(path)) and os.path.getsize(path) > 8192:
        os.truncate(path, os.path.getsize(path) // 2 + 100)


def case_errors(args, work):
    trace_dir = os.path.join(work, "trace")
    status, _, _, _ = tt.traced_ok(args, trace_dir,
                                   [args.prog, os.path.join(work, "exp.txt"), args.plugin])
    check(status == 0, f"rp_known exited with {status}")
    empty = os.path.join(work, "empty")
    os.makedirs(empty)
    for reader in ([], ["--reader", "babeltrace2"]):
        expect_error(args, ["report", *reader, empty], r"not a trace")
        expect_error(args, ["report", *reader, os.path.join(work, "exp.txt")], r"not a trace")
        renamed = copy_trace(trace_dir, os.path.join(work, "renamed" + "".join(reader)),
                             rename_events)
        expect_error(args, ["report", *reader, renamed], r"no meshward events")
    cut = copy_trace(trace_dir, os.path.join(work, "cut"), truncate_stream)
    page = os.path.join(work, "out", "page.html")
    os.makedirs(os.path.dirname(page))
    expect_error(args, ["report", "--html", page, cut], r"meshward_\d+: truncated")
    check(os.listdir(os.path.dirname(page)) == [], "a half-written page was left behind")
    expect_error(args, ["report", "--reader", "babeltrace2", cut],
                 r"babeltrace2 (cannot read|failed while reading)")
    # Garbage inside a packet: an error or a report, never a crash.
    bad = copy_trace(trace_dir, os.path.join(work, "scribbled"), scribble_stream)
    p = subprocess.run([args.meshward, "report", bad], capture_output=True, text=True,
                       timeout=120)
    check(p.returncode in (0, 125), f"a scribbled stream: status {p.returncode} {p.stderr}")
    afile = os.path.join(work, "exp.txt")
    expect_error(args, ["report", "--html", os.path.join(afile, "page.html"), trace_dir],
                 r"cannot write .*page\.html")
    expect_error(args, ["report", "--collapsed", "/proc/meshward.folded", trace_dir],
                 r"cannot write /proc/meshward\.folded")
    expect_error(args, ["report", "--from", "soon", trace_dir], r"bad time")
    expect_error(args, ["report"], r"one trace folder expected")


CASES = {"known": case_known, "fork": case_fork, "discard": case_discard,
         "corruption": case_corruption, "errors": case_errors, "mixed": case_mixed,
         "no-threads": case_no_threads, "mixed-no-threads": case_mixed_no_threads,
         "fork-no-threads": lambda args, work: case_fork(args, work, ["--no-threads"])}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("case", choices=sorted(CASES))
    ap.add_argument("--meshward", required=True)
    ap.add_argument("--prog", required=True)
    ap.add_argument("--readme", required=True)
    ap.add_argument("--plugin", required=True)
    ap.add_argument("--workdir", required=True)
    args = ap.parse_args()
    if not (shutil.which("lttng") and shutil.which("babeltrace2")):
        print("lttng-tools or babeltrace2 is not installed", file=sys.stderr)
        return 77
    if not os.environ.get("MESHWARD_TEST_ISOLATED"):
        shutil.rmtree(args.workdir, ignore_errors=True)
        os.makedirs(args.workdir)
        tt.isolate(args.workdir)
    try:
        CASES[args.case](args, args.workdir)
    except Failure as f:
        print(f"FAIL {args.case}: {f}", file=sys.stderr)
        return 1
    print(f"ok {args.case}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
