/* free.c — the releasing half of the API: free, free_sized, usable sizes, and the count
 * of frees of pointers meshward does not own. A pointer is classified by address range,
 * then checked against its span or pool (the start of a live slot, region or map) before
 * anything is written; anything else is foreign: ignored and counted (the hardened build
 * will report it).
 *
 * Tracing: free tests its event once; the traced path records the free before the block
 * can be handed to anyone else; the same hooked path tells memcheck (mw_vg_free) before the
 * allocator touches the block. Memcheck costs free no test of its own: the fast path takes
 * as slab blocks the arena's range cut to mw_free_fast_size, which is empty while memcheck
 * watches (and until start-up settled it), so that every free then leaves the fast path at
 * the range test it makes anyway, and the path for everything else asks. */
#include "api_fast.h"
#include "arena/arena.h"
#include "heap_large.h"
#include "huge.h"
#include "mw_valgrind.h"
#include "region/region.h"
#include "thread.h"
#include "trace.h"
#include "harden/harden.h"
#include "harden/sample.h"

#include <meshward.h>

static _Atomic uint64_t foreign_frees;

size_t mw_free_fast_size;

void mw_foreign_free(const void *p, const char *what) {
    (void)p;
    (void)what;
    atomic_fetch_add_explicit(&foreign_frees, 1, memory_order_relaxed);
}

uint64_t mw_alloc_foreign_frees(void) {
    return foreign_frees;
}

mw_inline void free_slab(void *p, bool unhooked) {
    mw_free_slab_in(p, mw_arena_span_of(p), unhooked);
}

/* The block of large span s (arena.h), freed by any thread: straight back to its arena. */
static void free_large_span(void *p, struct mw_span *s) {
    if (mw_heap_large_any()) mw_heap_large_remove(p);
    if (!mw_arena_large_free(s, p)) mw_foreign_free(p, "free");
}

/* Not a slot of the span the page map names: a block meshed away, freed through its old
 * address in an alias span (freed at its address in the kept span), the block of a large
 * span, or foreign. */
mw_noinline void mw_free_odd_slab(void *p, struct mw_span *s) {
    void *home = s ? mw_span_home(s, p) : NULL;
    if (home)
        free_slab(home, false);
    else if (s && mw_span_is_large(s))
        free_large_span(p, s);
    else
        mw_foreign_free(p, "free");
}

/* Everything outside the reserved range: large, sampled, foreign, and the slab blocks of
 * managed arenas (arena.h). */
static mw_noinline void free_large(void *p) {
    enum mw_kind kind = mw_kind_of(p);
    if (kind == MW_KIND_SLAB) return mw_free_slab_in(p, mw_arena_span_of_any(p), false);
    if (mw_heap_large_any()) mw_heap_large_remove(p);
    switch (kind) {
    case MW_KIND_REGION: /* a free that loses a race with another free of p is a double free */
        if (!mw_region_is_live(p) || !mw_region_free(p)) mw_foreign_free(p, "free");
        return;
    case MW_KIND_HUGE:
        if (mw_huge_is_live(p))
            mw_huge_free(p);
        else
            mw_foreign_free(p, "free");
        return;
    default:
        if (mw_sample_owns(p))
            mw_sample_free(p, MW_OP_FREE, NULL);
        else
            mw_foreign_free(p, "free");
    }
}

mw_inline void free_block(void *p) {
    if (mw_likely(mw_arena_owns(p)))
        free_slab(p, false);
    else if (p)
        free_large(p);
}

/* Out of line: the paths that may talk to memcheck need a frame the fast one does not. */
static mw_noinline void free_any(void *p) {
    free_block(p);
}

void mw_free_untraced(void *p) {
    if (mw_likely((uintptr_t)p - (uintptr_t)mw_arena_base < mw_free_fast_size))
        return free_slab(p, true); /* memcheck away: see mw_free_fast_size */
    free_any(p);
}

/* A block of the slab range is named by its granule (`free_slab`), any other by its address. */
void mw_trace_free(void *ip, void *p) {
    uint64_t g = mw_arena_granule(p);
    if (g != MW_ARENA_NO_GRANULE && MW_TRACE_ON(free_slab))
        MW_TRACE_FREE_SLAB_AT(ip, g, mw_block_usable(p));
    else
        MW_TRACE_FREE_AT(ip, p, mw_block_usable(p));
}

void mw_free(void *p) {
    mw_free_inline(p);
}

#if MW_HARDENED
void mw_free_how_at(void *p, unsigned how, size_t size, void *ip) {
    if (MW_TRACE_ON(free) && mw_hd_size_of(p)) mw_trace_free(ip, p);
    mw_hd_free(p, how, size, ip);
}

void mw_free_sized(void *p, size_t size) {
    mw_free_how_at(p, MW_HOW_MALLOC, size, MW_CALLER);
}

size_t mw_block_usable(const void *p) {
    return mw_hd_size_of(p);
}

size_t mw_usable_size(const void *p) {
    return p ? mw_hd_usable(p, MW_CALLER) : 0;
}
#else
/* What the fast path leaves: region, huge and sampled blocks, NULL, every free while
 * memcheck watches (told to it first) and every traced one. */
mw_noinline void mw_free_hooked(void *p) {
    mw_vg_free(p);
    free_block(p);
}

mw_cold void mw_free_traced(void *p, void *ip) {
    mw_trace_free(ip, p);
    mw_free_api(p);
}

void mw_free_how_at(void *p, unsigned how, size_t size, void *ip) {
    (void)how;
    (void)size;
    if (MW_TRACE_ON(free)) return mw_free_traced(p, ip);
    mw_free_api(p);
}

void mw_free_sized(void *p, size_t size) {
    (void)size; /* the hardened build checks it */
    mw_free_inline(p);
}

/* A slab block's slot, or a large span's pages (arena.h); 0 when p starts neither. */
static size_t slab_usable(const void *p) {
    const struct mw_span *s = mw_arena_span_of_any(p);
    if (s && mw_span_is_large(s)) return s->start == p ? mw_span_bytes(s) : 0;
    if (s && !mw_span_has_slot(s, p)) s = mw_span_home(s, p) ? s->mesh_into : NULL;
    return s ? s->block_size : 0;
}

size_t mw_block_usable(const void *p) {
    switch (mw_kind_of(p)) {
    case MW_KIND_SLAB:
        return slab_usable(p);
    case MW_KIND_REGION:
        return mw_region_is_live(p) ? mw_region_usable_size(p) : 0;
    case MW_KIND_HUGE:
        return mw_huge_is_live(p) ? mw_huge_usable_size(p) : 0;
    default:
        return mw_sample_size(p);
    }
}

/* Under valgrind, the size requested (as memcheck's own malloc_usable_size): the slack is
 * the block's redzone. */
size_t mw_usable_size(const void *p) {
    return p ? mw_vg_live_size(p, mw_block_usable(p)) : 0;
}
#endif
