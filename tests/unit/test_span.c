/* test_span.c — one span on its own: lazy randomized extension and the occupancy bitmap,
 * collecting the local and thread-free lists, the live bitmap, slot validation, and the
 * delayed-free state machine of remote frees. Spans come from the real arena. */
#include "cmocka_all.h"
#include "arena/arena.h"
#include "init.h"
#include "os.h"
#include "span.h"

#include <string.h>

static struct mw_span *new_span(unsigned cls) {
    mw_init();
    struct mw_span *s = mw_arena_span_alloc(0, mw_classes[cls].pages, cls);
    assert_non_null(s);
    return s;
}

static unsigned popcount_bitmap(const uint64_t *bm) {
    unsigned n = 0;
    for (unsigned w = 0; w < MW_SPAN_BITMAP_WORDS; w++)
        n += (unsigned)__builtin_popcountll(bm[w]);
    return n;
}

/* The hardened build keeps slot 0 of every span out of the lists: the canary before slot 1. */
#define GUARD_SLOTS (MW_HARDENED ? 1u : 0u)

static unsigned list_length(const struct mw_span *s, const mw_block_t *b) {
    unsigned n = 0;
    for (; b; b = mw_block_next(s, b))
        n++;
    return n;
}

static void extension_sets_bits_and_shuffles(void **state) {
    (void)state;
    struct mw_span *s = new_span(mw_class_of(16));
    uint64_t rng = 42;
    assert_int_equal(popcount_bitmap(s->bitmap), 0);
    uint32_t n = mw_span_extend(s, &rng);
    assert_int_equal(n, 256);
    assert_int_equal(s->built, 256);
    assert_int_equal(popcount_bitmap(s->bitmap), 256);
    assert_int_equal(list_length(s, s->free), 256 - GUARD_SLOTS);
    /* random order: the list is not the slots in address order (either direction) */
    unsigned ascending = 0, descending = 0;
    for (mw_block_t *b = s->free; mw_block_next(s, b); b = mw_block_next(s, b)) {
        ascending += (char *)mw_block_next(s, b) - (char *)b == 16;
        descending += (char *)b - (char *)mw_block_next(s, b) == 16;
    }
    assert_true(ascending < 64 && descending < 64);
    assert_int_equal(mw_span_extend(s, &rng), 0); /* nothing left to build */
    mw_arena_span_free(s);
}

static void large_class_extends_lazily(void **state) {
    (void)state;
    unsigned cls = mw_class_of(MW_SLAB_MAX);
    struct mw_span *s = new_span(cls);
    uint64_t rng = 7;
    uint32_t first = mw_span_extend(s, &rng);
    assert_int_equal(first, MW_SPAN_MIN_OBJECTS);
    assert_int_equal(s->built, first);
    mw_arena_span_free(s);
}

static void slot_rejects_interior_and_unbuilt_pointers(void **state) {
    (void)state;
    struct mw_span *s = new_span(mw_class_of(100));
    uint64_t rng = 1;
    mw_span_extend(s, &rng);
    assert_true(mw_span_has_slot(s, s->start));
    assert_true(mw_span_has_slot(s, s->start + s->block_size * 3));
    assert_false(mw_span_has_slot(s, s->start + 8));
    assert_false(mw_span_has_slot(s, s->start - s->block_size));
    assert_false(mw_span_has_slot(s, s->start + (size_t)s->block_size * s->built));
    /* every offset of every class: exactly the multiples of the block size below built */
    for (unsigned c = 0; c < MW_CLASS_COUNT; c++) {
        struct mw_span t = {.start = s->start, .block_size = mw_classes[c].size};
        t.div_magic = UINT64_MAX / t.block_size + 1;
        t.built = mw_classes[c].count;
        size_t built_bytes = (size_t)t.built * t.block_size;
        for (size_t off = 0; off <= built_bytes + 64; off++)
            assert_int_equal(mw_span_has_slot(&t, t.start + off),
                             off < built_bytes && off % t.block_size == 0);
    }
    mw_arena_span_free(s);
}

static void live_bitmap_and_collect(void **state) {
    (void)state;
    struct mw_span *s = new_span(mw_class_of(64));
    uint64_t rng = 3;
    mw_span_extend(s, &rng);
    mw_block_t *taken[10];
    for (int i = 0; i < 10; i++) {
        taken[i] = s->free;
        s->free = mw_block_next(s, s->free);
        s->used++;
    }
    uint64_t live[MW_SPAN_BITMAP_WORDS];
    mw_span_live_bitmap(s, live);
    assert_int_equal(popcount_bitmap(live), 10 + GUARD_SLOTS);
    /* two local frees and one remote free: still handed out in the bitmap; the local ones
     * are not live, the remote one is until the owner collects it */
    for (int i = 0; i < 2; i++) {
        mw_block_set_next(s, taken[i], s->local_free);
        s->local_free = taken[i];
        s->used--;
    }
    assert_int_equal(mw_span_push_remote(s, taken[2], false), MW_DELAY_NORMAL);
    mw_span_live_bitmap(s, live);
    assert_int_equal(popcount_bitmap(live), 8 + GUARD_SLOTS);
    assert_int_equal(popcount_bitmap(s->bitmap), s->built);
    unsigned before = list_length(s, s->free);
    mw_span_collect(s);
    /* every block the owner holds is on one of its lists (all three held blocks here, so
     * the remote one was walked onto free) */
    assert_int_equal(list_length(s, s->free) + list_length(s, s->local_free), before + 3);
    assert_int_equal(s->used, 7); /* the remote free was counted on collection */
    mw_span_live_bitmap(s, live);
    assert_int_equal(popcount_bitmap(live), 7 + GUARD_SLOTS);
    mw_arena_span_free(s);
}

static void delayed_free_states(void **state) {
    (void)state;
    struct mw_span *s = new_span(mw_class_of(32));
    uint64_t rng = 5;
    mw_span_extend(s, &rng);
    mw_block_t *a = s->free, *b = mw_block_next(s, a);
    assert_true(mw_span_set_delay(s, MW_DELAY_USE, true));
    /* the first remote free into a full span must be handed to the owner, not listed */
    assert_int_equal(mw_span_push_remote(s, a, false), MW_DELAY_USE);
    assert_int_equal(atomic_load(&s->thread_free) & MW_DELAY_MASK, MW_DELAY_FREEING);
    mw_span_end_delayed(s);
    assert_int_equal(atomic_load(&s->thread_free), MW_DELAY_NORMAL);
    assert_int_equal(mw_span_push_remote(s, b, false), MW_DELAY_NORMAL);
    /* with a block waiting, a span cannot be parked as full */
    assert_false(mw_span_set_delay(s, MW_DELAY_USE, true));
    assert_true(mw_span_set_delay(s, MW_DELAY_NEVER, false));
    assert_ptr_equal(mw_tf_head(atomic_load(&s->thread_free)), b);
    assert_int_equal(mw_tf_count(atomic_load(&s->thread_free)), 1);
    mw_arena_span_free(s);
}

static void freed_span_is_unmapped_from_page_map(void **state) {
    (void)state;
    struct mw_span *s = new_span(mw_class_of(2048));
    char *start = s->start;
    assert_ptr_equal(mw_arena_span_of(start + MW_PAGE_SIZE), s);
    mw_arena_span_free(s);
    assert_null(mw_arena_span_of(start));
    assert_null(mw_arena_span_of(start + MW_PAGE_SIZE));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(extension_sets_bits_and_shuffles),
        cmocka_unit_test(large_class_extends_lazily),
        cmocka_unit_test(slot_rejects_interior_and_unbuilt_pointers),
        cmocka_unit_test(live_bitmap_and_collect),
        cmocka_unit_test(delayed_free_states),
        cmocka_unit_test(freed_span_is_unmapped_from_page_map),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
