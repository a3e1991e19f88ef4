/* test_region_limit.c — a small region range (as under ulimit -v or valgrind): when every
 * area is taken, an area whose regions are all free is taken back from its class and given
 * to the class that needs one, wiped. Its own process: the address-space limit is set
 * before the range is reserved, so that only a few areas fit. */
#include "region_test.h"

#include "region/internal.h"

#include <stdlib.h>
#include <sys/resource.h>

#define MAX_REGIONS 4096

static void test_areas_move_between_classes(void **state) {
    (void)state;
    static char *r[MAX_REGIONS];
    const size_t big = 4 * MiB, small = 256 * KiB;
    size_t n = 0;
    while (n < MAX_REGIONS && (r[n] = mw_region_alloc(big, 1)) != NULL)
        r[n++][0] = (char)0xab;
    size_t range = atomic_load(&mw_region_range.size);
    print_message("range %zu MiB\n", range / MiB);
    assert_true(range >= 64 * MiB && range <= 1024 * MiB);
    assert_int_equal(n, range / big);
    assert_null(mw_region_alloc(small, 1)); /* every area holds live regions */

    for (size_t i = 0; i < n; i++)
        mw_region_free(r[i]);
    uint64_t areas = class_stats(big).areas;
    char *s = mw_region_alloc(small, 1);
    assert_non_null(s);
    assert_int_equal(s[0], 0); /* the area was wiped */
    assert_int_equal(class_stats(big).areas, areas - 1);
    assert_int_equal(class_stats(small).areas, 1);

    size_t m = 0;
    while (m < MAX_REGIONS && (r[m] = mw_region_alloc(big, 1)) != NULL)
        m++;
    assert_int_equal(m, n - 16); /* the other areas' regions, from the dirty pool */
    for (size_t i = 0; i < m; i++)
        mw_region_free(r[i]);
    mw_region_free(s);
}

static size_t vm_size(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    size_t kib = 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmSize: %zu kB", &kib) == 1) break;
    fclose(f);
    return kib * KiB;
}

int main(void) {
    mw_free(mw_malloc(1)); /* the rest of the allocator reserves its ranges first */
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_areas_move_between_classes)};
    /* Room for a 256 MiB range and its alignment slack, not for 512 MiB. */
    struct rlimit lim = {vm_size() + 400 * MiB, RLIM_INFINITY};
    if (setrlimit(RLIMIT_AS, &lim) != 0) return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
