/* harden/links.c — the out-of-line half of encoded links (see links.h): decoding the heap's
 * delayed list, whose links cross spans, and the report of a link that decodes to garbage. */
#include "arena/arena.h"
#include "harden/locate.h"
#include "harden/report.h"

#if MW_HARDENED
void mw_hd_bad_link(const struct mw_span *s, const void *block, const void *decoded) {
    struct mw_hd_block b;
    bool found = mw_hd_locate(block, &b);
    struct mw_line l = {.len = 0};
    mw_line_str(&l, "the link in the free ");
    mw_line_u64(&l, s->block_size);
    mw_line_str(&l, "-byte slot at ");
    mw_line_hex(&l, (uintptr_t)block);
    mw_line_str(&l, " decodes to ");
    mw_line_hex(&l, (uintptr_t)decoded);
    mw_line_str(&l, ", which is not a slot of its span: the slot was written after its ");
    mw_line_u64(&l, found ? b.size : 0);
    mw_line_str(&l, "-byte block was freed (slab class ");
    mw_line_u64(&l, s->block_size);
    mw_line_str(&l, ", span ");
    mw_line_hex(&l, (uintptr_t)s->start);
    mw_line_str(&l, ")");
    mw_hd_report("free list corrupted", block, &l, found ? &b : NULL, false);
}

mw_block_t *mw_block_next_any(const struct mw_span *s, const mw_block_t *b) {
    mw_block_t *next = mw_link_decode(s, b, false);
    if (!next) return NULL;
    const struct mw_span *ns = mw_arena_span_of_any(next);
    if (mw_unlikely(!ns || !mw_span_has_slot(ns, next))) {
        mw_hd_bad_link(s, b, next);
        return NULL;
    }
    return next;
}
#endif
