/* harden/quarantine.h — freed blocks wait here before they go back to their span or pool
 * (hardened build): per thread, a FIFO of at most MESHWARD_QUARANTINE bytes of slots (and
 * MW_QUARANTINE_SLOTS blocks), and always at least the last block freed, so a freed block is
 * never the next one handed out for its size. A block leaves checked: still zero (`write
 * after free`) and with its canary intact.
 *
 * A quarantined block is QUARANTINED in its record; leaving, it must still be (a span
 * released with its live blocks by mw_heap_destroy may have been carved again: its slots'
 * records were reset, and the stale entry is dropped). */
#ifndef MW_HARDEN_QUARANTINE_H
#define MW_HARDEN_QUARANTINE_H

#include "harden/harden.h"

#include "options.h"

#define MW_QUARANTINE_SLOTS 1024

/* A ring of the blocks waiting, oldest at head, with the bytes each keeps from reuse. */
struct mw_quarantine {
    void *block[MW_QUARANTINE_SLOTS];
    size_t bytes[MW_QUARANTINE_SLOTS];
    unsigned head, count;
    size_t total;
    uint64_t checks; /* made by its thread's free fast path and releases (statistics) */
};

/* Adds the freed block b (its record QUARANTINED, its memory zeroed) to the calling thread's
 * quarantine, releasing the oldest blocks beyond the limits. */
void mw_quarantine_push(const struct mw_hd_block *b);
/* Whether a block of `bytes` more would take q past its limits (the last block freed always
 * stays). */
mw_inline bool mw_quarantine_over(const struct mw_quarantine *q, size_t bytes) {
    size_t limit = (size_t)mw_option_now(MW_OPTION_QUARANTINE);
    return q->count == MW_QUARANTINE_SLOTS || (q->count && q->total + bytes > limit);
}
/* Releases the oldest blocks of q until a block of `bytes` more fits its limits. */
void mw_quarantine_make_room(struct mw_quarantine *q, size_t bytes);
/* The same as mw_quarantine_push, for a block at p whose slot or region is `bytes` long, into
 * q, the calling thread's quarantine (the hot path's form: harden/fast.h). */
mw_inline void mw_quarantine_put(struct mw_quarantine *q, void *p, size_t bytes) {
    if (mw_quarantine_over(q, bytes)) mw_quarantine_make_room(q, bytes);
    unsigned tail = (q->head + q->count) & (MW_QUARANTINE_SLOTS - 1);
    q->block[tail] = p;
    q->bytes[tail] = bytes;
    q->count++;
    q->total += bytes;
}
/* Releases every block of the quarantine of heap h (thread exit). */
void mw_quarantine_flush(struct mw_heap *h);
/* Adds the blocks waiting in q, the bytes of their slots and the checks counted in q to
 * st's quarantined_blocks, quarantined_bytes and checks. */
struct mw_stats;
void mw_quarantine_count(const struct mw_quarantine *q, struct mw_stats *st);
/* Calls fn on every block waiting in the calling thread's quarantine; returns the sum of
 * what fn returned. */
unsigned mw_quarantine_each(unsigned (*fn)(void *p));

#endif
