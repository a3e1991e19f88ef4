/* lttng_session.c — drives lttng(1) for `meshward trace`: connects to a reachable session
 * daemon or starts a private one, creates the session with its channel, events and contexts,
 * stops it and reads the discarded-event count, destroys it and stops the private daemon.
 *
 * The private daemon is our child (not --daemonize), in its own session so that ^C at the
 * terminal reaches the program but not the daemon that must still flush its trace;
 * --sig-parent tells us when it accepts commands. It is stopped only when no other session
 * (another `meshward trace` that found it reachable) uses it. */
#include "lttng_session.h"
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { DAEMON_START_TIMEOUT_MS = 10000, DAEMON_STOP_TIMEOUT_MS = 10000, MAX_ARGS = 16 };

/* Runs `lttng ARGS...` (NULL-terminated); on failure prints what lttng said. Returns its exit
 * status; *out (when not NULL) receives lttng's output. */
static int lttng(const struct lttng_session *s, char **out, ...) {
    char *argv[MAX_ARGS + 2] = {s->lttng};
    va_list ap;
    va_start(ap, out);
    for (int i = 1; i <= MAX_ARGS && (argv[i] = va_arg(ap, char *)); i++)
        ;
    va_end(ap);
    char *text = NULL;
    int rc = spawn_capture(argv, &text);
    if (rc != 0 && out != NULL)
        cli_error("lttng %s failed (status %d): %s", argv[1], rc, text ? text : "");
    if (out)
        *out = text;
    else
        free(text);
    return rc;
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

int lttng_session_connect(struct lttng_session *s) {
    s->lttng = spawn_which("lttng");
    if (!s->lttng) {
        cli_error("lttng-tools is not installed: no 'lttng' command on PATH "
                  "(Debian: apt-get install lttng-tools)");
        return -1;
    }
    snprintf(s->name, sizeof s->name, "meshward-%ld-%ld", (long)getpid(), (long)time(NULL));
    if (lttng(s, NULL, "list", (char *)NULL) == 0) /* a session daemon is reachable */
        return apps_socket_ok() ? 0 : -1;
    char *sessiond = spawn_which("lttng-sessiond");
    if (!sessiond) {
        cli_error("no LTTng session daemon is running and 'lttng-sessiond' is not on PATH "
                  "(Debian: apt-get install lttng-tools)");
        return -1;
    }
    s->private_daemon = start_daemon(sessiond);
    free(sessiond);
    return s->private_daemon > 0 ? 0 : -1;
}

int lttng_session_start(struct lttng_session *s, const char *dir,
                        const struct lttng_channel_config *cfg) {
    char output[4200], subbuf[64], num[64];
    snprintf(output, sizeof output, "--output=%s", dir);
    snprintf(subbuf, sizeof subbuf, "--subbuf-size=%s", cfg->subbuf_size);
    snprintf(num, sizeof num, "--num-subbuf=%s", cfg->num_subbuf);
    char *out = NULL;
    if (lttng(s, &out, "create", s->name, output, (char *)NULL) != 0) goto fail;
    s->created = true;
    free(out);
    /* Discard mode (the default) keeps the events already recorded and counts the lost ones,
     * which the command reports; blocking mode makes the program wait for the consumer. */
    if (lttng(s, &out, "enable-channel", "--userspace", "--session", s->name, subbuf, num,
              cfg->blocking ? "--blocking-timeout=inf" : "--blocking-timeout=0", "meshward",
              (char *)NULL) != 0)
        goto fail;
    free(out);
    if (lttng(s, &out, "enable-event", "--userspace", "--session", s->name, "--channel", "meshward",
              "meshward:*,lttng_ust_statedump:*,lttng_ust_dl:*", (char *)NULL) != 0)
        goto fail;
    free(out);
    if (lttng(s, &out, "add-context", "--userspace", "--session", s->name, "--channel", "meshward",
              "-t", "vtid", "-t", "vpid", (char *)NULL) != 0)
        goto fail;
    free(out);
    if (lttng(s, &out, "start", s->name, (char *)NULL) != 0) goto fail;
    free(out);
    return 0;
fail:
    free(out);
    lttng_session_close(s);
    return -1;
}

/* Sums the "Discarded events: N" lines of `lttng list SESSION`. */
static uint64_t parse_discarded(const char *text) {
    static const char key[] = "Discarded events:";
    uint64_t total = 0;
    for (const char *p = text; (p = strstr(p, key)); p += sizeof key - 1)
        total += strtoull(p + sizeof key - 1, NULL, 10);
    return total;
}

int lttng_session_stop(struct lttng_session *s, uint64_t *discarded) {
    char *out = NULL;
    int rc = lttng(s, &out, "stop", s->name, (char *)NULL);
    free(out);
    if (rc != 0) return -1;
    rc = lttng(s, &out, "list", s->name, (char *)NULL);
    if (rc == 0) *discarded = parse_discarded(out);
    free(out);
    return rc == 0 ? 0 : -1;
}

static void stop_daemon(struct lttng_session *s) {
    char *out = NULL;
    if (lttng(s, &out, "list", (char *)NULL) == 0 && out &&
        strstr(out, "Available recording sessions")) {
        cli_note("leaving the session daemon (pid %ld) running: another session uses it",
                 (long)s->private_daemon);
        free(out);
        return;
    }
    free(out);
    kill(s->private_daemon, SIGTERM);
    for (int waited = 0; waited < DAEMON_STOP_TIMEOUT_MS; waited += 20) {
        if (waitpid(s->private_daemon, NULL, WNOHANG) == s->private_daemon) return;
        sleep_ms(20);
    }
    cli_warn("the session daemon did not stop in 10 s; killing it");
    kill(s->private_daemon, SIGKILL);
    waitpid(s->private_daemon, NULL, 0);
}

void lttng_session_close(struct lttng_session *s) {
    if (s->created) {
        char *out = NULL;
        lttng(s, &out, "destroy", s->name, (char *)NULL);
        free(out);
        s->created = false;
    }
    if (s->private_daemon > 0) {
        stop_daemon(s);
        s->private_daemon = 0;
    }
}
