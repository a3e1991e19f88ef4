/* trace.c — `meshward trace [-o DIR] [--hardened] [--stacks[=DEPTH]] [--no-threads]
 * [--subbuf-size BYTES] [--num-subbuf N] [--no-discard] [--report] [--libdir DIR] [--] PROG
 * [ARGS...]`: records PROG's allocations (with --stacks, their call stacks:
 * MESHWARD_TRACE_STACKS=DEPTH in PROG's environment; with --no-threads, without the thread of
 * each allocation event, 4 bytes less per event) with LTTng-UST into DIR and exits with PROG's
 * status; --report then prints the text report (report/report.c) on stderr, where the command's
 * messages go, so PROG's stdout stays its own.
 *
 * Order matters: everything that can fail without side effects (libraries, PROG, DIR) is
 * checked before the session exists; once it exists, every path destroys it (and stops a
 * private daemon). PROG runs with libmeshward, the probe provider libmeshward-tp.so and
 * LTTng's dlopen and fork helpers preloaded; the command's own messages go to stderr so that
 * PROG's stdout is exactly what it prints untraced. */
#include "cli.h"
#include "lttng_session.h"
#include "report/report.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* 4 MiB x 8 sub-buffers per CPU: lost no event on a 4.2 M-event, 2-thread malloc workload
 * where 16 KiB x 2 lost 9.5% (trace/README.md). */
#define DEFAULT_SUBBUF_SIZE "4M"
#define DEFAULT_NUM_SUBBUF "8"
#define DEFAULT_STACK_DEPTH "32"

struct trace_opts {
    const char *dir;
    const char *libdir;
    const char *stacks;                   /* depth, or NULL: the immediate caller only */
    const char *subbuf_size, *num_subbuf; /* as given, for messages */
    bool hardened, report;
    struct trace_channel channel;
};

/* A count with an optional binary suffix (k, M, G) that is a power of two, into *out. */
static int power_of_two(const char *opt, const char *s, uint64_t *out) {
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    int shift = *end == 'k' || *end == 'K' ? 10 : *end == 'M' ? 20 : *end == 'G' ? 30 : 0;
    end += shift != 0;
    if (errno || end == s || *end || v == 0 || (v & (v - 1)) || v > (1ull << (40 - shift))) {
        cli_error("trace: %s %s: not a power of two (a suffix k, M or G may follow)", opt, s);
        return -1;
    }
    *out = (uint64_t)v << shift;
    return 0;
}

static int parse(int argc, char **argv, struct trace_opts *o) {
    static const struct option longopts[] = {{"output", required_argument, NULL, 'o'},
                                             {"hardened", no_argument, NULL, 'H'},
                                             {"subbuf-size", required_argument, NULL, 'S'},
                                             {"num-subbuf", required_argument, NULL, 'N'},
                                             {"no-discard", no_argument, NULL, 'B'},
                                             {"libdir", required_argument, NULL, 'L'},
                                             {"report", no_argument, NULL, 'R'},
                                             {"stacks", optional_argument, NULL, 'K'},
                                             {"no-threads", no_argument, NULL, 'T'},
                                             {NULL, 0, NULL, 0}};
    *o = (struct trace_opts){.subbuf_size = DEFAULT_SUBBUF_SIZE, .num_subbuf = DEFAULT_NUM_SUBBUF};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+o:", longopts, NULL)) != -1) {
        switch (c) {
        case 'o':
            o->dir = optarg;
            break;
        case 'H':
            o->hardened = true;
            break;
        case 'S':
            o->subbuf_size = optarg;
            break;
        case 'N':
            o->num_subbuf = optarg;
            break;
        case 'B':
            o->channel.blocking = true;
            break;
        case 'L':
            o->libdir = optarg;
            break;
        case 'R':
            o->report = true;
            break;
        case 'T':
            o->channel.no_threads = true;
            break;
        case 'K':
            o->stacks = optarg ? optarg : DEFAULT_STACK_DEPTH;
            if (atoi(o->stacks) < 1 || atoi(o->stacks) > 255) {
                cli_error("trace: --stacks=%s: the depth must be 1 to 255", o->stacks);
                return -1;
            }
            break;
        default:
            return -1;
        }
    }
    if (optind >= argc) {
        cli_error("trace: no program given (meshward trace [options] -- PROG [ARGS...])");
        return -1;
    }
    if (power_of_two("--subbuf-size", o->subbuf_size, &o->channel.subbuf_size) != 0 ||
        power_of_two("--num-subbuf", o->num_subbuf, &o->channel.num_subbuf) != 0)
        return -1;
    return optind;
}

static bool dir_is_empty(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return false;
    bool empty = true;
    for (struct dirent *e; empty && (e = readdir(d));)
        empty = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;
    closedir(d);
    return empty;
}

/* Creates dir and its parents (mode 0755). */
static int mkdirs(const char *dir) {
    char buf[PATH_MAX];
    if (snprintf(buf, sizeof buf, "%s", dir) >= (int)sizeof buf) {
        errno = ENAMETOOLONG;
        return -1;
    }
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST) return -1;
        *p = '/';
    }
    return mkdir(buf, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

/* Makes sure the trace folder is new or empty and writable; returns its absolute path. */
static char *prepare_dir(const char *requested) {
    char name[PATH_MAX];
    if (requested) {
        snprintf(name, sizeof name, "%s", requested);
    } else {
        char stamp[32];
        time_t now = time(NULL);
        strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", localtime(&now));
        snprintf(name, sizeof name, "meshward-trace-%s", stamp);
        for (int i = 2; access(name, F_OK) == 0; i++)
            snprintf(name, sizeof name, "meshward-trace-%s-%d", stamp, i);
    }
    struct stat st;
    if (stat(name, &st) == 0 && (!S_ISDIR(st.st_mode) || !dir_is_empty(name))) {
        cli_error("trace directory %s exists and is not an empty folder", name);
        return NULL;
    }
    if (mkdirs(name) != 0) {
        cli_error("cannot create trace directory %s: %s", name, strerror(errno));
        return NULL;
    }
    /* Writable for real (root ignores permission bits, not read-only file systems). */
    char probe[PATH_MAX + 32];
    snprintf(probe, sizeof probe, "%s/.meshward-write-test", name);
    FILE *f = fopen(probe, "w");
    if (!f || fclose(f) != 0) {
        cli_error("cannot write to trace directory %s: %s", name, strerror(errno));
        return NULL;
    }
    unlink(probe);
    return realpath(name, NULL);
}

static volatile pid_t program_pid;

static void forward_signal(int sig) {
    if (program_pid > 0) kill(program_pid, sig);
}

/* Runs PROG with the preload list; returns its exit status as cli.h says. */
static int run_program(char **argv, const char *preload, const struct trace_opts *o) {
    struct sigaction ign = {.sa_handler = SIG_IGN}, fwd = {.sa_handler = forward_signal};
    struct sigaction old_int, old_quit, old_term, old_hup;
    /* ^C and ^\ reach PROG from the terminal; we stay to close the session. */
    sigaction(SIGINT, &ign, &old_int);
    sigaction(SIGQUIT, &ign, &old_quit);
    sigaction(SIGTERM, &fwd, &old_term);
    sigaction(SIGHUP, &fwd, &old_hup);
    pid_t pid = fork();
    if (pid == 0) {
        sigaction(SIGINT, &old_int, NULL);
        sigaction(SIGQUIT, &old_quit, NULL);
        sigaction(SIGTERM, &old_term, NULL);
        sigaction(SIGHUP, &old_hup, NULL);
        setenv("LD_PRELOAD", preload, 1);
        if (o->channel.blocking) setenv("LTTNG_UST_ALLOW_BLOCKING", "1", 1);
        if (o->stacks) setenv("MESHWARD_TRACE_STACKS", o->stacks, 1);
        _exit(spawn_exec(argv));
    }
    int status = CLI_EXIT_FAIL, wstatus;
    if (pid < 0) {
        cli_error("fork: %s", strerror(errno));
    } else {
        program_pid = pid;
        while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR)
            ;
        program_pid = 0;
        status = spawn_exit_status(wstatus);
    }
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGQUIT, &old_quit, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    sigaction(SIGHUP, &old_hup, NULL);
    return status;
}

/* Events in the trace, counted by babeltrace2 when it is installed; -1 otherwise. */
static int64_t count_events(const char *dir) {
    char *bt = spawn_which("babeltrace2");
    if (!bt) return -1;
    /* step=+0: one summary at the end instead of one every 10000 messages. */
    char *argv[] = {bt, (char *)dir, "-c", "sink.utils.counter", "-p", "step=+0", NULL};
    char *out = NULL;
    int64_t n = -1;
    if (spawn_capture(argv, &out) == 0 && out) {
        char *line = strstr(out, " Event messages");
        if (line) {
            while (line > out && line[-1] != '\n')
                line--;
            n = strtoll(line, NULL, 10);
        }
    }
    free(out);
    free(bt);
    return n;
}

static bool count_lost(void *arg, const struct rep_event *ev) {
    if (ev->kind == REP_DISCARDED) *(uint64_t *)arg += ev->f[0];
    return true;
}

/* Events the tracer discarded, as the trace's packets count them. Needed with per-process
 * buffers (--no-threads): LTTng's own count of a process's buffers goes with the process. */
static uint64_t discarded_in_trace(const char *dir) {
    uint64_t lost = 0;
    int rc = rep_read_ctf(dir, count_lost, &lost, false);
    if (rc == REP_READ_UNSUPPORTED) rc = rep_read_bt2(dir, count_lost, &lost, false);
    return rc == REP_READ_OK ? lost : 0;
}

int cmd_trace(int argc, char **argv) {
    struct trace_opts o;
    int first = parse(argc, argv, &o);
    if (first < 0) return CLI_EXIT_FAIL;
    char **prog = argv + first;
    char *prog_path = spawn_which(prog[0]);
    if (!prog_path) {
        cli_error("cannot run %s: %s", prog[0],
                  strchr(prog[0], '/') ? "not an executable file" : "not found on PATH");
        return CLI_EXIT_NOTFOUND;
    }
    free(prog_path);
    char *core = libs_find(o.hardened ? "libmeshward-hardened.so" : "libmeshward.so", o.libdir);
    char *probe = core ? libs_find("libmeshward-tp.so", o.libdir) : NULL;
    if (!probe) return CLI_EXIT_FAIL;
    /* The probe provider switches the allocator's tracepoints on; it comes first so that it
     * is initialized after the allocator and finalized before it, and its `stats` events
     * frame every event the allocator records. LTTng's helpers record later dlopens
     * (symbolization) and keep forked children traced. */
    const char *libs[] = {probe, core, "liblttng-ust-dl.so.1", "liblttng-ust-fork.so.1"};
    char *preload = libs_preload_value(libs, sizeof libs / sizeof libs[0]);
    char *dir = prepare_dir(o.dir);
    if (!preload || !dir) return CLI_EXIT_FAIL;

    struct trace_session s = {0};
    if (session_connect(&s) != 0 || session_start(&s, dir, &o.channel) != 0) {
        session_close(&s);
        rmdir(dir);
        return CLI_EXIT_FAIL;
    }
    int status = run_program(prog, preload, &o);
    uint64_t discarded = 0;
    bool stopped = session_stop(&s, &discarded) == 0;
    session_close(&s);
    if (!stopped) {
        cli_error("the trace in %s may be incomplete", dir);
        return status;
    }
    cli_note("trace: %s", dir);
    if (o.channel.no_threads) {
        uint64_t lost = discarded_in_trace(dir);
        discarded = lost > discarded ? lost : discarded;
    }
    int64_t events = count_events(dir);
    if (events >= 0)
        cli_note("events recorded: %" PRId64 ", discarded: %" PRIu64, events, discarded);
    else
        cli_note("events recorded: unknown (install babeltrace2 to count), discarded: %" PRIu64,
                 discarded);
    if (discarded)
        cli_warn("%" PRIu64 " events were discarded because the buffers were full: rerun with "
                 "--no-discard (the program waits for the trace to be written), or larger "
                 "--subbuf-size/--num-subbuf (now %s x %s per CPU)",
                 discarded, o.subbuf_size, o.num_subbuf);
    if (o.report) {
        struct rep_options ro = {.dir = dir, .top = 10, .progress = isatty(2)};
        fputc('\n', stderr);
        if (report_run(&ro, stderr) != 0 && status == 0) status = CLI_EXIT_FAIL;
    }
    return status;
}
