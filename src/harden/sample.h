/* harden/sample.h — sampled guard allocations (GWP-ASan's idea), in both builds. With
 * MESHWARD_GUARD_SAMPLE=N (read at start-up; 0 turns it off, the production default), about
 * one allocation in N of at most MW_SAMPLE_MAX bytes gets a page of its own, right-aligned
 * against a PROT_NONE guard page, from a fixed pool of MW_SAMPLE_SLOTS slots: an overflow
 * faults at the faulting instruction. On free the page is protected and given back, so any
 * later use faults too, until the slot comes round again (slots are reused oldest first).
 * The fault handler (fault.h) reports both with the block's allocation and free history. */
#ifndef MW_HARDEN_SAMPLE_H
#define MW_HARDEN_SAMPLE_H

#include "harden/verdict.h"
#include "os.h"

#define MW_SAMPLE_SLOTS 512
#define MW_SAMPLE_MAX (4096 - 64)

#define MW_SAMPLE_SLOT_BYTES (2 * MW_PAGE_SIZE) /* [data][guard] */
#define MW_SAMPLE_BYTES ((size_t)MW_SAMPLE_SLOTS * MW_SAMPLE_SLOT_BYTES)

MW_HIDDEN extern int mw_sample_rate; /* N, or 0: off */
MW_HIDDEN extern char *mw_sample_base;
MW_HIDDEN extern __thread uint32_t mw_sample_countdown; /* allocations until the next sample */

void mw_sample_init(void); /* reads the option (off under valgrind) */
bool mw_sample_tick_slow(void);
/* True for the one allocation in about N to sample (only called while sampling is on). */
mw_inline bool mw_sample_tick(void) {
    if (mw_likely(mw_sample_countdown > 1)) {
        mw_sample_countdown--;
        return false;
    }
    return mw_sample_tick_slow();
}
/* A sampled block of size bytes, recorded; NULL when size does not qualify or the pool is
 * exhausted (the caller allocates normally). */
void *mw_sample_alloc(size_t size, size_t align, unsigned how, void *ip);
mw_inline bool mw_sample_owns(const void *p) {
    return (uintptr_t)p - (uintptr_t)mw_sample_base < MW_SAMPLE_BYTES;
}
/* Frees a pointer that mw_sample_owns: checks (double, invalid, mismatched free, overflow
 * into the page before the block), then protects the page. */
void mw_sample_free(void *p, enum mw_op op, void *ip);
size_t mw_sample_size(const void *p); /* requested size of a live sampled block, else 0 */
/* realloc of a pointer that mw_sample_owns to size (> 0) bytes: a block from alloc(h, size,
 * ip) receives the contents, then p is freed; NULL when alloc fails (p stays) or when p is
 * no live sampled block (reported, errno EINVAL). */
struct mw_heap;
void *mw_sample_realloc(struct mw_heap *h, void *p, size_t size, void *ip,
                        void *(*alloc)(struct mw_heap *h, size_t size, void *ip));
bool mw_sample_locate(const void *addr, struct mw_hd_block *b);

#endif
