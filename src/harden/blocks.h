/* harden/blocks.h — the memory checks of each kind of block (hardened build), shared by
 * allocation, free, the quarantine and mw_heap_check: the layouts are in harden.h. Each
 * check reports what it finds and returns false. */
#ifndef MW_HARDEN_BLOCKS_H
#define MW_HARDEN_BLOCKS_H

#include "harden/harden.h"

/* A live block: its canaries (after it, and before it for slabs) are intact. */
bool mw_hd_canaries_ok(const struct mw_hd_block *b);
/* A quarantined block: zero everywhere the program could write, canaries intact. */
bool mw_hd_still_clean(const struct mw_hd_block *b);
/* A quarantined block about to go back to its span or pool: for a slab block, just the
 * word its free-list link will overwrite (the rest is checked when the slot is handed out
 * again, or at exit); other blocks in full. */
bool mw_hd_link_word_clean(const struct mw_hd_block *b);
/* A free slab slot about to be handed out: zero after its link word, canary intact. */
bool mw_hd_slot_fresh(const struct mw_hd_block *b);
/* Zeroes a block the program just freed (slab: [0, size); large: with its canary). */
void mw_hd_scrub(const struct mw_hd_block *b);
/* Hands a block whose quarantine is over back to its span or pool. */
void mw_hd_give_back(const struct mw_hd_block *b);

#endif
