/* harden/harden.h — the hardened build's entry points, called by the public API (alloc.c,
 * free.c, realloc.c, heap_api.c, override_cxx.c) in place of the plain size dispatch, and
 * the hooks the lower layers call. Everything here exists only with MW_HARDENED, except the
 * sampled guard allocations (sample.h) and the fault handler (fault.h), which both builds
 * have.
 *
 * Block layout (hardened):
 * - slab: the block starts its slot; [size, slot end - 8) is zero and the slot's last 8
 *   bytes hold the canary of their address, so every slot is followed by a canary and a
 *   write before a block lands in the previous slot's canary. Slot 0 of every span is never
 *   handed out: it is the canary before slot 1. A free slot is zero except its encoded link.
 * - region: [size, size + 8) holds the canary, the rest of the region is zero and its last
 *   page is a guard page (PROT_NONE), which is also the guard before the next region. A
 *   freed region of 256 KiB or more is PROT_NONE until it is handed out again.
 * - huge: the canary after the block, then a guard page; the reservation around huge
 *   mappings is PROT_NONE. realloc resizes a huge block by mremap (no copy), moving the
 *   canary and the guard page to the new end.
 * - large span (MW_HD_LARGE: a large block of a heap of an arena other than 0, arena.h): as
 *   a region, [size, size + 8) holds the canary, the rest of the span is zero and its last
 *   page is a guard page while the block is live; a freed one of 256 KiB or more is
 *   PROT_NONE while quarantined; both are opened again before the span goes back to its
 *   arena (whose free runs hold no protected page and read as zero).
 * - zero-size blocks: distinct addresses in a PROT_NONE range (zero.h).
 * Canaries are keyed by a secret and their own address, and their first byte is zero. */
#ifndef MW_HARDEN_H
#define MW_HARDEN_H

#include "common.h"
#include "harden/record.h"

struct mw_heap;
struct mw_span;

/* What a report or a check knows of the block at or around an address. */
enum mw_hd_kind { MW_HD_SLAB, MW_HD_REGION, MW_HD_HUGE, MW_HD_ZERO, MW_HD_SAMPLE, MW_HD_LARGE };
struct mw_hd_block {
    char *p; /* the block's start */
    enum mw_hd_kind kind;
    struct mw_hrec *rec;  /* its record (NULL: none known) */
    struct mw_lrec *lrec; /* for blocks outside slabs */
    size_t size;          /* bytes the program asked for */
    size_t cap;           /* bytes of its slot, region or mapping */
    struct mw_span *span; /* slab blocks; large spans' (NULL once the span went back) */
    uint32_t slot;        /* slab blocks: index in the span */
    ptrdiff_t alias;      /* found through an alias of a meshed span: p minus that address */
};

/* Whether the program's pointer p is the start of b (directly or through an alias). */
mw_inline bool mw_hd_starts(const struct mw_hd_block *b, const void *p) {
    return b->p - b->alias == (const char *)p;
}

#if MW_HARDENED
/* A zeroed block of size bytes aligned to align (0: default), allocated the way `how`
 * says, recorded at ip; NULL and errno on failure. */
void *mw_hd_alloc(struct mw_heap *h, size_t size, size_t align, unsigned how, void *ip);
/* Frees p after every check. how: the deallocation function's family (MW_HOW_ANY skips
 * that check); sized: the size passed to free_sized or sized delete, 0 when none. */
void mw_hd_free(void *p, unsigned how, size_t sized, void *ip);
/* Reports the double free of slab block p that a free of family how found racing it (the
 * fast path's checks passed, another free moved the record first). */
void mw_hd_free_raced(void *p, unsigned how);
/* realloc with checks; old_size receives the block's size (for the trace). */
void *mw_hd_realloc(struct mw_heap *h, void *p, size_t size, void *ip);
/* malloc_usable_size: the requested size of a live block (a report otherwise). */
size_t mw_hd_usable(const void *p, void *ip);
/* The requested size of a live block, 0 for anything else, without reporting. */
size_t mw_hd_size_of(const void *p);
/* Frees a large block of a destroyed first-class heap: no checks, straight back. */
void mw_hd_release_large(void *p);
/* Lower-layer hooks: a span was carved (records, keys); slots [from, from + n) of s are
 * about to be built (zeroed, canaries written). */
void mw_hd_span_init(struct mw_span *s);
void mw_hd_span_extend(struct mw_span *s, uint32_t from, uint32_t n);
/* Span s goes back to the arena: a write into any of its freed slots is reported now (its
 * slots are not checked again before they are carved anew). */
void mw_hd_span_release(struct mw_span *s);
/* The calling thread is exiting with heap h: its quarantine goes back. */
void mw_hd_thread_exit(struct mw_heap *h);
/* Start-up (after the arena exists): secrets, the fault handler. */
void mw_hd_init(void);
/* The block a fault at addr (on a guard page or a zero-size block) concerns. */
bool mw_hd_locate_fault(const void *addr, struct mw_hd_block *out);
#endif

#endif
