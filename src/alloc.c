/* alloc.c — the mw_* malloc family and first-class heaps: size dispatch (slab up to
 * MW_SLAB_MAX, region up to MW_REGION_MAX, huge beyond), glibc's semantics for edge cases,
 * errno, and the tracepoint call sites at API level (see trace.h for their ordering).
 *
 * A pointer's kind is decided by address range before any metadata is read; a pointer in
 * no range of ours is foreign: ignored and counted (the hardened build reports it). */
#include "alloc.h"
#include "arena.h"
#include "heap.h"
#include "heap_large.h"
#include "huge.h"
#include "init.h"
#include "os.h"
#include "region.h"
#include "thread.h"
#include "trace.h"

#include <errno.h>
#include <meshward.h>
#include <string.h>

static _Atomic uint64_t foreign_frees;

enum mw_kind mw_kind_of(const void *p) {
    if (mw_likely(mw_arena_owns(p))) return MW_KIND_SLAB;
    if (mw_region_owns(p)) return MW_KIND_REGION;
    if (mw_huge_owns(p)) return MW_KIND_HUGE;
    return MW_KIND_FOREIGN;
}

/* ---- allocation --------------------------------------------------------------------- */

static mw_noinline void *alloc_large(size_t size, size_t align) {
    mw_init();
    bool region = size <= MW_REGION_MAX && align <= MW_REGION_MAX;
    void *p = region ? mw_region_alloc(size, align) : mw_huge_alloc(size, align);
    if (!p) errno = ENOMEM;
    return p;
}

/* No block at hand: the heap's slow path finds one. When it cannot, h is the empty heap of
 * a thread that has not allocated yet (create its heap and retry), a retired heap, or
 * memory ran out. */
static mw_noinline void *small_slow(struct mw_heap *h, unsigned cls) {
    void *p = mw_heap_alloc_slow(h, cls);
    if (mw_likely(p != NULL)) return p;
    if (h == &mw_heap_empty && (h = mw_thread_heap_init()) != &mw_heap_empty)
        p = mw_heap_alloc_slow(h, cls);
    if (!p) errno = ENOMEM;
    return p;
}

mw_inline void *small_alloc(struct mw_heap *h, unsigned cls) {
    void *p = mw_heap_try_alloc_small(h, cls);
    return mw_likely(p != NULL) ? p : small_slow(h, cls);
}

/* A large block for h: first-class heaps register it so that destroy and reset find it. */
static mw_noinline void *heap_alloc_large(struct mw_heap *h, size_t size, size_t align) {
    void *p = alloc_large(size, align);
    if (p && !h->thread_heap) mw_heap_large_add(h->id, p);
    return p;
}

static void *heap_alloc(struct mw_heap *h, size_t size) {
    if (mw_likely(size <= MW_SLAB_MAX)) return small_alloc(h, mw_class_of(size));
    return heap_alloc_large(h, size, MW_MIN_ALIGN);
}

/* Trace arguments, evaluated only when the tracepoint is enabled. */
static int trace_class(const void *p) {
    switch (mw_kind_of(p)) {
    case MW_KIND_SLAB:
        return mw_arena_span_of(p)->cls;
    case MW_KIND_REGION:
        return (int)(63 - __builtin_clzll(mw_region_usable_size(p)));
    default:
        return -1;
    }
}
#define TRACE_ALLOC(p, size, h)                                                                    \
    MW_TRACE_ALLOC(p, size, mw_block_usable(p), trace_class(p), (h)->id, mw_kind_of(p))

void *mw_malloc(size_t size) {
    struct mw_heap *h = mw_tls_heap;
    void *p = heap_alloc(h, size);
    TRACE_ALLOC(p, size, mw_tls_heap);
    return p;
}

void *mw_heap_malloc(mw_heap_t *h, size_t size) {
    void *p = heap_alloc(h, size);
    TRACE_ALLOC(p, size, h);
    return p;
}

static void *zeroed(struct mw_heap *h, size_t count, size_t size) {
    size_t total;
    if (__builtin_mul_overflow(count, size, &total)) {
        errno = ENOMEM;
        return NULL;
    }
    void *p = heap_alloc(h, total);
    if (p && mw_kind_of(p) != MW_KIND_HUGE) memset(p, 0, total); /* huge maps are fresh */
    TRACE_ALLOC(p, total, h);
    return p;
}

void *mw_calloc(size_t count, size_t size) {
    return zeroed(mw_tls_heap, count, size);
}
void *mw_heap_calloc(mw_heap_t *h, size_t count, size_t size) {
    return zeroed(h, count, size);
}

/* Smallest slab class at least size whose block size is a multiple of align (so every
 * block of the span, which starts page-aligned, is aligned); -1 when none. */
static int aligned_class(size_t size, size_t align) {
    if (size > MW_SLAB_MAX || align > MW_PAGE_SIZE) return -1;
    for (unsigned c = mw_class_of(size); c < MW_CLASS_COUNT; c++)
        if (mw_classes[c].size % align == 0) return (int)c;
    return -1;
}

static void *heap_aligned(struct mw_heap *h, size_t align, size_t size) {
    if (align <= 8) return heap_alloc(h, size);
    int c = aligned_class(size ? size : 1, align);
    if (c >= 0) return small_alloc(h, (unsigned)c);
    if (size <= MW_SLAB_MAX) size = MW_SLAB_MAX + 1; /* a region gives the alignment */
    return heap_alloc_large(h, size, align);
}

static void *traced_aligned(struct mw_heap *h, size_t align, size_t size) {
    void *p = heap_aligned(h, align, size);
    TRACE_ALLOC(p, size, h);
    if (p && align > MW_MIN_ALIGN) MW_TRACE_ALIGNED(p, align, size);
    return p;
}

/* Alignments no allocation can honour: more than half the address space (glibc: EINVAL). */
#define ALIGN_IMPOSSIBLE(a) ((a) > SIZE_MAX / 2 + 1)

void *mw_memalign(size_t align, size_t size) {
    if (ALIGN_IMPOSSIBLE(align)) {
        errno = EINVAL;
        return NULL;
    }
    if (!mw_is_pow2(align)) align = align ? (size_t)1 << (64 - __builtin_clzll(align)) : 1;
    return traced_aligned(mw_tls_heap, align, size);
}

void *mw_aligned_alloc(size_t align, size_t size) {
    if (!mw_is_pow2(align)) {
        errno = EINVAL;
        return NULL;
    }
    return traced_aligned(mw_tls_heap, align, size);
}

int mw_posix_memalign(void **out, size_t align, size_t size) {
    if (!out || !mw_is_pow2(align) || align % sizeof(void *) != 0) return EINVAL;
    int saved = errno;
    void *p = traced_aligned(mw_tls_heap, align, size);
    if (!p) return ENOMEM;
    errno = saved;
    *out = p;
    return 0;
}

void *mw_heap_aligned(mw_heap_t *h, size_t align, size_t size) {
    if (!mw_is_pow2(align)) {
        errno = EINVAL;
        return NULL;
    }
    return traced_aligned(h, align, size);
}

/* ---- free --------------------------------------------------------------------------- */

void mw_foreign_free(const void *p, const char *what) {
    (void)p;
    (void)what;
    atomic_fetch_add_explicit(&foreign_frees, 1, memory_order_relaxed);
}

static void free_slab(void *p) {
    struct mw_span *s = mw_arena_span_of(p);
    if (mw_unlikely(!s || mw_span_slot(s, p) == UINT32_MAX)) {
        mw_foreign_free(p, "free");
        return;
    }
    struct mw_heap *h = mw_tls_heap;
    if (mw_likely(atomic_load_explicit(&s->owner, memory_order_relaxed) == h)) {
        mw_heap_free_local(h, s, p);
        return;
    }
    mw_heap_free_remote(h, s, p);
}

static mw_noinline void free_other(void *p) {
    if (mw_heap_large_any()) mw_heap_large_remove(p);
    switch (mw_kind_of(p)) {
    case MW_KIND_REGION:
        if (mw_region_is_live(p))
            mw_region_free(p);
        else
            mw_foreign_free(p, "free");
        return;
    case MW_KIND_HUGE:
        if (mw_huge_is_live(p))
            mw_huge_free(p);
        else
            mw_foreign_free(p, "free");
        return;
    default:
        mw_foreign_free(p, "free");
    }
}

/* Frees p without tracing it (realloc traces its own event). */
static void free_untraced(void *p) {
    if (mw_likely(mw_arena_owns(p)))
        free_slab(p);
    else if (p)
        free_other(p);
}

static bool trace_remote(const void *p) {
    return mw_kind_of(p) == MW_KIND_SLAB &&
           atomic_load_explicit(&mw_arena_span_of(p)->owner, memory_order_relaxed) != mw_tls_heap;
}

void mw_free(void *p) {
    MW_TRACE_FREE(p, mw_block_usable(p), trace_class(p), mw_tls_heap->id, trace_remote(p));
    free_untraced(p);
}

void mw_free_sized(void *p, size_t size) {
    (void)size; /* the hardened build will check it */
    mw_free(p);
}

size_t mw_block_usable(const void *p) {
    switch (mw_kind_of(p)) {
    case MW_KIND_SLAB: {
        const struct mw_span *s = mw_arena_span_of(p);
        return s && mw_span_slot(s, p) != UINT32_MAX ? s->block_size : 0;
    }
    case MW_KIND_REGION:
        return mw_region_is_live(p) ? mw_region_usable_size(p) : 0;
    case MW_KIND_HUGE:
        return mw_huge_is_live(p) ? mw_huge_usable_size(p) : 0;
    default:
        return 0;
    }
}

size_t mw_usable_size(const void *p) {
    return p ? mw_block_usable(p) : 0;
}

/* ---- realloc ------------------------------------------------------------------------ */

/* Whether p (usable bytes, of kind k) can keep serving a request of size bytes. Slabs keep
 * a block when it shrinks by at most half; regions keep their class; huge maps resize. */
static bool fits_in_place(enum mw_kind k, size_t usable, size_t size) {
    if (size > usable) return false;
    if (k == MW_KIND_SLAB) return size >= usable / 2;
    if (k == MW_KIND_REGION) return size > MW_SLAB_MAX && size > usable / 2;
    return false;
}

static void *realloc_in(struct mw_heap *h, void *p, size_t size) {
    enum mw_kind k = mw_kind_of(p);
    size_t usable = mw_block_usable(p);
    if (mw_unlikely(usable == 0)) { /* foreign or freed: we cannot know its size */
        mw_foreign_free(p, "realloc");
        errno = EINVAL;
        return NULL;
    }
    void *q;
    bool copied = false;
    if (fits_in_place(k, usable, size)) {
        q = p;
    } else if (k == MW_KIND_HUGE && size > MW_REGION_MAX) {
        q = mw_huge_realloc(p, size); /* mremap: moves without copying */
        if (!q) errno = ENOMEM;
        uint32_t owner = q && q != p && mw_heap_large_any() ? mw_heap_large_remove(p) : 0;
        if (owner) mw_heap_large_add(owner, q);
    } else {
        q = heap_alloc(h, size);
        if (q) memcpy(q, p, usable < size ? usable : size);
        copied = true;
    }
    if (!q) return NULL; /* p stays intact */
    MW_TRACE_REALLOC(p, q, size, mw_block_usable(q), trace_class(q), h->id, q != p);
    if (copied) free_untraced(p);
    return q;
}

static void *realloc_dispatch(struct mw_heap *h, void *p, size_t size) {
    if (!p) {
        void *q = heap_alloc(h, size);
        TRACE_ALLOC(q, size, h);
        return q;
    }
    if (size == 0) {
        mw_free(p);
        return NULL;
    }
    return realloc_in(h, p, size);
}

void *mw_realloc(void *p, size_t size) {
    return realloc_dispatch(mw_tls_heap, p, size);
}
void *mw_heap_realloc(mw_heap_t *h, void *p, size_t size) {
    return realloc_dispatch(h, p, size);
}

void *mw_reallocarray(void *p, size_t count, size_t size) {
    size_t total;
    if (__builtin_mul_overflow(count, size, &total)) {
        errno = ENOMEM;
        return NULL;
    }
    return mw_realloc(p, total);
}

/* ---- first-class heaps and collection ----------------------------------------------- */

mw_heap_t *mw_heap_new(void) {
    mw_init();
    struct mw_heap *h = mw_heap_create(false);
    if (!h) errno = ENOMEM;
    return h;
}

void mw_heap_delete(mw_heap_t *h) {
    if (!h) return;
    MW_TRACE_HEAP_DESTROY(h->id);
    mw_heap_abandon(h);
    mw_heap_retire(h);
}

/* Frees every block of h: its spans at once, its large blocks one by one. */
static void free_all_blocks(struct mw_heap *h) {
    mw_heap_release_all(h);
    void *batch[64];
    size_t n;
    while ((n = mw_heap_large_take(h->id, batch, 64)) > 0)
        for (size_t i = 0; i < n; i++)
            free_untraced(batch[i]);
}

void mw_heap_destroy(mw_heap_t *h) {
    if (!h) return;
    MW_TRACE_HEAP_DESTROY(h->id);
    free_all_blocks(h);
    mw_heap_retire(h);
}

void mw_heap_reset(mw_heap_t *h) {
    if (!h) return;
    MW_TRACE_HEAP_RESET(h->id);
    free_all_blocks(h);
}

void mw_collect(bool force) {
    if (mw_init_state != 2) return;
    if (force) mw_heap_collect_abandoned();
    mw_region_purge(force);
    mw_arena_purge(force);
}

uint64_t mw_alloc_foreign_frees(void) {
    return foreign_frees;
}
