/* launch.c — bench-launch: runs one benchmark program and reports its wall time, peak RSS
 * and exit status. It exists because Linux carries a process's peak RSS across exec: a
 * program forked by the (large) Python runner would report the runner's own RSS as its
 * peak, while one forked from this small process reports its own.
 *
 * usage: bench-launch [-p PRELOAD] PROG [ARGS...]
 * PRELOAD is set as LD_PRELOAD in the child only (so this process runs on libc's malloc).
 * Prints one line "wall_ns=N user_ns=N sys_ns=N maxrss_kib=N minflt=N status=exit:N|signal:N"
 * on file descriptor 3, which the caller opens; the child does not inherit it. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

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
    int first = 1;
    if (argc > 2 && strcmp(argv[1], "-p") == 0) {
        preload = argv[2];
        first = 3;
    }
    if (first >= argc) {
        fprintf(stderr, "usage: %s [-p PRELOAD] PROG [ARGS...]\n", argv[0]);
        return 2;
    }
    FILE *report = fdopen(3, "w");
    if (!report) {
        fprintf(stderr, "%s: file descriptor 3 must be open for the report\n", argv[0]);
        return 2;
    }
    fcntl(3, F_SETFD, FD_CLOEXEC);
    long long start = now_ns();
    pid_t pid = fork();
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
    int status;
    struct rusage usage;
    if (wait4(pid, &status, 0, &usage) < 0) {
        perror("wait4");
        return 1;
    }
    long long wall = now_ns() - start;
    fprintf(report,
            "wall_ns=%lld user_ns=%lld sys_ns=%lld maxrss_kib=%ld minflt=%ld status=%s:%d\n", wall,
            tv_ns(usage.ru_utime), tv_ns(usage.ru_stime), usage.ru_maxrss, usage.ru_minflt,
            WIFSIGNALED(status) ? "signal" : "exit",
            WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
    return fclose(report) == 0 ? 0 : 1;
}
