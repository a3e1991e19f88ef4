/* test_region_pools.c — the region layer's pools: every transition (cache, dirty, clean, steal,
 * fresh area), a thread's cache going back at exit, purging that really lowers resident
 * memory, the background worker, and fork handlers while another thread allocates.
 *
 * Each test uses its own classes, so the order the tests run in does not matter; tests of
 * other classes live in other executables (each is its own process). */
#include "region_test.h"

#include "region/internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <time.h>

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* 1 MiB regions: cached (8 fit in a thread cache), then dirty, then clean. */
static void test_pool_transitions(void **state) {
    (void)state;
    const size_t size = 1 * MiB;
    mw_option_set(MW_OPTION_PURGE_DELAY_MS, 100000);
    assert_int_equal(class_stats(size).allocations, 0);

    /* fresh area -> live -> own cache -> live again, the same region */
    char *a = mw_region_alloc(size, 1);
    struct mw_region_class_stats s = class_stats(size);
    assert_int_equal(s.areas, 1);
    assert_int_equal(s.area_bytes, 64 * MiB);
    assert_int_equal(s.slow_allocations, 1);
    mw_region_free(a);
    assert_int_equal(class_stats(size).cached_regions, 1);
    assert_ptr_equal(mw_region_alloc(size, 1), a);
    s = class_stats(size);
    assert_int_equal(s.slow_allocations, 1);
    assert_int_equal(s.cached_regions, 0);

    /* nine frees: eight fill the cache (8 MiB), the ninth overflows to the dirty pool */
    char *r[9];
    r[0] = a;
    for (int i = 1; i < 9; i++)
        r[i] = mw_region_alloc(size, 1);
    for (int i = 0; i < 9; i++)
        memset(r[i], i + 1, size);
    for (int i = 0; i < 9; i++)
        mw_region_free(r[i]);
    s = class_stats(size);
    assert_int_equal(s.cached_regions, 8);
    assert_int_equal(s.dirty_regions, 1);
    assert_int_equal(s.frees, 10);

    /* the cache is LIFO; once it is empty the slow path takes the dirty region */
    uint64_t slow = class_stats(size).slow_allocations; /* 1 + the eight fresh ones */
    assert_int_equal(slow, 9);
    for (int i = 7; i >= 0; i--)
        assert_ptr_equal(mw_region_alloc(size, 1), r[i]);
    assert_int_equal(class_stats(size).slow_allocations, slow);
    assert_ptr_equal(mw_region_alloc(size, 1), r[8]);
    s = class_stats(size);
    assert_int_equal(s.slow_allocations, slow + 1);
    assert_int_equal(s.dirty_regions, 0);
    for (int i = 0; i < 9; i++)
        mw_region_free(r[i]);

    /* a non-forced purge flushes the own cache to dirty but purges nothing young */
    mw_region_purge(false);
    s = class_stats(size);
    assert_int_equal(s.cached_regions, 0);
    assert_int_equal(s.dirty_regions, 9);
    assert_int_equal(s.purged_bytes, 0);
    for (int i = 0; i < 9; i++)
        assert_int_equal(resident_pages(r[i], size), size / PAGE);

    /* forced: dirty -> clean, pages gone */
    mw_region_purge(true);
    s = class_stats(size);
    assert_int_equal(s.dirty_regions, 0);
    assert_int_equal(s.clean_regions, 9);
    assert_int_equal(s.free_regions, 9);
    assert_int_equal(s.purged_bytes, 9 * size);
    for (int i = 0; i < 9; i++)
        assert_int_equal(resident_pages(r[i], size), 0);

    /* clean -> live: a clean region reads as zero */
    char *c = mw_region_alloc(size, 1);
    s = class_stats(size);
    assert_int_equal(s.clean_regions, 8);
    assert_int_equal(s.areas, 1);
    assert_int_equal(c[0] | c[size - 1], 0);
    mw_region_free(c);
    mw_region_purge(true);
    mw_option_set(MW_OPTION_PURGE_DELAY_MS, 100);
}

/* calloc: a recycled region is cleared; a fresh or clean one is not touched at all. */
static void test_region_calloc(void **state) {
    (void)state;
    char *p = mw_region_alloc(128 * KiB, 1);
    memset(p, 0xff, 128 * KiB);
    mw_region_free(p);
    char *q = mw_region_calloc(100 * KiB, 1); /* from the cache, dirty */
    assert_ptr_equal(q, p);
    for (size_t i = 0; i < 100 * KiB; i++)
        if (q[i]) fail_msg("byte %zu not cleared", i);
    mw_region_free(q);

    const size_t big = 64 * MiB;
    char *f = mw_region_calloc(big, 1); /* never used */
    assert_int_equal(resident_pages(f, big), 0);
    memset(f, 1, 1 * MiB);
    mw_region_free(f);
    mw_region_purge(true);
    char *g = mw_region_calloc(big, 1); /* clean */
    assert_ptr_equal(g, f);
    assert_int_equal(resident_pages(g, big), 0);
    assert_int_equal(g[0] | g[MiB - 1], 0);
    mw_region_free(g);
}

/* A second free of a region (two threads racing past is_live) changes nothing. */
static void test_double_free_ignored(void **state) {
    (void)state;
    char *p = mw_region_alloc(128 * KiB, 1);
    assert_true(mw_region_free(p));
    struct mw_region_class_stats s = class_stats(128 * KiB);
    assert_false(mw_region_free(p));
    struct mw_region_class_stats t = class_stats(128 * KiB);
    assert_int_equal(t.frees, s.frees);
    assert_int_equal(t.cached_regions, s.cached_regions);
    assert_int_equal(t.dirty_regions, s.dirty_regions);
    char *a = mw_region_alloc(128 * KiB, 1), *b = mw_region_alloc(128 * KiB, 1);
    assert_true(a == p || b == p);
    assert_ptr_not_equal(a, b); /* handed out once only */
    mw_region_free(a);
    mw_region_free(b);
}

/* ---- two threads ------------------------------------------------------------------------ */

struct peer {
    size_t size;
    void *block;
    atomic_int phase; /* 1: block cached by the peer; 2: main is done, peer may exit */
    bool exit_hook;   /* call mw_region_thread_exit before returning */
    void *after_exit; /* a block freed after mw_region_thread_exit */
};

static void *peer_main(void *arg) {
    struct peer *pe = arg;
    pe->block = mw_region_alloc(pe->size, 1);
    memset(pe->block, 0x5a, pe->size);
    mw_region_free(pe->block);
    atomic_store(&pe->phase, 1);
    while (atomic_load(&pe->phase) != 2)
        sleep_ms(1);
    if (pe->exit_hook) {
        mw_region_thread_exit();
        pe->after_exit = mw_region_alloc(pe->size, 1);
        mw_region_free(pe->after_exit);
    }
    return NULL;
}

/* 256 KiB: a region sitting in another live thread's cache is stolen when every pool of
 * the class is empty, instead of carving a fresh one. */
static void test_steal(void **state) {
    (void)state;
    const size_t size = 256 * KiB;
    struct peer pe = {.size = size};
    pthread_t t;
    pthread_create(&t, NULL, peer_main, &pe);
    while (atomic_load(&pe.phase) != 1)
        sleep_ms(1);
    struct mw_region_class_stats s = class_stats(size);
    assert_int_equal(s.cached_regions, 1);
    assert_int_equal(s.free_regions, 0);
    assert_int_equal(s.steals, 0);
    void *p = mw_region_alloc(size, 1);
    assert_ptr_equal(p, pe.block);
    s = class_stats(size);
    assert_int_equal(s.steals, 1);
    assert_int_equal(s.cached_regions, 0);
    mw_region_free(p);
    atomic_store(&pe.phase, 2);
    pthread_join(t, NULL);
}

/* 512 KiB: a thread's cache goes to the dirty pool when the thread exits, and the thread's
 * frees after that bypass the cache. */
static void test_thread_exit(void **state) {
    (void)state;
    const size_t size = 512 * KiB;
    struct peer pe = {.size = size, .exit_hook = true};
    pthread_t t;
    pthread_create(&t, NULL, peer_main, &pe);
    while (atomic_load(&pe.phase) != 1)
        sleep_ms(1);
    assert_int_equal(class_stats(size).cached_regions, 1);
    atomic_store(&pe.phase, 2);
    pthread_join(t, NULL);
    struct mw_region_class_stats s = class_stats(size);
    assert_int_equal(s.cached_regions, 0);
    assert_int_equal(s.dirty_regions, 1);
    assert_ptr_equal(pe.after_exit, pe.block); /* taken from dirty, freed back to dirty */
    void *p = mw_region_alloc(size, 1);
    assert_ptr_equal(p, pe.block);
    assert_int_equal(class_stats(size).steals, 0);
    mw_region_free(p);
}

/* 32 KiB: the cache of a thread that stays idle for the purge delay is emptied into the
 * dirty pool, and purged from there after another delay. Three checks: the first notes the
 * cache's use count, the second finds it unchanged a delay later and empties the cache, the
 * third purges. */
static void test_idle_cache_drained(void **state) {
    (void)state;
    const size_t size = 32 * KiB;
    mw_option_set(MW_OPTION_PURGE_DELAY_MS, 20);
    struct peer pe = {.size = size};
    pthread_t t;
    pthread_create(&t, NULL, peer_main, &pe);
    while (atomic_load(&pe.phase) != 1)
        sleep_ms(1);
    assert_int_equal(class_stats(size).cached_regions, 1);
    assert_int_equal(resident_pages(pe.block, size), size / PAGE);
    for (int round = 0; round < 3; round++) {
        sleep_ms(50);
        mw_region_free(mw_region_alloc(16 * MiB, 1)); /* checks */
    }
    struct mw_region_class_stats s = class_stats(size);
    assert_int_equal(s.cached_regions, 0);
    assert_int_equal(s.clean_regions, 1);
    assert_int_equal(resident_pages(pe.block, size), 0);
    atomic_store(&pe.phase, 2);
    pthread_join(t, NULL);
    mw_option_set(MW_OPTION_PURGE_DELAY_MS, 100);
}

/* ---- purging ----------------------------------------------------------------------------- */

/* 8 MiB regions (never cached): inline purging after the delay, then forced purging. */
static void test_purge_lowers_rss(void **state) {
    (void)state;
    const size_t size = 8 * MiB;
    mw_option_set(MW_OPTION_PURGE_DELAY_MS, 20);
    char *p = mw_region_alloc(size, 1);
    memset(p, 0x11, size);
    assert_int_equal(resident_pages(p, size), size / PAGE);
    mw_region_free(p);
    assert_int_equal(resident_pages(p, size), size / PAGE); /* dirty: still resident */
    sleep_ms(80);
    /* Any free to a dirty pool checks; this one is a different class, so p stays unused. */
    void *trigger = mw_region_alloc(16 * MiB, 1);
    mw_region_free(trigger);
    assert_int_equal(resident_pages(p, size), 0);
    assert_true(class_stats(size).purged_bytes >= size);

    /* forced: no waiting */
    mw_option_set(MW_OPTION_PURGE_DELAY_MS, 100000);
    p = mw_region_alloc(size, 1);
    memset(p, 0x22, size);
    mw_region_free(p);
    assert_int_equal(resident_pages(p, size), size / PAGE);
    mw_region_purge(true);
    assert_int_equal(resident_pages(p, size), 0);
    mw_option_set(MW_OPTION_PURGE_DELAY_MS, 100);
}

/* 32 MiB: dirty pools holding more than the live bytes plus 128 MiB are purged oldest first
 * without waiting for the delay. Only one page of each region is touched: the bound
 * counts class bytes. */
static void test_purge_beyond_share(void **state) {
    (void)state;
    const size_t size = 32 * MiB;
    mw_option_set(MW_OPTION_PURGE_DELAY_MS, 100000);
    mw_region_purge(true); /* start with empty dirty pools */
    char *r[6];
    for (int i = 0; i < 6; i++) {
        r[i] = mw_region_alloc(size, 1);
        r[i][0] = 1;
    }
    for (int i = 0; i < 6; i++)
        mw_region_free(r[i]);
    sleep_ms(5);
    /* The slow allocation checks: 192 MiB dirty, nothing live, so the two oldest go. */
    void *trigger = mw_region_alloc(4 * MiB, 1);
    for (int i = 0; i < 2; i++)
        assert_int_equal(resident_pages(r[i], PAGE), 0);
    for (int i = 2; i < 6; i++)
        assert_int_equal(resident_pages(r[i], PAGE), 1);
    assert_int_equal(class_stats(size).purged_bytes, 2 * size);
    mw_region_free(trigger);
    mw_region_purge(true);
    mw_option_set(MW_OPTION_PURGE_DELAY_MS, 100);
}

/* 64 MiB: a region needed again right after the delay purged it doubles its class's delay;
 * calm periods (eight delays without that) halve it back. Forced purges do not count. */
static void test_adaptive_delay(void **state) {
    (void)state;
    const size_t size = 64 * MiB;
    const unsigned cls = 11;
    const uint64_t base = 20 * 1000000ull;
    mw_option_set(MW_OPTION_PURGE_DELAY_MS, 20);
    char *a = mw_region_alloc(size, 1);
    a[0] = 1;
    mw_region_free(a);
    mw_region_purge(true);
    assert_ptr_equal(mw_region_alloc(size, 1), a); /* clean, but forced: no regret */
    assert_int_equal(mw_region_pool_delay(cls, base), base);
    a[0] = 1;
    mw_region_free(a);
    sleep_ms(60);
    mw_region_free(mw_region_alloc(8 * MiB, 1)); /* checks: a is purged by age */
    assert_int_equal(resident_pages(a, PAGE), 0);
    assert_ptr_equal(mw_region_alloc(size, 1), a); /* needed again at once */
    assert_int_equal(mw_region_pool_delay(cls, base), 2 * base);
    mw_region_free(a);
    sleep_ms(8 * 40 + 60);
    mw_region_free(mw_region_alloc(8 * MiB, 1)); /* checks after a calm period */
    assert_int_equal(mw_region_pool_delay(cls, base), base);
    mw_option_set(MW_OPTION_PURGE_DELAY_MS, 100);
}

/* 4 MiB: with an interval set, a background thread purges without any further call. */
static void test_worker(void **state) {
    (void)state;
    const size_t size = 4 * MiB;
    mw_option_set(MW_OPTION_PURGE_DELAY_MS, 0);
    mw_option_set(MW_OPTION_PURGE_INTERVAL_MS, 5);
    char *p = mw_region_alloc(size, 1); /* a slow allocation starts the worker */
    memset(p, 0x33, size);
    mw_region_free(p);
    for (int i = 0; i < 5000 && resident_pages(p, size) != 0; i++)
        sleep_ms(1);
    assert_int_equal(resident_pages(p, size), 0);
    mw_option_set(MW_OPTION_PURGE_INTERVAL_MS, 0);
    mw_option_set(MW_OPTION_PURGE_DELAY_MS, 100);
    sleep_ms(20); /* let it notice and stop */
}

/* ---- fork ------------------------------------------------------------------------------- */

static atomic_int hammer_stop;

static void *hammer(void *arg) {
    (void)arg;
    while (!atomic_load(&hammer_stop)) {
        char *p = mw_region_alloc(64 * KiB, 1);
        p[0] = 1;
        mw_region_free(p);
    }
    mw_region_thread_exit();
    return NULL;
}

/* Forking while another thread allocates: the child can allocate (no lock left held) and
 * the other thread's cache is back in the child's pools. */
static void test_fork(void **state) {
    (void)state;
    pthread_t t;
    atomic_store(&hammer_stop, 0);
    pthread_create(&t, NULL, hammer, NULL);
    for (int round = 0; round < 20; round++) {
        pid_t pid = fork(); /* the library's fork handlers run */
        if (pid == 0) {
            int bad = class_stats(64 * KiB).cached_regions != 0;
            for (int i = 0; i < 100; i++) {
                char *p = mw_region_alloc(64 * KiB, 1), *q = mw_region_alloc(2 * MiB, 1);
                bad |= !p || !q;
                p[0] = q[0] = 2;
                mw_region_free(p);
                mw_region_free(q);
            }
            mw_region_purge(true);
            _exit(bad);
        }
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
    atomic_store(&hammer_stop, 1);
    pthread_join(t, NULL);
}

int main(void) {
    mw_free(mw_malloc(1)); /* start the library: it registers its fork handlers */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pool_transitions),
        cmocka_unit_test(test_region_calloc),
        cmocka_unit_test(test_double_free_ignored),
        cmocka_unit_test(test_steal),
        cmocka_unit_test(test_thread_exit),
        cmocka_unit_test(test_idle_cache_drained),
        cmocka_unit_test(test_purge_lowers_rss),
        cmocka_unit_test(test_purge_beyond_share),
        cmocka_unit_test(test_adaptive_delay),
        cmocka_unit_test(test_worker),
        cmocka_unit_test(test_fork),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
