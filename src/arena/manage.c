/* arena/manage.c — the ranges of managed arenas: memory the program mapped itself (a file
 * mapping, a shared memory segment) and handed to mw_arena_manage, each with a page map of
 * its own, and the lookup that finds a span's page-map slot in them (arena.h).
 *
 * Invariants: the ranges never overlap each other nor meshward's own ranges (spans,
 * regions, huge maps); a range is recorded with its page map complete before the count
 * that publishes it grows, and never changes after (arenas last for the process), so the
 * lookup takes no lock. Records are added under the arena lock. Meshward never unmaps a
 * managed range. */
#include "arena/arena.h"
#include "huge.h"
#include "meta.h"
#include "region/region.h"

#include <errno.h>

struct managed {
    char *start;
    size_t size;
    struct mw_span **map; /* one slot per page */
};

static struct managed ranges[MW_ARENA_MAX];
static _Atomic unsigned range_count;

struct mw_span **mw_arena_managed_slot(const void *p) {
    unsigned n = atomic_load_explicit(&range_count, memory_order_acquire);
    for (unsigned i = 0; i < n; i++) {
        uintptr_t off = (uintptr_t)p - (uintptr_t)ranges[i].start;
        if (off < ranges[i].size) return &ranges[i].map[off >> 12];
    }
    return NULL;
}

/* Whether [start, start + size) meets one of meshward's ranges or a managed one. */
static bool taken(const char *start, size_t size) {
    uintptr_t s = (uintptr_t)start;
    if (mw_ranges_overlap(s, size, (uintptr_t)mw_arena_base, mw_arena_size)) return true;
    if (mw_region_overlaps(start, size) || mw_huge_overlaps(start, size)) return true;
    for (unsigned i = 0; i < range_count; i++)
        if (mw_ranges_overlap(s, size, (uintptr_t)ranges[i].start, ranges[i].size)) return true;
    return false;
}

int mw_arena_managed_add(char *start, size_t size) {
    if (taken(start, size)) return EINVAL;
    struct mw_span **map = mw_meta_pages((size >> 12) * sizeof *map);
    if (!map) return ENOMEM;
    unsigned n = range_count;
    ranges[n] = (struct managed){start, size, map};
    atomic_store_explicit(&range_count, n + 1, memory_order_release);
    return 0;
}
