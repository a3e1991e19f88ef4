/* arena/arena.h — the one reserved virtual range that all spans are carved from, the page map
 * that finds a span's descriptor from any address in O(1), and the arenas that divide it.
 *
 * The range is private anonymous memory, reserved with MAP_NORESERVE so that only touched
 * pages cost anything and fork gives the child plain copy-on-write pages. Meshing (mesh/)
 * moves just the spans it merges into a memfd, because two virtual spans can share a
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
 * Managed arenas (mw_arena_manage, arena/manage.c) are memory the program mapped itself,
 * outside the range: each has its own page map, and mw_arena_map_slot / mw_arena_span_of_any
 * find a span in the range or in any of them. The free fast path tests the range alone, so
 * every pointer of a managed arena goes to the slow path, which asks mw_arena_span_of_any.
 * Their spans are cleared when first carved (the memory held the program's bytes), never
 * purged and never meshed, and meshward never unmaps them.
 *
 * Large blocks of a heap of an arena other than 0 (above MW_SLAB_MAX, or aligned beyond a
 * page) come from that arena alone, each in a large span of its own (span.h): as many pages
 * as the block needs (the hardened build's guard page included), at its alignment. The map
 * names a large span like any other, so free, realloc, malloc_usable_size and the hardened
 * checks find it there (in the slow path: it has no slots). A freed large span's pages
 * become one of its arena's runs (arena/runs.c): free page ranges of any length, merged
 * with their neighbours, from which large spans are cut at any size and alignment (and slab
 * spans too once the bump has reached the arena's end), so an arena filled and emptied
 * with blocks of any sizes can be filled again.
 *
 * Invariants: page_map[i] is the descriptor of the in-use span (slab or large) covering
 * page i of the range, or NULL when that page belongs to no span in use (free, in a run,
 * never carved), so a pointer's span is never trusted unless the map names it. Free slab
 * spans keep their descriptor and wait in their arena's per-page-count lists, dirty (pages
 * maybe resident) before clean (purged); a slab span is reused only with its exact page
 * count. A dirty span released empty and never meshed is *warm* (production build): its
 * lists still hold every slot it built, so when it is taken again for the same class it
 * keeps them, and a program that empties and refills a class reuses its slots without
 * building them again. Runs are purged under the same dirty limit; used bytes count both
 * kinds of span. */
#ifndef MW_ARENA_H
#define MW_ARENA_H

#include "common.h"
#include "span.h"
#include "span_queue.h"

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
/* p's granule, (p - base) / 8, when p lies in the first 32 GiB of the range (the slab range:
 * arena 0 carves its slab spans from the bottom) at an 8-byte boundary (where every block
 * starts): below 2^32, the 32 bits a trace names it with. MW_ARENA_NO_GRANULE otherwise.
 * One rotation makes an unaligned p huge, so one compare tests both (traced paths only). */
#define MW_ARENA_NO_GRANULE UINT64_MAX
#define MW_ARENA_GRANULE_REACH ((size_t)32 << 30)
MW_HIDDEN extern uint64_t mw_arena_granules; /* min(size, reach) / 8; 0 before init */
mw_inline uint64_t mw_arena_granule(const void *p) {
    uint64_t off = (uint64_t)((uintptr_t)p - (uintptr_t)mw_arena_base);
    uint64_t g = off >> 3 | off << 61;
    return g < mw_arena_granules ? g : MW_ARENA_NO_GRANULE;
}
_Static_assert((MW_ARENA_GRANULE_REACH >> 3) - 1 == UINT32_MAX, "a granule fits in 32 bits");

/* The in-use span holding p (p must satisfy mw_arena_owns), or NULL. */
mw_inline struct mw_span *mw_arena_span_of(const void *p) {
    return mw_page_map[((uintptr_t)p - (uintptr_t)mw_arena_base) >> 12];
}

/* arena/manage.c: the page-map slot of p's page in a managed arena, or NULL when p lies in
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
    uint8_t id;                                   /* its index in the table */
    unsigned flags;                               /* MW_ARENA_*, as the pages are */
    bool managed;                                 /* the program's memory (arena/manage.c) */
    struct mw_span *dirty[MW_SPAN_MAX_PAGES + 1]; /* free spans by page count */
    struct mw_span *clean[MW_SPAN_MAX_PAGES + 1];
    struct mw_span_queue abandoned[MW_CLASS_COUNT]; /* by class; passes put theirs back last */
    struct mw_span *runs; /* free runs of any length, in address order (arena/runs.c) */
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
/* A large block of size bytes aligned to align (a power of two) for a heap of arena id (not
 * 0), in a large span of its own; reads as zero when zero is set (and always in the
 * hardened build); NULL when the arena has no room for it. */
void *mw_arena_large_alloc(mw_arena_id_t id, size_t size, size_t align, bool zero);
/* Frees p, the block of large span s (as the page map named it): false, doing nothing,
 * when p does not start the block of a large span in use (freed already, or interior). */
bool mw_arena_large_free(struct mw_span *s, const void *p);
/* Purges every dirty free span now (force) or down to the dirty limit. */
void mw_arena_purge(bool force);

/* Abandoned spans (their heap is gone but they hold live blocks), per class. s goes first
 * in its list (adoption takes the newest first); a mesh pass puts back the spans it took
 * and could not pair last (back), so that its next look takes others (pass.c). */
void mw_arena_abandon(struct mw_span *s, bool back);
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

/* Called with the arena lock held. Clears [start, start + size), pages first carved from a
 * managed arena a: they held the program's bytes, and carved pages read as zero (the
 * hardened build checks that they do). Nothing for other arenas. */
void mw_arena_clear_fresh(const struct mw_arena *a, char *start, size_t size);

/* arena/runs.c, called with the arena lock held: a span descriptor for `bytes` (a multiple
 * of the page size) at an address aligned to align, cut from a's runs or carved at its
 * bump (mapped nowhere yet); dirty when its pages may hold old bytes; NULL when no room. */
struct mw_span *mw_arena_run_take(struct mw_arena *a, size_t bytes, size_t align);
/* The pages of s (taken by mw_arena_run_take, out of use now, dirty) become a run again. */
void mw_arena_run_give(struct mw_arena *a, struct mw_span *s);
/* Purges dirty runs while a holds more than keep dirty bytes; returns the bytes purged. */
uint64_t mw_arena_run_purge(struct mw_arena *a, uint64_t keep);

/* arena/pages.c: gives [start, start + size) (aligned to mw_arena_pages_align) its kind of
 * pages: hugetlb pages mapped over it, transparent huge pages advised, or populated now.
 * 0, or ENOMEM: the part is then as it was, unless *lost (it must never be used). */
size_t mw_arena_pages_align(unsigned flags);
int mw_arena_pages_setup(char *start, size_t size, unsigned flags, bool *lost);
/* arena/api.c: the options that reserve arenas at start-up (after mw_arena_init). */
void mw_arena_options_init(void);

#endif
