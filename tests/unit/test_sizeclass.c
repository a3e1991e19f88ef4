/* test_sizeclass.c — the size-class table: every size maps to the smallest class that
 * holds it, waste above 64 B stays under 12.5%, spans hold 8 to 256 objects, alignment of
 * each class, and the division-free slot index. */
#include "cmocka_all.h"
#include "sizeclass.h"
#include "os.h"

static void every_size_gets_the_smallest_fitting_class(void **state) {
    (void)state;
    for (size_t size = 1; size <= MW_SLAB_MAX; size++) {
        unsigned c = mw_class_of(size);
        assert_true(c < MW_CLASS_COUNT);
        assert_true(mw_classes[c].size >= size);
        if (c > 0) assert_true(mw_classes[c - 1].size < size);
    }
    assert_int_equal(mw_class_of(0), 0);
    assert_int_equal(mw_classes[MW_CLASS_COUNT - 1].size, MW_SLAB_MAX);
}

static void waste_above_64_bytes_is_under_an_eighth(void **state) {
    (void)state;
    for (unsigned c = 4; c < MW_CLASS_COUNT; c++) {
        size_t smallest = mw_classes[c - 1].size + 1;
        size_t waste = mw_classes[c].size - smallest;
        assert_true(waste * 8 < mw_classes[c].size);
    }
}

static void classes_are_aligned(void **state) {
    (void)state;
    for (unsigned c = 0; c < MW_CLASS_COUNT; c++) {
        uint32_t size = mw_classes[c].size;
        bool eight_aligned = size == 72 || size == 88 || size == 104 || size == 120;
        assert_int_equal(size % (eight_aligned ? 8 : 16), 0);
    }
}

static void spans_hold_8_to_256_objects(void **state) {
    (void)state;
    for (unsigned c = 0; c < MW_CLASS_COUNT; c++) {
        const struct mw_class_info *ci = &mw_classes[c];
        assert_true(ci->count >= MW_SPAN_MIN_OBJECTS && ci->count <= MW_SPAN_MAX_OBJECTS);
        assert_true((size_t)ci->count * ci->size <= (size_t)ci->pages * MW_PAGE_SIZE);
        assert_true(ci->pages >= 1 && ci->pages <= 64);
    }
}

static void slot_index_matches_division(void **state) {
    (void)state;
    for (unsigned c = 0; c < MW_CLASS_COUNT; c++) {
        size_t span = (size_t)mw_classes[c].pages * MW_PAGE_SIZE;
        for (size_t off = 0; off < span; off += 7)
            assert_int_equal(mw_class_index(c, off), off / mw_classes[c].size);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_size_gets_the_smallest_fitting_class),
        cmocka_unit_test(waste_above_64_bytes_is_under_an_eighth),
        cmocka_unit_test(classes_are_aligned),
        cmocka_unit_test(spans_hold_8_to_256_objects),
        cmocka_unit_test(slot_index_matches_division),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
