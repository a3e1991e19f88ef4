/* harden/fast.h — the hardened build's inline fast paths (api_fast.h): malloc and operator
 * new of a slab block of at most MW_HD_FAST_MAX bytes from the heap's direct table, and free
 * or delete of a slab block into the thread's quarantine.
 *
 * They make every check the general path (api.c) makes, in the same order, and each check's
 * inline answer is the one blocks.h and verdict.h give when all is well: the slot handed
 * out is zero after its link word and its canary intact; the block freed starts a built
 * slot, its record says LIVE and allocated by the family that frees it, a size given
 * names its class, both canaries are intact and its slack zero. Whenever an answer is not
 * "all is well", or the call is not this common case (tracing, memcheck, a sampled
 * allocation due, no quarantine yet, another kind of block), the fast path has changed
 * nothing and returns NULL or false: the general path then decides, and reports. */
#ifndef MW_HARDEN_FAST_H
#define MW_HARDEN_FAST_H

#include "alloc.h"
#include "arena/arena.h"
#include "harden/blocks.h"
#include "harden/quarantine.h"
#include "harden/sample.h"
#include "thread.h"
#include "trace.h"

#if MW_HARDENED
/* Requests the fast paths take: their slot (canary included) stays within the direct table. */
#define MW_HD_FAST_MAX (MW_DIRECT_MAX - 32)

/* Whether a request of size bytes, its canary after it, fits a slab slot. */
mw_inline bool mw_hd_fits_slab(size_t size) {
    return size <= MW_SLAB_MAX - MW_CANARY_SIZE;
}
/* Slot bytes for a slab block of size bytes: a multiple of 16 when the size is (its
 * alignment), the canary included. */
mw_inline size_t mw_hd_slab_inner(size_t size) {
    size_t n = size + MW_CANARY_SIZE;
    return size % MW_MIN_ALIGN == 0 ? mw_align_up(n, MW_MIN_ALIGN) : n;
}
/* The same for operator new, whose blocks are always 16-byte aligned: the smallest class of
 * at least this many bytes has a block size that is a multiple of 16 (alloc.c). */
mw_inline size_t mw_hd_new_inner(size_t size) {
    return mw_align_up(size + MW_CANARY_SIZE, MW_MIN_ALIGN);
}

/* A slab block of size (1 to MW_HD_FAST_MAX) bytes in a slot of at least `inner` bytes from
 * h's direct table, allocated as `how` says at ip; NULL: take the general path. */
mw_inline void *mw_hd_alloc_inline(struct mw_heap *h, size_t size, size_t inner, unsigned how,
                                   void *ip) {
    if (MW_TRACE_ON(alloc) || size - 1 >= MW_HD_FAST_MAX) return NULL;
    uint32_t countdown = mw_sample_countdown;
    if (mw_sample_rate && countdown <= 1) return NULL; /* a sample is due (or a new thread) */
    unsigned d = mw_direct_index(inner);
    struct mw_span *s = h->direct[d];
    char *p = (char *)s->free;
    if (!p) return NULL;
    size_t cap = s->block_size;
    if (!mw_canary_ok(p + cap - MW_CANARY_SIZE) || !mw_words_zero(p + 8, cap - 2 * MW_CANARY_SIZE))
        return NULL;
    mw_hd_count_check();
    mw_span_take(s, (mw_block_t *)p, true);
    h->direct_allocs[d]++;
    memset(p, 0, sizeof(void *)); /* the link word */
    uint32_t i = mw_class_index(s->cls, (size_t)(p - s->start));
    mw_rec_set_live(&s->records[i], size, how, ip);
    if (mw_sample_rate) mw_sample_countdown = countdown - 1;
    return p;
}

/* The span and slot index of p when p starts a built slot of a recorded span in the arena's
 * fast range (free.c: empty while memcheck watches); false otherwise. */
mw_inline bool mw_hd_fast_slot(const void *p, struct mw_span **s, uint32_t *i) {
    if ((uintptr_t)p - (uintptr_t)mw_arena_base >= mw_free_fast_size) return false;
    *s = mw_arena_span_of(p);
    return *s && mw_span_slot_index(*s, p, i) && (*s)->records;
}

/* The size class a slab request of size bytes gets, for the size-mismatch check of sized
 * frees (any larger size: not a slab's). */
mw_inline unsigned mw_hd_slab_class(size_t size) {
    return mw_hd_fits_slab(size) ? mw_class_of(mw_hd_slab_inner(size)) : 255;
}

/* The inline half of mw_hd_free_fast: the span's slot checks of a slab block p, freed by a
 * call of family how with size sized (0: none), then its record's move to QUARANTINED. */
mw_inline bool mw_hd_free_slot(struct mw_quarantine *q, struct mw_span *s, char *p, uint32_t i,
                               unsigned how, size_t sized, void *ip) {
    struct mw_hrec *r = &s->records[i];
    uint64_t st = atomic_load_explicit(&r->state, memory_order_acquire);
    if (st >> 48 != ((uint64_t)MW_HS_LIVE << 8 | how)) return false;
    size_t size = (size_t)(r->alloc >> 48), cap = s->block_size;
    if (sized && mw_hd_slab_class(sized) != mw_hd_slab_class(size)) return false;
    const char *end = p + cap - MW_CANARY_SIZE;
    if (!mw_canary_ok(end) || !mw_canary_ok(p - MW_CANARY_SIZE) ||
        !mw_bytes_zero(p + size, (size_t)(end - p) - size))
        return false;
    q->checks += 2;                     /* the block's identity, its canaries */
    memset(p, 0, mw_align_up(size, 8)); /* libc picks the widest stores the CPU has */
    if (mw_unlikely(!mw_rec_set_freed(r, st, ip))) {
        mw_hd_free_raced(p, how); /* another free won after our checks: a double free */
        return true;
    }
    mw_quarantine_put(q, p, cap);
    return true;
}

/* Frees p, allocated as `how` says, with size sized (0: none given), at ip; false when the
 * general path must (nothing was changed). */
mw_inline bool mw_hd_free_fast(void *p, unsigned how, size_t sized, void *ip) {
    if (MW_TRACE_ON(free)) return false;
    struct mw_quarantine *q = mw_tls_heap->quarantine;
    struct mw_span *s;
    uint32_t i;
    if (!q || !mw_hd_fast_slot(p, &s, &i)) return false;
    return mw_hd_free_slot(q, s, p, i, how, sized, ip);
}
#endif

#endif
