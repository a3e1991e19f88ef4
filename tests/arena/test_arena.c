/* test_arena.c — arenas (mw_arena_reserve, mw_heap_new_in): every block of a heap made in
 * an arena lies in its area, for every slab class and across threads (large blocks:
 * test_large.c); a full arena gives ENOMEM, never memory from elsewhere, and loses no block; an
 * exclusive arena serves no default heap, a non-exclusive one serves them first; mw_heap_destroy
 * gives the space back for reuse; a forked child keeps the arena and its blocks; arguments, stats
 * and the MESHWARD_STATS rows. Arenas last as long as the process, so each test reserves its own
 * (exclusive unless it tests sharing). */
#include "arena_test.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#define MIB ((size_t)1 << 20)
#define SLAB_MAX 16384

/* Sizes stepping through every slab class. */
#define EACH_SIZE(n) for (size_t n = 1; n <= SLAB_MAX; n += n / 8 + 1)

static void arguments_are_checked(void **state) {
    (void)state;
    mw_arena_id_t id;
    assert_int_equal(mw_arena_reserve(MIB, 0, NULL), EINVAL);
    assert_int_equal(mw_arena_reserve(0, 0, &id), EINVAL);
    assert_int_equal(mw_arena_reserve(MIB, 64u, &id), EINVAL);
    assert_int_equal(mw_arena_reserve(MIB, MW_ARENA_HUGE_1G, &id), EINVAL);
    assert_int_equal(mw_arena_reserve(MIB, MW_ARENA_LARGE_PAGES | MW_ARENA_HUGE_PAGES, &id),
                     EINVAL);
    assert_int_equal(mw_arena_reserve(SIZE_MAX, 0, &id), ENOMEM);
    char buf[64];
    assert_int_equal(mw_arena_manage(NULL, 64, 0, &id), EINVAL);
    assert_int_equal(mw_arena_manage(buf, sizeof buf, 0, &id), EINVAL); /* more: test_manage.c */
    size_t size = 1;
    assert_null(mw_arena_area(-1, &size));
    assert_int_equal(size, 0);
    assert_null(mw_arena_area(99, NULL));
    errno = 0;
    assert_null(mw_heap_new_in(99));
    assert_int_equal(errno, EINVAL);
    struct mw_arena_stats st;
    assert_int_equal(mw_arena_stats(99, &st), EINVAL);
    assert_int_equal(mw_arena_stats(0, NULL), EINVAL);
}

static void areas_are_aligned_and_rounded(void **state) {
    (void)state;
    mw_arena_id_t id = arena_reserve_ok(3 * MIB, MW_ARENA_EXCLUSIVE);
    size_t size;
    char *start = mw_arena_area(id, &size);
    assert_non_null(start);
    assert_int_equal(size, 4 * MIB);
    assert_int_equal((uintptr_t)start % (2 * MIB), 0);
    size_t default_size;
    char *base = mw_arena_area(0, &default_size);
    assert_true(base + default_size <= start); /* carved above the default arena */
    struct mw_arena_stats st;
    assert_int_equal(mw_arena_stats(id, &st), 0);
    assert_int_equal(st.size, 4 * MIB);
    assert_int_equal(st.page_size, 4096);
    assert_int_equal(st.used, 0);
    assert_int_equal(st.flags, MW_ARENA_EXCLUSIVE);
}

static void every_slab_block_lies_in_the_area(void **state) {
    (void)state;
    mw_arena_id_t id = arena_reserve_ok(32 * MIB, MW_ARENA_EXCLUSIVE);
    mw_heap_t *h = mw_heap_new_in(id);
    assert_non_null(h);
    EACH_SIZE(n) {
        void *a = mw_heap_malloc(h, n), *c = mw_heap_calloc(h, 1, n);
        void *al = mw_heap_aligned(h, 64, n);
        assert_true(arena_holds(id, a, n) && arena_holds(id, c, n) && arena_holds(id, al, n));
        assert_int_equal((uintptr_t)al % 64, 0);
        void *r = mw_heap_realloc(h, a, n + 1 <= SLAB_MAX ? n + 1 : n);
        assert_true(arena_holds(id, r, 1));
        mw_free(r);
        mw_free(c);
        mw_free(al);
    }
    void *large = mw_heap_malloc(h, SLAB_MAX + 1), *aligned = mw_heap_aligned(h, 2 * MIB, 16);
    assert_true(arena_holds(id, large, SLAB_MAX + 1) && arena_holds(id, aligned, 16));
    assert_int_equal((uintptr_t)aligned % (2 * MIB), 0);
    struct mw_arena_stats st;
    assert_int_equal(mw_arena_stats(id, &st), 0);
    assert_true(st.used > 0 && st.committed >= st.used);
    mw_heap_destroy(h);
    assert_int_equal(mw_arena_stats(id, &st), 0);
    assert_int_equal(st.used, 0);
}

/* ---- threads: each has its own heap in one arena, and frees its neighbour's blocks ---- */

#define PER_THREAD 3000

static bool fill_small(struct arena_worker *w, mw_heap_t *h) {
    bool ok = true;
    size_t n = 1;
    for (unsigned i = 0; i < PER_THREAD && ok; i++, n = (n * 7 + 97) % 4096 + 1) {
        w->blocks[i] = mw_heap_malloc(h, n);
        ok = arena_holds(w->id, w->blocks[i], n);
    }
    return ok;
}

/* Remote frees, while allocating more. */
static bool free_next_allocating(struct arena_worker *w, mw_heap_t *h) {
    bool ok = true;
    for (unsigned i = 0; i < PER_THREAD; i++) {
        mw_free(w->next->blocks[i]);
        void *p = mw_heap_malloc(h, 48);
        ok = ok && arena_holds(w->id, p, 48);
        mw_free(p);
    }
    return ok;
}

static void threads_allocate_and_free_in_one_arena(void **state) {
    (void)state;
    mw_arena_id_t id = arena_reserve_ok(64 * MIB, MW_ARENA_EXCLUSIVE);
    static void *blocks[ARENA_WORKERS * PER_THREAD];
    arena_run_workers(id, fill_small, free_next_allocating, blocks, PER_THREAD);
    struct mw_arena_stats st;
    assert_int_equal(mw_arena_stats(id, &st), 0);
    assert_int_equal(st.used, 0);
}

/* ---- who an arena serves ---------------------------------------------------------------- */

static void an_exclusive_arena_serves_no_default_heap(void **state) {
    (void)state;
    mw_arena_id_t id = arena_reserve_ok(8 * MIB, MW_ARENA_EXCLUSIVE);
    mw_heap_t *h = mw_heap_new();
    enum { N = 20000 };
    static void *p[N], *q[N];
    for (unsigned i = 0; i < N; i++) {
        size_t n = 1 + i % SLAB_MAX;
        p[i] = malloc(n);
        q[i] = mw_heap_malloc(h, n);
        assert_false(arena_holds(id, p[i], 1) || arena_holds(id, q[i], 1));
    }
    for (unsigned i = 0; i < N; i++) {
        free(p[i]);
        mw_free(q[i]);
    }
    mw_heap_destroy(h);
    struct mw_arena_stats st;
    assert_int_equal(mw_arena_stats(id, &st), 0);
    assert_int_equal(st.used, 0);
    assert_int_equal(st.committed, 0);
}

static void a_shared_arena_serves_default_heaps_first(void **state) {
    (void)state;
    arena_reserve_ok(4 * MIB, 0);
    mw_heap_t *h = mw_heap_new();
    void *p = mw_heap_malloc(h, 100); /* a new heap: its first span is a new one */
    assert_non_null(p);
    assert_false(arena_holds(0, p, 100)); /* a reserved arena had room: not arena 0 */
    mw_heap_destroy(h);
}

/* ---- filling an arena --------------------------------------------------------------------- */

#define BLOCK 1000

/* Fills arena id from a new heap with BLOCK-byte blocks, each holding its index, until
 * ENOMEM; checks every block and returns how many; the heap in *out. */
static size_t fill(mw_arena_id_t id, mw_heap_t **out, void **blocks, size_t max) {
    mw_heap_t *h = mw_heap_new_in(id);
    assert_non_null(h);
    size_t n = 0;
    for (;; n++) {
        assert_true(n < max);
        errno = 0;
        void *p = mw_heap_malloc(h, BLOCK);
        if (!p) break;
        assert_true(arena_holds(id, p, BLOCK));
        memset(p, (int)(n & 0xff), BLOCK);
        blocks[n] = p;
    }
    assert_int_equal(errno, ENOMEM);
    errno = 0;
    assert_null(mw_heap_malloc(h, 64)); /* another class finds no room either */
    assert_int_equal(errno, ENOMEM);
    for (size_t i = 0; i < n; i++) { /* nothing lost, nothing handed out twice */
        const unsigned char *c = blocks[i];
        assert_true(c[0] == (i & 0xff) && c[BLOCK - 1] == (i & 0xff));
    }
    *out = h;
    return n;
}

static void a_full_arena_gives_enomem_and_destroy_gives_its_space_back(void **state) {
    (void)state;
    mw_arena_id_t id = arena_reserve_ok(2 * MIB, MW_ARENA_EXCLUSIVE);
    enum { MAX = 4096 };
    static void *blocks[MAX];
    mw_heap_t *h;
    size_t n = fill(id, &h, blocks, MAX);
    assert_true(n * BLOCK >= MIB);   /* at least half of the arena held blocks */
    void *elsewhere = malloc(BLOCK); /* the default heaps do not care */
    assert_non_null(elsewhere);
    assert_false(arena_holds(id, elsewhere, BLOCK));
    free(elsewhere);
    mw_heap_destroy(h);
    struct mw_arena_stats st;
    assert_int_equal(mw_arena_stats(id, &st), 0);
    assert_int_equal(st.used, 0);
    assert_true(fill(id, &h, blocks, MAX) >= n);
    mw_heap_destroy(h);
}

static void freed_blocks_are_reused_in_a_full_arena(void **state) {
    (void)state;
    if (MW_HARDENED) skip(); /* the quarantine holds freed blocks back on purpose */
    mw_arena_id_t id = arena_reserve_ok(2 * MIB, MW_ARENA_EXCLUSIVE);
    enum { MAX = 4096 };
    static void *blocks[MAX];
    mw_heap_t *h;
    size_t n = fill(id, &h, blocks, MAX);
    for (size_t i = 0; i < n; i += 2)
        mw_free(blocks[i]);
    for (size_t i = 0; i < n; i += 2)
        assert_true(arena_holds(id, mw_heap_malloc(h, BLOCK), BLOCK));
    mw_heap_destroy(h);
}

/* ---- fork --------------------------------------------------------------------------------- */

static void a_forked_child_keeps_the_arena(void **state) {
    (void)state;
    arena_fork_check(arena_reserve_ok(8 * MIB, MW_ARENA_EXCLUSIVE));
}

/* ---- MESHWARD_STATS ------------------------------------------------------------------------ */

static void stats_print_a_row_per_arena(void **state) {
    (void)state;
    mw_arena_id_t id = arena_reserve_ok(2 * MIB, MW_ARENA_EXCLUSIVE | MW_ARENA_COMMIT);
    struct mw_stats st;
    assert_int_equal(mw_stats_get(&st), 0);
    assert_true(st.arenas > (uint64_t)id);
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    mw_stats_print(fds[1]);
    close(fds[1]);
    const char *out = arena_read_all(fds[0]);
    char want[96];
    snprintf(want, sizeof want,
             "meshward: arena %d size 2097152 committed 2097152 used 0 pages 4k exclusive\n", id);
    assert_non_null(strstr(out, want));
    assert_non_null(strstr(out, "meshward: arena 0 size "));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(arguments_are_checked),
        cmocka_unit_test(areas_are_aligned_and_rounded),
        cmocka_unit_test(every_slab_block_lies_in_the_area),
        cmocka_unit_test(threads_allocate_and_free_in_one_arena),
        cmocka_unit_test(an_exclusive_arena_serves_no_default_heap),
        cmocka_unit_test(a_shared_arena_serves_default_heaps_first),
        cmocka_unit_test(a_full_arena_gives_enomem_and_destroy_gives_its_space_back),
        cmocka_unit_test(freed_blocks_are_reused_in_a_full_arena),
        cmocka_unit_test(a_forked_child_keeps_the_arena),
        cmocka_unit_test(stats_print_a_row_per_arena),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
