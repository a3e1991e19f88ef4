/* test_region_stress.c — several threads allocate, fill, verify and free blocks of 32 KiB to
 * 32 MiB (log-uniform, so every class is hit), with some huge blocks, while purging runs
 * inline with a short delay and, in the second round, in the background worker. Blocks
 * also change hands through a shared exchange, so frees come from other threads and land
 * in other caches. A block is filled with a pattern naming it (one word per page and its
 * last word) and checked before it is freed: any region handed out twice, or purged or
 * re-backed while live, breaks a pattern. At the end every block is freed and the metrics
 * must balance. */
#include "region_test.h"

#include <pthread.h>
#include <stdatomic.h>

#define THREADS 4
#define ROUNDS 200
#define LIVE 6
#define EXCHANGE 16

struct block {
    char *p;
    size_t size;
    uint64_t tag;
};

static _Atomic(struct block *) exchange_slots[EXCHANGE];
static struct block exchange_storage[THREADS][ROUNDS];
static atomic_int failures;

static uint64_t next_rand(uint64_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static size_t pick_size(uint64_t *rng) {
    uint64_t r = next_rand(rng);
    if (r % 50 == 0) return 64 * MiB + 1 + (r >> 8) % (40 * MiB); /* a huge block */
    unsigned shift = 15 + (unsigned)((r >> 8) % 10);              /* 32 KiB .. 32 MiB */
    size_t lo = (size_t)1 << shift;
    return lo + (size_t)((r >> 16) % lo);
}

static void *alloc_any(size_t size) {
    return size > 64 * MiB ? mw_huge_alloc(size, 1) : mw_region_alloc(size, 1);
}
static void free_any(void *p) {
    if (mw_huge_owns(p)) {
        mw_huge_free(p);
    } else {
        if (!mw_region_is_live(p)) atomic_fetch_add(&failures, 1);
        mw_region_free(p);
    }
}

/* Page words stop short of the last word, which they must not overlap. */
static void fill(const struct block *b) {
    for (size_t off = 0; off + 16 <= b->size; off += PAGE)
        memcpy(b->p + off, &b->tag, 8);
    uint64_t last = ~b->tag;
    memcpy(b->p + b->size - 8, &last, 8);
}
static void verify(const struct block *b) {
    uint64_t v;
    for (size_t off = 0; off + 16 <= b->size; off += PAGE) {
        memcpy(&v, b->p + off, 8);
        if (v != b->tag) {
            atomic_fetch_add(&failures, 1);
            return;
        }
    }
    memcpy(&v, b->p + b->size - 8, 8);
    if (v != ~b->tag) atomic_fetch_add(&failures, 1);
}

static void release(struct block *b) {
    verify(b);
    free_any(b->p);
    b->p = NULL;
}

static void *worker(void *arg) {
    int id = (int)(intptr_t)arg;
    uint64_t rng = 0x9e3779b97f4a7c15ull * (uint64_t)(id + 1);
    struct block live[LIVE] = {0};
    for (int round = 0; round < ROUNDS; round++) {
        struct block *b = &live[next_rand(&rng) % LIVE];
        if (b->p) release(b);
        b->size = pick_size(&rng);
        b->tag = next_rand(&rng) | 1;
        b->p = alloc_any(b->size);
        if (!b->p) {
            atomic_fetch_add(&failures, 1);
            continue;
        }
        fill(b);
        if (round % 3 == 0) {
            /* hand one block to whichever thread takes this slot next */
            struct block *mine = &exchange_storage[id][round];
            *mine = *b;
            b->p = NULL;
            struct block *theirs =
                atomic_exchange(&exchange_slots[next_rand(&rng) % EXCHANGE], mine);
            if (theirs) release(theirs);
        }
    }
    for (int i = 0; i < LIVE; i++)
        if (live[i].p) release(&live[i]);
    mw_region_thread_exit();
    return NULL;
}

static void run_round(void) {
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        pthread_create(&t[i], NULL, worker, (void *)(intptr_t)i);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < EXCHANGE; i++) {
        struct block *b = atomic_exchange(&exchange_slots[i], NULL);
        if (b) release(b);
    }
}

static void test_stress(void **state) {
    (void)state;
    mw_option_set(MW_OPTION_PURGE_DELAY_MS, 2);
    run_round();
    mw_option_set(MW_OPTION_PURGE_INTERVAL_MS, 1);
    run_round();
    mw_option_set(MW_OPTION_PURGE_INTERVAL_MS, 0);
    assert_int_equal(atomic_load(&failures), 0);

    mw_region_purge(false); /* the main thread's cache (it freed the exchange) */
    struct mw_stats st = {0};
    mw_region_stats(&st);
    mw_huge_stats(&st);
    assert_int_equal(st.live_blocks, 0);
    assert_int_equal(st.live_bytes, 0);
    assert_int_equal(st.allocations, st.frees);
    assert_true(st.allocations >= 2 * THREADS * ROUNDS);
    uint64_t cached = 0, steals = 0;
    for (unsigned c = 0; c < st.region_classes; c++) {
        cached += st.regions[c].cached_regions;
        steals += st.regions[c].steals;
        assert_int_equal(st.regions[c].free_regions,
                         st.regions[c].dirty_regions + st.regions[c].clean_regions);
    }
    assert_int_equal(cached, 0); /* every worker gave its cache back at exit */
    mw_region_purge(true);
    memset(&st, 0, sizeof st);
    mw_region_stats(&st);
    for (unsigned c = 0; c < st.region_classes; c++)
        assert_int_equal(st.regions[c].dirty_regions, 0);
    print_message("region stress: %llu allocations, %llu steals\n",
                  (unsigned long long)st.allocations, (unsigned long long)steals);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_stress)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
