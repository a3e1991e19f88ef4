/* launch.c — bench-launch: runs one benchmark program and reports its wall time, CPU time,
 * peak RSS, page faults and exit status. It exists because Linux carries a process's peak
 * RSS across exec: a program forked by the (large) Python runner would report the runner's
 * own RSS as its peak, while one forked from this small process reports its own.
 *
 * usage: bench-launch [-p PRELOAD] [-t SECONDS] PROG [ARGS...]
 * PRELOAD is set as LD_PRELOAD in the child only (so this process runs on libc's malloc).
 * After SECONDS the child is killed and reaped here, so that a timeout leaves no process
 * behind. Prints one line
 * "wall_ns=N user_ns=N sys_ns=N maxrss_kib=N minflt=N status=exit:N|signal:N|timeout:S"
 * on file descriptor 3, which the caller opens; the child does not inherit it. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile pid_t child;
static volatile sig_atomic_t timed_out;

static void on_alarm(int sig) {
    (void)sig;
    timed_out = 1;
    kill(child, SIGKILL);
}

static long long now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static long long tv_ns(struct timeval t) {
    return t.tv_sec * 1000000000LL + t.tv_usec * 1000LL;
}

int main(int argc, char **argv) {
    const char *preload = NULL;
    unsigned timeout = 0;
    int first = 1;
    for (; first + 1 < argc && argv[first][0] == '-'; first += 2) {
        if (strcmp(argv[first], "-p") == 0)
            preload = argv[first + 1];
        else if (strcmp(argv[first], "-t") == 0)
            timeout = (unsigned)strtoul(argv[first + 1], NULL, 10);
        else
            break;
    }
    if (first >= argc || argv[first][0] == '-') {
        fprintf(stderr, "usage: %s [-p PRELOAD] [-t SECONDS] PROG [ARGS...]\n", argv[0]);
        return 2;
    }
    FILE *report = fdopen(3, "w");
    if (!report) {
        fprintf(stderr, "%s: file descriptor 3 must be open for the report\n", argv[0]);
        return 2;
    }
    fcntl(3, F_SETFD, FD_CLOEXEC);
    long long start = now_ns();
    pid_t pid = child = fork();
    if (pid < 0) {
        perror("fork");
        return 1;
    }
    if (pid == 0) {
        if (preload)
            setenv("LD_PRELOAD", preload, 1);
        else
            unsetenv("LD_PRELOAD");
        execv(argv[first], argv + first);
        perror(argv[first]);
        _exit(127);
    }
    if (timeout) {
        struct sigaction sa = {.sa_handler = on_alarm};
        sigaction(SIGALRM, &sa, NULL);
        alarm(timeout);
    }
    int status;
    struct rusage usage;
    pid_t got;
    while ((got = wait4(pid, &status, 0, &usage)) < 0 && errno == EINTR)
        ;
    alarm(0);
    if (got < 0) {
        perror("wait4");
        return 1;
    }
    long long wall = now_ns() - start;
    const char *how = timed_out ? "timeout" : WIFSIGNALED(status) ? "signal" : "exit";
    int code = timed_out             ? (int)timeout
               : WIFSIGNALED(status) ? WTERMSIG(status)
                                     : WEXITSTATUS(status);
    fprintf(report,
            "wall_ns=%lld user_ns=%lld sys_ns=%lld maxrss_kib=%ld minflt=%ld status=%s:%d\n", wall,
            tv_ns(usage.ru_utime), tv_ns(usage.ru_stime), usage.ru_maxrss, usage.ru_minflt, how,
            code);
    return fclose(report) == 0 ? 0 : 1;
}
