/* arena.h — the one reserved virtual range that all spans are carved from, the page map
 * that finds a span's descriptor from any address in O(1), and the arenas that divide it.
 *
 * The range is private anonymous memory, reserved with MAP_NORESERVE so that only touched
 * pages cost anything and fork gives the child plain copy-on-write pages. Meshing (a later
 * layer) moves just the spans it merges into a memfd, because two virtual spans can share a
 * physical page only through a shared file mapping; everything else stays private.
 *
 * Arenas: arena 0 (the default one) is the bottom of the range; mw_arena_reserve carves each
 * further arena from the top, downwards, so that every span of every arena lies in the one
 * range and the page map (and the free fast path's one range test) serves them all. Each
 * arena has its own bump pointer, free-span lists and abandoned lists; a span remembers its
 * arena and goes back to it. A heap of a reserved arena takes spans from that arena alone;
 * a default heap takes them from the non-exclusive reserved arenas first, then arena 0.
 * Only arena 0's spans are meshed (the others may be on large or huge pages).
 *
 * Managed arenas (mw_arena_manage, arena_manage.c) are memory the program mapped itself,
 * outside the range: each has its own page map, and mw_arena_map_slot / mw_arena_span_of_any
 * find a span in the range or in any of them. The free fast path tests the range alone, so
 * every pointer of a managed arena goes to the slow path, which asks mw_arena_span_of_any.
 * Their spans are cleared when first carved (the memory held the program's bytes), never
 * purged and never meshed, and meshward never unmaps them.
 *
 * Invariants: page_map[i] is the descriptor of the in-use span covering page i of the
 * range, or NULL when that page belongs to no span in use (free, never carved), so a
 * pointer's span is never trusted unless the map names it. Free spans keep their
 * descriptor and wait in their arena's per-page-count lists, dirty (pages maybe resident)
 * before clean (purged); a span is reused only with its exact page count. */
#ifndef MW_ARENA_H
#define MW_ARENA_H

#include "common.h"
#include "span.h"

#include <meshward.h>

#define MW_ARENA_SIZE_MAX ((size_t)64 << 30) /* settles for less, down to 16 MiB */
#define MW_SPAN_MAX_PAGES 64
#define MW_ARENA_MAX 16 /* arenas, the default one included */

MW_HIDDEN extern char *mw_arena_base; /* before init: an address range no user pointer falls in */
MW_HIDDEN extern size_t mw_arena_size;
MW_HIDDEN extern struct mw_span **mw_page_map;

mw_inline bool mw_arena_owns(const void *p) {
    return (uintptr_t)p - (uintptr_t)mw_arena_base < mw_arena_size;
}
/* The in-use span holding p (p must satisfy mw_arena_owns), or NULL. */
mw_inline struct mw_span *mw_arena_span_of(const void *p) {
    return mw_page_map[((uintptr_t)p - (uintptr_t)mw_arena_base) >> 12];
}

/* arena_manage.c: the page-map slot of p's page in a managed arena, or NULL when p lies in
 * none. Lock-free: managed ranges are published once, complete, and last for the process. */
struct mw_span **mw_arena_managed_slot(const void *p);
/* Called with the arena lock held: checks [start, start + size) (page-aligned) against
 * meshward's ranges and the managed ones and records it with a page map of its own; 0,
 * EINVAL on an overlap, ENOMEM when metadata is exhausted. */
int mw_arena_managed_add(char *start, size_t size);

/* The page-map slot of p's page: in the range, or in a managed arena; NULL elsewhere. */
mw_inline struct mw_span **mw_arena_map_slot(const void *p) {
    if (mw_likely(mw_arena_owns(p)))
        return &mw_page_map[((uintptr_t)p - (uintptr_t)mw_arena_base) >> 12];
    return mw_arena_managed_slot(p);
}
/* The in-use span holding p, for any address (the slow paths' lookup), or NULL. */
mw_inline struct mw_span *mw_arena_span_of_any(const void *p) {
    struct mw_span **slot = mw_arena_map_slot(p);
    return slot ? *slot : NULL;
}

/* One arena: [start, end) of the range (arena 0's end moves down as arenas are reserved).
 * Guarded by the arena lock. */
struct mw_arena {
    char *start, *end;
    char *bump; /* next never-carved byte */
#if MW_HARDENED
    char *last_guard; /* the highest guard page protected so far (harden/guard.c) */
#endif
    unsigned flags;                               /* MW_ARENA_*, as the pages are */
    bool managed;                                 /* the program's memory (arena_manage.c) */
    struct mw_span *dirty[MW_SPAN_MAX_PAGES + 1]; /* free spans by page count */
    struct mw_span *clean[MW_SPAN_MAX_PAGES + 1];
    struct mw_span *abandoned[MW_CLASS_COUNT];
    uint64_t dirty_bytes, committed_bytes, used_bytes, purged_bytes;
};

/* Reserves the range and the page map; false when the OS refuses (slab allocations then
 * fail with ENOMEM). */
bool mw_arena_init(void);
/* Carves arena *id of size bytes (a multiple of align, a power of two) from the top of the
 * range and gives it its kind of pages (flags); 0, ENOMEM when there is no room or the
 * pages cannot be had. */
int mw_arena_add(size_t size, size_t align, unsigned flags, mw_arena_id_t *id);
/* Makes [start, start + size), memory the program mapped (page-aligned, checked by the
 * caller), arena *id; 0, EINVAL when it overlaps meshward's ranges or a managed arena,
 * ENOMEM when 15 arenas exist or metadata is exhausted. */
int mw_arena_add_managed(char *start, size_t size, unsigned flags, mw_arena_id_t *id);
/* True when id names an arena. */
bool mw_arena_valid(mw_arena_id_t id);
/* The start of arena id (valid) and its size. */
char *mw_arena_range(mw_arena_id_t id, size_t *size);
/* A span of `pages` pages for class cls, for a heap of arena id, initialized and mapped;
 * NULL when the arenas that serve such heaps are exhausted. */
struct mw_span *mw_arena_span_alloc(mw_arena_id_t id, unsigned pages, unsigned cls);
/* Gives an empty span back; its pages are purged once too many dirty bytes pile up. */
void mw_arena_span_free(struct mw_span *s);
/* Purges every dirty free span now (force) or down to the dirty limit. */
void mw_arena_purge(bool force);

/* Abandoned spans (their heap is gone but they hold live blocks), per class. */
void mw_arena_abandon(struct mw_span *s);
struct mw_span *mw_arena_adopt(mw_arena_id_t id, unsigned cls); /* for a heap of id; or NULL */
/* A remote free landed in s, which may be abandoned: if it is and it is now empty, it
 * goes back to the free lists (so exited threads' spans return without adoption). */
void mw_arena_reclaim_abandoned(struct mw_span *s);
/* Sweeps every abandoned list: spans emptied by remote frees go back to the free lists. */
void mw_arena_collect_abandoned(void);

/* Meshing (mesh/): takes out of arena 0's abandoned list of cls, for a pass, up to max spans
 * holding 1 to max_used blocks; the pass owns them until it abandons them again. */
unsigned mw_arena_take_sparse(unsigned cls, uint32_t max_used, struct mw_span **out, unsigned max);
/* s's pages now map another span's (s is an alias): they are no longer committed. */
void mw_arena_note_meshed(struct mw_span *s);
/* Calls fn on every kept span in the mesh file; the caller holds the arena lock (fork). */
void mw_arena_each_kept(void (*fn)(struct mw_span *));

void mw_arena_fork_prepare(void);
void mw_arena_fork_parent(void);
void mw_arena_fork_child(void);
/* Adds the arenas' totals to st. */
void mw_arena_totals(struct mw_stats *st);

/* arena_pages.c: gives [start, start + size) (aligned to mw_arena_pages_align) its kind of
 * pages: hugetlb pages mapped over it, transparent huge pages advised, or populated now.
 * 0, or ENOMEM: the part is then as it was, unless *lost (it must never be used). */
size_t mw_arena_pages_align(unsigned flags);
int mw_arena_pages_setup(char *start, size_t size, unsigned flags, bool *lost);
/* arena_api.c: the options that reserve arenas at start-up (after mw_arena_init). */
void mw_arena_options_init(void);

#endif
