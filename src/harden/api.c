/* harden/api.c — the hardened allocation entry points (see harden.h): choosing the inner
 * size that leaves room for canaries and guard pages, arming each block before it is handed
 * out, and the checks of free, realloc and malloc_usable_size. */
#include "harden/harden.h"

#include "alloc.h"
#include "heap_large.h"
#include "huge.h"
#include "harden/blocks.h"
#include "harden/canary.h"
#include "harden/fast.h"
#include "harden/guard.h"
#include "harden/locate.h"
#include "harden/quarantine.h"
#include "harden/sample.h"
#include "harden/verdict.h"
#include "harden/zero.h"
#include "mw_valgrind.h"
#include "os.h"
#include "thread.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#if MW_HARDENED

/* ---- allocation -------------------------------------------------------------------- */

static bool fits_region(size_t size) {
    return size <= MW_REGION_MAX - MW_CANARY_SIZE - MW_PAGE_SIZE;
}
static size_t huge_length(size_t size) {
    return mw_align_up(size + MW_CANARY_SIZE, MW_PAGE_SIZE) + MW_PAGE_SIZE;
}

mw_inline void *core_alloc(struct mw_heap *h, size_t size, size_t align, bool vg) {
    if (mw_hd_fits_slab(size)) {
        size_t inner = mw_hd_slab_inner(size);
        return align <= 8 ? mw_alloc_class(h, mw_class_of(inner), !vg)
                          : mw_alloc_aligned_in(h, align, inner);
    }
    if (align < MW_MIN_ALIGN) align = MW_MIN_ALIGN;
    if (fits_region(size))
        return mw_alloc_large_in(h, size + MW_CANARY_SIZE + MW_PAGE_SIZE, align, false);
    return mw_alloc_large_in(h, huge_length(size), align, false);
}

mw_inline bool arm_slab(struct mw_hd_block *b, bool vg) {
    if (!mw_hd_slot_fresh(b, vg)) return false;
    if (vg) mw_vg_undefined(b->p, sizeof(void *));
    memset(b->p, 0, sizeof(void *)); /* the link word */
    return true;
}

/* Regions, huge mappings and large spans: the canary after the block and the guard page at
 * the end. */
static bool arm_large(struct mw_hd_block *b, size_t size) {
    struct mw_lrec *r = mw_rec_large(b->p, true);
    if (!r) return true; /* table full: the block goes out unrecorded */
    b->lrec = r;
    b->rec = &r->h;
    /* (a region carved at this address for another class comes from a purged area) */
    if (mw_rec_state(r->h.state) == MW_HS_FREED && b->kind == MW_HD_REGION &&
        r->guarded == b->cap && !mw_hd_region_reopen(b))
        return false;
    if (r->guarded != b->cap || b->kind != MW_HD_REGION) { /* kept only across region reuse */
        mw_guard_tail(b->p, b->cap);
        r->guarded = b->cap;
    }
    r->size = size;
    mw_vg_undefined(b->p + size, MW_CANARY_SIZE);
    mw_canary_put(b->p + size);
    return true;
}

static void *zero_block(unsigned how, void *ip) {
    void *p = mw_zero_alloc();
    struct mw_lrec *r = p ? mw_rec_large(p, true) : NULL;
    if (!r) return NULL;
    r->size = 0;
    mw_rec_set_live(&r->h, 0, how, ip);
    mw_vg_alloc(p, 0, 0, false);
    return p;
}

/* vg: memcheck may be watching; a constant in each of the two instantiations below. */
mw_inline void *alloc_as(struct mw_heap *h, size_t size, size_t align, unsigned how, void *ip,
                         bool vg) {
    if (mw_sample_rate && h == mw_tls_heap && mw_sample_tick()) { /* not first-class heaps' */
        void *p = mw_sample_alloc(size, align, how, ip);
        if (p) return p;
    }
    if (size == 0 && align <= MW_MIN_ALIGN) {
        void *p = zero_block(how, ip);
        if (p) return p;
    }
    if (size > SIZE_MAX / 2) {
        errno = ENOMEM;
        return NULL;
    }
    for (;;) {
        void *p = core_alloc(h, size, align, vg);
        if (!p) return NULL;
        struct mw_hd_block b;
        mw_hd_locate(p, &b);
        if (b.kind == MW_HD_SLAB ? arm_slab(&b, vg) : arm_large(&b, size)) {
            if (b.rec) mw_rec_set_live(b.rec, size, how, ip);
            /* the canaries and slack: its redzone; its zeros are no value the program set */
            if (vg) mw_vg_alloc(p, size, b.cap, false);
            return p;
        }
        /* reported (report mode): the damaged block stays out of use; take another */
    }
}

static mw_cold void *alloc_watched(struct mw_heap *h, size_t size, size_t align, unsigned how,
                                   void *ip) {
    return alloc_as(h, size, align, how, ip, true);
}

void *mw_hd_alloc(struct mw_heap *h, size_t size, size_t align, unsigned how, void *ip) {
    if (mw_unlikely(mw_vg_hooked())) return alloc_watched(h, size, align, how, ip);
    return alloc_as(h, size, align, how, ip, false);
}

/* ---- free -------------------------------------------------------------------------- */

/* Classes as the hardened build sizes them: slab class, region class, or huge. */
static unsigned class_of(size_t size) {
    if (mw_hd_fits_slab(size)) return mw_hd_slab_class(size);
    if (fits_region(size))
        return 128 + (unsigned)(64 - __builtin_clzll(size + MW_CANARY_SIZE + MW_PAGE_SIZE - 1));
    return 255;
}

static void report_size_mismatch(const struct mw_hd_block *b, enum mw_op op, size_t sized) {
    struct mw_line l = {.len = 0};
    mw_line_str(&l, op == MW_OP_FREE ? "free_sized(" : "sized delete(");
    mw_line_hex(&l, (uintptr_t)b->p);
    mw_line_str(&l, ", ");
    mw_line_u64(&l, sized);
    mw_line_str(&l, ") of a ");
    mw_line_block(&l, b);
    mw_line_where(&l, b);
    mw_hd_report("size mismatch", b->p, &l, b, false);
}

/* Checks p for release by op; on success its record is QUARANTINED. */
mw_inline bool take(void *p, enum mw_op op, size_t sized, void *ip, struct mw_hd_block *b,
                    bool vg) {
    uint64_t seen;
    if (!mw_hd_check_live(p, mw_hd_locate(p, b), b, op, &seen)) return false;
    if (sized && class_of(sized) != class_of(b->size)) {
        report_size_mismatch(b, op, sized);
        return false;
    }
    if (!mw_hd_canaries_ok(b, vg)) return false;
    /* A first-class heap forgets its large block now: destroying the heap while the block
     * waits in a quarantine must not free it twice. */
    if (b->kind != MW_HD_SLAB && mw_heap_large_any()) mw_heap_large_remove(p);
    mw_hd_scrub(b, vg); /* before the state changes: a QUARANTINED block reads as zero */
    if (mw_rec_set_freed(b->rec, seen, ip)) return true;
    mw_hd_report_race(p, b, op);
    return false;
}

static mw_cold void free_watched(void *p, enum mw_op op, size_t sized, void *ip) {
    mw_vg_free(p); /* first: memcheck reports an invalid or double free itself */
    struct mw_hd_block b;
    if (take(p, op, sized, ip, &b, true)) mw_quarantine_push(&b);
}

/* The deallocation call that expects blocks allocated as `how` says. */
static enum mw_op op_of(unsigned how) {
    return how == MW_HOW_NEW         ? MW_OP_DELETE
           : how == MW_HOW_NEW_ARRAY ? MW_OP_DELETE_ARRAY
                                     : MW_OP_FREE;
}

void mw_hd_free_raced(void *p, unsigned how) {
    struct mw_hd_block b;
    mw_hd_locate(p, &b);
    mw_hd_report_race(p, &b, op_of(how));
}

void mw_hd_free(void *p, unsigned how, size_t sized, void *ip) {
    if (!p) return;
    enum mw_op op = op_of(how);
    if (mw_sample_owns(p)) return mw_sample_free(p, op, ip);
    if (mw_unlikely(mw_vg_hooked())) return free_watched(p, op, sized, ip);
    struct mw_hd_block b;
    if (take(p, op, sized, ip, &b, false)) mw_quarantine_push(&b);
}

void mw_hd_release_large(void *p) {
    struct mw_hd_block b;
    if (!mw_hd_locate(p, &b) || !b.rec) return mw_free_untraced(p);
    uint64_t seen = atomic_load_explicit(&b.rec->state, memory_order_acquire);
    mw_hd_scrub(&b, mw_vg_hooked());
    if (!mw_rec_set_freed(b.rec, seen, NULL)) return;
    mw_rec_release(b.rec);
    mw_hd_give_back(&b);
}

/* ---- realloc and usable size ------------------------------------------------------- */

/* Resizes b in place when the new size keeps it in its class; false otherwise. */
static bool resize_in_place(struct mw_hd_block *b, size_t size) {
    size_t old = b->size;
    if (b->kind == MW_HD_SLAB) {
        if (!mw_hd_fits_slab(size) || mw_hd_slab_inner(size) > b->cap || size < b->cap / 2)
            return false;
        if (size < old) memset(b->p + size, 0, old - size);
        b->rec->alloc = (b->rec->alloc & MW_REC_HISTORY_MASK) | (uint64_t)size << 48;
        mw_vg_resize(b->p, old, size);
        return true;
    }
    size_t need = size + MW_CANARY_SIZE + MW_PAGE_SIZE; /* the region it would get */
    if (b->kind != MW_HD_REGION || !fits_region(size) || size <= MW_SLAB_MAX || need > b->cap ||
        need <= b->cap / 2)
        return false;
    size_t from = size < old ? size : old, n = (size < old ? old - size : 0) + MW_CANARY_SIZE;
    mw_vg_undefined(b->p + from, n);
    memset(b->p + from, 0, n);
    mw_vg_undefined(b->p + size, MW_CANARY_SIZE);
    mw_canary_put(b->p + size);
    b->lrec->size = size;
    mw_vg_resize(b->p, old, size);
    mw_vg_noaccess(b->p + size, MW_CANARY_SIZE);
    return true;
}

/* The history of a huge block that mremap moved from b->p to q: the old address is freed
 * by this realloc (its range is reserved PROT_NONE again, so a use of it faults and is
 * reported with this history), the new one allocated by it; a first-class heap's
 * registration follows the block. Returns q's record (NULL: the table is full). */
static struct mw_lrec *move_record(struct mw_hd_block *b, char *q, size_t size, uint64_t seen,
                                   void *ip) {
    struct mw_lrec *r = mw_rec_large(q, true);
    if (r) mw_rec_set_live(&r->h, size, MW_HOW_MALLOC, ip);
    if (mw_rec_set_freed(b->rec, seen, ip)) mw_rec_release(b->rec);
    mw_heap_large_moved(b->p, q);
    return r;
}

/* A huge block that stays huge is resized by mremap (huge.c), as in production: no copy and
 * no second copy resident. The guard page is lifted for the call (mremap takes a single
 * mapping) and the canary cleared; afterwards the bytes from the new size to the new guard
 * are zero, and the canary and the guard are put at the new end. NULL: p is unchanged. */
static void *resize_huge(struct mw_hd_block *b, size_t size, uint64_t seen, void *ip) {
    if (b->kind != MW_HD_HUGE || fits_region(size) || !b->lrec || mw_vg_active()) return NULL;
    char *p = b->p;
    size_t len = huge_length(size);
    mprotect(p + b->cap - MW_PAGE_SIZE, MW_PAGE_SIZE, PROT_READ | PROT_WRITE);
    memset(p + b->size, 0, MW_CANARY_SIZE);
    char *q = mw_huge_realloc(p, len);
    if (!q) {
        mw_canary_put(p + b->size);
        mw_guard_tail(p, b->cap);
        return NULL;
    }
    if (size < b->size) memset(q + size, 0, (b->size < len ? b->size : len) - size);
    mw_canary_put(q + size);
    mw_guard_tail(q, len);
    struct mw_lrec *r = q == p ? b->lrec : move_record(b, q, size, seen, ip);
    if (r) {
        r->size = size;
        r->guarded = len;
    }
    return q;
}

static void *alloc_plain(struct mw_heap *h, size_t size, void *ip) {
    return mw_hd_alloc(h, size, 0, MW_HOW_MALLOC, ip);
}

void *mw_hd_realloc(struct mw_heap *h, void *p, size_t size, void *ip) {
    if (size > SIZE_MAX / 2) {
        errno = ENOMEM;
        return NULL;
    }
    if (mw_sample_owns(p)) return mw_sample_realloc(h, p, size, ip, alloc_plain);
    struct mw_hd_block b;
    uint64_t seen;
    if (!mw_hd_check_live(p, mw_hd_locate(p, &b), &b, MW_OP_REALLOC, &seen) ||
        !mw_hd_canaries_ok(&b, mw_vg_hooked())) {
        mw_vg_free(p); /* memcheck reports the invalid realloc */
        errno = EINVAL;
        return NULL;
    }
    if (resize_in_place(&b, size)) return p;
    void *q = resize_huge(&b, size, seen, ip);
    if (q) return q;
    q = mw_hd_alloc(h, size, 0, MW_HOW_MALLOC, ip);
    if (!q) return NULL; /* p stays intact */
    memcpy(q, p, b.size < size ? b.size : size);
    mw_vg_free(p);
    if (b.kind != MW_HD_SLAB && mw_heap_large_any()) mw_heap_large_remove(p);
    mw_hd_scrub(&b, mw_vg_hooked());
    if (mw_rec_set_freed(b.rec, seen, ip))
        mw_quarantine_push(&b);
    else
        mw_hd_report_race(p, &b, MW_OP_REALLOC);
    return q;
}

size_t mw_hd_usable(const void *p, void *ip) {
    (void)ip;
    if (mw_sample_owns(p)) {
        size_t n = mw_sample_size(p);
        if (!n) mw_sample_free((void *)p, MW_OP_USABLE, ip);
        return n;
    }
    struct mw_hd_block b;
    uint64_t seen;
    return mw_hd_check_live(p, mw_hd_locate(p, &b), &b, MW_OP_USABLE, &seen) ? b.size : 0;
}

size_t mw_hd_size_of(const void *p) {
    if (mw_sample_owns(p)) return mw_sample_size(p);
    struct mw_hd_block b;
    if (!mw_hd_locate(p, &b) || !mw_hd_starts(&b, p) || !b.rec) return 0;
    return mw_rec_state(b.rec->state) == MW_HS_LIVE ? b.size : 0;
}

#endif
