/* tp_fork.c — a program that forks: three children allocate and free CHILD_BLOCKS blocks
 * each (the first also execs /bin/true), while the parent keeps allocating; for
 * test_trace.py fork, which checks every process is traced, nothing hangs, and each child's
 * allocations name their own call sites. The parent and the children allocate from the
 * same SITES call sites, which the parent has just used when it forks the second and third
 * children: a thread's cache of its latest call sites' ids must not survive the fork (the
 * child's ids are its own), and with many sites some stay cached whatever LTTng's own
 * allocations in the child evict. The parent and the children call churn from one place
 * (fork_and_churn), so that their whole stacks are the same too; with --stacks, the parent
 * first records PADDING stacks, so that the frames of its churn stacks lie beyond those the
 * child's first stacks overwrite in its fresh dictionary (a stale cached stack would then
 * still match them). */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

enum { CHILDREN = 3, CHILD_BLOCKS = 1000, SITES = 16, PADDING_DEPTH = 8 };

#define KEEP() __asm__ volatile("" : : : "memory") /* no tail call */

/* Through a volatile pointer: the compiler may not elide a malloc/free pair. */
static void *volatile sink;

/* Block i from call site i % SITES (one malloc call per case). */
static void churn(unsigned n) {
    for (unsigned i = 0; i < n; i++) {
        size_t size = 16 + i % 512;
        switch (i % SITES) {
#define SITE(k)                                                                                    \
    case k:                                                                                        \
        sink = malloc(size);                                                                       \
        break;
            SITE(0)
            SITE(1)
            SITE(2)
            SITE(3)
            SITE(4)
            SITE(5)
            SITE(6) SITE(7) SITE(8) SITE(9) SITE(10) SITE(11) SITE(12) SITE(13) SITE(14) SITE(15)
#undef SITE
        }
        free(sink);
    }
}

/* 2^depth allocations from as many stacks: the path through left and right spells bits. */
static void spread(unsigned bits, int depth);
__attribute__((noinline)) static void left(unsigned bits, int depth) {
    spread(bits, depth);
    KEEP();
}
__attribute__((noinline)) static void right(unsigned bits, int depth) {
    spread(bits, depth);
    KEEP();
}
__attribute__((noinline)) static void spread(unsigned bits, int depth) {
    if (depth == 0) {
        sink = malloc(8);
        free(sink);
        return;
    }
    for (unsigned half = 0; half < 2; half++)
        (half ? right : left)(bits << 1 | half, depth - 1);
    KEEP();
}

/* Forks; the child churns CHILD_BLOCKS blocks, the parent 100, both from this one call. */
__attribute__((noinline)) static pid_t fork_and_churn(void) {
    pid_t pid = fork();
    if (pid >= 0) churn(pid == 0 ? CHILD_BLOCKS : 100);
    KEEP();
    return pid;
}

int main(void) {
    void *volatile keep = malloc(4096); /* live in the parent across the forks */
    spread(0, PADDING_DEPTH);
    pid_t pid[CHILDREN];
    for (int i = 0; i < CHILDREN; i++) {
        pid[i] = fork_and_churn();
        if (pid[i] < 0) return 2;
        if (pid[i] == 0) {
            if (i == 0) execl("/bin/true", "true", (char *)NULL);
            _exit(0);
        }
    }
    int failed = 0;
    for (int i = 0; i < CHILDREN; i++) {
        int status;
        failed |=
            waitpid(pid[i], &status, 0) != pid[i] || !WIFEXITED(status) || WEXITSTATUS(status) != 0;
    }
    free(keep);
    printf("children %d blocks %d padding %d\n", CHILDREN, CHILD_BLOCKS, 1 << PADDING_DEPTH);
    return failed ? 1 : 0;
}
