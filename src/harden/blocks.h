/* harden/blocks.h — the memory checks of each kind of block (hardened build), shared by
 * allocation, free, the quarantine and mw_heap_check: the layouts are in harden.h. Each
 * check reports what it finds and returns false. */
#ifndef MW_HARDEN_BLOCKS_H
#define MW_HARDEN_BLOCKS_H

#include "harden/canary.h"
#include "harden/harden.h"
#include "harden/report.h"
#include "mw_valgrind.h"

/* Each check below has an inline fast answer for the common case (a slab block, all well,
 * memcheck away) and an out-of-line exact one that handles every kind and reports. Under
 * memcheck the canaries and freed blocks are unaddressable and memcheck reports faulty
 * accesses itself, when they happen: the exact checks then stand aside. vg: whether
 * memcheck may be watching — mw_vg_hooked(), or a constant where the caller tested it once
 * (the hot paths, harden/api.c), so that their common case carries no valgrind test. */

/* A live block: its canaries (after it, and before it for slabs) are intact. */
bool mw_hd_canaries_exact(const struct mw_hd_block *b);
mw_inline bool mw_hd_canaries_ok(const struct mw_hd_block *b, bool vg) {
    mw_hd_count_check();
    if (mw_likely(b->kind == MW_HD_SLAB && !vg)) {
        const char *end = b->p + b->cap - MW_CANARY_SIZE, *tail = b->p + b->size;
        if (mw_likely(mw_canary_ok(end) && mw_canary_ok(b->p - MW_CANARY_SIZE) &&
                      mw_bytes_zero(tail, (size_t)(end - tail))))
            return true;
    }
    return mw_hd_canaries_exact(b);
}
/* A quarantined block: zero everywhere the program could write, canaries intact (large
 * regions and huge blocks are protected while freed: nothing can write). */
bool mw_hd_still_clean(const struct mw_hd_block *b);
/* A freed region about to be handed out again at the same address and class: readable and
 * writable again, or checked still clean. */
bool mw_hd_region_reopen(const struct mw_hd_block *b);
/* A quarantined block about to go back to its span or pool: for a slab block, just the
 * word its free-list link will overwrite (the rest is checked when the slot is handed out
 * again, or at exit); other blocks in full. */
bool mw_hd_link_word_exact(const struct mw_hd_block *b);
mw_inline bool mw_hd_link_word_clean(const struct mw_hd_block *b, bool vg) {
    if (mw_likely(b->kind == MW_HD_SLAB && !vg && mw_word_at(b->p) == 0)) {
        mw_hd_count_check();
        return true;
    }
    return mw_hd_link_word_exact(b);
}
/* A free slab slot about to be handed out: zero after its link word, canary intact. */
bool mw_hd_slot_fresh_exact(const struct mw_hd_block *b);
mw_inline bool mw_hd_slot_fresh(const struct mw_hd_block *b, bool vg) {
    if (mw_likely(!vg && mw_canary_ok(b->p + b->cap - MW_CANARY_SIZE) &&
                  mw_words_zero(b->p + 8, b->cap - 2 * MW_CANARY_SIZE))) {
        mw_hd_count_check();
        return true;
    }
    return mw_hd_slot_fresh_exact(b);
}
/* Zeroes a block the program just freed (slab: [0, size); large: with its canary). */
void mw_hd_scrub_exact(const struct mw_hd_block *b);
mw_inline void mw_hd_scrub(const struct mw_hd_block *b, bool vg) {
    /* a slab block's slack up to the next word is zero already (checked at free) */
    if (mw_likely(b->kind == MW_HD_SLAB && !vg))
        memset(b->p, 0, mw_align_up(b->size, 8));
    else
        mw_hd_scrub_exact(b);
}
/* Hands a block whose quarantine is over back to its span or pool. */
void mw_hd_give_back(const struct mw_hd_block *b);

#endif
