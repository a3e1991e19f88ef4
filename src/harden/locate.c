/* harden/locate.c — from any address to the block at or just before it, with its record:
 * what free, realloc and every report need. The address decides the kind (DESIGN.md)
 * before any metadata is read; nothing written in block memory is trusted. */
#include "harden/locate.h"

#include "harden/sample.h"
#include "harden/zero.h"
#include "huge.h"
#include "os.h"
#include "region/region.h"

#if MW_HARDENED

/* addr in the reserved range or a managed arena (arena.h). */
static bool locate_slab(const char *addr, struct mw_hd_block *b) {
    struct mw_span *s = mw_arena_span_of_any(addr);
    if (!s || !s->records) return mw_hd_locate_unrecorded(s, addr, b);
    mw_hd_slab_block(s, addr, b);
    return true;
}

static void from_lrec(struct mw_hd_block *b, enum mw_hd_kind kind, char *start, size_t cap) {
    b->kind = kind;
    b->p = start;
    b->cap = cap;
    b->lrec = mw_rec_large(start, false);
    b->rec = b->lrec ? &b->lrec->h : NULL;
    b->size = b->lrec ? b->lrec->size : 0;
}

/* The block of large span s, or (s NULL: no span in use there) the large block freed at
 * addr whose span went back, found by its record: a later free of it is a double free. */
static bool locate_large(struct mw_span *s, const char *addr, struct mw_hd_block *b) {
    *b = (struct mw_hd_block){.span = s};
    if (s) {
        from_lrec(b, MW_HD_LARGE, s->start, mw_span_bytes(s));
        return true;
    }
    struct mw_lrec *r = mw_rec_large(addr, false);
    if (r) from_lrec(b, MW_HD_LARGE, (char *)addr, r->guarded);
    return r != NULL;
}

bool mw_hd_locate_unrecorded(struct mw_span *s, const char *addr, struct mw_hd_block *b) {
    if (!s || mw_span_is_large(s)) return locate_large(s, addr, b);
    struct mw_span *kept = s->mesh_into;
    if (!kept) return false;
    mw_hd_slab_block(kept, kept->start + (addr - s->start), b);
    b->alias = kept->start - s->start;
    return true;
}

bool mw_hd_locate_other(const void *addr, struct mw_hd_block *b) {
    *b = (struct mw_hd_block){0};
    const char *a = addr;
    if (mw_arena_managed_slot(a)) return locate_slab(a, b);
    if (mw_region_owns(a)) {
        char *start = mw_region_start_of(a);
        if (!start) return false;
        from_lrec(b, MW_HD_REGION, start, mw_region_usable_size(start));
        return true;
    }
    if (mw_huge_owns(a)) {
        char *start = mw_huge_start_of(a);
        if (start) {
            from_lrec(b, MW_HD_HUGE, start, mw_huge_usable_size(start));
            return true;
        }
        from_lrec(b, MW_HD_HUGE, (char *)a, 0); /* a huge block freed and unmapped? */
        b->cap = b->lrec ? b->lrec->guarded : 0;
        return b->lrec != NULL;
    }
    if (mw_zero_owns(a)) {
        from_lrec(b, MW_HD_ZERO, (char *)((uintptr_t)a & ~(uintptr_t)(MW_MIN_ALIGN - 1)), 0);
        return true;
    }
    return mw_sample_locate(a, b);
}

/* ---- the block a fault on a guard page belongs to ---------------------------------- */

static bool is_live(const struct mw_hd_block *b) {
    return b->rec && mw_rec_state(b->rec->state) == MW_HS_LIVE;
}

/* The highest live block of span s, else its last slot: a linear overflow that reached the
 * guard above s most likely started there. */
static bool last_live(struct mw_span *s, struct mw_hd_block *b) {
    for (uint32_t i = s->built; i-- > 1;)
        if (mw_rec_state(s->records[i].state) == MW_HS_LIVE)
            return locate_slab(s->start + (size_t)i * s->block_size, b);
    return locate_slab(s->start + (size_t)(s->capacity - 1) * s->block_size, b);
}

/* A large span's guard page or freed block: its block. A slab guard page (in the reserved
 * range or a managed arena): the nearest span below it (within its group), else slot 1 of
 * the span just above it (an underflow). */
static bool fault_slab(const char *a, struct mw_hd_block *b) {
    struct mw_span *large = mw_arena_span_of_any(a);
    if (large && mw_span_is_large(large)) return locate_large(large, a, b);
    const char *page = (const char *)((uintptr_t)a & ~(uintptr_t)(MW_PAGE_SIZE - 1));
    for (unsigned i = 1; i <= 64; i++) {
        struct mw_span *s = mw_arena_span_of_any(page - (size_t)i * MW_PAGE_SIZE);
        if (s && s->records) return last_live(s, b);
    }
    struct mw_span *s = mw_arena_span_of_any(page + MW_PAGE_SIZE);
    return s && locate_slab(s->start + s->block_size, b);
}

/* A region's last page guards its end and the start of the next region. */
static bool fault_region(const char *a, struct mw_hd_block *b) {
    if (!mw_hd_locate(a, b)) return false;
    struct mw_hd_block next;
    if ((size_t)(a - b->p) < b->cap - MW_PAGE_SIZE || !mw_hd_locate(b->p + b->cap, &next) ||
        !is_live(&next))
        return true;
    if (!is_live(b) || (size_t)(next.p - a) < (size_t)(a - (b->p + b->size))) *b = next;
    return true;
}

/* Huge: the object whose mapping holds a, or the one starting in the next granule (an
 * underflow), or a freed object whose granules were given back. */
static bool fault_huge(const char *a, struct mw_hd_block *b) {
    if (mw_hd_locate(a, b)) return true;
    const size_t granule = (size_t)2 << 20;
    char *next = (char *)mw_align_up((uintptr_t)a, granule);
    if (next - a <= (ptrdiff_t)MW_PAGE_SIZE && mw_hd_locate(next, b) && b->p == next) return true;
    for (char *g = (char *)((uintptr_t)a & ~(granule - 1)); mw_huge_owns(g); g -= granule) {
        struct mw_lrec *r = mw_rec_large(g, false);
        if (!r) continue;
        if ((size_t)(a - g) >= r->guarded) return false;
        *b = (struct mw_hd_block){.p = g,
                                  .kind = MW_HD_HUGE,
                                  .rec = &r->h,
                                  .lrec = r,
                                  .size = r->size,
                                  .cap = r->guarded};
        return true;
    }
    return false;
}

bool mw_hd_locate_fault(const void *addr, struct mw_hd_block *b) {
    const char *a = addr;
    *b = (struct mw_hd_block){0};
    if (mw_arena_map_slot(a)) return fault_slab(a, b);
    if (mw_region_owns(a)) return fault_region(a, b);
    if (mw_region_owns(a + MW_PAGE_SIZE)) return mw_hd_locate(a + MW_PAGE_SIZE, b); /* below */
    if (mw_huge_owns(a)) return fault_huge(a, b);
    return mw_zero_owns(a) && mw_hd_locate(a, b);
}

#endif
