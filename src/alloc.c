/* alloc.c — the allocating half of the API: malloc, calloc and the aligned family, for the
 * calling thread's heap and for first-class heaps. glibc's semantics for edge cases:
 * overflow and impossible sizes give ENOMEM, alignments that are not powers of two EINVAL
 * (memalign rounds them up, as glibc does).
 *
 * Tracing: malloc tests its event once and takes a separate cold path when it is on, so the
 * untraced fast path keeps no frame; slower entry points take the caller's address
 * (MW_TRACE_CALLER) where they are entered and record the event once the block is owned.
 * Memcheck's annotations (mw_vg_alloc) ride on the same paths: malloc's hooked path serves
 * both, so that off valgrind and untraced malloc pays one branch more. */
#include "api_fast.h"
#include "arena/arena.h"
#include "heap_large.h"
#include "huge.h"
#include "init.h"
#include "mw_valgrind.h"
#include "os.h"
#include "region/region.h"
#include "thread.h"
#include "trace.h"
#include "harden/harden.h"
#include "harden/sample.h"

#include <errno.h>
#include <meshward.h>
#include <string.h>

enum mw_kind mw_kind_of(const void *p) {
    if (mw_likely(mw_arena_owns(p))) return MW_KIND_SLAB;
    if (mw_region_owns(p)) return MW_KIND_REGION;
    if (mw_huge_owns(p)) return MW_KIND_HUGE;
    return mw_arena_managed_slot(p) ? MW_KIND_SLAB : MW_KIND_FOREIGN; /* arena.h */
}

int mw_alloc_hooked = 1;

void mw_alloc_settle_hooks(void) {
    /* the hardened fast path ticks the sampling countdown itself (harden/fast.h) */
    mw_alloc_hooked = mw_vg_active() || (!MW_HARDENED && mw_sample_rate != 0);
    mw_free_fast_size = mw_vg_active() ? 0 : mw_arena_size;
}

/* ---- the size regimes --------------------------------------------------------------- */

/* No block at hand: the heap's slow path finds one. When it cannot, h is the empty heap of
 * a thread that has not allocated yet (create its heap and retry), a retired heap, or
 * memory ran out. */
void *mw_alloc_small_slow(struct mw_heap *h, unsigned cls) {
    void *p = mw_heap_alloc_slow(h, cls);
    if (mw_likely(p != NULL)) return p;
    if (h == &mw_heap_empty && (h = mw_thread_heap_init()) != &mw_heap_empty)
        p = mw_heap_alloc_slow(h, cls);
    if (!p) errno = ENOMEM;
    return p;
}

/* First-class heaps register their large blocks so that destroy and reset find them. A
 * heap of an arena other than 0 takes them from its arena alone, each in a large span of
 * its own (arena.h): never from elsewhere. With zero, the block reads as zero: huge maps
 * are always fresh, and the region layer and the arena clear only recycled dirty memory,
 * so a large calloc does not touch clean pages. */
void *mw_alloc_large_in(struct mw_heap *h, size_t size, size_t align, bool zero) {
    mw_init();
    void *p;
    if (h->arena != 0)
        p = mw_arena_large_alloc(h->arena, size, align, zero);
    else if (size > MW_REGION_MAX || align > MW_REGION_MAX)
        p = mw_huge_alloc(size, align);
    else
        p = zero ? mw_region_calloc(size, align) : mw_region_alloc(size, align);
    if (!p)
        errno = ENOMEM;
    else if (!h->thread_heap)
        mw_heap_large_add(h->id, p);
    return p;
}

/* Smallest slab class at least size whose block size is a multiple of align (so every
 * block of the span, which starts page-aligned, is aligned); -1 when none. */
static int aligned_class(size_t size, size_t align) {
    if (size > MW_SLAB_MAX || align > MW_PAGE_SIZE) return -1;
    /* the class of a multiple of 16 is a multiple of 16: no search needed */
    if (align <= MW_MIN_ALIGN) return (int)mw_class_of(mw_align_up(size, align));
    for (unsigned c = mw_class_of(size); c < MW_CLASS_COUNT; c++)
        if ((mw_classes[c].size & (align - 1)) == 0) return (int)c;
    return -1;
}

void *mw_alloc_aligned_in(struct mw_heap *h, size_t align, size_t size) {
    if (align <= 8) return mw_alloc_in(h, size);
    int c = aligned_class(size ? size : 1, align);
    if (c >= 0) return mw_alloc_class_in(h, (unsigned)c);
    if (size <= MW_SLAB_MAX) size = MW_SLAB_MAX + 1; /* a region or large span aligns it */
    return mw_alloc_large_in(h, size, align, false);
}

/* ---- trace records ------------------------------------------------------------------ */

/* The thread's own heap goes without saying (`alloc`, or `alloc_slab` for a block of the
 * slab range, named by its granule); a first-class heap is named, and so is any block of
 * 4 GiB or more (`alloc_big`: the size needs 64 bits). */
void mw_trace_alloc(void *ip, struct mw_heap *h, void *p, size_t size) {
    if (MW_TRACE_BIG(size)) {
        MW_TRACE_ALLOC_BIG_AT(ip, p, size, h->id);
    } else if (mw_likely(h == mw_tls_heap || h == &mw_heap_empty)) { /* empty: the first */
        uint64_t g = mw_arena_granule(p);
        if (g != MW_ARENA_NO_GRANULE && MW_TRACE_ON(alloc_slab))
            MW_TRACE_ALLOC_SLAB_AT(ip, g, size);
        else
            MW_TRACE_ALLOC_AT(ip, p, size);
    } else {
        MW_TRACE_HEAP_ALLOC_AT(ip, p, size, h->id);
    }
}

#if MW_HARDENED
/* Memcheck is told by the harden layer, which knows the slot. */
mw_noinline void *mw_alloc_checked(struct mw_heap *h, size_t size, size_t align, unsigned how,
                                   void *ip) {
    void *p = mw_hd_alloc(h, size, align, how, ip);
    if (MW_TRACE_ON(alloc)) mw_trace_alloc(ip, h, p, size);
    return p;
}
#else
/* Tells memcheck that p (size bytes requested) is the program's now. A slab slot's slack
 * is unaddressable already (span init, FREELIKE and the link accesses keep every byte of a
 * span outside live blocks so), and so is an arena's large span (marked when carved): only
 * regions and huge blocks, whose pages may have been mapped anew, need it said (usable 0:
 * nothing to say). */
#define VG_ALLOC(p, size, zeroed)                                                                  \
    mw_vg_alloc(p, size, mw_kind_of(p) == MW_KIND_SLAB ? 0 : mw_block_usable(p), zeroed)

/* Allocates n bytes for a request of size bytes (or, one time in MESHWARD_GUARD_SAMPLE, a
 * sampled guarded block; else from the direct table when it has one, as the untraced fast
 * path does), records it and tells memcheck. */
static mw_cold void *hooked_malloc(struct mw_heap *h, size_t n, size_t size, unsigned how,
                                   void *ip) {
    bool sample = mw_sample_rate && h == mw_tls_heap && mw_sample_tick(); /* not heaps' */
    void *p = sample ? mw_sample_alloc(size, 0, how, ip) : mw_direct_pop(h, n);
    if (!p) p = mw_alloc_in(h, n);
    if (MW_TRACE_ON(alloc)) mw_trace_alloc(ip, h, p, size);
    VG_ALLOC(p, size, false);
    return p;
}

void *mw_alloc_generic(struct mw_heap *h, size_t n, size_t size, unsigned how, void *ip) {
    if (MW_TRACE_ON(alloc) || mw_unlikely(mw_alloc_hooked))
        return hooked_malloc(h, n, size, how, ip);
    if (n > MW_SLAB_MAX) return mw_alloc_large_in(h, n, MW_MIN_ALIGN, false);
    unsigned cls = mw_class_of(n);
    if (n <= MW_DIRECT_MAX) {
        unsigned i = mw_direct_index(n);
        struct mw_span *s = h->direct[i];
        if (mw_likely(s == h->current[cls])) {
            /* it ran dry: the slow path, its first step inline */
            void *p = mw_heap_take_local(h, s, true);
            if (!p) return mw_alloc_small_slow(h, cls);
            h->direct_allocs[i]++;
            return p;
        }
        mw_heap_sync_direct(h, cls); /* start-up had allocations hooked when it was set */
    }
    return mw_alloc_class(h, cls, true);
}
#endif

/* ---- malloc and calloc -------------------------------------------------------------- */

void *mw_malloc(size_t size) {
    return mw_malloc_inline(mw_tls_heap, size);
}

void *mw_heap_malloc(mw_heap_t *h, size_t size) {
    return mw_malloc_inline(h, size);
}

#if MW_HARDENED
void *mw_new_at(size_t size, size_t align, unsigned how, void *ip) {
    return mw_alloc_checked(mw_tls_heap, size, align > MW_MIN_ALIGN ? align : MW_MIN_ALIGN, how,
                            ip);
}
#else
void *mw_new_at(size_t size, size_t align, unsigned how, void *ip) {
    if (align > MW_MIN_ALIGN) return mw_memalign_at(align, size, ip);
    /* slab sizes rounded to 16 land in 16-byte aligned classes; larger blocks all are */
    size_t n = size <= MW_SLAB_MAX ? mw_align_up(size, MW_MIN_ALIGN) : size;
    return mw_alloc_generic(mw_tls_heap, n, size, how, ip); /* the operators tried mw_new_direct */
}
#endif

static void *zeroed(struct mw_heap *h, size_t count, size_t size, void *ip) {
    size_t total;
    if (__builtin_mul_overflow(count, size, &total)) {
        errno = ENOMEM;
        return NULL;
    }
#if MW_HARDENED
    void *p = mw_hd_malloc_at(h, total, ip); /* hardened blocks are always zero */
    if (p) mw_vg_defined(p, total);
    return p;
#else
    bool small = total <= MW_SLAB_MAX;
    void *p = small ? mw_alloc_in(h, total) : mw_alloc_large_in(h, total, MW_MIN_ALIGN, true);
    VG_ALLOC(p, total, true);
    if (small && p) memset(p, 0, total);
    if (MW_TRACE_ON(alloc)) mw_trace_alloc(ip, h, p, total);
    return p;
#endif
}

void *mw_calloc(size_t count, size_t size) {
    return zeroed(mw_tls_heap, count, size, MW_CALLER);
}

void *mw_heap_calloc(mw_heap_t *h, size_t count, size_t size) {
    return zeroed(h, count, size, MW_CALLER);
}

/* ---- the aligned family ------------------------------------------------------------- */

static void *aligned(struct mw_heap *h, size_t align, size_t size, void *ip) {
#if MW_HARDENED
    void *p = mw_alloc_checked(h, size, align, MW_HOW_MALLOC, ip);
#else
    void *p = mw_alloc_aligned_in(h, align, size);
    VG_ALLOC(p, size, false);
    if (MW_TRACE_ON(alloc)) mw_trace_alloc(ip, h, p, size);
#endif
    if (p && align > MW_MIN_ALIGN) MW_TRACE_ALIGNED_AT(ip, p, align, size);
    return p;
}

/* Alignments no allocation can honour: more than half the address space (glibc: EINVAL). */
#define ALIGN_IMPOSSIBLE(a) ((a) > SIZE_MAX / 2 + 1)

void *mw_memalign_at(size_t align, size_t size, void *ip) {
    if (ALIGN_IMPOSSIBLE(align)) {
        errno = EINVAL;
        return NULL;
    }
    if (!mw_is_pow2(align)) align = align ? (size_t)1 << (64 - __builtin_clzll(align)) : 1;
    return aligned(mw_tls_heap, align, size, ip);
}

void *mw_memalign(size_t align, size_t size) {
    return mw_memalign_at(align, size, MW_CALLER);
}

void *mw_aligned_alloc(size_t align, size_t size) {
    if (!mw_is_pow2(align)) {
        errno = EINVAL;
        return NULL;
    }
    return aligned(mw_tls_heap, align, size, MW_CALLER);
}

int mw_posix_memalign(void **out, size_t align, size_t size) {
    if (!out || !mw_is_pow2(align) || align % sizeof(void *) != 0) return EINVAL;
    int saved = errno;
    void *p = aligned(mw_tls_heap, align, size, MW_CALLER);
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
    return aligned(h, align, size, MW_CALLER);
}
