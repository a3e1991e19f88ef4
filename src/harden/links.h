/* harden/links.h — encoded free-list links (hardened build only; included by span.h).
 *
 * A link stored in a free block is rotl(next ^ key0 ^ &link, key1 & 63): two random keys per
 * span and the link's own address, so a link copied from elsewhere or written by the program
 * decodes to garbage. Every decoded link must name a built slot of the span (or NULL):
 * anything else is `free list corrupted`, reported before the link is followed. */
#ifndef MW_HARDEN_LINKS_H
#define MW_HARDEN_LINKS_H

/* Reports a link that decodes outside its span; returns only in report mode (the rest of
 * the list is dropped: its blocks leak, nothing is handed out twice). */
void mw_hd_bad_link(const struct mw_span *s, const void *block, const void *decoded);

mw_inline uintptr_t mw_link_rotl(uintptr_t x, unsigned r) {
    return (x << r) | (x >> ((64 - r) & 63));
}
mw_inline uintptr_t mw_link_rotr(uintptr_t x, unsigned r) {
    return (x >> r) | (x << ((64 - r) & 63));
}
/* unhooked: as for mw_link_get (span.h). */
mw_inline mw_block_t *mw_link_decode(const struct mw_span *s, const mw_block_t *b, bool unhooked) {
    uintptr_t raw = mw_link_get(b, unhooked);
    return (mw_block_t *)(mw_link_rotr(raw, s->key[1] & 63) ^ s->key[0] ^ (uintptr_t)b);
}
mw_inline mw_block_t *mw_block_next_as(const struct mw_span *s, const mw_block_t *b,
                                       bool unhooked) {
    mw_block_t *next = mw_link_decode(s, b, unhooked);
    if (mw_unlikely(next && !mw_span_has_slot(s, next))) {
        mw_hd_bad_link(s, b, next);
        return NULL;
    }
    return next;
}
/* A link of the heap's delayed list, which chains blocks of different spans: the decoded
 * link must name a built slot of whatever span holds it (links.c). */
mw_block_t *mw_block_next_any(const struct mw_span *s, const mw_block_t *b);
mw_inline void mw_block_set_next_as(const struct mw_span *s, mw_block_t *b, mw_block_t *next,
                                    bool unhooked) {
    uintptr_t word = mw_link_rotl((uintptr_t)next ^ s->key[0] ^ (uintptr_t)b, s->key[1] & 63);
    mw_link_put(b, word, unhooked);
}

#endif
