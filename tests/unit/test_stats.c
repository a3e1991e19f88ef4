/* test_stats.c — statistics: exact counts of a known sequence of allocations and frees of
 * every kind, foreign frees counted and ignored, and the printed report. */
#include "cmocka_all.h"

#include <errno.h>
#include <meshward.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct mw_stats stats(void) {
    struct mw_stats st;
    assert_int_equal(mw_stats_get(&st), 0);
    return st;
}

static void known_sequence_is_counted_exactly(void **state) {
    (void)state;
    struct mw_stats a = stats();
    /* volatile: the compiler may not elide a malloc/free pair it can see through */
    void *volatile small[10], *volatile large = malloc(100000);
    void *volatile huge = malloc((size_t)80 << 20);
    for (int i = 0; i < 10; i++)
        small[i] = malloc(40);
    struct mw_stats b = stats();
    assert_int_equal(b.allocations - a.allocations, 12);
    assert_int_equal(b.live_blocks - a.live_blocks, 12);
    assert_int_equal(b.huge_blocks - a.huge_blocks, 1);
    assert_true(b.live_bytes - a.live_bytes >= 10 * 48 + 100000 + ((size_t)80 << 20));
    for (int i = 0; i < 10; i++)
        free(small[i]);
    free(large);
    free(huge);
    struct mw_stats c = stats();
    assert_int_equal(c.frees - b.frees, 12);
    assert_int_equal(c.live_blocks, a.live_blocks);
    assert_int_equal(c.classes[2].block_size, 48);
}

/* Production only: the hardened build reports these frees (tests/corruption). */
static void foreign_frees_are_counted_and_ignored(void **state) {
    (void)state;
    if (MW_HARDENED) skip();
    static char not_ours[64];
    void (*volatile release)(void *) = free; /* hides the bad frees from the compiler */
    uint64_t before = stats().foreign_frees;
    release(not_ours + 16);
    char *p = malloc(64);
    release(p + 8); /* inside a block, not its start */
    assert_int_equal(stats().foreign_frees, before + 2);
    free(p);
}

/* Production ignores (and counts) an immediate double free instead of looping the free
 * list; the hardened build will report it. */
static void immediate_double_free_is_ignored(void **state) {
    (void)state;
    if (MW_HARDENED) skip();
    void (*volatile release)(void *) = free;
    uint64_t before = stats().foreign_frees;
    char *p = malloc(64);
    release(p);
    release(p);
    assert_int_equal(stats().foreign_frees, before + 1);
    char *a = malloc(64), *b = malloc(64);
    assert_ptr_not_equal(a, b);
    free(a);
    free(b);
}

static void print_writes_the_summary(void **state) {
    (void)state;
    char path[] = "/tmp/mw-stats-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    mw_stats_print(fd);
    char buf[8192];
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    close(fd);
    assert_true(n > 0);
    buf[n] = '\0';
    assert_non_null(strstr(buf, "meshward: live_blocks "));
    assert_non_null(strstr(buf, "meshward: allocations "));
    assert_non_null(strstr(buf, "meshward: class 48 allocations "));
    assert_int_equal(mw_stats_get(NULL), EINVAL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(known_sequence_is_counted_exactly),
        cmocka_unit_test(foreign_frees_are_counted_and_ignored),
        cmocka_unit_test(immediate_double_free_is_ignored),
        cmocka_unit_test(print_writes_the_summary),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
