/* api_fast.h — the bodies of malloc and free, inlined into both their standard names
 * (override.c) and mw_malloc/mw_free (alloc.c, free.c), so that a program's call reaches the
 * fast path without a jump between the two.
 *
 * malloc's fast path (production): sizes up to MW_DIRECT_MAX take their allocation span from
 * the heap's direct table (heap.h) in one load, pop its free list and count the block by
 * direct index; no class lookup, no call, no atomic. The direct table points at the empty
 * sentinel while allocations are hooked (memcheck, sampled guard pages), so that test costs
 * the fast path nothing; tracing is tested first, as trace.h requires (a traced call pops
 * the same table out of line, then records the block). Everything else goes to
 * mw_alloc_generic.
 *
 * free's fast path (production): a pointer in the arena's fast range (free.c) is looked up in
 * the page map, tested to start a built slot of its span (an interior or foreign pointer is
 * ignored and counted, never followed), and pushed onto the span's local list when the
 * calling thread's heap owns the span and holds it queued (one compare: the owner of a span
 * parked full is tagged, span.h); other threads' blocks take one push onto the span's
 * thread_free (heap.c).
 *
 * The hardened build's fast paths (harden/fast.h) make every check of its general path, out
 * of line (harden/), for slab blocks of up to about 1 KiB. */
#ifndef MW_API_FAST_H
#define MW_API_FAST_H

#include "alloc.h"
#include "arena/arena.h"
#include "thread.h"
#include "trace.h"
#include "harden/record.h"

/* A pointer that starts no built slot of the span the page map names (s may be NULL): a
 * block meshed away, a large span's block, or foreign (free.c). */
void mw_free_odd_slab(void *p, struct mw_span *s);

/* Frees p, a built slot of span s, for both builds; unhooked: the caller knows valgrind is
 * off (heap.h). */
mw_inline void mw_free_slot_in(void *p, struct mw_span *s, bool unhooked) {
    struct mw_heap *h = mw_tls_heap, *owner = atomic_load_explicit(&s->owner, memory_order_relaxed);
    if (mw_likely(owner == h)) {
        if (mw_unlikely(!mw_heap_free_local(h, s, p, unhooked))) mw_foreign_free(p, "double free");
        return;
    }
    if (mw_unlikely(owner == mw_span_full_owner(h))) return mw_heap_free_full(h, s, p, unhooked);
    if (unhooked)
        mw_heap_free_remote_unhooked(h, s, p);
    else
        mw_heap_free_remote(h, s, p);
}
/* Frees p in span s (as the page map names it). */
mw_inline void mw_free_slab_in(void *p, struct mw_span *s, bool unhooked) {
    if (mw_unlikely(!s || !mw_span_has_slot(s, p))) return mw_free_odd_slab(p, s);
    mw_free_slot_in(p, s, unhooked);
}

#if MW_HARDENED
#include "harden/fast.h"

/* Every allocation of the hardened build: checked, armed, recorded at ip, traced. */
void *mw_alloc_checked(struct mw_heap *h, size_t size, size_t align, unsigned how, void *ip);

/* A block of size bytes for a malloc-family call at ip. */
mw_inline void *mw_hd_malloc_at(struct mw_heap *h, size_t size, void *ip) {
    void *p = mw_hd_alloc_inline(h, size, mw_hd_slab_inner(size), MW_HOW_MALLOC, ip);
    if (mw_likely(p != NULL)) return p;
    return mw_alloc_checked(h, size, 0, MW_HOW_MALLOC, ip);
}
mw_inline void *mw_malloc_inline(struct mw_heap *h, size_t size) {
    return mw_hd_malloc_at(h, size, MW_CALLER);
}
/* operator new's fast path (16-byte aligned blocks); NULL: take mw_new_at. */
mw_inline void *mw_new_direct(size_t size, unsigned how) {
    return mw_hd_alloc_inline(mw_tls_heap, size, mw_hd_new_inner(size), how, MW_CALLER);
}
mw_inline void mw_free_how_inline(void *p, unsigned how, size_t size) {
    if (mw_likely(mw_hd_free_fast(p, how, size, MW_CALLER))) return;
    mw_free_how_at(p, how, size, MW_CALLER);
}
mw_inline void mw_free_inline(void *p) {
    mw_free_how_inline(p, MW_HOW_MALLOC, 0);
}
#else
/* The path when the direct table has no block at hand: traced or hooked calls, sizes above
 * MW_DIRECT_MAX, a span that ran dry. n bytes for a request of size bytes (new rounds it),
 * allocated as `how` says (harden/record.h) at ip, the program's call site. */
void *mw_alloc_generic(struct mw_heap *h, size_t n, size_t size, unsigned how, void *ip);

/* A block of n bytes from h's direct table; NULL when none is at hand (or while
 * allocations are hooked: the table then points at the empty sentinel). */
mw_inline void *mw_direct_pop(struct mw_heap *h, size_t n) {
    if (mw_likely(n <= MW_DIRECT_MAX)) {
        unsigned i = mw_direct_index(n);
        struct mw_span *s = h->direct[i];
        mw_block_t *b = s->free;
        if (mw_likely(b != NULL)) {
            mw_span_take(s, b, true);
            h->direct_allocs[i]++;
            return b;
        }
    }
    return NULL;
}

/* The same, NULL while tracing: the traced path pops it itself, then records it. */
mw_inline void *mw_alloc_direct(struct mw_heap *h, size_t n) {
    return mw_likely(!MW_TRACE_ON(alloc)) ? mw_direct_pop(h, n) : NULL;
}

/* The call site is read where it is needed (MW_CALLER of the function this is inlined
 * into): taken as an argument, the compiler loads it before the fast path. */
mw_inline void *mw_malloc_inline(struct mw_heap *h, size_t size) {
    void *p = mw_alloc_direct(h, size);
    if (mw_likely(p != NULL)) return p;
    return mw_alloc_generic(h, size, size, MW_HOW_MALLOC, MW_CALLER);
}

/* operator new's fast path (new's alignment: sizes rounded to 16); NULL: take mw_new_at. */
mw_inline void *mw_new_direct(size_t size, unsigned how) {
    (void)how; /* the hardened build checks it */
    if (size > MW_DIRECT_MAX) return NULL;
    return mw_alloc_direct(mw_tls_heap, mw_align_up(size, MW_MIN_ALIGN));
}

/* What free's fast path leaves: everything outside the fast range (memcheck is told), and
 * traced frees (free.c). */
void mw_free_hooked(void *p);
void mw_free_traced(void *p, void *ip);

/* An untraced free of the API: the fast range, or the path that may tell memcheck. */
mw_inline void mw_free_api(void *p) {
    if (mw_likely((uintptr_t)p - (uintptr_t)mw_arena_base < mw_free_fast_size))
        return mw_free_slab_in(p, mw_arena_span_of(p), true);
    mw_free_hooked(p);
}

mw_inline void mw_free_inline(void *p) {
    if (MW_TRACE_ON(free)) return mw_free_traced(p, MW_CALLER);
    mw_free_api(p);
}
/* A free that says how the block was allocated, and its size (0: not given), as C++'s
 * delete operators do: production checks neither. */
mw_inline void mw_free_how_inline(void *p, unsigned how, size_t size) {
    (void)how;
    (void)size;
    mw_free_inline(p);
}
#endif

#endif
