/* realloc.c — realloc, reallocarray and mw_heap_realloc with glibc's semantics:
 * realloc(NULL, n) allocates, realloc(p, 0) frees and returns NULL, a failed realloc
 * leaves p intact, realloc of a pointer meshward does not own fails with EINVAL (its size
 * is unknowable). In place when the block still fits: a slab block shrinking by at most
 * half, a region within its class; huge maps move with mremap, without copying.
 *
 * Tracing: one realloc event, recorded once the new block is owned and before the old one
 * is released.
 *
 * Memcheck: a block resized in place is RESIZEINPLACE'd (slab, region, a huge map shrunk by
 * munmap or grown by mremap in place); a moved block is a new MALLOCLIKE block filled with
 * the old one's live bytes, then the old one FREELIKE, as memcheck's own realloc does. Under
 * valgrind a huge map never grows by mremap: a move would carry the bytes but not memcheck's
 * record of the block, so it is copied instead. */
#include "alloc.h"
#include "heap_large.h"
#include "huge.h"
#include "mw_valgrind.h"
#include "thread.h"
#include "trace.h"
#include "harden/harden.h"
#include "harden/sample.h"

#include <errno.h>
#include <meshward.h>
#include <string.h>

#if MW_HARDENED
static void *realloc_at(struct mw_heap *h, void *p, size_t size, void *ip) {
    if (!p || size == 0) {
        if (!p) {
            void *q = mw_hd_alloc(h, size, 0, MW_HOW_MALLOC, ip);
            if (MW_TRACE_ON(alloc)) mw_trace_alloc(ip, h, q, size);
            return q;
        }
        mw_free_how_at(p, MW_HOW_MALLOC, 0, ip);
        return NULL;
    }
    void *q = mw_hd_realloc(h, p, size, ip); /* NULL unless p was a live block */
    if (q) MW_TRACE_REALLOC_AT(ip, p, q, size, h->id);
    return q;
}
#else
static bool fits_in_place(enum mw_kind k, size_t usable, size_t size) {
    if (size > usable) return false;
    if (k == MW_KIND_SLAB) return size >= usable / 2;
    if (k == MW_KIND_REGION) return size > MW_SLAB_MAX && size > usable / 2;
    return false;
}

/* mremap moved a huge block: a first-class heap's registration follows it. */
static void *huge_move(void *p, size_t size) {
    void *q = mw_huge_realloc(p, size);
    if (!q) {
        errno = ENOMEM;
        return NULL;
    }
    mw_heap_large_moved(p, q);
    return q;
}

static void *resize(struct mw_heap *h, void *p, size_t size, void *ip) {
    enum mw_kind k = mw_kind_of(p);
    size_t usable = mw_block_usable(p);
    if (mw_unlikely(usable == 0)) { /* foreign or freed: we cannot know its size */
        mw_vg_free(p);              /* memcheck reports the invalid realloc */
        mw_foreign_free(p, "realloc");
        errno = EINVAL;
        return NULL;
    }
    size_t live = mw_vg_live_size(p, usable); /* the bytes the program may read */
    void *q = p;
    bool copied = false;
    if (fits_in_place(k, usable, size)) {
        q = p;
    } else if (k == MW_KIND_HUGE && size > MW_REGION_MAX && (size <= usable || !mw_vg_active())) {
        q = huge_move(p, size);
    } else {
        q = mw_alloc_in(h, size);
        mw_vg_alloc(q, size, mw_block_usable(q), false);
        if (q) memcpy(q, p, live < size ? live : size);
        copied = true;
    }
    if (!q) return NULL; /* p stays intact */
    if (!copied) mw_vg_resize(p, live, size);
    MW_TRACE_REALLOC_AT(ip, p, q, size, h->id);
    if (copied) {
        mw_vg_free(p);
        mw_free_untraced(p);
    }
    return q;
}

/* A sampled block (MESHWARD_GUARD_SAMPLE) always moves. */
static void *alloc_plain(struct mw_heap *h, size_t size, void *ip) {
    (void)ip;
    return mw_alloc_in(h, size);
}

/* A sampled block moves to an ordinary one (sampling is decided at allocation). */
static void *resize_sampled(struct mw_heap *h, void *p, size_t size, void *ip) {
    void *q = mw_sample_realloc(h, p, size, ip, alloc_plain);
    if (q) MW_TRACE_REALLOC_AT(ip, p, q, size, h->id);
    return q;
}

static void *realloc_at(struct mw_heap *h, void *p, size_t size, void *ip) {
    if (mw_unlikely(mw_sample_owns(p)) && size) return resize_sampled(h, p, size, ip);
    if (!p) {
        void *q = mw_alloc_in(h, size);
        if (MW_TRACE_ON(alloc)) mw_trace_alloc(ip, h, q, size);
        mw_vg_alloc(q, size, mw_block_usable(q), false);
        return q;
    }
    if (size == 0) {
        if (MW_TRACE_ON(free)) mw_trace_free(ip, p);
        mw_vg_free(p);
        mw_free_untraced(p);
        return NULL;
    }
    return resize(h, p, size, ip);
}
#endif

void *mw_realloc(void *p, size_t size) {
    return realloc_at(mw_tls_heap, p, size, MW_CALLER);
}

void *mw_heap_realloc(mw_heap_t *h, void *p, size_t size) {
    return realloc_at(h, p, size, MW_CALLER);
}

void *mw_reallocarray(void *p, size_t count, size_t size) {
    size_t total;
    if (__builtin_mul_overflow(count, size, &total)) {
        errno = ENOMEM;
        return NULL;
    }
    return realloc_at(mw_tls_heap, p, total, MW_CALLER);
}
