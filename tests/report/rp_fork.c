/* rp_fork.c — a parent that keeps KEEP blocks and forks a child; the child frees FREED of
 * the inherited blocks, allocates CHILD blocks at child_alloc and leaks LEAKED of them,
 * then leaves with _exit (no destructor). For test_report.py fork: the child's replay
 * starts from the parent's heap, so its frees of inherited blocks are known ones. Prints
 * `child PID` on stdout. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

enum { KEEP = 5, FREED = 2, CHILD = 10, LEAKED = 3, CHILD_SIZE = 77 };

static void *volatile sink;

__attribute__((noinline)) static void *child_alloc(void) {
    return malloc(CHILD_SIZE);
}

static void child(void **keep) {
    for (int i = 0; i < FREED; i++)
        free(keep[i]);
    void *mine[CHILD];
    for (int i = 0; i < CHILD; i++)
        mine[i] = child_alloc();
    for (int i = LEAKED; i < CHILD; i++)
        free(mine[i]);
    sink = mine[0];
    _exit(0);
}

int main(void) {
    void *keep[KEEP];
    for (int i = 0; i < KEEP; i++)
        keep[i] = malloc(300);
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) return 2;
    if (pid == 0) child(keep);
    int status;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) return 1;
    for (int i = 0; i < KEEP; i++)
        free(keep[i]);
    printf("child %d\n", (int)pid);
    return 0;
}
