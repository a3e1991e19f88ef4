/* test_arena_hugetlb.c — an arena on hugetlb pages (MW_ARENA_HUGE_PAGES): its area is
 * mapped with 2 MiB hugetlb pages and holds its heap's blocks; asking for more pages than
 * the system has free gives ENOMEM and leaves the range usable. The test reserves a few
 * pages with /proc/sys/vm/nr_hugepages (root) and restores the old value; where it cannot,
 * it exits 77 with the reason, which ctest reports as skipped. */
#include "arena_test.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#define MIB ((size_t)1 << 20)
#define PAGES 4
#define SKIPPED 77
#define NR_HUGEPAGES "/proc/sys/vm/nr_hugepages"

static void a_hugetlb_arena_is_on_hugetlb_pages(void **state) {
    (void)state;
    mw_arena_id_t id = arena_reserve_ok(PAGES * 2 * MIB, MW_ARENA_HUGE_PAGES | MW_ARENA_EXCLUSIVE);
    size_t size;
    char *start = mw_arena_area(id, &size);
    assert_int_equal(size, PAGES * 2 * MIB);
    mw_heap_t *h = mw_heap_new_in(id);
    for (unsigned i = 0; i < 20000; i++) {
        char *p = mw_heap_malloc(h, 100);
        assert_true(arena_holds(id, p, 100));
        p[99] = 1;
    }
    assert_true(arena_smaps_kb(start, size, "Private_Hugetlb:") > 0);
    struct mw_arena_stats st;
    assert_int_equal(mw_arena_stats(id, &st), 0);
    assert_int_equal(st.page_size, 2 * MIB);
    assert_int_equal(st.committed, size);
    mw_heap_destroy(h);
}

static void too_many_pages_give_enomem(void **state) {
    (void)state;
    mw_arena_id_t id;
    assert_int_equal(mw_arena_reserve(4096 * 2 * MIB, MW_ARENA_HUGE_PAGES, &id), ENOMEM);
    id = arena_reserve_ok(2 * MIB, MW_ARENA_EXCLUSIVE); /* the range is still whole */
    mw_heap_t *h = mw_heap_new_in(id);
    char *p = mw_heap_malloc(h, 100);
    assert_true(arena_holds(id, p, 100));
    p[0] = 1;
    mw_heap_destroy(h);
}

static long read_pages(void) {
    FILE *f = fopen(NR_HUGEPAGES, "r");
    long n = -1;
    if (f) {
        if (fscanf(f, "%ld", &n) != 1) n = -1;
        fclose(f);
    }
    return n;
}

static bool write_pages(long n) {
    FILE *f = fopen(NR_HUGEPAGES, "w");
    if (!f) return false;
    bool ok = fprintf(f, "%ld\n", n) > 0;
    return fclose(f) == 0 && ok;
}

int main(void) {
    long old = read_pages();
    if (geteuid() != 0 || old < 0) {
        printf("skipped: reserving hugetlb pages needs root and %s\n", NR_HUGEPAGES);
        return SKIPPED;
    }
    if (!write_pages(old + PAGES) || read_pages() < old + PAGES) {
        write_pages(old);
        printf("skipped: the kernel could not reserve %d hugetlb pages\n", PAGES);
        return SKIPPED;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_hugetlb_arena_is_on_hugetlb_pages),
        cmocka_unit_test(too_many_pages_give_enomem),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    write_pages(old);
    return failed;
}
