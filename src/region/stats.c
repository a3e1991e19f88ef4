/* region/stats.c — the region classes' metrics for mw_stats_get: the regions[] entries
 * (owned by this layer) are filled in, and the live blocks and bytes, allocations and frees
 * are added to the totals that other layers also add to. Pool sizes are read under the
 * class lock so that dirty + clean = free holds in one snapshot. */
#include "region/internal.h"

void mw_region_stats(struct mw_stats *st) {
    st->region_classes = MW_REGION_CLASSES;
    for (unsigned cls = 0; cls < MW_REGION_CLASSES; cls++) {
        struct mw_region_class *rc = &mw_region_classes[cls];
        struct mw_region_class_stats *out = &st->regions[cls];
        uint64_t size = mw_region_class_size(cls);
        mw_lock(&rc->lock);
        out->dirty_regions = rc->dirty_n;
        out->clean_regions = rc->clean_n;
        mw_unlock(&rc->lock);
        out->region_size = size;
        out->areas = atomic_load_explicit(&rc->areas, memory_order_relaxed);
        out->refills = atomic_load_explicit(&rc->refills, memory_order_relaxed);
        out->area_bytes = out->areas * MW_AREA_SIZE;
        out->free_regions = out->dirty_regions + out->clean_regions;
        out->cached_regions = mw_region_cache_count(cls);
        out->allocations = atomic_load_explicit(&rc->allocations, memory_order_relaxed);
        out->frees = atomic_load_explicit(&rc->frees, memory_order_relaxed);
        out->slow_allocations = atomic_load_explicit(&rc->slow_allocations, memory_order_relaxed);
        out->steals = atomic_load_explicit(&rc->steals, memory_order_relaxed);
        out->purged_bytes = atomic_load_explicit(&rc->purged_bytes, memory_order_relaxed);
        /* The counters are read one after the other while other threads run: clamp. */
        uint64_t live = out->allocations > out->frees ? out->allocations - out->frees : 0;
        st->live_blocks += live;
        st->live_bytes += live * size;
        st->allocations += out->allocations;
        st->frees += out->frees;
    }
    st->meta_bytes +=
        (uint64_t)atomic_load_explicit(&mw_region_range.areas_used, memory_order_relaxed) *
        sizeof(struct mw_area);
}
