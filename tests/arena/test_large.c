/* test_large.c — large blocks (above 16 KiB, or aligned beyond a page) of heaps made in an
 * arena: every one lies in the arena's area, of every size up to what the arena holds, from
 * several threads and freed by others; a full arena gives ENOMEM and nothing from elsewhere,
 * and an arena filled and emptied many times with blocks of varying sizes fills again (no
 * space is lost); mw_heap_destroy gives their space back; realloc keeps them in the arena
 * with their contents; a managed arena (a file mapping) serves them too; the hardened
 * library reports a double free, an interior free, an overflow, a write on the guard page
 * and a write after free of one.
 * The hardened library's quarantine holds one freed block at a time here (drain() lets it
 * go), so that freed space comes back at once. */
#include "arena_test.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define KIB ((size_t)1 << 10)
#define MIB ((size_t)1 << 20)
#define SLAB_MAX 16384

/* The last block freed leaves the quarantine (hardened): a small free pushes it out. */
static void drain(void) {
    mw_free(mw_malloc(16));
}

/* Arena id's used bytes; its committed bytes are checked to make sense on the way. */
static size_t used_of(mw_arena_id_t id) {
    struct mw_arena_stats st;
    assert_int_equal(mw_arena_stats(id, &st), 0);
    assert_true(st.used <= st.committed && st.committed <= st.size);
    return st.used;
}

/* A block of size bytes of heap h, in arena id, written through. */
static char *large_ok(mw_heap_t *h, mw_arena_id_t id, size_t size) {
    char *p = mw_heap_malloc(h, size);
    assert_non_null(p);
    assert_true(arena_holds(id, p, size));
    assert_true(mw_usable_size(p) >= size);
    memset(p, 0x3c, size);
    return p;
}

static const size_t sizes[] = {20 * KIB, 300 * KIB, 5 * MIB, 100 * MIB, SLAB_MAX + 1};

static void large_blocks_lie_in_the_area(void **state) {
    (void)state;
    mw_arena_id_t id = arena_reserve_ok(256 * MIB, MW_ARENA_EXCLUSIVE);
    mw_heap_t *h = mw_heap_new_in(id);
    for (unsigned i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        char *p = large_ok(h, id, sizes[i]);
        assert_true(used_of(id) >= sizes[i]);
        unsigned char *c = mw_heap_calloc(h, 1, sizes[i]);
        assert_true(arena_holds(id, c, sizes[i]));
        assert_int_equal(c[0] | c[sizes[i] / 2] | c[sizes[i] - 1], 0);
        mw_free(p);
        mw_free(c);
    }
    for (size_t align = 8 * KIB; align <= 2 * MIB; align *= 4) {
        void *a = mw_heap_aligned(h, align, 100), *b = mw_heap_aligned(h, align, 3 * MIB);
        assert_true(arena_holds(id, a, 100) && arena_holds(id, b, 3 * MIB));
        assert_int_equal((uintptr_t)a % align, 0);
        assert_int_equal((uintptr_t)b % align, 0);
        mw_free(a);
        mw_free(b);
    }
    drain();
    assert_int_equal(used_of(id), 0);
    mw_heap_destroy(h);
}

/* ---- threads: each allocates in its own heap, and frees its neighbour's blocks -------- */

#define PER_THREAD 8

static bool fill_large_blocks(struct arena_worker *w, mw_heap_t *h) {
    bool ok = true;
    for (unsigned i = 0; i < PER_THREAD && ok; i++) {
        size_t size = i % 2 ? 20 * KIB * i : MIB + i;
        w->blocks[i] = i == 3 ? mw_heap_aligned(h, MIB, size) : mw_heap_malloc(h, size);
        ok = arena_holds(w->id, w->blocks[i], size) &&
             (i != 3 || (uintptr_t)w->blocks[i] % MIB == 0);
        if (ok) memset(w->blocks[i], (int)i, size);
    }
    return ok;
}

static bool free_next(struct arena_worker *w, mw_heap_t *h) {
    (void)h;
    for (unsigned i = 0; i < PER_THREAD; i++)
        mw_free(w->next->blocks[i]);
    return true;
}

static void threads_allocate_and_free_large_blocks(void **state) {
    (void)state;
    mw_arena_id_t id = arena_reserve_ok(64 * MIB, MW_ARENA_EXCLUSIVE);
    static void *blocks[ARENA_WORKERS * PER_THREAD];
    for (unsigned round = 0; round < 3; round++) {
        arena_run_workers(id, fill_large_blocks, free_next, blocks, PER_THREAD);
        assert_int_equal(used_of(id), 0); /* exiting threads' quarantines went back */
    }
}

/* ---- filling an arena with large blocks, many times --------------------------------- */

#define MAX_BLOCKS 4096

/* Fills arena id from heap h with blocks of sizes drawn from seed until ENOMEM; returns
 * the bytes they hold; the blocks in blocks[0, *n). */
static size_t fill_large(mw_arena_id_t id, mw_heap_t *h, void **blocks, size_t *n, uint32_t seed) {
    size_t total = 0;
    for (*n = 0;; (*n)++) {
        assert_true(*n < MAX_BLOCKS);
        seed = seed * 1103515245u + 12345u;
        size_t size = SLAB_MAX + 1 + (seed >> 4) % (3 * MIB);
        errno = 0;
        char *p =
            (seed >> 3) % 5 == 0 ? mw_heap_aligned(h, 256 * KIB, size) : mw_heap_malloc(h, size);
        if (!p) break;
        assert_true(arena_holds(id, p, size));
        p[0] = p[size - 1] = (char)*n;
        blocks[*n] = p;
        total += size;
    }
    assert_int_equal(errno, ENOMEM);
    return total;
}

static void *free_blocks(void *arg) {
    void **blocks = arg;
    for (size_t i = 0; blocks[i]; i++)
        mw_free(blocks[i]);
    drain();
    return NULL;
}

static void a_full_arena_fills_again_after_every_emptying(void **state) {
    (void)state;
    const size_t size = 32 * MIB;
    mw_arena_id_t id = arena_reserve_ok(size, MW_ARENA_EXCLUSIVE);
    mw_heap_t *h = mw_heap_new_in(id);
    static void *blocks[MAX_BLOCKS + 1];
    for (uint32_t round = 0; round < 60; round++) {
        size_t n, total = fill_large(id, h, blocks, &n, round * 7919u + 1);
        assert_true(total >= size - 6 * MIB); /* it stopped only when nearly full */
        void *elsewhere = malloc(5 * MIB);    /* the default heaps do not care */
        assert_false(arena_holds(id, elsewhere, 1));
        free(elsewhere);
        for (size_t i = 0; i < n; i++) /* nothing lost, nothing handed out twice */
            assert_int_equal(((char *)blocks[i])[0], (char)i);
        blocks[n] = NULL;
        if (round % 2) { /* every other round, another thread frees them */
            pthread_t t;
            assert_int_equal(pthread_create(&t, NULL, free_blocks, blocks), 0);
            pthread_join(t, NULL);
        } else {
            free_blocks(blocks);
        }
        assert_int_equal(used_of(id), 0);
    }
    char *all = mw_heap_malloc(h, size - MIB); /* one block nearly as large as the arena */
    assert_true(arena_holds(id, all, size - MIB));
    mw_free(all);
    drain();
    mw_heap_destroy(h);
}

static void destroy_gives_the_space_back(void **state) {
    (void)state;
    const size_t size = 16 * MIB;
    mw_arena_id_t id = arena_reserve_ok(size, MW_ARENA_EXCLUSIVE);
    for (unsigned round = 0; round < 4; round++) {
        mw_heap_t *h = mw_heap_new_in(id);
        for (unsigned i = 0; i < 10; i++) /* slab spans first: they keep their page counts */
            assert_non_null(mw_heap_malloc(h, 100 + 300 * i));
        for (unsigned i = 0; i < 10; i++)
            large_ok(h, id, MIB + i * 4096);
        mw_heap_destroy(h);
        assert_int_equal(used_of(id), 0);
        h = mw_heap_new_in(id);
        large_ok(h, id, size - 2 * MIB); /* slab spans took some of the arena */
        mw_heap_destroy(h);
    }
}

static void realloc_keeps_blocks_and_contents_in_the_arena(void **state) {
    (void)state;
    mw_arena_id_t id = arena_reserve_ok(32 * MIB, MW_ARENA_EXCLUSIVE);
    mw_heap_t *h = mw_heap_new_in(id);
    char *p = large_ok(h, id, 20 * KIB);
    const size_t steps[] = {300 * KIB, 5 * MIB, 4 * MIB, 200 * KIB, 17 * KIB, 100, 40 * KIB};
    size_t kept = 100; /* the bytes every size keeps */
    for (unsigned i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        p = mw_heap_realloc(h, p, steps[i]);
        assert_true(arena_holds(id, p, steps[i]));
        assert_int_equal(p[0], 0x3c);
        assert_int_equal(p[kept - 1], 0x3c);
        memset(p, 0x3c, steps[i]);
    }
    mw_free(p);
    drain();
    mw_heap_destroy(h); /* (h keeps the empty slab span it allocated from) */
    assert_int_equal(used_of(id), 0);
}

/* ---- a managed arena ------------------------------------------------------------------- */

static void a_managed_arena_serves_large_blocks(void **state) {
    (void)state;
    FILE *f = tmpfile();
    assert_non_null(f);
    const size_t size = 16 * MIB;
    assert_int_equal(ftruncate(fileno(f), (off_t)size), 0);
    char *map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fileno(f), 0);
    assert_true(map != MAP_FAILED);
    memset(map, 0x77, size); /* the program's bytes: a calloc must not see them */
    mw_arena_id_t id = -1;
    assert_int_equal(mw_arena_manage(map, size, MW_ARENA_EXCLUSIVE, &id), 0);
    mw_heap_t *h = mw_heap_new_in(id);
    for (unsigned round = 0; round < 3; round++) {
        char *a = large_ok(h, id, 20 * KIB), *b = large_ok(h, id, 5 * MIB);
        unsigned char *c = mw_heap_calloc(h, 1, 300 * KIB);
        assert_true(arena_holds(id, c, 300 * KIB));
        assert_int_equal(c[0] | c[150 * KIB] | c[300 * KIB - 1], 0);
        void *al = mw_heap_aligned(h, MIB, 2 * MIB);
        assert_true(arena_holds(id, al, 2 * MIB));
        assert_int_equal((uintptr_t)al % MIB, 0);
        char back;
        assert_int_equal(msync(map, size, MS_SYNC), 0);
        assert_int_equal(pread(fileno(f), &back, 1, b + 5 * MIB - 1 - map), 1);
        assert_int_equal(back, 0x3c); /* the block's bytes reached the file */
        mw_free(a);
        mw_free(b);
        mw_free(c);
        mw_free(al);
        drain();
        assert_int_equal(used_of(id), 0);
    }
    mw_heap_destroy(h);
    fclose(f); /* the mapping stays: an arena lasts as long as the process */
}

/* ---- the hardened library's reports ----------------------------------------------------- */

static mw_arena_id_t child_arena;

/* Runs fn in a child with its stderr captured: whether it died of signal sig with want on
 * stderr (SIGABRT after a check's report, SIGSEGV after a fault's). */
static bool dies_of(int sig, void (*fn)(mw_heap_t *), const char *want) {
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(fds[1], 2);
        close(fds[0]);
        signal(SIGSEGV, SIG_DFL); /* cmocka's handler would carry on with the next test */
        fn(mw_heap_new_in(child_arena));
        _exit(0);
    }
    close(fds[1]);
    const char *out = arena_read_all(fds[0]);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    bool ok = WIFSIGNALED(status) && WTERMSIG(status) == sig && strstr(out, want);
    if (!ok) print_message("child's stderr:\n%s\n", out);
    return ok;
}

static bool dies_saying(void (*fn)(mw_heap_t *), const char *want) {
    return dies_of(SIGABRT, fn, want);
}

static void double_free(mw_heap_t *h) {
    void *p = mw_heap_malloc(h, 300 * KIB);
    mw_free(p);
    mw_free(p);
}

static void double_free_after_reuse_of_quarantine(mw_heap_t *h) {
    void *p = mw_heap_malloc(h, 20 * KIB);
    mw_free(p);
    drain(); /* its span went back to the arena */
    mw_free(p);
}

static void interior_free(mw_heap_t *h) {
    char *p = mw_heap_malloc(h, 5 * MIB);
    mw_free(p + 8192);
}

static void overflow(mw_heap_t *h) {
    char *p = mw_heap_malloc(h, 20000);
    p[20000] = 1;
    mw_free(p);
}

/* 20000 bytes and the canary take 5 pages; the sixth is the guard page. */
static void guard_page_hit(mw_heap_t *h) {
    volatile char *p = mw_heap_malloc(h, 20000);
    p[5 * 4096] = 1;
}

/* A freed block of 256 KiB or more is protected while quarantined. */
static void write_after_free(mw_heap_t *h) {
    volatile char *p = mw_heap_malloc(h, 300 * KIB);
    mw_free((void *)p);
    p[10] = 1;
}

static void hardened_reports_misuse_of_large_blocks(void **state) {
    (void)state;
    if (!MW_HARDENED) skip();
    child_arena = arena_reserve_ok(32 * MIB, MW_ARENA_EXCLUSIVE);
    assert_true(dies_saying(double_free, "meshward: error: double free: "));
    assert_true(dies_saying(double_free, "(arena span of "));
    assert_true(
        dies_saying(double_free_after_reuse_of_quarantine, "meshward: error: double free: "));
    assert_true(dies_saying(interior_free, "meshward: error: invalid free: "));
    assert_true(dies_saying(interior_free, " bytes into a 5242880-byte block"));
    assert_true(dies_saying(overflow, "meshward: error: heap overflow: 1 byte past the end of a "
                                      "20000-byte block"));
    assert_true(dies_of(SIGSEGV, guard_page_hit, "meshward: error: guard page hit: write at "));
    assert_true(dies_of(SIGSEGV, guard_page_hit, "480 bytes past the end of a 20000-byte block"));
    assert_true(dies_of(SIGSEGV, write_after_free, "meshward: error: write after free: "));
}

int main(void) {
    mw_option_set(MW_OPTION_QUARANTINE, 0); /* see the top of the file */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(large_blocks_lie_in_the_area),
        cmocka_unit_test(threads_allocate_and_free_large_blocks),
        cmocka_unit_test(a_full_arena_fills_again_after_every_emptying),
        cmocka_unit_test(destroy_gives_the_space_back),
        cmocka_unit_test(realloc_keeps_blocks_and_contents_in_the_arena),
        cmocka_unit_test(a_managed_arena_serves_large_blocks),
        cmocka_unit_test(hardened_reports_misuse_of_large_blocks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
