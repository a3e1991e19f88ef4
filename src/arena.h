/* arena.h — the one reserved virtual range that all spans are carved from, and the page
 * map that finds a span's descriptor from any address in O(1).
 *
 * The range is private anonymous memory, reserved with MAP_NORESERVE so that only touched
 * pages cost anything and fork gives the child plain copy-on-write pages. Meshing (a later
 * layer) moves just the spans it merges into a memfd, because two virtual spans can share a
 * physical page only through a shared file mapping; everything else stays private.
 *
 * Invariants: page_map[i] is the descriptor of the in-use span covering page i of the
 * range, or NULL when that page belongs to no span in use (free, never carved), so a
 * pointer's span is never trusted unless the map names it. Free spans keep their
 * descriptor and wait in per-page-count lists, dirty (pages maybe resident) before
 * clean (purged); a span is reused only with its exact page count. */
#ifndef MW_ARENA_H
#define MW_ARENA_H

#include "common.h"
#include "span.h"

#include <meshward.h>

#define MW_ARENA_SIZE_MAX ((size_t)64 << 30) /* settles for less, down to 16 MiB */
#define MW_SPAN_MAX_PAGES 64

extern char *mw_arena_base; /* before init: an address range no user pointer falls in */
extern size_t mw_arena_size;
extern struct mw_span **mw_page_map;

mw_inline bool mw_arena_owns(const void *p) {
    return (uintptr_t)p - (uintptr_t)mw_arena_base < mw_arena_size;
}
/* The in-use span holding p (p must satisfy mw_arena_owns), or NULL. */
mw_inline struct mw_span *mw_arena_span_of(const void *p) {
    return mw_page_map[((uintptr_t)p - (uintptr_t)mw_arena_base) >> 12];
}

/* Reserves the range and the page map; false when the OS refuses (slab allocations then
 * fail with ENOMEM). */
bool mw_arena_init(void);
/* A span of `pages` pages for class cls, initialized and mapped; NULL when exhausted. */
struct mw_span *mw_arena_span_alloc(unsigned pages, unsigned cls);
/* Gives an empty span back; its pages are purged once too many dirty bytes pile up. */
void mw_arena_span_free(struct mw_span *s);
/* Purges every dirty free span now (force) or down to the dirty limit. */
void mw_arena_purge(bool force);

/* Abandoned spans (their heap is gone but they hold live blocks), per class. */
void mw_arena_abandon(struct mw_span *s);
struct mw_span *mw_arena_adopt(unsigned cls); /* NULL when none */
/* A remote free landed in s, which may be abandoned: if it is and it is now empty, it
 * goes back to the free lists (so exited threads' spans return without adoption). */
void mw_arena_reclaim_abandoned(struct mw_span *s);
/* Sweeps every abandoned list: spans emptied by remote frees go back to the free lists. */
void mw_arena_collect_abandoned(void);

/* Meshing (mesh/): takes out of the abandoned list of cls, for a pass, up to max spans
 * holding 1 to max_used blocks; the pass owns them until it abandons them again. */
unsigned mw_arena_take_sparse(unsigned cls, uint32_t max_used, struct mw_span **out, unsigned max);
/* s's pages now map another span's (s is an alias): they are no longer committed. */
void mw_arena_note_meshed(struct mw_span *s);
/* Calls fn on every kept span in the mesh file; the caller holds the arena lock (fork). */
void mw_arena_each_kept(void (*fn)(struct mw_span *));

void mw_arena_fork_prepare(void);
void mw_arena_fork_parent(void);
void mw_arena_fork_child(void);
void mw_arena_stats(struct mw_stats *st);

#endif
