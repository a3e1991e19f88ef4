/* harden/locate.h — the inline half of mw_hd_locate (harden.h) for what the hot paths ask
 * most: a slab block, found from its address with one shift, one load and one multiply.
 * The address decides the kind before any metadata is read; nothing written in block
 * memory is trusted. */
#ifndef MW_HARDEN_LOCATE_H
#define MW_HARDEN_LOCATE_H

#include "arena/arena.h"
#include "harden/harden.h"
#include "sizeclass.h"
#include "span.h"

#if MW_HARDENED
/* The slot of span s at or before addr (addr inside s), with its record. */
mw_inline void mw_hd_slab_block(struct mw_span *s, const char *addr, struct mw_hd_block *b) {
    uint32_t i = mw_class_index(s->cls, (size_t)(addr - s->start));
    if (mw_unlikely(i >= s->capacity)) i = s->capacity - 1; /* the tail after the last slot */
    b->kind = MW_HD_SLAB;
    b->span = s;
    b->slot = i;
    b->p = s->start + (size_t)i * s->block_size;
    b->rec = &s->records[i];
    b->lrec = NULL;
    b->alias = 0;
    b->size = (size_t)(b->rec->alloc >> 48);
    b->cap = s->block_size;
}

/* Every kind but slabs (locate.c). */
bool mw_hd_locate_other(const void *addr, struct mw_hd_block *b);
/* An address in the range or a managed arena whose span (s, or NULL) has no records: the
 * block of a large span (arena.h), or of one freed whose record remains (s NULL); an alias
 * of a meshed span (mesh/README.md), whose block is found in its kept span (b->p is there,
 * b->alias says how far); or nothing of ours. Every check then works on the kept span's
 * address, whose canaries they are. */
bool mw_hd_locate_unrecorded(struct mw_span *s, const char *addr, struct mw_hd_block *b);

/* Finds the block at or nearest before addr; false when addr is no memory of ours. */
mw_inline bool mw_hd_locate(const void *addr, struct mw_hd_block *b) {
    const char *a = addr;
    if (mw_likely(mw_arena_owns(a))) {
        struct mw_span *s = mw_arena_span_of(a);
        if (mw_unlikely(!s || !s->records)) return mw_hd_locate_unrecorded(s, a, b);
        mw_hd_slab_block(s, a, b);
        return true;
    }
    return mw_hd_locate_other(addr, b);
}
#endif

#endif
