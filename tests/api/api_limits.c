/* api_limits.c — running out of memory is an ordinary error: under an address-space limit
 * (RLIMIT_AS, what `ulimit -v` sets) the allocator starts, serves what fits, answers NULL
 * with errno ENOMEM for what does not, never aborts, and serves again once blocks are freed.
 * "What fits" is measured: a program that allocates blocks of one size must get at least a
 * quarter of its limit in them before the first ENOMEM (glibc gets nearly all of it).
 *
 * The limit must be in place before the first allocation of the process, so the test runs
 * itself again (fork, setrlimit, exec) with --limited SIZE; that child does the allocating. */
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
#define MAX_BLOCKS 16384

enum limited_status {
    OK = 0,
    NO_START = 10,
    NO_ENOMEM = 11,
    TOO_LITTLE = 12,
    BAD_BLOCK = 13,
    NO_RECOVERY = 14,
};

/* The child, under the limit: allocates blocks of `size` bytes (touching one byte per page)
 * until one is refused, checks and frees them, and allocates again. */
static int limited(size_t size) {
    static unsigned char *blocks[MAX_BLOCKS];
    void *first = malloc(100);
    if (first == NULL) return NO_START;
    long n = 0;
    for (;; n++) {
        if (n == MAX_BLOCKS) return NO_ENOMEM; /* more than the limit can hold */
        errno = 0;
        blocks[n] = malloc(size);
        if (blocks[n] == NULL) break;
        for (size_t k = 0; k < size; k += 4096)
            blocks[n][k] = (unsigned char)n;
    }
    if (errno != ENOMEM) return NO_ENOMEM;
    fprintf(stderr, "blocks of %zu bytes: %ld MiB before ENOMEM under a %zu MiB limit\n", size,
            (long)((size_t)n * size / MiB), LIMIT / MiB);
    if ((size_t)n * size < LIMIT / 4) return TOO_LITTLE;
    for (long i = 0; i < n; i++) {
        if (blocks[i][0] != (unsigned char)i) return BAD_BLOCK;
        free(blocks[i]);
    }
    void *again = malloc(size);
    if (again == NULL) return NO_RECOVERY;
    free(again);
    free(first);
    return OK;
}

/* Runs `api-limits --limited size` under the limit; returns its wait status. */
static int run_limited(size_t size) {
    char arg[32];
    snprintf(arg, sizeof arg, "%zu", size);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct rlimit r = {LIMIT, LIMIT};
        if (setrlimit(RLIMIT_AS, &r) != 0) _exit(99);
        execl("/proc/self/exe", "api-limits", "--limited", arg, (char *)NULL);
        _exit(98);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return status;
}

static void test_address_space_limit(void **state) {
    (void)state;
    /* A small-region size, a large-region size, a huge size. */
    static const size_t sizes[] = {100 * 1000, 3 * MiB, 64 * MiB + 1};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        int status = run_limited(sizes[i]);
        if (WIFSIGNALED(status))
            fail_msg("blocks of %zu bytes under a %zu MiB address-space limit: killed by signal "
                     "%d",
                     sizes[i], LIMIT / MiB, WTERMSIG(status));
        if (WEXITSTATUS(status) != OK)
            fail_msg("blocks of %zu bytes under a %zu MiB address-space limit: exit %d (%d: "
                     "could not start, %d: no NULL/ENOMEM when exhausted, %d: less than a "
                     "quarter of the limit served, %d: a block lost its contents, %d: no "
                     "allocation after freeing)",
                     sizes[i], LIMIT / MiB, WEXITSTATUS(status), NO_START, NO_ENOMEM, TOO_LITTLE,
                     BAD_BLOCK, NO_RECOVERY);
    }
}

int main(int argc, char **argv) {
    if (argc > 2 && strcmp(argv[1], "--limited") == 0)
        return limited((size_t)strtoull(argv[2], NULL, 10));
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_address_space_limit)};
    return cmocka_run_group_tests_name(allocator_name, tests, allocator_group_setup, NULL);
}
