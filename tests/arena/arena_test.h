/* arena_test.h — helpers the arena tests share: reserving an arena that must succeed,
 * whether a block lies in an arena's area, and how an arena's part of the range is mapped
 * (/proc/self/smaps). */
#ifndef MW_TEST_ARENA_H
#define MW_TEST_ARENA_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <meshward.h>
#include <stdio.h>
#include <string.h>

static inline mw_arena_id_t arena_reserve_ok(size_t size, unsigned flags) {
    mw_arena_id_t id = -1;
    assert_int_equal(mw_arena_reserve(size, flags, &id), 0);
    assert_true(id > 0);
    return id;
}

static inline bool arena_holds(mw_arena_id_t id, const void *p, size_t n) {
    size_t size;
    const char *start = mw_arena_area(id, &size);
    const char *c = p;
    return start && c >= start && c + n <= start + size;
}

/* The sum of field (e.g. "AnonHugePages:") in kB over the mappings of smaps that overlap
 * [start, start + size); -1 when smaps cannot be read. */
static inline long arena_smaps_kb(const char *start, size_t size, const char *field) {
    FILE *f = fopen("/proc/self/smaps", "r");
    if (!f) return -1;
    char line[512];
    long sum = 0;
    bool inside = false;
    while (fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        long kb;
        if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2)
            inside = lo < (unsigned long)(start + size) && hi > (unsigned long)start;
        else if (inside && strncmp(line, field, strlen(field)) == 0 &&
                 sscanf(line + strlen(field), "%ld", &kb) == 1)
            sum += kb;
    }
    fclose(f);
    return sum;
}

#endif
