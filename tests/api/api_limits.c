/* api_limits.c — running out of memory is an ordinary error: under an address-space limit
 * (RLIMIT_AS, what `ulimit -v` sets) the allocator starts, serves what fits, answers NULL
 * with errno ENOMEM for what does not, never aborts, and serves again once blocks are freed.
 *
 * The limit must be in place before the first allocation of the process, so the test runs
 * itself again (fork, setrlimit, exec) with --limited; that child does the allocating. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "allocator.h"
#include "checks.h"

#define LIMIT (1024 * MiB)
#define MAX_BLOCKS 8192

enum limited_status { OK = 0, NO_START = 10, NO_ENOMEM = 11, BAD_BLOCK = 12, NO_RECOVERY = 13 };

/* Allocates blocks of `size` bytes until the limit refuses one; returns how many it got,
 * or -1 if the refusal was not NULL with ENOMEM. Touches one byte per page it gets. */
static long exhaust(void **blocks, size_t size) {
    long n = 0;
    for (; n < MAX_BLOCKS; n++) {
        errno = 0;
        unsigned char *p = malloc(size);
        if (p == NULL) return errno == ENOMEM ? n : -1;
        for (size_t k = 0; k < size; k += 4096)
            p[k] = (unsigned char)n;
        blocks[n] = p;
    }
    return -1; /* MAX_BLOCKS blocks of this size cannot fit under LIMIT */
}

/* The child, under the limit. Exit statuses say what went wrong. */
static int limited(void) {
    static void *blocks[MAX_BLOCKS];
    void *first = malloc(100);
    if (first == NULL) return NO_START;
    static const size_t sizes[] = {64 * MiB + 1, 3 * MiB, 256 * 1024};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        long n = exhaust(blocks, sizes[s]);
        if (n < 0) return NO_ENOMEM;
        for (long i = 0; i < n; i++) {
            if (*(unsigned char *)blocks[i] != (unsigned char)i) return BAD_BLOCK;
            free(blocks[i]);
        }
        void *again = malloc(sizes[s]);
        if (again == NULL) return NO_RECOVERY;
        free(again);
    }
    free(first);
    return OK;
}

static void test_address_space_limit(void **state) {
    (void)state;
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct rlimit r = {LIMIT, LIMIT};
        if (setrlimit(RLIMIT_AS, &r) != 0) _exit(99);
        execl("/proc/self/exe", "api-limits", "--limited", (char *)NULL);
        _exit(98);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (WIFSIGNALED(status))
        fail_msg("under a %zu MiB address-space limit the allocator died of signal %d", LIMIT / MiB,
                 WTERMSIG(status));
    if (WEXITSTATUS(status) != OK)
        fail_msg("under a %zu MiB address-space limit: exit %d (%d: could not start, %d: no "
                 "NULL/ENOMEM when exhausted, %d: a block lost its contents, %d: no allocation "
                 "after freeing)",
                 LIMIT / MiB, WEXITSTATUS(status), NO_START, NO_ENOMEM, BAD_BLOCK, NO_RECOVERY);
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "--limited") == 0) return limited();
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_address_space_limit)};
    return cmocka_run_group_tests_name(allocator_name, tests, allocator_group_setup, NULL);
}
