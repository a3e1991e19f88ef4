/* report/report.c — `meshward report TRACE_DIR [--pid PID] [--from T] [--to T] [--top N] [--json]
 * [--html FILE] [--collapsed FILE] [--reader ctf|babeltrace2] [--dump]`: reads a trace,
 * replays it and prints the report (text, or JSON with --json) on stdout, and writes the
 * other outputs. --dump prints the events as the reader delivers them instead (one line
 * each: the two readers must print the same lines).
 *
 * Output files are written to a temporary file in their folder, created before the trace is
 * read (an unwritable folder fails at once), and renamed over FILE only when complete:
 * nothing half-written is ever left behind. Every failure is one `meshward: error:` line
 * and exit status 125. */
#include "cli.h"
#include "report.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct out_file {
    const char *path;
    char tmp[PATH_MAX];
    FILE *f;
};

static int open_out(struct out_file *o, const char *path) {
    o->path = path;
    o->f = NULL;
    if (!path) return 0;
    snprintf(o->tmp, sizeof o->tmp, "%s.XXXXXX", path);
    int fd = mkstemp(o->tmp);
    if (fd < 0 || !(o->f = fdopen(fd, "w"))) {
        cli_error("cannot write %s: %s", path, strerror(errno));
        if (fd >= 0) close(fd);
        return -1;
    }
    return 0;
}

/* Closes o; renames it over its path when it is complete and ok, else removes it (a
 * failure elsewhere, already reported, makes ok false). */
static int close_out(struct out_file *o, bool ok) {
    if (!o->f) return 0;
    bool written = fflush(o->f) == 0 && !ferror(o->f);
    int err = errno;
    if (fclose(o->f) != 0 && written) {
        written = false;
        err = errno;
    }
    o->f = NULL;
    if (ok && written && rename(o->tmp, o->path) == 0) {
        chmod(o->path, 0644);
        return 0;
    }
    if (ok && written) err = errno;
    unlink(o->tmp);
    if (ok) cli_error("cannot write %s: %s", o->path, strerror(err ? err : EIO));
    return -1;
}

/* "1.5" (seconds), "1.5s", "200ms", "10us", "500ns". */
static int parse_time(const char *s, uint64_t *ns) {
    char *end;
    double v = strtod(s, &end);
    double mult = strcmp(end, "") == 0 || strcmp(end, "s") == 0 ? 1e9
                  : strcmp(end, "ms") == 0                      ? 1e6
                  : strcmp(end, "us") == 0                      ? 1e3
                  : strcmp(end, "ns") == 0                      ? 1
                                                                : -1;
    if (end == s || mult < 0 || v < 0) {
        cli_error("report: bad time '%s' (e.g. 1.5, 1.5s, 200ms, 10us, 500ns)", s);
        return -1;
    }
    *ns = (uint64_t)(v * mult);
    return 0;
}

static int parse(int argc, char **argv, struct rep_options *o) {
    static const struct option longopts[] = {{"pid", required_argument, NULL, 'p'},
                                             {"from", required_argument, NULL, 'f'},
                                             {"to", required_argument, NULL, 't'},
                                             {"top", required_argument, NULL, 'n'},
                                             {"json", no_argument, NULL, 'j'},
                                             {"html", required_argument, NULL, 'h'},
                                             {"collapsed", required_argument, NULL, 'c'},
                                             {"reader", required_argument, NULL, 'r'},
                                             {"dump", no_argument, NULL, 'd'},
                                             {NULL, 0, NULL, 0}};
    *o = (struct rep_options){.top = 10, .progress = isatty(2)};
    optind = 1;
    for (int c; (c = getopt_long(argc, argv, "+", longopts, NULL)) != -1;) {
        char *end = NULL;
        if (c == 'p') o->pid = (int32_t)strtol(optarg, &end, 10);
        if (c == 'n') o->top = (int)strtol(optarg, &end, 10);
        if ((c == 'p' || c == 'n') && (*end || end == optarg)) {
            cli_error("report: --%s needs a number", c == 'p' ? "pid" : "top");
            return -1;
        }
        if ((c == 'f' && parse_time(optarg, &o->from_ns) != 0) ||
            (c == 't' && parse_time(optarg, &o->to_ns) != 0))
            return -1;
        if (c == 'j') o->json = true;
        if (c == 'h') o->html = optarg;
        if (c == 'c') o->collapsed = optarg;
        if (c == 'r' && strcmp(optarg, "ctf") != 0 && strcmp(optarg, "babeltrace2") != 0) {
            cli_error("report: --reader is ctf or babeltrace2");
            return -1;
        }
        if (c == 'r') o->use_bt2 = strcmp(optarg, "babeltrace2") == 0;
        if (c == 'd') o->dump = true;
        if (c == '?') return -1;
    }
    if (optind != argc - 1) {
        cli_error("report: one trace folder expected (meshward report [options] TRACE_DIR)");
        return -1;
    }
    o->dir = argv[optind];
    return 0;
}

/* The specialised reader, or libbabeltrace2 when asked or when the layout is not one the
 * specialised reader knows (it then delivered nothing); either on a thread of its own. The
 * sink sees every event with its process (report/threads.c). */
static int read_trace(struct rep_options *o, rep_sink sink, void *arg) {
    struct rep_threads t = {.sink = sink, .arg = arg};
    int rc = REP_READ_UNSUPPORTED;
    if (!o->use_bt2) rc = rep_read_piped(rep_read_ctf, o->dir, rep_threads_sink, &t, o->progress);
    if (rc == REP_READ_UNSUPPORTED) {
        o->use_bt2 = true;
        rc = rep_read_piped(rep_read_bt2, o->dir, rep_threads_sink, &t, false);
    }
    rep_map_free(&t.pid_of);
    return rc;
}

static int replay(struct rep *r) {
    struct stat st;
    if (stat(r->opt.dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        cli_error("%s: not a trace folder", r->opt.dir);
        return -1;
    }
    if (read_trace(&r->opt, rep_replay_event, r) != REP_READ_OK) return -1;
    if (r->meshward_events == 0) {
        cli_error("%s: no meshward events in this trace (record one with meshward trace)",
                  r->opt.dir);
        return -1;
    }
    rep_finish(r);
    if (r->n_corruptions && read_trace(&r->opt, rep_history_event, r) != REP_READ_OK) return -1;
    return 0;
}

int report_run(const struct rep_options *opt, FILE *text_out) {
    struct out_file html, collapsed;
    if (open_out(&html, opt->html) != 0) return CLI_EXIT_FAIL;
    if (open_out(&collapsed, opt->collapsed) != 0) {
        close_out(&html, false);
        return CLI_EXIT_FAIL;
    }
    struct rep r;
    rep_init(&r, opt);
    bool ok = replay(&r) == 0;
    if (html.f) ok = close_out(&html, ok && rep_write_html(&r, html.f) == 0) == 0 && ok;
    if (collapsed.f)
        ok = close_out(&collapsed, ok && rep_write_collapsed(&r, collapsed.f) == 0) == 0 && ok;
    if (ok) {
        int w = r.opt.json ? rep_write_json(&r, text_out) : rep_write_text(&r, text_out);
        if (w != 0 || fflush(text_out) != 0) {
            cli_error("cannot write the report: %s", strerror(errno));
            ok = false;
        }
    }
    rep_free(&r);
    rep_symbols_end();
    return ok ? 0 : CLI_EXIT_FAIL;
}

static bool dump_event(void *arg, const struct rep_event *ev) {
    FILE *out = arg;
    fprintf(out, "%" PRIu64 " %s %" PRId32 " %" PRId32 " %#" PRIx64, ev->ts,
            ev->kind == REP_DISCARDED ? "discarded" : rep_kinds[ev->kind].name, ev->vpid, ev->vtid,
            ev->ip);
    for (int i = 0; i < REP_MAX_FIELDS; i++)
        fprintf(out, " %" PRIu64, ev->f[i]);
    fprintf(out, " [%s] [%s] [%s] [", ev->s[0] ? ev->s[0] : "", ev->s[1] ? ev->s[1] : "",
            ev->procname);
    for (uint32_t i = 0; i < ev->n_frames; i++)
        fprintf(out, "%s%#" PRIx64, i ? " " : "", rep_frame(ev, i));
    fputs("]\n", out);
    return true;
}

int cmd_report(int argc, char **argv) {
    struct rep_options o;
    if (parse(argc, argv, &o) != 0) return CLI_EXIT_FAIL;
    if (!o.dump) return report_run(&o, stdout);
    return read_trace(&o, dump_event, stdout) == REP_READ_OK && fflush(stdout) == 0 ? 0
                                                                                    : CLI_EXIT_FAIL;
}
