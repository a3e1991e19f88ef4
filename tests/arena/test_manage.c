/* test_manage.c — managed arenas (mw_arena_manage): memory the program mapped itself. On a
 * shared file mapping every block of a heap made in it lies in the mapping, for every slab
 * class, with realloc and frees from other threads; what the blocks hold reaches the file;
 * mw_heap_destroy gives the space back and meshward never unmaps the mapping; arguments
 * and overlaps give EINVAL; a non-exclusive one serves default heaps; a forked child keeps
 * a private one. Arenas last as long as the process, so each test maps its own. */
#include "arena_test.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#define MIB ((size_t)1 << 20)
#define SLAB_MAX 16384

#define EACH_SIZE(n) for (size_t n = 1; n <= SLAB_MAX; n += n / 8 + 1)

/* A temporary file of size bytes mapped shared; its descriptor in *fd. */
static char *map_file(size_t size, int *fd) {
    FILE *f = tmpfile();
    assert_non_null(f);
    *fd = dup(fileno(f));
    fclose(f); /* the file lives on through *fd */
    assert_int_equal(ftruncate(*fd, (off_t)size), 0);
    char *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, *fd, 0);
    assert_true(p != MAP_FAILED);
    return p;
}

static mw_arena_id_t manage_ok(char *start, size_t size, unsigned flags) {
    mw_arena_id_t id = -1;
    assert_int_equal(mw_arena_manage(start, size, flags, &id), 0);
    assert_true(id > 0);
    size_t n;
    assert_ptr_equal(mw_arena_area(id, &n), start);
    assert_int_equal(n, size);
    return id;
}

static void blocks_live_in_a_file_mapping_and_reach_the_file(void **state) {
    (void)state;
    int fd;
    char *map = map_file(8 * MIB, &fd);
    mw_arena_id_t id = manage_ok(map, 8 * MIB, MW_ARENA_EXCLUSIVE);
    mw_heap_t *h = mw_heap_new_in(id);
    assert_non_null(h);
    EACH_SIZE(n) {
        char *a = mw_heap_malloc(h, n), *c = mw_heap_calloc(h, 1, n);
        void *al = mw_heap_aligned(h, 64, n);
        assert_true(arena_holds(id, a, n) && arena_holds(id, c, n) && arena_holds(id, al, n));
        assert_true(mw_usable_size(a) >= n);
        for (size_t i = 0; i < n; i++)
            assert_int_equal(c[i], 0); /* the file's pages read as zero once carved */
        memset(a, 0x5a, n);
        char *r = mw_heap_realloc(h, a, n * 2 <= SLAB_MAX ? n * 2 : n);
        assert_true(arena_holds(id, r, 1));
        assert_int_equal(r[n - 1], 0x5a);
        mw_free(r);
        mw_free(c);
        mw_free(al);
    }
    char *kept = mw_heap_malloc(h, 1000);
    memset(kept, 0x7e, 1000);
    assert_int_equal(msync(map, 8 * MIB, MS_SYNC), 0);
    char back[1000];
    assert_int_equal(pread(fd, back, sizeof back, kept - map), (ssize_t)sizeof back);
    assert_int_equal(back[0], 0x7e);
    assert_int_equal(back[999], 0x7e);
    struct mw_arena_stats st;
    assert_int_equal(mw_arena_stats(id, &st), 0);
    assert_true(st.used > 0 && st.size == 8 * MIB);
    mw_heap_destroy(h);
    assert_int_equal(mw_arena_stats(id, &st), 0);
    assert_int_equal(st.used, 0);
    assert_true(arena_smaps_kb(map, 8 * MIB, "Size:") >= 8192); /* never unmapped */
    h = mw_heap_new_in(id);                                     /* the space is reused */
    void *again = mw_heap_malloc(h, 1000);
    assert_true(arena_holds(id, again, 1000));
    mw_heap_destroy(h);
    close(fd); /* the mapping stays: an arena lasts as long as the process */
}

/* ---- frees from other threads -------------------------------------------------------- */

#define N 4000

struct batch {
    void *blocks[N];
};

static void *free_all(void *arg) {
    struct batch *b = arg;
    for (unsigned i = 0; i < N; i++)
        mw_free(b->blocks[i]);
    return NULL;
}

static void other_threads_free_blocks_of_a_managed_arena(void **state) {
    (void)state;
    int fd;
    char *map = map_file(16 * MIB, &fd);
    mw_arena_id_t id = manage_ok(map, 16 * MIB, MW_ARENA_EXCLUSIVE);
    mw_heap_t *h = mw_heap_new_in(id);
    static struct batch b;
    for (unsigned round = 0; round < 3; round++) {
        for (unsigned i = 0; i < N; i++) {
            b.blocks[i] = mw_heap_malloc(h, 16 + i % 2000);
            assert_true(arena_holds(id, b.blocks[i], 16 + i % 2000));
        }
        pthread_t t;
        assert_int_equal(pthread_create(&t, NULL, free_all, &b), 0);
        assert_int_equal(pthread_join(t, NULL), 0);
    }
    mw_heap_destroy(h);
    struct mw_arena_stats st;
    assert_int_equal(mw_arena_stats(id, &st), 0);
    assert_int_equal(st.used, 0);
    close(fd);
}

/* ---- arguments ----------------------------------------------------------------------- */

static void arguments_and_overlaps_give_einval(void **state) {
    (void)state;
    int fd;
    char *map = map_file(4 * MIB, &fd);
    mw_arena_id_t id;
    assert_int_equal(mw_arena_manage(map + 1, 2 * MIB, 0, &id), EINVAL);
    assert_int_equal(mw_arena_manage(map, 2 * MIB + 1, 0, &id), EINVAL);
    assert_int_equal(mw_arena_manage(map, 128 << 10, 0, &id), EINVAL); /* under a span group */
    assert_int_equal(mw_arena_manage(map, 2 * MIB, 0, NULL), EINVAL);
    assert_int_equal(mw_arena_manage(map, 2 * MIB, MW_ARENA_HUGE_PAGES, &id), EINVAL);
    assert_int_equal(mw_arena_manage(map, 2 * MIB, 64u, &id), EINVAL);
    size_t size;
    char *own = mw_arena_area(0, &size);
    assert_int_equal(mw_arena_manage(own, 2 * MIB, 0, &id), EINVAL);
    assert_int_equal(mw_arena_manage(own - MIB, 2 * MIB, 0, &id), EINVAL);
    void *large = mw_malloc(4 * MIB); /* a region */
    char *in_regions = (char *)((uintptr_t)large & ~(uintptr_t)4095);
    assert_int_equal(mw_arena_manage(in_regions, 2 * MIB, 0, &id), EINVAL);
    mw_free(large);
    manage_ok(map + MIB, 2 * MIB, MW_ARENA_EXCLUSIVE);
    assert_int_equal(mw_arena_manage(map, 2 * MIB, 0, &id), EINVAL);
    assert_int_equal(mw_arena_manage(map + 2 * MIB, 2 * MIB, 0, &id), EINVAL);
    assert_int_equal(mw_arena_manage(map + MIB, 2 * MIB, 0, &id), EINVAL);
    assert_int_equal(mw_arena_manage(map, 4 * MIB, 0, &id), EINVAL);
    close(fd);
}

/* ---- a non-exclusive one serves default heaps ----------------------------------------- */

static void *default_heap_blocks(void *arg) {
    mw_arena_id_t id = *(mw_arena_id_t *)arg;
    void *p[100];
    bool in = true;
    for (unsigned i = 0; i < 100; i++) {
        p[i] = mw_malloc(48);
        in = in && arena_holds(id, p[i], 48);
    }
    for (unsigned i = 0; i < 100; i++)
        mw_free(p[i]);
    return (void *)(uintptr_t)in;
}

static void a_shared_managed_arena_serves_default_heaps(void **state) {
    (void)state;
    char *map = mmap(NULL, MIB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(map != MAP_FAILED);
    mw_arena_id_t id = manage_ok(map, MIB, 0);
    pthread_t t;
    void *in;
    assert_int_equal(pthread_create(&t, NULL, default_heap_blocks, &id), 0);
    assert_int_equal(pthread_join(t, &in), 0);
    assert_true(in != NULL);
}

/* ---- fork ---------------------------------------------------------------------------- */

static void a_forked_child_keeps_a_private_managed_arena(void **state) {
    (void)state;
    char *map = mmap(NULL, 4 * MIB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(map != MAP_FAILED);
    arena_fork_check(manage_ok(map, 4 * MIB, MW_ARENA_EXCLUSIVE));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(blocks_live_in_a_file_mapping_and_reach_the_file),
        cmocka_unit_test(other_threads_free_blocks_of_a_managed_arena),
        cmocka_unit_test(arguments_and_overlaps_give_einval),
        cmocka_unit_test(a_forked_child_keeps_a_private_managed_arena),
        cmocka_unit_test(a_shared_managed_arena_serves_default_heaps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
