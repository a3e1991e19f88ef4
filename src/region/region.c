/* region/region.c — the region layer's entry points for alloc.c: size to class, the allocation
 * order (own cache, dirty pool, clean pool, stealing, a fresh region) and frees (own cache,
 * overflowing to the dirty pool). See region/internal.h for the layout and invariants. */
#include "mw_valgrind.h"
#include "region/internal.h"

#include <string.h>

/* The class of a request of size bytes (1 <= size <= MW_REGION_MAX): its power of two. */
static unsigned class_of(size_t size) {
    if (size <= ((size_t)1 << MW_REGION_MIN_SHIFT)) return 0;
    return (unsigned)(64 - __builtin_clzll((unsigned long long)size - 1)) - MW_REGION_MIN_SHIFT;
}

/* Sets the region's live bit; returns whether it was set before. */
static bool set_live(mw_rid_t id, bool live) {
    uint32_t slot = id & (MW_AREA_SLOTS - 1);
    _Atomic uint64_t *word = &mw_rid_area(id)->live[slot / 64];
    uint64_t bit = (uint64_t)1 << (slot % 64);
    uint64_t old = live ? atomic_fetch_or_explicit(word, bit, memory_order_acq_rel)
                        : atomic_fetch_and_explicit(word, ~bit, memory_order_acq_rel);
    return old & bit;
}

/* *zero tells whether the region reads as zero (clean or never used). */
mw_noinline static mw_rid_t alloc_slow(unsigned cls, struct mw_region_cache *self, bool *zero) {
    struct mw_region_class *rc = &mw_region_classes[cls];
    atomic_fetch_add_explicit(&rc->slow_allocations, 1, memory_order_relaxed);
    uint64_t now = mw_region_now_ns();
    mw_rid_t id = mw_region_pool_get(cls, zero, now, mw_region_purge_delay_ns());
    if (id == MW_RID_NIL) {
        *zero = false;
        id = mw_region_cache_steal(self, cls);
        if (id != MW_RID_NIL) atomic_fetch_add_explicit(&rc->steals, 1, memory_order_relaxed);
    }
    if (id == MW_RID_NIL) {
        *zero = true;
        id = mw_region_pool_carve(cls);
    }
    mw_region_purge_tick(now);
    return id;
}

static void *region_alloc(size_t size, size_t align, bool *zero) {
    if (size > MW_REGION_MAX || align > MW_REGION_MAX) return NULL;
    if (mw_unlikely(!mw_region_range_init())) return NULL;
    unsigned cls = class_of(size > align ? size : align);
    struct mw_region_cache *self = mw_region_cache_self();
    mw_rid_t id = self ? mw_region_cache_pop(self, cls) : MW_RID_NIL;
    *zero = false;
    if (id == MW_RID_NIL) {
        id = alloc_slow(cls, self, zero);
        if (id == MW_RID_NIL) return NULL;
        mw_region_purge_start_worker();
    }
    set_live(id, true);
    atomic_fetch_add_explicit(&mw_region_classes[cls].allocations, 1, memory_order_relaxed);
    return mw_rid_addr(id);
}

void *mw_region_alloc(size_t size, size_t align) {
    bool zero;
    return region_alloc(size, align, &zero);
}

void *mw_region_calloc(size_t size, size_t align) {
    bool zero;
    void *p = region_alloc(size, align, &zero);
    if (p && !zero) {
        mw_vg_undefined(p, size); /* a recycled region: memcheck sees it freed */
        memset(p, 0, size);
    }
    return p;
}

bool mw_region_free(void *p) {
    mw_rid_t id = mw_region_rid(p);
    unsigned cls = mw_rid_cls(id);
    /* The caller checked is_live, but two racing frees of one region both pass that check:
     * only the one that clears the bit goes on. */
    if (mw_unlikely(!set_live(id, false))) return false;
    atomic_fetch_add_explicit(&mw_region_classes[cls].frees, 1, memory_order_relaxed);
    struct mw_region_cache *self = mw_region_cache_self();
    if (self && mw_region_cache_push(self, id)) return true;
    uint64_t now = mw_region_now_ns();
    mw_region_pool_put_dirty(id, now);
    mw_region_purge_tick(now);
    return true;
}

bool mw_region_owns(const void *p) {
    size_t size = atomic_load_explicit(&mw_region_range.size, memory_order_acquire);
    return (uintptr_t)p - mw_region_range.base < size;
}

bool mw_region_overlaps(const void *p, size_t size) {
    size_t n = atomic_load_explicit(&mw_region_range.size, memory_order_acquire);
    return mw_ranges_overlap((uintptr_t)p, size, mw_region_range.base, n);
}

void *mw_region_start_of(const void *p) {
    if (!mw_region_owns(p)) return NULL;
    uintptr_t off = (uintptr_t)p - mw_region_range.base;
    uint32_t area = (uint32_t)(off >> MW_AREA_SHIFT);
    if (area >= atomic_load_explicit(&mw_region_range.areas_used, memory_order_acquire))
        return NULL;
    size_t size = mw_region_class_size(mw_region_range.areas[area].cls);
    return (void *)(mw_region_range.base + (off & ~(uintptr_t)(size - 1)));
}

bool mw_region_is_live(const void *p) {
    if (mw_region_start_of(p) != p) return false;
    mw_rid_t id = mw_region_rid(p);
    uint32_t slot = id & (MW_AREA_SLOTS - 1);
    uint64_t word = atomic_load_explicit(&mw_rid_area(id)->live[slot / 64], memory_order_acquire);
    return (word >> (slot % 64)) & 1;
}

size_t mw_region_usable_size(const void *p) {
    return mw_region_class_size(mw_rid_cls(mw_region_rid(p)));
}
