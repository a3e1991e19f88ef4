/* harden/quarantine.c — the per-thread quarantine (see quarantine.h). It hangs off the
 * thread's heap, in metadata; only that thread touches it. */
#include "harden/quarantine.h"

#include "api_fast.h"

#include "harden/blocks.h"
#include "harden/locate.h"
#include "heap.h"
#include "meta.h"
#include "options.h"
#include "thread.h"

#include <meshward.h>

#if MW_HARDENED

static struct mw_pool pool = MW_POOL_INIT(struct mw_quarantine);
void mw_quarantine_count(const struct mw_quarantine *q, struct mw_stats *st) {
    if (!q) return;
    st->quarantined_blocks += q->count; /* read racily by statistics: a snapshot */
    st->quarantined_bytes += q->total;
    st->checks += q->checks;
}

/* A slab block of the arena's fast range (free.c) whose slot the page map names: one whose
 * link word is still zero goes straight back to its span (the rest of it is checked when it
 * is handed out again, or at exit), the check counted in q (NULL: no quarantine). True when
 * done; false: release it in full. */
static bool release_slab(struct mw_quarantine *q, void *p) {
    struct mw_span *s;
    uint32_t i;
    if (!mw_hd_fast_slot(p, &s, &i)) return false;
    uint64_t st = atomic_load_explicit(&s->records[i].state, memory_order_acquire);
    if (mw_rec_state(st) != MW_HS_QUARANTINED) return true; /* stale: see the header */
    if (mw_word_at(p) != 0) return false;                   /* written: the full path reports */
    if (mw_likely(q != NULL))
        q->checks++;
    else
        mw_hd_count_check();
    if (mw_rec_release_from(&s->records[i], st)) mw_free_slot_in(p, s, true);
    return true;
}

static void release(struct mw_quarantine *q, void *p) {
    if (mw_likely(release_slab(q, p))) return;
    struct mw_hd_block b;
    if (!mw_hd_locate(p, &b) || !mw_hd_starts(&b, p) || !b.rec) return;
    if (mw_rec_state(b.rec->state) != MW_HS_QUARANTINED) return; /* stale: see the header */
    if (!mw_hd_link_word_clean(&b, mw_vg_hooked())) return;      /* reported; it leaks */
    if (mw_rec_release(b.rec)) mw_hd_give_back(&b);
}

#define MASK (MW_QUARANTINE_SLOTS - 1)
_Static_assert((MW_QUARANTINE_SLOTS & MASK) == 0, "a power of two");

static void pop_oldest(struct mw_quarantine *q) {
    void *p = q->block[q->head];
    q->total -= q->bytes[q->head];
    q->head = (q->head + 1) & MASK;
    q->count--;
    if (q->count) __builtin_prefetch(q->block[q->head]); /* the next to go, at the next free */
    release(q, p);
}

static struct mw_quarantine *of_thread(void) {
    struct mw_heap *h = mw_tls_heap;
    if (mw_likely(h->quarantine != NULL)) return h->quarantine;
    h = mw_thread_heap();
    if (h == &mw_heap_empty) return NULL;
    if (!h->quarantine) h->quarantine = mw_pool_alloc(&pool);
    return h->quarantine;
}

void mw_quarantine_make_room(struct mw_quarantine *q, size_t bytes) {
    while (mw_quarantine_over(q, bytes))
        pop_oldest(q);
}

void mw_quarantine_push(const struct mw_hd_block *b) {
    struct mw_quarantine *q = of_thread();
    if (!q) { /* no heap, no metadata: no delay, but still checked */
        release(NULL, b->p);
        return;
    }
    mw_quarantine_put(q, b->p, b->cap ? b->cap : 1); /* what it keeps from reuse */
}

void mw_quarantine_flush(struct mw_heap *h) {
    struct mw_quarantine *q = h->quarantine;
    while (q && q->count)
        pop_oldest(q);
}

unsigned mw_quarantine_each(unsigned (*fn)(void *p)) {
    struct mw_quarantine *q = mw_tls_heap->quarantine;
    unsigned sum = 0;
    for (unsigned i = 0; q && i < q->count; i++)
        sum += fn(q->block[(q->head + i) & MASK]);
    return sum;
}

#endif
