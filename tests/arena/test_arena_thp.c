/* test_arena_thp.c — an arena on transparent huge pages (MW_ARENA_LARGE_PAGES): populated
 * at once, its area is backed by huge pages (AnonHugePages in /proc/self/smaps) and holds
 * its heap's blocks. Needs THP in madvise or always mode: otherwise the test exits 77 with
 * the reason, which ctest reports as skipped. */
#include "arena_test.h"

#include <stdlib.h>

#define MIB ((size_t)1 << 20)
#define SKIPPED 77

static void a_large_page_arena_is_on_huge_pages(void **state) {
    (void)state;
    mw_arena_id_t id =
        arena_reserve_ok(16 * MIB, MW_ARENA_LARGE_PAGES | MW_ARENA_COMMIT | MW_ARENA_EXCLUSIVE);
    size_t size;
    char *start = mw_arena_area(id, &size);
    assert_int_equal((uintptr_t)start % (2 * MIB), 0);
    assert_true(arena_smaps_kb(start, size, "AnonHugePages:") > 0);
    struct mw_arena_stats st;
    assert_int_equal(mw_arena_stats(id, &st), 0);
    assert_int_equal(st.page_size, 2 * MIB);
    assert_int_equal(st.committed, 16 * MIB);
    mw_heap_t *h = mw_heap_new_in(id);
    for (unsigned i = 0; i < 1000; i++)
        assert_true(arena_holds(id, mw_heap_malloc(h, 64 + i), 64 + i));
    mw_heap_destroy(h);
}

/* Whether THP may back an madvised range; the reason printed when not. */
static bool thp_usable(void) {
    FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
    char mode[128] = "";
    if (f) {
        if (!fgets(mode, sizeof mode, f)) mode[0] = '\0';
        fclose(f);
    }
    if (strstr(mode, "[madvise]") || strstr(mode, "[always]")) return true;
    printf("skipped: transparent huge pages are not in madvise or always mode (%s)\n",
           f ? mode : "no /sys/kernel/mm/transparent_hugepage/enabled");
    return false;
}

int main(void) {
    if (!thp_usable()) return SKIPPED;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_large_page_arena_is_on_huge_pages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
