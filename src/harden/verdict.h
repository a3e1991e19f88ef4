/* harden/verdict.h — the checks every free-like call makes, whatever the block's kind (both
 * builds: sampled blocks use them too): is the pointer the start of a block, is that block
 * live, was it allocated by the family that releases it, and the reports when not. */
#ifndef MW_HARDEN_VERDICT_H
#define MW_HARDEN_VERDICT_H

#include "harden/report.h"

/* The calls that release or inspect blocks, for the reports' wording. */
enum mw_op { MW_OP_FREE, MW_OP_DELETE, MW_OP_DELETE_ARRAY, MW_OP_REALLOC, MW_OP_USABLE };
/* The family a deallocation function expects. */
mw_inline unsigned mw_op_how(enum mw_op op) {
    switch (op) {
    case MW_OP_DELETE:
        return MW_HOW_NEW;
    case MW_OP_DELETE_ARRAY:
        return MW_HOW_NEW_ARRAY;
    case MW_OP_USABLE:
        return MW_HOW_ANY;
    default:
        return MW_HOW_MALLOC;
    }
}

/* p must start the live block b (found by mw_hd_locate, or found is false): true when it
 * does; otherwise reports `invalid free`, `double free` or `invalid realloc` and returns
 * false. Also checks the allocation family (`mismatched free`) when how is not
 * MW_HOW_ANY. *seen receives the state word the caller passes to mw_rec_set_freed. The
 * inline half answers when all is well; the other half reports. */
bool mw_hd_check_live_exact(const void *p, bool found, const struct mw_hd_block *b, enum mw_op op,
                            uint64_t *seen);
mw_inline bool mw_hd_check_live(const void *p, bool found, const struct mw_hd_block *b,
                                enum mw_op op, uint64_t *seen) {
    if (mw_likely(found && b->rec && b->p == (const char *)p)) {
        uint64_t st = atomic_load_explicit(&b->rec->state, memory_order_acquire);
        unsigned want = mw_op_how(op);
        if (mw_likely(mw_rec_state(st) == MW_HS_LIVE &&
                      (want == MW_HOW_ANY || mw_rec_how(st) == want))) {
            mw_hd_count_check();
            *seen = st;
            return true;
        }
    }
    return mw_hd_check_live_exact(p, found, b, op, seen);
}
/* The state changed under us: another free won (a double free). */
void mw_hd_report_race(const void *p, const struct mw_hd_block *b, enum mw_op op);
/* `heap overflow`: damage bytes past the end (after > 0) or before the start of b. */
void mw_hd_report_overflow(const struct mw_hd_block *b, size_t after, size_t before);
/* `write after free`: byte `at` of the freed block b is no longer zero. */
void mw_hd_report_written(const struct mw_hd_block *b, size_t at);

#endif
