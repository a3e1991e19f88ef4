/* api_mw.c — the mw_* API of meshward.h: the malloc family under meshward's names,
 * first-class heaps (allocation in every regime, frees from other threads, delete keeping
 * live blocks, destroy and reset freeing them all), blocks outliving the thread that
 * allocated them, collection, options and statistics.
 *
 * Statistics are snapshots whose counters "may lag by a few operations", so counts are
 * compared with a slack far below the number of blocks involved. The test is run with
 * MESHWARD_PURGE_DELAY_MS=4321 in its environment to see that options are read from it. */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "common.h"
#include "meshward.h"
#include "checks.h"

#define SLACK 64
#define ENV_PURGE_DELAY_MS 4321

/* One size from each regime a heap serves: slab, region, huge. */
static const size_t heap_sizes[] = {8,           40,        256,     3000,
                                    MW_SLAB_MAX, 100 * KiB, 3 * MiB, MW_REGION_MAX + 1};
#define N_HEAP_SIZES (sizeof heap_sizes / sizeof heap_sizes[0])

/* The size of block i of a test: every regime once, then only blocks up to 100 KiB so that
 * a thousand blocks stay within a modest amount of memory. */
static size_t heap_size(size_t i) {
    size_t size = heap_sizes[i % N_HEAP_SIZES];
    return i >= N_HEAP_SIZES && size > 100 * KiB ? 100 * KiB : size;
}

static struct mw_stats stats_now(void) {
    struct mw_stats s;
    assert_int_equal(mw_stats_get(&s), 0);
    return s;
}

static void assert_live_at_least(uint64_t live, uint64_t expected) {
    if (live + SLACK < expected)
        fail_msg("live_blocks is %llu, expected at least %llu", (unsigned long long)live,
                 (unsigned long long)expected);
}

static void assert_live_at_most(uint64_t live, uint64_t expected) {
    if (live > expected + SLACK)
        fail_msg("live_blocks is %llu, expected at most %llu", (unsigned long long)live,
                 (unsigned long long)expected);
}

static void test_mw_malloc_family(void **state) {
    (void)state;
    void *p = mw_malloc(100);
    assert_non_null(p);
    assert_true(mw_usable_size(p) >= 100);
    assert_int_equal(mw_usable_size(p), malloc_usable_size(p));
    pattern_fill(p, 100, 1);
    p = mw_realloc(p, 5000);
    assert_non_null(p);
    assert_pattern(p, 100, 1);
    mw_free(p);

    unsigned char *c = mw_calloc(100, 10);
    assert_non_null(c);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(c[i], 0);
    mw_free_sized(c, 1000);

    errno = 0;
    assert_null(mw_calloc(opaque(SIZE_MAX / 2 + 1), 2));
    assert_int_equal(errno, ENOMEM);
    errno = 0;
    assert_null(mw_malloc(opaque(SIZE_MAX)));
    assert_int_equal(errno, ENOMEM);
    errno = 0;
    assert_null(mw_reallocarray(NULL, opaque(SIZE_MAX / 2), 3));
    assert_int_equal(errno, ENOMEM);

    p = mw_aligned_alloc(4096, 4096);
    assert_non_null(p);
    assert_int_equal((uintptr_t)p % 4096, 0);
    mw_free(p);
    errno = 0;
    assert_null(mw_aligned_alloc(opaque(48), 64));
    assert_int_equal(errno, EINVAL);
    void *out = &out;
    assert_int_equal(mw_posix_memalign(&out, 12, 64), EINVAL);
    assert_ptr_equal(out, &out);
    assert_int_equal(mw_posix_memalign(&out, 64, 64), 0);
    assert_int_equal((uintptr_t)out % 64, 0);
    mw_free(out);

    /* Pointers meshward never handed out have no usable size (production; the hardened
     * build reports them, tests/corruption owns that). */
    assert_int_equal(mw_usable_size(NULL), 0);
    if (MW_HARDENED) return;
    static char not_ours[256];
    assert_int_equal(mw_usable_size(not_ours + 64), 0);
    void *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(page != MAP_FAILED);
    assert_int_equal(mw_usable_size(page), 0);
    munmap(page, 4096);
    mw_free(NULL);
}

static void test_realloc_zero_frees(void **state) {
    (void)state;
    enum { N = 1000 };
    static void *blocks[N];
    for (int i = 0; i < N; i++)
        blocks[i] = malloc(64);
    uint64_t before = stats_now().live_blocks;
    for (int i = 0; i < N; i++)
        assert_null(realloc(blocks[i], opaque(0)));
    assert_live_at_most(stats_now().live_blocks, before - N);
}

/* A block grown by small steps (string-builder style) stays in place inside its size
 * class: it moves only when it outgrows the class, in every regime. From 100 bytes to 4 MiB
 * by 512 bytes that makes 32 moves in about 8000 steps (a block that moved again at every
 * step while under half its region class made 88). */
static void test_realloc_growth_in_place(void **state) {
    (void)state;
    size_t len = 100, moves = 0;
    char *p = malloc(len);
    assert_non_null(p);
    while (len < 4 * MiB) {
        char *q = realloc(p, len + 512);
        assert_non_null(q);
        moves += q != p;
        p = q;
        len += 512;
    }
    free(p);
    if (moves > 40) fail_msg("%zu moves growing a block to 4 MiB by 512 bytes", moves);
}

/* Fills blocks[i] with heap_size(i) bytes from h using every allocating
 * call in turn; the pattern seed of block i is i. */
static void heap_fill(mw_heap_t *h, void **blocks, size_t n) {
    for (size_t i = 0; i < n; i++) {
        size_t size = heap_size(i);
        switch (i % 4) {
        case 0:
            blocks[i] = mw_heap_malloc(h, size);
            break;
        case 1:
            blocks[i] = mw_heap_calloc(h, 1, size);
            assert_non_null(blocks[i]);
            for (size_t k = 0; k < size; k += 61)
                assert_int_equal(((unsigned char *)blocks[i])[k], 0);
            break;
        case 2:
            blocks[i] = mw_heap_aligned(h, 256, size);
            assert_int_equal((uintptr_t)blocks[i] % 256, 0);
            break;
        default:
            blocks[i] = mw_heap_malloc(h, size / 2 + 1);
            assert_non_null(blocks[i]);
            pattern_fill(blocks[i], size / 2 + 1, i);
            blocks[i] = mw_heap_realloc(h, blocks[i], size);
            assert_non_null(blocks[i]);
            assert_pattern(blocks[i], size / 2 + 1, i);
            break;
        }
        assert_non_null(blocks[i]);
        assert_true(mw_usable_size(blocks[i]) >= size);
        pattern_fill(blocks[i], size, i);
    }
}

static void heap_check(void **blocks, size_t n) {
    for (size_t i = 0; i < n; i++)
        assert_pattern(blocks[i], heap_size(i), i);
}

static void test_heap_allocation(void **state) {
    (void)state;
    enum { N = 64 };
    void *blocks[N];
    mw_heap_t *h = mw_heap_new();
    assert_non_null(h);
    heap_fill(h, blocks, N);
    heap_check(blocks, N);
    errno = 0;
    assert_null(mw_heap_calloc(h, opaque(SIZE_MAX / 8), 16));
    assert_int_equal(errno, ENOMEM);
    errno = 0;
    assert_null(mw_heap_malloc(h, opaque(SIZE_MAX)));
    assert_int_equal(errno, ENOMEM);
    errno = 0;
    assert_null(mw_heap_aligned(h, opaque(48), 64));
    assert_int_equal(errno, EINVAL);
    for (size_t i = 0; i < N; i++)
        mw_free(blocks[i]);
    mw_heap_delete(h);
}

/* Blocks of a heap, sent through a pipe (which does not allocate) to a thread that checks
 * and frees them while the heap keeps allocating. */
enum { PIPE_BLOCKS = 20000 };

static void *free_from_pipe(void *arg) {
    int fd = *(int *)arg;
    size_t bad = 0;
    for (size_t i = 0; i < PIPE_BLOCKS; i++) {
        void *p;
        if (read(fd, &p, sizeof p) != (ssize_t)sizeof p) return (void *)1;
        size_t size = 16 + i % 512;
        if (pattern_check(p, size, i) != size) bad++;
        mw_free(p);
    }
    return (void *)bad;
}

static void test_heap_cross_thread_free(void **state) {
    (void)state;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    uint64_t before = stats_now().live_blocks;
    mw_heap_t *h = mw_heap_new();
    assert_non_null(h);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, free_from_pipe, &fds[0]), 0);
    for (size_t i = 0; i < PIPE_BLOCKS; i++) {
        size_t size = 16 + i % 512;
        void *p = mw_heap_malloc(h, size);
        assert_non_null(p);
        pattern_fill(p, size, i);
        assert_int_equal(write(fds[1], &p, sizeof p), sizeof p);
    }
    void *bad;
    assert_int_equal(pthread_join(t, &bad), 0);
    if (bad != NULL) fail_msg("%zu blocks changed on their way to the freeing thread", (size_t)bad);
    close(fds[0]);
    close(fds[1]);
    /* The heap takes its blocks back and serves again. */
    void *p = mw_heap_malloc(h, 100);
    assert_non_null(p);
    mw_free(p);
    mw_heap_delete(h);
    assert_live_at_most(stats_now().live_blocks, before);
}

/* Blocks of threads that have exited stay valid; another thread frees them, and a forced
 * collection then leaves no span abandoned for lack of an owner. */
enum { EXIT_THREADS = 4, EXIT_BLOCKS = 5000 };

static void *allocate_and_exit(void *arg) {
    void **blocks = arg;
    for (size_t i = 0; i < EXIT_BLOCKS; i++) {
        size_t size = 16 + i % 700;
        blocks[i] = malloc(size);
        if (blocks[i] == NULL) return (void *)1;
        pattern_fill(blocks[i], size, i);
    }
    return NULL;
}

static void test_exited_threads_blocks(void **state) {
    (void)state;
    if (MW_HARDENED) skip(); /* exact counts: the quarantine holds freed blocks back */
    static void *blocks[EXIT_THREADS][EXIT_BLOCKS];
    uint64_t before = stats_now().live_blocks;
    for (int t = 0; t < EXIT_THREADS; t++) {
        pthread_t thread;
        void *result;
        assert_int_equal(pthread_create(&thread, NULL, allocate_and_exit, blocks[t]), 0);
        assert_int_equal(pthread_join(thread, &result), 0);
        assert_null(result);
    }
    assert_live_at_least(stats_now().live_blocks, before + EXIT_THREADS * EXIT_BLOCKS);
    for (int t = 0; t < EXIT_THREADS; t++) {
        for (size_t i = 0; i < EXIT_BLOCKS; i++) {
            assert_pattern(blocks[t][i], 16 + i % 700, i);
            free(blocks[t][i]);
        }
    }
    mw_collect(true);
    struct mw_stats after = stats_now();
    assert_live_at_most(after.live_blocks, before);
    if (after.spans_abandoned != 0)
        fail_msg("%llu spans still abandoned after their blocks were freed and mw_collect(true)",
                 (unsigned long long)after.spans_abandoned);
}

static void test_heap_delete_keeps_blocks(void **state) {
    (void)state;
    enum { N = 256 };
    static void *blocks[N];
    uint64_t before = stats_now().live_blocks;
    mw_heap_t *h = mw_heap_new();
    assert_non_null(h);
    heap_fill(h, blocks, N);
    mw_heap_delete(h);
    /* Churn so that anything the delete wrongly released gets reused and overwritten. */
    for (int round = 0; round < 4; round++) {
        void *churn[N];
        for (size_t i = 0; i < N; i++) {
            churn[i] = malloc(heap_size(i));
            assert_non_null(churn[i]);
            memset(churn[i], 0xee, heap_size(i));
        }
        for (size_t i = 0; i < N; i++)
            free(churn[i]);
    }
    heap_check(blocks, N);
    for (size_t i = 0; i < N; i++)
        pattern_fill(blocks[i], heap_size(i), ~i);
    for (size_t i = 0; i < N; i++)
        assert_pattern(blocks[i], heap_size(i), ~i);
    assert_live_at_least(stats_now().live_blocks, before + N);
    for (size_t i = 0; i < N; i++)
        mw_free(blocks[i]);
    assert_live_at_most(stats_now().live_blocks, before);
}

static void test_heap_destroy_frees_all(void **state) {
    (void)state;
    enum { N = 1024 };
    static void *blocks[N];
    struct mw_stats before = stats_now();
    mw_heap_t *h = mw_heap_new();
    assert_non_null(h);
    heap_fill(h, blocks, N);
    /* Huge blocks are counted exactly: one from heap_fill, one aligned beyond regions. */
    void *aligned = mw_heap_aligned(h, 2 * MW_REGION_MAX, 100);
    assert_non_null(aligned);
    assert_int_equal((uintptr_t)aligned % (2 * MW_REGION_MAX), 0);
    struct mw_stats live = stats_now();
    assert_live_at_least(live.live_blocks, before.live_blocks + N);
    assert_true(live.huge_blocks >= before.huge_blocks + 2);
    mw_heap_destroy(h);
    struct mw_stats after = stats_now();
    assert_live_at_most(after.live_blocks, before.live_blocks);
    assert_int_equal(after.huge_blocks, before.huge_blocks);
}

static void test_heap_reset(void **state) {
    (void)state;
    enum { N = 1024 };
    static void *blocks[N];
    uint64_t before = stats_now().live_blocks;
    mw_heap_t *h = mw_heap_new();
    assert_non_null(h);
    for (int round = 0; round < 3; round++) {
        heap_fill(h, blocks, N);
        heap_check(blocks, N);
        assert_live_at_least(stats_now().live_blocks, before + N);
        mw_heap_reset(h);
        assert_live_at_most(stats_now().live_blocks, before);
    }
    mw_heap_delete(h);
}

static void test_collect(void **state) {
    (void)state;
    enum { N = (int)(64 * MiB / 256) };
    void **blocks = malloc(N * sizeof *blocks);
    assert_non_null(blocks);
    for (int i = 0; i < N; i++) {
        blocks[i] = malloc(256);
        assert_non_null(blocks[i]);
        memset(blocks[i], 1, 256);
    }
    struct mw_stats full = stats_now();
    for (int i = 0; i < N; i++)
        free(blocks[i]);
    free(blocks);
    mw_collect(false);
    mw_collect(true);
    struct mw_stats collected = stats_now();
    if (collected.arena_committed + 32 * MiB > full.arena_committed)
        fail_msg("arena_committed %llu -> %llu after freeing 64 MiB and mw_collect(true)",
                 (unsigned long long)full.arena_committed,
                 (unsigned long long)collected.arena_committed);
    assert_true(collected.arena_purged >= full.arena_purged + 32 * MiB);
    /* Collected memory serves again. */
    void *p = malloc(256);
    assert_non_null(p);
    memset(p, 2, 256);
    free(p);
}

static void test_options(void **state) {
    (void)state;
    assert_int_equal(mw_option_get(MW_OPTION_PURGE_DELAY_MS), ENV_PURGE_DELAY_MS);
    for (int i = 0; i < MW_OPTION_COUNT; i++) {
        const char *name = mw_option_name((mw_option_t)i);
        assert_non_null(name);
        for (int j = 0; j < i; j++)
            assert_string_not_equal(name, mw_option_name((mw_option_t)j));
    }
    assert_string_equal(mw_option_name(MW_OPTION_STATS), "STATS");
    assert_string_equal(mw_option_name(MW_OPTION_REGION_DIR), "REGION_DIR");
    assert_null(mw_option_name(MW_OPTION_COUNT));
    assert_null(mw_option_get_string(MW_OPTION_ARENA_DIRTY_MAX));

    long old = mw_option_get(MW_OPTION_ARENA_DIRTY_MAX);
    assert_int_equal(mw_option_set(MW_OPTION_ARENA_DIRTY_MAX, old + 3), 0);
    assert_int_equal(mw_option_get(MW_OPTION_ARENA_DIRTY_MAX), old + 3);
    assert_int_equal(mw_option_set(MW_OPTION_ARENA_DIRTY_MAX, old), 0);
    assert_int_equal(mw_option_get(MW_OPTION_ARENA_DIRTY_MAX), old);

    assert_int_equal(mw_option_set(MW_OPTION_COUNT, 1), EINVAL);
    assert_int_equal(mw_option_set((mw_option_t)(MW_OPTION_COUNT + 100), 1), EINVAL);
    assert_int_equal(mw_option_set((mw_option_t)-1, 1), EINVAL);
    assert_int_equal(mw_option_set_string(MW_OPTION_COUNT, "x"), EINVAL);
}

static void test_stats(void **state) {
    (void)state;
    if (MW_HARDENED) skip(); /* exact counts: the quarantine holds freed blocks back */
    assert_int_equal(mw_stats_get(NULL), EINVAL);
    enum { N = 2000, SIZE = 200 };
    static void *blocks[N];
    struct mw_stats before = stats_now();
    for (int i = 0; i < N; i++)
        blocks[i] = malloc(SIZE);
    struct mw_stats live = stats_now();
    for (int i = 0; i < N; i++)
        free(blocks[i]);
    struct mw_stats after = stats_now();

    assert_live_at_least(live.live_blocks, before.live_blocks + N);
    assert_true(live.live_bytes >= before.live_bytes + (uint64_t)(N - SLACK) * SIZE);
    assert_true(live.allocations + SLACK >= before.allocations + N);
    assert_true(after.frees + SLACK >= live.frees + N);
    assert_live_at_most(after.live_blocks, before.live_blocks);
    assert_true(live.heaps >= 1);
    assert_true(live.arena_reserved >= live.arena_committed);
    assert_true(live.spans_in_use >= 1);
    assert_true(live.rss_bytes > 0 && live.peak_rss_bytes >= live.rss_bytes);

    assert_true(live.size_classes >= 1 && live.size_classes <= MW_STATS_SIZE_CLASSES);
    assert_true(live.region_classes <= MW_STATS_REGION_CLASSES);
    assert_true(live.classes[live.size_classes - 1].block_size >= MW_SLAB_MAX);
    uint64_t class_allocations = 0, class_spans = 0, ours = 0; /* ours: SIZE's class spans */
    for (uint32_t c = 0; c < live.size_classes; c++) {
        if (c > 0) assert_true(live.classes[c].block_size > live.classes[c - 1].block_size);
        class_allocations += live.classes[c].allocations;
        class_spans += live.classes[c].spans;
        if (!ours && live.classes[c].block_size >= SIZE) ours = live.classes[c].spans;
    }
    assert_true(class_allocations + SLACK >= N);
    assert_true(ours * 4096 * 8 >= (uint64_t)N * SIZE / 2); /* spans of 8 pages at most */
    assert_true(class_spans <= live.spans_in_use);
}

/* Hardened: every free of a slab block makes its two checks (the block's identity, its
 * canaries) and every block that leaves the quarantine or is handed out again one more, all
 * counted, whichever path counted them; production checks nothing and counts 0. */
static void test_stats_checks(void **state) {
    (void)state;
    enum { N = 3000, SIZE = 48 };
    static void *blocks[N];
    struct mw_stats before = stats_now();
    for (int round = 0; round < 2; round++) { /* the second round reuses the first's slots */
        for (int i = 0; i < N; i++)
            blocks[i] = malloc(SIZE);
        for (int i = 0; i < N; i++)
            free(blocks[i]);
    }
    struct mw_stats after = stats_now();
    assert_int_equal(after.corruptions, before.corruptions);
    if (!MW_HARDENED) {
        assert_int_equal(after.checks, 0);
        return;
    }
    assert_true(after.checks >= before.checks + 2 * 2 * N); /* the frees' alone */
}

static void test_stats_print(void **state) {
    (void)state;
    FILE *tmp = tmpfile();
    assert_non_null(tmp);
    mw_stats_print(fileno(tmp));
    long written = lseek(fileno(tmp), 0, SEEK_END);
    fclose(tmp);
    assert_true(written > 0);
}

/* Production build: a pointer meshward does not own, or one inside a block it owns, is
 * ignored and counted. (The hardened build reports it and aborts; the hardening tests own
 * that.) */
static void test_foreign_free_counted(void **state) {
    (void)state;
    if (MW_HARDENED) skip();
    static char not_ours[256];
    uint64_t before = stats_now().foreign_frees;
    free(not_ours + 16);
    void *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(page != MAP_FAILED);
    free(page);
    munmap(page, 4096);
    assert_int_equal(stats_now().foreign_frees, before + 2);

    /* A pointer into the middle of one of meshward's blocks is no block either: the block
     * stays allocated and intact. */
    for (size_t i = 0; i < N_HEAP_SIZES; i++) {
        size_t size = heap_sizes[i];
        unsigned char *p = malloc(size);
        assert_non_null(p);
        pattern_fill(p, size, size);
        before = stats_now().foreign_frees;
        free(p + (size > 16 ? 16 : size / 2));
        assert_int_equal(stats_now().foreign_frees, before + 1);
        assert_int_equal(mw_usable_size(p), malloc_usable_size(p));
        assert_true(mw_usable_size(p) >= size);
        void *q = malloc(size);
        assert_ptr_not_equal(q, p);
        free(q);
        assert_pattern(p, size, size);
        free(p);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mw_malloc_family),
        cmocka_unit_test(test_realloc_zero_frees),
        cmocka_unit_test(test_realloc_growth_in_place),
        cmocka_unit_test(test_heap_allocation),
        cmocka_unit_test(test_heap_cross_thread_free),
        cmocka_unit_test(test_exited_threads_blocks),
        cmocka_unit_test(test_heap_delete_keeps_blocks),
        cmocka_unit_test(test_heap_destroy_frees_all),
        cmocka_unit_test(test_heap_reset),
        cmocka_unit_test(test_collect),
        cmocka_unit_test(test_options),
        cmocka_unit_test(test_stats),
        cmocka_unit_test(test_stats_checks),
        cmocka_unit_test(test_stats_print),
        cmocka_unit_test(test_foreign_free_counted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
