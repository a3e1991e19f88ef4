/* harden/check.c — mw_heap_check, the check at exit and the last check of a span going
 * back to the arena: every block the calling thread's heap holds is checked by its state
 * (live: canaries; quarantined or free: still zero), and so is every block in its quarantine. Other
 * threads' heaps are left alone: their owners change them without locks. The production library
 * checks nothing and returns 0. */
#include "harden/blocks.h"
#include "harden/locate.h"
#include "harden/quarantine.h"
#include "harden/report.h"
#include "heap.h"
#include "init.h"
#include "thread.h"

#include <meshward.h>

#if MW_HARDENED

static bool check_block(struct mw_hd_block *b) {
    switch (mw_rec_state(atomic_load_explicit(&b->rec->state, memory_order_acquire))) {
    case MW_HS_LIVE:
        return mw_hd_canaries_ok(b, mw_vg_hooked());
    case MW_HS_QUARANTINED:
        return mw_hd_still_clean(b);
    case MW_HS_FREED:
        return b->kind != MW_HD_SLAB || mw_hd_slot_fresh(b, mw_vg_hooked());
    default:
        return true;
    }
}

/* Checks the slots of s handed out since it was carved (all, or only the freed ones). */
static unsigned check_span(struct mw_span *s, bool freed_only) {
    unsigned bad = 0;
    for (uint32_t i = 1; s->records && i < s->built; i++) {
        if (freed_only && mw_rec_state(s->records[i].state) != MW_HS_FREED) continue;
        struct mw_hd_block b;
        if (mw_hd_locate(s->start + (size_t)i * s->block_size, &b) && b.rec)
            bad += !check_block(&b);
    }
    return bad;
}

void mw_hd_span_release(struct mw_span *s) {
    check_span(s, true);
    if (s->used && !atomic_load_explicit(&mw_rec_stale, memory_order_relaxed))
        atomic_store(&mw_rec_stale, true); /* its quarantined blocks may come round again */
}

static unsigned check_list(struct mw_span *s) {
    unsigned bad = 0;
    for (; s; s = s->next)
        bad += check_span(s, false);
    return bad;
}

static unsigned check_quarantined(void *p) {
    struct mw_hd_block b;
    return mw_hd_locate(p, &b) && b.rec && mw_hd_starts(&b, p) && !check_block(&b);
}

MW_API int mw_heap_check(void) {
    struct mw_heap *h = mw_tls_heap;
    if (h == &mw_heap_empty) return 0;
    unsigned bad = check_list(h->full.first);
    for (unsigned c = 0; c < MW_CLASS_COUNT; c++)
        bad += check_list(h->queue[c].first);
    return (int)(bad + mw_quarantine_each(check_quarantined));
}

#else

MW_API int mw_heap_check(void) {
    return 0;
}

#endif
