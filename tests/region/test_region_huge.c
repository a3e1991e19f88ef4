/* test_region_huge.c — objects above 64 MiB: their own mapping inside the huge range, unmapped on
 * free, resized in place or moved by mremap (contents kept, nothing copied), sizes near
 * SIZE_MAX refused, large alignments honoured, and the metrics. */
#include "region_test.h"

#define GRANULE (2 * MiB) /* huge objects start on granules and own whole ones */
#define SPAN(len) (((len) + GRANULE - 1) / GRANULE * GRANULE)

static void test_alloc_free(void **state) {
    (void)state;
    struct mw_stats st0 = {0}, st1 = {0};
    mw_huge_stats(&st0);
    char *p = mw_huge_alloc(100 * MiB + 1, 1);
    assert_non_null(p);
    assert_true(mw_huge_owns(p) && mw_huge_is_live(p));
    assert_false(mw_huge_is_live(p + PAGE));
    assert_false(mw_region_owns(p));
    assert_int_equal(mw_huge_usable_size(p), 100 * MiB + PAGE);
    p[0] = p[100 * MiB] = 7;
    mw_huge_stats(&st1);
    assert_int_equal(st1.huge_blocks - st0.huge_blocks, 1);
    assert_int_equal(st1.huge_bytes - st0.huge_bytes, 100 * MiB + PAGE);
    assert_int_equal(st1.allocations - st0.allocations, 1);
    mw_huge_free(p);
    assert_false(mw_huge_is_live(p));
    memset(&st1, 0, sizeof st1);
    mw_huge_stats(&st1);
    assert_int_equal(st1.huge_blocks, st0.huge_blocks);
    assert_int_equal(st1.frees - st0.frees, 1);
    /* the freed place is reused: first fit */
    char *q = mw_huge_alloc(70 * MiB, 1);
    assert_ptr_equal(q, p);
    mw_huge_free(q);
    int local;
    assert_false(mw_huge_owns(&local));
}

static void fill(char *p, size_t len, char seed) {
    for (size_t off = 0; off < len; off += PAGE)
        p[off] = (char)(seed + off / PAGE);
    p[len - 1] = seed;
}
static void check(const char *p, size_t len, char seed) {
    for (size_t off = 0; off < len; off += PAGE)
        assert_int_equal(p[off], (char)(seed + off / PAGE));
    assert_int_equal(p[len - 1], seed);
}

static void test_realloc_in_place(void **state) {
    (void)state;
    char *p = mw_huge_alloc(65 * MiB, 1);
    fill(p, 65 * MiB, 3);
    assert_ptr_equal(mw_huge_realloc(p, 66 * MiB), p);  /* within its granules */
    assert_ptr_equal(mw_huge_realloc(p, 120 * MiB), p); /* into the free granules after it */
    assert_int_equal(mw_huge_usable_size(p), 120 * MiB);
    check(p, 65 * MiB, 3);
    assert_int_equal(p[120 * MiB - 1], 0);
    assert_ptr_equal(mw_huge_realloc(p, 300 * MiB), p); /* into the free granules after it */
    check(p, 65 * MiB, 3);
    p[300 * MiB - 1] = 1;
    assert_ptr_equal(mw_huge_realloc(p, 70 * MiB), p); /* shrink: the tail goes back */
    assert_int_equal(mw_huge_usable_size(p), 70 * MiB);
    check(p, 65 * MiB, 3);
    char *after = mw_huge_alloc(100 * MiB, 1); /* the released granules are usable */
    assert_ptr_equal(after, p + SPAN(70 * MiB));
    mw_huge_free(after);
    mw_huge_free(p);
}

/* A neighbour blocks growth in place, so the object moves: with mremap the page tables
 * move, so only the pages touched before are resident at the new place (a copy would make
 * all 65 MiB resident). */
static void test_realloc_moves_without_copy(void **state) {
    (void)state;
    char *p = mw_huge_alloc(65 * MiB, 1);
    char *blocker = mw_huge_alloc(65 * MiB, 1);
    assert_ptr_equal(blocker, p + SPAN(65 * MiB));
    p[0] = 'a';
    p[65 * MiB / 2] = 'b';
    p[65 * MiB - 1] = 'c';
    char *q = mw_huge_realloc(p, 512 * MiB);
    assert_non_null(q);
    assert_ptr_not_equal(q, p);
    assert_true(mw_huge_is_live(q));
    assert_false(mw_huge_is_live(p));
    assert_int_equal(mw_huge_usable_size(q), 512 * MiB);
    assert_int_equal(q[0], 'a');
    assert_int_equal(q[65 * MiB / 2], 'b');
    assert_int_equal(q[65 * MiB - 1], 'c');
    assert_int_equal(resident_pages(q, 512 * MiB), 3);
    q[512 * MiB - 1] = 'd';
    /* the old place was taken back into the range and is handed out again */
    char *again = mw_huge_alloc(65 * MiB, 1);
    assert_ptr_equal(again, p);
    mw_huge_free(again);
    mw_huge_free(blocker);
    mw_huge_free(q);
}

static void test_bad_sizes(void **state) {
    (void)state;
    size_t bad[] = {SIZE_MAX,         SIZE_MAX - PAGE + 1, SIZE_MAX - PAGE,
                    SIZE_MAX / 2 + 1, (size_t)1 << 62,     0};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_null(mw_huge_alloc(bad[i], 1));
    assert_null(mw_huge_alloc(100 * MiB, (size_t)1 << 63));
    char *p = mw_huge_alloc(100 * MiB, 1);
    fill(p, 100 * MiB, 9);
    for (size_t i = 0; i + 1 < sizeof bad / sizeof bad[0]; i++)
        assert_null(mw_huge_realloc(p, bad[i]));
    assert_int_equal(mw_huge_usable_size(p), 100 * MiB);
    check(p, 100 * MiB, 9);
    mw_huge_free(p);
}

static void test_alignment(void **state) {
    (void)state;
    size_t aligns[] = {PAGE, 2 * MiB, 64 * MiB, 128 * MiB, 256 * MiB, (size_t)1 << 30};
    for (size_t i = 0; i < sizeof aligns / sizeof aligns[0]; i++) {
        size_t sizes[] = {1 * MiB, 70 * MiB};
        for (size_t j = 0; j < 2; j++) {
            char *p = mw_huge_alloc(sizes[j], aligns[i]);
            assert_non_null(p);
            assert_int_equal((uintptr_t)p % aligns[i], 0);
            assert_true(mw_huge_usable_size(p) >= sizes[j]);
            p[sizes[j] - 1] = 1;
            mw_huge_free(p);
        }
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alloc_free),
        cmocka_unit_test(test_realloc_in_place),
        cmocka_unit_test(test_realloc_moves_without_copy),
        cmocka_unit_test(test_bad_sizes),
        cmocka_unit_test(test_alignment),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
