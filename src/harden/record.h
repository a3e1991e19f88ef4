/* harden/record.h — what the hardened build knows about every block, kept out of line where
 * the program cannot overwrite it: its state (the truth for double and invalid frees), the
 * size the program asked for (where its canary lies), how it was allocated (malloc, new,
 * new[]: mismatched frees) and its history (call site and thread of the allocation and of
 * the free, under the short names of sites.h: 16 bytes a record), printed by every report
 * about the block.
 *
 * Slab blocks: one record per slot, in an array attached to the span descriptor, sized for
 * its class and reset when the span is carved again. Everything else (regions, huge
 * objects, zero-size and sampled blocks): a fixed open-addressing table keyed by address,
 * whose entries are never removed (an address reused gets its entry back), so the history
 * of a freed large block stays until its address is handed out again.
 *
 * State changes: LIVE is set by the allocating thread before the block is returned; LIVE ->
 * QUARANTINED by the one free that wins a compare-and-swap (a racing second free loses and
 * is a double free; while the process has had one thread, a plain store: nothing races);
 * QUARANTINED -> FREED when the quarantine lets the block go back to its span or pool: a plain
 * store, since only the quarantine that holds a block moves it on, until a span goes back to
 * the arena with blocks still quarantined (mw_rec_stale), after which a quarantine may hold a
 * stale entry (quarantine.h) racing with the one that holds the block now, and the move is a
 * compare-and-swap; NEVER for a slot not handed out since its span was carved. */
#ifndef MW_HARDEN_RECORD_H
#define MW_HARDEN_RECORD_H

#include "common.h"
#include "harden/sites.h"

#include <stdatomic.h>

enum mw_hstate { MW_HS_NEVER = 0, MW_HS_LIVE, MW_HS_QUARANTINED, MW_HS_FREED };
enum mw_how { MW_HOW_MALLOC = 0, MW_HOW_NEW, MW_HOW_NEW_ARRAY, MW_HOW_ANY };

/* The history bits of either word: a site id (bits 0-31) and a thread number (32-47). */
#define MW_REC_HISTORY_MASK (((uint64_t)1 << 48) - 1)

struct mw_hrec {
    uint64_t alloc;         /* allocation: history (bits 0-47) | slab size (48-63) */
    _Atomic uint64_t state; /* free: history (0-47) | how (48-55) | state (56-63) */
};

struct mw_lrec {           /* a block that is not in a slab */
    _Atomic uintptr_t key; /* ~block address (not a pointer to memcheck); 0: empty */
    uint64_t size;         /* requested size */
    uint64_t guarded;      /* region: the class size whose guard page is in place */
    struct mw_hrec h;
};

mw_inline uint64_t mw_rec_word(uint64_t history, unsigned how, enum mw_hstate st) {
    return history | (uint64_t)how << 48 | (uint64_t)st << 56;
}
mw_inline enum mw_hstate mw_rec_state(uint64_t word) {
    return (enum mw_hstate)(word >> 56);
}
mw_inline unsigned mw_rec_how(uint64_t word) {
    return (unsigned)(word >> 48) & 0xff;
}
/* The call site and the thread (its tid; 0: none) a word's history names. */
mw_inline uintptr_t mw_rec_ip(uint64_t word) {
    return mw_site_ip((uint32_t)word);
}
mw_inline uint32_t mw_rec_tid_of(uint64_t word) {
    return mw_rec_thread_tid((uint16_t)(word >> 32));
}
/* Records the allocation of a block of `size` bytes at ip (slab records keep the size). */
mw_inline void mw_rec_set_live(struct mw_hrec *r, size_t size, unsigned how, void *ip) {
    r->alloc = mw_site_history(ip) | (uint64_t)(size & 0xffff) << 48;
    atomic_store_explicit(&r->state, mw_rec_word(0, how, MW_HS_LIVE), memory_order_release);
}
/* A state change from seen to next that only one caller may win: a compare-and-swap once a
 * second thread has run, a plain store before (nothing else can change the state then). */
mw_inline bool mw_rec_move(struct mw_hrec *r, uint64_t seen, uint64_t next) {
    if (!atomic_load_explicit(&mw_rec_threaded, memory_order_relaxed)) {
        atomic_store_explicit(&r->state, next, memory_order_release);
        return true;
    }
    return atomic_compare_exchange_strong_explicit(&r->state, &seen, next, memory_order_acq_rel,
                                                   memory_order_relaxed);
}
/* LIVE -> QUARANTINED with the free's history; false when the block was not live (the
 * caller reports). */
mw_inline bool mw_rec_set_freed(struct mw_hrec *r, uint64_t seen, void *ip) {
    if (mw_rec_state(seen) != MW_HS_LIVE) return false;
    /* the history first: a thread's first record notices that a second thread runs */
    uint64_t next = mw_rec_word(mw_site_history(ip), mw_rec_how(seen), MW_HS_QUARANTINED);
    return mw_rec_move(r, seen, next);
}
/* Set for good when a span goes back to the arena with blocks in it (a heap destroyed or
 * reset with its blocks, mw_hd_span_release): from then on a quarantine may hold a stale
 * entry. Whoever reads a state word written after the span was carved again reads it set
 * (the arena's lock orders the two). */
MW_HIDDEN extern _Atomic bool mw_rec_stale;
/* QUARANTINED -> FREED, from seen (the state word as last read); false when someone else
 * moved it on first. A stale quarantine entry (quarantine.h) may race with the one that
 * holds the block now, and only one of them may hand it back; without stale entries only
 * the caller moves a quarantined block on. */
mw_inline bool mw_rec_release_from(struct mw_hrec *r, uint64_t seen) {
    if (mw_rec_state(seen) != MW_HS_QUARANTINED) return false;
    uint64_t next = (seen & ~((uint64_t)0xff << 56)) | (uint64_t)MW_HS_FREED << 56;
    if (mw_likely(!atomic_load_explicit(&mw_rec_stale, memory_order_relaxed))) {
        atomic_store_explicit(&r->state, next, memory_order_release);
        return true;
    }
    return mw_rec_move(r, seen, next);
}
mw_inline bool mw_rec_release(struct mw_hrec *r) {
    return mw_rec_release_from(r, atomic_load_explicit(&r->state, memory_order_acquire));
}

struct mw_span;
/* Gives span s (just carved for its class) zeroed records. */
void mw_rec_span_init(struct mw_span *s);
/* s was meshed away: its records (copied to its kept span) go back to their pool. */
void mw_rec_span_drop(struct mw_span *s);
/* The record of large block p; NULL when p has none (create: makes one, NULL only when the
 * table is full). */
struct mw_lrec *mw_rec_large(const void *p, bool create);
/* A forked child's thread: a new tid, a new number, no second thread yet (sites.c). */
void mw_rec_fork_child(void);

#endif
