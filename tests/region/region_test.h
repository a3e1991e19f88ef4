/* region_test.h — helpers shared by the region layer's tests: resident-page counts from
 * the kernel (mincore, never our own counters), per-class metric snapshots, and finding
 * the /proc/self/maps line of an address. */
#ifndef MW_REGION_TEST_H
#define MW_REGION_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include <sys/mman.h>
#include <unistd.h>

#include "huge.h"
#include "region/region.h"

#define KiB ((size_t)1 << 10)
#define MiB ((size_t)1 << 20)
#define PAGE ((size_t)4096)

/* Pages of [p, p+len) the kernel reports resident. */
static inline size_t resident_pages(const void *p, size_t len) {
    static unsigned char vec[(64 << 20) / 4096 * 8];
    size_t pages = (len + PAGE - 1) / PAGE, n = 0;
    assert_true(pages <= sizeof vec);
    assert_int_equal(mincore((void *)p, len, vec), 0);
    for (size_t i = 0; i < pages; i++)
        n += vec[i] & 1;
    return n;
}

/* The metrics of the class of regions of size bytes. */
static inline struct mw_region_class_stats class_stats(size_t size) {
    struct mw_stats st;
    memset(&st, 0, sizeof st);
    mw_region_stats(&st);
    for (unsigned i = 0; i < st.region_classes; i++)
        if (st.regions[i].region_size == size) return st.regions[i];
    fail_msg("no region class of %zu bytes", size);
    return st.regions[0];
}

/* Copies the /proc/self/maps line covering p into line; false when none does. */
static inline int maps_line(const void *p, char *line, size_t cap) {
    FILE *f = fopen("/proc/self/maps", "r");
    int found = 0;
    while (!found && fgets(line, (int)cap, f)) {
        unsigned long lo, hi;
        if (sscanf(line, "%lx-%lx", &lo, &hi) == 2 && (uintptr_t)p >= lo && (uintptr_t)p < hi)
            found = 1;
    }
    fclose(f);
    return found;
}

#endif
