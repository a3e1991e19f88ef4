/* tp_fork.c — a program that forks: three children allocate and free CHILD_BLOCKS blocks
 * each (the first also execs /bin/true), while the parent keeps allocating; for
 * test_trace.py fork, which checks every process is traced and nothing hangs. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

enum { CHILDREN = 3, CHILD_BLOCKS = 1000 };

/* Through a volatile pointer: the compiler may not elide a malloc/free pair. */
static void *volatile sink;

static void churn(unsigned n) {
    for (unsigned i = 0; i < n; i++) {
        sink = malloc(16 + i % 512);
        free(sink);
    }
}

int main(void) {
    void *volatile keep = malloc(4096); /* live in the parent across the forks */
    pid_t pid[CHILDREN];
    for (int i = 0; i < CHILDREN; i++) {
        pid[i] = fork();
        if (pid[i] < 0) return 2;
        if (pid[i] == 0) {
            churn(CHILD_BLOCKS);
            if (i == 0) execl("/bin/true", "true", (char *)NULL);
            _exit(0);
        }
        churn(100);
    }
    int failed = 0;
    for (int i = 0; i < CHILDREN; i++) {
        int status;
        failed |=
            waitpid(pid[i], &status, 0) != pid[i] || !WIFEXITED(status) || WEXITSTATUS(status) != 0;
    }
    free(keep);
    printf("children %d blocks %d\n", CHILDREN, CHILD_BLOCKS);
    return failed ? 1 : 0;
}
