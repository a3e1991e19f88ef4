/* test_region_classes.c — size to class mapping at every class boundary, alignment
 * requests up to 64 MiB, and sizes the region layer must refuse. */
#include "region_test.h"

/* Production: a region's whole class is usable; the hardened build keeps its last page as a
 * guard and gives the requested size (tests/corruption). */
static void test_class_boundaries(void **state) {
    (void)state;
    if (MW_HARDENED) skip();
    for (unsigned shift = 15; shift <= 26; shift++) {
        size_t cls = (size_t)1 << shift;
        size_t sizes[] = {cls / 2 + 1, cls - 1, cls};
        for (size_t i = 0; i < 3; i++) {
            char *p = mw_region_alloc(sizes[i], 1);
            assert_non_null(p);
            assert_int_equal(mw_region_usable_size(p), cls);
            assert_int_equal((uintptr_t)p % cls, 0);
            assert_true(mw_region_owns(p) && mw_region_is_live(p));
            assert_true(mw_region_owns(p + cls - 1));
            assert_false(mw_region_is_live(p + PAGE));
            p[0] = p[sizes[i] - 1] = 1;
            mw_region_free(p);
            assert_false(mw_region_is_live(p));
        }
    }
    /* Just above the slab limit: the first class. */
    void *p = mw_region_alloc(16 * KiB + 1, 1);
    assert_int_equal(mw_region_usable_size(p), 32 * KiB);
    mw_region_free(p);
    int local;
    assert_false(mw_region_owns(&local));
    assert_false(mw_region_is_live(&local));
    assert_false(mw_region_owns(NULL));
}

static void test_bad_sizes(void **state) {
    (void)state;
    assert_null(mw_region_alloc(64 * MiB + 1, 1));
    assert_null(mw_region_alloc(SIZE_MAX, 1));
    assert_null(mw_region_alloc(SIZE_MAX - PAGE, 1));
    assert_null(mw_region_alloc(32 * KiB, 128 * MiB));
    assert_null(mw_region_alloc(32 * KiB, (size_t)1 << 63));
}

static void test_alignment(void **state) {
    (void)state;
    size_t sizes[] = {16 * KiB + 1, 20000, 3 * MiB};
    for (unsigned shift = 4; shift <= 26; shift++) {
        size_t align = (size_t)1 << shift;
        for (size_t i = 0; i < 3; i++) {
            char *p = mw_region_alloc(sizes[i], align);
            assert_non_null(p);
            assert_int_equal((uintptr_t)p % align, 0);
            assert_true(mw_region_usable_size(p) >= sizes[i]);
            assert_true(mw_region_usable_size(p) >= align);
            p[sizes[i] - 1] = 1;
            mw_region_free(p);
        }
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_class_boundaries),
        cmocka_unit_test(test_bad_sizes),
        cmocka_unit_test(test_alignment),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
