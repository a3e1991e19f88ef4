/* test_heap.c — heaps: span queues and the full list, local frees that un-fill and empty
 * spans, remote frees into full spans (the delayed list), abandoning spans at thread exit,
 * adopting them (newest first, while a mesh pass puts back what it took last), reclaiming
 * them when emptied remotely, and heap destroy/reset. Uses a
 * rarely used class so that the test's own allocations do not disturb the counts. */
#include "cmocka_all.h"
#include "alloc.h"
#include "arena/arena.h"
#include "heap.h"
#include "thread.h"

#include <meshward.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define SIZE 12000 /* class 12288: 8 objects per span */

static unsigned cls(void) {
    return mw_class_of(SIZE);
}
static unsigned per_span(void) {
    return mw_classes[cls()].count;
}

static struct mw_stats stats(void) {
    struct mw_stats st;
    assert_int_equal(mw_stats_get(&st), 0);
    return st;
}

static unsigned full_spans(struct mw_heap *h) {
    unsigned n = 0;
    for (struct mw_span *s = h->full.first; s; s = s->next)
        n++;
    return n;
}

/* A span found without a block waits at the back of its queue; found so again, it is parked
 * in the full list. */
static void filling_a_span_parks_it_and_frees_bring_it_back(void **state) {
    (void)state;
    if (MW_HARDENED) skip(); /* span accounting: the quarantine delays every free */
    struct mw_heap *h = mw_heap_new();
    uint64_t spans_before = stats().spans_in_use;
    void *p[17];
    for (unsigned i = 0; i <= per_span(); i++)
        assert_non_null(p[i] = mw_heap_malloc(h, SIZE));
    assert_int_equal(stats().spans_in_use, spans_before + 2);
    assert_int_equal(full_spans(h), 0); /* set aside, still queued */
    assert_ptr_equal(h->queue[cls()].last, mw_arena_span_of(p[0]));
    for (unsigned i = per_span() + 1; i <= 2 * per_span(); i++)
        assert_non_null(p[i] = mw_heap_malloc(h, SIZE));
    assert_int_equal(stats().spans_in_use, spans_before + 3);
    assert_int_equal(full_spans(h), 1);
    assert_ptr_equal(h->full.first, mw_arena_span_of(p[0]));
    assert_ptr_not_equal(h->current[cls()], h->full.first);
    /* frees from this thread are remote for a first-class heap: the delayed list */
    mw_free(p[0]);
    assert_non_null(atomic_load(&h->delayed));
    /* once the allocation span runs dry, the slow path takes the delayed block back */
    bool reused = false;
    for (unsigned i = 0; i < per_span() && !reused; i++)
        reused = mw_heap_malloc(h, SIZE) == p[0];
    assert_true(reused);
    assert_null(atomic_load(&h->delayed));
    mw_heap_destroy(h);
    assert_int_equal(stats().spans_in_use, spans_before);
}

static void thread_heap_local_frees_release_empty_spans(void **state) {
    (void)state;
    if (MW_HARDENED) skip(); /* span accounting: the quarantine delays every free */
    void *p[17];
    uint64_t spans_before = stats().spans_in_use;
    for (unsigned i = 0; i < 2 * per_span() + 1; i++)
        assert_non_null(p[i] = malloc(SIZE));
    assert_int_equal(stats().spans_in_use, spans_before + 3);
    struct mw_heap *h = mw_tls_heap;
    assert_int_equal(full_spans(h) >= 1, 1); /* the first; the second is set aside */
    for (unsigned i = 0; i < 2 * per_span() + 1; i++)
        free(p[i]);
    /* the allocation span stays; the two others went back to the arena */
    assert_true(stats().spans_in_use <= spans_before + 1);
}

/* A span parked full names its heap with bit 0 set (span.h), so that free's fast path needs
 * no test of the span's state: a free by the owner's thread takes the path of a free into
 * another heap's span, which must know the span for its own, put the block on the span's
 * local list (not on the delayed list kept for other threads' frees) and queue the span. */
static void a_local_free_brings_a_full_span_back(void **state) {
    (void)state;
    if (MW_HARDENED) skip(); /* the quarantine delays every free */
    void *p[17];
    for (unsigned i = 0; i < 2 * per_span() + 1; i++)
        assert_non_null(p[i] = malloc(SIZE));
    struct mw_heap *h = mw_tls_heap;
    unsigned k = 0;
    while (k < 2 * per_span() && mw_arena_span_of(p[k])->state != MW_SPAN_FULL)
        k++;
    struct mw_span *s = mw_arena_span_of(p[k]);
    assert_int_equal(s->state, MW_SPAN_FULL);
    assert_ptr_equal(atomic_load(&s->owner), mw_span_full_owner(h));
    assert_ptr_equal(mw_span_owner(s, memory_order_relaxed), h);
    uint32_t used = s->used;
    free(p[k]);
    assert_int_equal(s->state, MW_SPAN_QUEUED);
    assert_ptr_equal(atomic_load(&s->owner), h);
    assert_ptr_equal(s->local_free, p[k]);
    assert_int_equal(s->used, used - 1);
    assert_null(atomic_load(&h->delayed));
    for (unsigned i = 0; i < 2 * per_span() + 1; i++)
        if (i != k) free(p[i]);
}

struct batch {
    void *p[16];
    unsigned n;
};

static void *allocate_and_exit(void *arg) {
    struct batch *b = arg;
    for (unsigned i = 0; i < b->n; i++)
        b->p[i] = malloc(SIZE);
    return NULL;
}

static void *allocate_one(void *arg) {
    *(void **)arg = malloc(SIZE);
    return NULL;
}

static void exited_threads_abandon_and_others_adopt(void **state) {
    (void)state;
    if (MW_HARDENED) skip(); /* span accounting: the quarantine delays every free */
    struct batch b = {.n = 2 * per_span()};
    pthread_t t;
    uint64_t abandoned_before = stats().spans_abandoned;
    pthread_create(&t, NULL, allocate_and_exit, &b);
    pthread_join(t, NULL);
    assert_int_equal(stats().spans_abandoned, abandoned_before + 2);
    for (unsigned i = 0; i < b.n; i += 2)
        free(b.p[i]); /* half: spans keep live blocks */
    assert_int_equal(stats().spans_abandoned, abandoned_before + 2);
    void *q = NULL;
    pthread_create(&t, NULL, allocate_one, &q);
    pthread_join(t, NULL);
    assert_non_null(q);
    /* the new thread adopted an abandoned span instead of carving a new one */
    bool inside = false;
    for (unsigned i = 0; i < b.n; i += 2)
        inside |= q == b.p[i];
    assert_true(inside);
    free(q);
    for (unsigned i = 1; i < b.n; i += 2)
        free(b.p[i]);
    assert_int_equal(stats().spans_abandoned, abandoned_before);
}

static void remote_frees_reclaim_emptied_abandoned_spans(void **state) {
    (void)state;
    if (MW_HARDENED) skip(); /* span accounting: the quarantine delays every free */
    struct batch b = {.n = per_span()};
    pthread_t t;
    uint64_t in_use_before = stats().spans_in_use;
    pthread_create(&t, NULL, allocate_and_exit, &b);
    pthread_join(t, NULL);
    assert_int_equal(stats().spans_in_use, in_use_before + 1);
    for (unsigned i = 0; i < b.n; i++)
        free(b.p[i]);
    assert_int_equal(stats().spans_in_use, in_use_before);
}

static void destroy_and_reset_free_every_block(void **state) {
    (void)state;
    struct mw_heap *h = mw_heap_new();
    uint64_t live_before = stats().live_blocks;
    for (int i = 0; i < 100; i++)
        assert_non_null(mw_heap_malloc(h, 24));
    assert_int_equal(stats().live_blocks, live_before + 100);
    mw_heap_reset(h);
    assert_int_equal(stats().live_blocks, live_before);
    void *p = mw_heap_malloc(h, 24); /* still usable after reset */
    assert_non_null(p);
    mw_heap_destroy(h);
    assert_int_equal(stats().live_blocks, live_before);
}

static void delete_keeps_blocks_alive(void **state) {
    (void)state;
    struct mw_heap *h = mw_heap_new();
    char *p = mw_heap_malloc(h, 100);
    memset(p, 0x5a, 100);
    mw_heap_delete(h);
    assert_int_equal(p[99], 0x5a);
    char *q = malloc(100); /* must not hand out the still-live block */
    assert_ptr_not_equal(p, q);
    assert_int_equal(p[0], 0x5a);
    free(q);
    mw_free(p);
}

/* The arena's abandoned list of a class: adoption takes the span abandoned last first; a
 * span put back at the back (a mesh pass's, arena.h) comes after every other. */
static void abandoned_spans_adopted_newest_first_put_back_last(void **state) {
    (void)state;
    struct mw_span *s[3];
    for (int i = 0; i < 3; i++)
        assert_non_null(s[i] = mw_arena_span_alloc(0, mw_classes[cls()].pages, cls()));
    mw_arena_abandon(s[0], false);
    mw_arena_abandon(s[1], true);
    mw_arena_abandon(s[2], false);
    assert_ptr_equal(mw_arena_adopt(0, cls()), s[2]);
    assert_ptr_equal(mw_arena_adopt(0, cls()), s[0]);
    struct mw_span *t, *last = NULL, *others = NULL;
    while ((t = mw_arena_adopt(0, cls())) != NULL) { /* any left by other tests, then s[1] */
        if (last && last != s[1]) {
            last->next = others;
            others = last;
        }
        last = t;
    }
    assert_ptr_equal(last, s[1]);
    for (; others; others = t) {
        t = others->next;
        mw_arena_abandon(others, false);
    }
    for (int i = 0; i < 3; i++)
        mw_arena_span_free(s[i]);
}

/* Every size up to MW_DIRECT_MAX finds its class's allocation span in the direct table, and
 * a class's allocation count takes in the fast path's counts of exactly its sizes. */
static void the_direct_table_maps_each_size_to_its_class(void **state) {
    (void)state;
    if (mw_alloc_hooked) skip(); /* the table then names the empty span only */
    static struct mw_span fake[MW_CLASS_COUNT];
    struct mw_heap *h = mw_heap_new();
    struct mw_span *saved[MW_CLASS_COUNT];
    uint64_t before[MW_CLASS_COUNT], expect[MW_CLASS_COUNT] = {0};
    for (unsigned c = 0; c < MW_CLASS_COUNT; c++) {
        saved[c] = h->current[c];
        before[c] = mw_heap_allocs(h, c);
        h->current[c] = &fake[c];
        mw_heap_sync_direct(h, c);
    }
    for (size_t size = 0; size <= MW_DIRECT_MAX; size++)
        assert_ptr_equal(h->direct[mw_direct_index(size)], &fake[mw_class_of(size)]);
    for (unsigned i = 0; i < MW_DIRECT_COUNT; i++) {
        h->direct_allocs[i]++;
        expect[mw_class_of((size_t)i * 8)]++;
    }
    for (unsigned c = 0; c < MW_CLASS_COUNT; c++) {
        assert_int_equal(mw_heap_allocs(h, c) - before[c], expect[c]);
        h->current[c] = saved[c];
        mw_heap_sync_direct(h, c);
    }
    for (unsigned i = 0; i < MW_DIRECT_COUNT; i++)
        h->direct_allocs[i]--;
    mw_heap_delete(h);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_direct_table_maps_each_size_to_its_class),
        cmocka_unit_test(filling_a_span_parks_it_and_frees_bring_it_back),
        cmocka_unit_test(thread_heap_local_frees_release_empty_spans),
        cmocka_unit_test(a_local_free_brings_a_full_span_back),
        cmocka_unit_test(exited_threads_abandon_and_others_adopt),
        cmocka_unit_test(remote_frees_reclaim_emptied_abandoned_spans),
        cmocka_unit_test(abandoned_spans_adopted_newest_first_put_back_last),
        cmocka_unit_test(destroy_and_reset_free_every_block),
        cmocka_unit_test(delete_keeps_blocks_alive),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
