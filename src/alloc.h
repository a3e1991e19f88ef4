/* alloc.h — what the API files share (alloc.c: allocation; free.c: free and usable size;
 * realloc.c; heap_api.c: first-class heaps), and the entry the C++ operators use.
 *
 * Size dispatch: slabs up to MW_SLAB_MAX, regions up to MW_REGION_MAX (and alignments up to
 * it), huge maps beyond; a heap of an arena other than 0 takes every block above
 * MW_SLAB_MAX (and every alignment beyond a page) from its arena's large spans (arena.h). The *_in
 * functions neither validate arguments nor trace; the exported functions do both. A pointer's kind
 * is decided by address range before any metadata is read. */
#ifndef MW_ALLOC_H
#define MW_ALLOC_H

#include "common.h"
#include "heap.h"
#include "sizeclass.h"

/* Whether allocations take the hooked path for memcheck or sampled guard pages (one test
 * for both): on until start-up has settled it (mw_alloc_settle_hooks). */
MW_HIDDEN extern int mw_alloc_hooked;
/* The part of the arena's range (from its base) that free's fast path takes for slab blocks:
 * all of it, or nothing while memcheck watches and until start-up has settled it (free.c). */
MW_HIDDEN extern size_t mw_free_fast_size;
void mw_alloc_settle_hooks(void);

/* Classifies p by address alone. */
enum mw_kind mw_kind_of(const void *p);

/* Slow paths of mw_alloc_in (alloc.c); both set errno on failure. */
void *mw_alloc_small_slow(struct mw_heap *h, unsigned cls);
void *mw_alloc_large_in(struct mw_heap *h, size_t size, size_t align, bool zero);

/* A block of slab class cls for heap h, NULL and ENOMEM on failure; unhooked: the caller
 * knows valgrind is off (heap.h). */
mw_inline void *mw_alloc_class(struct mw_heap *h, unsigned cls, bool unhooked) {
    void *p = mw_heap_try_alloc_small(h, cls, unhooked);
    return mw_likely(p != NULL) ? p : mw_alloc_small_slow(h, cls);
}
mw_inline void *mw_alloc_class_in(struct mw_heap *h, unsigned cls) {
    return mw_alloc_class(h, cls, false);
}

/* A block of at least size bytes for heap h, NULL and ENOMEM on failure. */
mw_inline void *mw_alloc_in(struct mw_heap *h, size_t size) {
    if (mw_likely(size <= MW_SLAB_MAX)) return mw_alloc_class_in(h, mw_class_of(size));
    return mw_alloc_large_in(h, size, MW_MIN_ALIGN, false);
}

/* A block of size bytes aligned to align (<= 8: no constraint), NULL and errno on failure. */
void *mw_alloc_aligned_in(struct mw_heap *h, size_t align, size_t size);
/* C++ operator new's allocation (at least 16-byte aligned; how: new or new[]), recorded at
 * ip; NULL on failure. In production the operators try mw_new_direct (api_fast.h) first. */
void *mw_new_at(size_t size, size_t align, unsigned how, void *ip);
/* Frees p released the way `how` says (malloc, new, new[]), with its size when the caller
 * gave one (0: none), recorded at ip: the C++ operators' entry. */
void mw_free_how_at(void *p, unsigned how, size_t size, void *ip);
/* memalign's semantics, recording the allocation at ip when tracing is on. */
void *mw_memalign_at(size_t alignment, size_t size, void *ip);
/* Frees p (any kind, or NULL) without recording it. */
void mw_free_untraced(void *p);
/* Usable size of a live block, 0 when p is NULL, freed or not ours. */
size_t mw_block_usable(const void *p);
/* Records the allocation of p (size requested) from heap h at ip. */
void mw_trace_alloc(void *ip, struct mw_heap *h, void *p, size_t size);
/* Records the free of p at ip (call before the block is released). */
void mw_trace_free(void *ip, void *p);
/* Counts a free of a pointer meshward does not own (production ignores it). */
void mw_foreign_free(const void *p, const char *what);
uint64_t mw_alloc_foreign_frees(void);

#endif
