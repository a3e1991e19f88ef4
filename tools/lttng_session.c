/* lttng_session.c — drives LTTng for `meshward trace` through liblttng-ctl: connects to a
 * reachable session daemon or starts a private one, creates the session with its channel,
 * events and contexts, stops it and reads the channel's discarded-event count, destroys it
 * and stops the private daemon.
 *
 * The private daemon is our child (not --daemonize), in its own session so that ^C at the
 * terminal reaches the program but not the daemon that must still flush its trace;
 * --sig-parent tells us when it accepts commands. It is stopped only when no other session
 * (another `meshward trace` that found it reachable) uses it.
 *
 * What is recorded: every `meshward` event, LTTng's statedump (the loaded objects and the
 * process's name, once) and dl events (later dlopens). A process's name and the events'
 * call sites are said once (statedump, `stack` events), not per event, and so is a thread's
 * process: the allocation events (alloc, heap_alloc, free, realloc, their `_slab` and `_big`
 * forms: nearly all of a trace) go to a channel of their own with the vtid context only, everything
 * else to a second channel with vtid and vpid, where each thread's `thread` event, recorded
 * before its first allocation event, says which process it belongs to.
 *
 * Without threads (--no-threads), the allocation events go without any context: 4 bytes
 * less each. The buffers are then per process (LTTng names the process of each of its traces
 * in the trace's environment, `vpid`), not per user, so every event still has its process;
 * LTTng requires one buffer type for all the channels of a session's domain. */
#include "lttng_session.h"
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <lttng/lttng.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { DAEMON_START_TIMEOUT_MS = 10000, DAEMON_STOP_TIMEOUT_MS = 10000 };

/* Every event of trace/meshward_tp.h is in one of the two lists (test_trace.py checks it).
 * They are named one by one: lttng-sessiond 2.13 crashes on `lttng list SESSION` when an
 * event of the session has exclusions (`meshward:*` less the allocation events). */
#define ALLOCATIONS "meshward" /* the allocation events' channel: vtid */
#define OTHERS "process"       /* every other event's: vtid and vpid */
static const char *const allocation_events[] = {
    "meshward:alloc",      "meshward:alloc_slab", "meshward:free",      "meshward:free_slab",
    "meshward:heap_alloc", "meshward:realloc",    "meshward:alloc_big", "meshward:realloc_big"};
static const char *const other_events[] = {
    "meshward:thread",        "meshward:stack",        "meshward:aligned_alloc",
    "meshward:heap_create",   "meshward:heap_destroy", "meshward:heap_reset",
    "meshward:heap_delete",   "meshward:refill",       "meshward:span_release",
    "meshward:region_refill", "meshward:purge",        "meshward:thread_exit",
    "meshward:mesh",          "meshward:corruption",   "meshward:stats",
    "lttng_ust_statedump:*",  "lttng_ust_dl:*"};
#define COUNT(a) (sizeof(a) / sizeof(a)[0])

/* rc < 0 is an LTTng error: says what failed and why. Returns 0, or -1. */
static int lttng_ok(int rc, const char *what) {
    if (rc >= 0) return 0;
    cli_error("LTTng: %s: %s", what, lttng_strerror(rc));
    return -1;
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Prints what the failed daemon wrote on stderr (kept in an unnamed file). */
static void report_daemon_failure(int errfd, const char *why) {
    char buf[2048];
    ssize_t n = pread(errfd, buf, sizeof buf - 1, 0);
    buf[n > 0 ? n : 0] = '\0';
    cli_error("the LTTng session daemon could not start (%s)%s%s", why, n > 0 ? ": " : "", buf);
}

static pid_t start_daemon(const char *sessiond) {
    sigset_t usr1, old;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    sigprocmask(SIG_BLOCK, &usr1, &old);
    int errfd = open(getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", O_TMPFILE | O_RDWR, 0600);
    pid_t pid = fork();
    if (pid == 0) {
        sigprocmask(SIG_SETMASK, &old, NULL);
        setsid();
        int null = open("/dev/null", O_RDWR);
        dup2(null, STDIN_FILENO);
        dup2(null, STDOUT_FILENO);
        dup2(errfd >= 0 ? errfd : null, STDERR_FILENO);
        execl(sessiond, "lttng-sessiond", "--sig-parent", "--no-kernel", (char *)NULL);
        fprintf(stderr, "cannot run %s: %s", sessiond, strerror(errno));
        _exit(CLI_EXIT_NOTFOUND);
    }
    bool ready = false;
    if (pid < 0) {
        cli_error("fork: %s", strerror(errno));
    } else {
        const struct timespec tick = {0, 50 * 1000000L};
        for (int waited = 0; waited < DAEMON_START_TIMEOUT_MS && !ready; waited += 50) {
            if (sigtimedwait(&usr1, NULL, &tick) == SIGUSR1) {
                ready = true;
            } else if (waitpid(pid, NULL, WNOHANG) == pid) {
                report_daemon_failure(errfd, "it exited");
                pid = -1;
                break;
            }
        }
        if (!ready && pid > 0) {
            report_daemon_failure(errfd, "not ready after 10 s");
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
        }
    }
    sigprocmask(SIG_SETMASK, &old, NULL);
    if (errfd >= 0) close(errfd);
    return ready ? pid : -1;
}

/* A root daemon whose run directory lost its application socket (another daemon that
 * started and stopped over it) still answers lttng(1) but can trace nothing: say so rather
 * than record an empty trace. Non-root programs may register with a per-user daemon or the
 * root one, so only root is checked. */
static bool apps_socket_ok(void) {
    static const char sock[] = "/var/run/lttng/lttng-ust-sock-8";
    if (geteuid() != 0 || access(sock, F_OK) == 0) return true;
    cli_error("the running LTTng session daemon accepts no applications (%s is missing); "
              "restart it (lttng-sessiond) or stop it so that meshward starts its own",
              sock);
    return false;
}

int session_connect(struct trace_session *s) {
    snprintf(s->name, sizeof s->name, "meshward-%ld-%ld", (long)getpid(), (long)time(NULL));
    if (lttng_session_daemon_alive() == 1) return apps_socket_ok() ? 0 : -1;
    char *sessiond = spawn_which("lttng-sessiond");
    if (!sessiond) {
        cli_error("lttng-tools is not installed: no LTTng session daemon is running and "
                  "'lttng-sessiond' is not on PATH (Debian: apt-get install lttng-tools)");
        return -1;
    }
    s->private_daemon = start_daemon(sessiond);
    free(sessiond);
    return s->private_daemon > 0 ? 0 : -1;
}

/* Per-user buffers (one set for every process of the user), or, without threads, per
 * process: the trace of each names its process. */
static struct lttng_domain ust_domain(const struct trace_channel *cfg) {
    return (struct lttng_domain){.type = LTTNG_DOMAIN_UST,
                                 .buf_type =
                                     cfg->no_threads ? LTTNG_BUFFER_PER_PID : LTTNG_BUFFER_PER_UID};
}

static int create(struct trace_session *s, const char *dir, const struct trace_channel *cfg) {
    struct lttng_session_descriptor *d = lttng_session_descriptor_local_create(s->name, dir);
    enum lttng_error_code ec = d ? lttng_create_session_ext(d) : LTTNG_ERR_NOMEM;
    lttng_session_descriptor_destroy(d);
    if (lttng_ok(ec == LTTNG_OK ? 0 : -(int)ec, "creating the session") != 0) return -1;
    s->created = true;
    struct lttng_domain dom = ust_domain(cfg);
    s->handle = lttng_create_handle(s->name, &dom);
    return lttng_ok(s->handle ? 0 : -LTTNG_ERR_NOMEM, "opening the session");
}

/* Discard mode (overwrite 0) keeps the events already recorded and counts the lost ones,
 * which the command reports; blocking mode makes the program wait for the consumer. */
static int enable_channel(struct trace_session *s, const struct trace_channel *cfg,
                          const char *name) {
    struct lttng_domain dom = ust_domain(cfg);
    struct lttng_channel *ch = lttng_channel_create(&dom);
    if (!ch) return lttng_ok(-LTTNG_ERR_NOMEM, "creating the channel");
    snprintf(ch->name, sizeof ch->name, "%s", name);
    ch->attr.overwrite = 0;
    ch->attr.subbuf_size = cfg->subbuf_size;
    ch->attr.num_subbuf = cfg->num_subbuf;
    int rc = lttng_channel_set_blocking_timeout(ch, cfg->blocking ? -1 : 0);
    if (rc == 0) rc = lttng_enable_channel(s->handle, ch);
    lttng_channel_destroy(ch);
    return lttng_ok(rc, "creating the channel");
}

static int enable_event(struct trace_session *s, const char *name, const char *channel) {
    struct lttng_event *ev = lttng_event_create();
    if (!ev) return lttng_ok(-LTTNG_ERR_NOMEM, "enabling events");
    ev->type = LTTNG_EVENT_TRACEPOINT;
    ev->loglevel_type = LTTNG_EVENT_LOGLEVEL_ALL;
    snprintf(ev->name, sizeof ev->name, "%s", name);
    int rc = lttng_enable_event(s->handle, ev, channel);
    lttng_event_destroy(ev);
    return lttng_ok(rc, name);
}

static int add_context(struct trace_session *s, enum lttng_event_context_type type,
                       const char *channel) {
    struct lttng_event_context ctx = {.ctx = type};
    return lttng_ok(lttng_add_context(s->handle, &ctx, NULL, channel), "adding contexts");
}

static int enable_events(struct trace_session *s, const struct trace_channel *cfg) {
    if (enable_channel(s, cfg, ALLOCATIONS) != 0 || enable_channel(s, cfg, OTHERS) != 0) return -1;
    for (size_t i = 0; i < COUNT(allocation_events); i++)
        if (enable_event(s, allocation_events[i], ALLOCATIONS) != 0) return -1;
    for (size_t i = 0; i < COUNT(other_events); i++)
        if (enable_event(s, other_events[i], OTHERS) != 0) return -1;
    if ((!cfg->no_threads && add_context(s, LTTNG_EVENT_CONTEXT_VTID, ALLOCATIONS) != 0) ||
        add_context(s, LTTNG_EVENT_CONTEXT_VTID, OTHERS) != 0 ||
        add_context(s, LTTNG_EVENT_CONTEXT_VPID, OTHERS) != 0)
        return -1;
    return 0;
}

int session_start(struct trace_session *s, const char *dir, const struct trace_channel *cfg) {
    if (create(s, dir, cfg) == 0 && enable_events(s, cfg) == 0 &&
        lttng_ok(lttng_start_tracing(s->name), "starting") == 0)
        return 0;
    session_close(s);
    return -1;
}

int session_stop(struct trace_session *s, uint64_t *discarded) {
    if (lttng_ok(lttng_stop_tracing(s->name), "stopping") != 0) return -1;
    struct lttng_channel *chans = NULL;
    int n = lttng_list_channels(s->handle, &chans);
    *discarded = 0;
    for (int i = 0; i < n; i++) {
        uint64_t count = 0;
        if (lttng_channel_get_discarded_event_count(&chans[i], &count) == 0) *discarded += count;
    }
    free(chans);
    return lttng_ok(n, "reading the discarded-event count");
}

static void stop_daemon(struct trace_session *s) {
    struct lttng_session *others = NULL;
    int n = lttng_list_sessions(&others);
    free(others);
    if (n > 0) {
        cli_note("leaving the session daemon (pid %ld) running: another session uses it",
                 (long)s->private_daemon);
        return;
    }
    kill(s->private_daemon, SIGTERM);
    for (int waited = 0; waited < DAEMON_STOP_TIMEOUT_MS; waited += 20) {
        if (waitpid(s->private_daemon, NULL, WNOHANG) == s->private_daemon) return;
        sleep_ms(20);
    }
    cli_warn("the session daemon did not stop in 10 s; killing it");
    kill(s->private_daemon, SIGKILL);
    waitpid(s->private_daemon, NULL, 0);
}

void session_close(struct trace_session *s) {
    if (s->handle) {
        lttng_destroy_handle(s->handle);
        s->handle = NULL;
    }
    if (s->created) {
        lttng_destroy_session(s->name);
        s->created = false;
    }
    if (s->private_daemon > 0) {
        stop_daemon(s);
        s->private_daemon = 0;
    }
}
