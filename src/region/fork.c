/* region/fork.c — the region layer's fork handlers. prepare takes every lock of the layer in
 * the one order its code ever nests them (purge pass, caches, class pools, areas), so that
 * no other thread is half-way through a list when the process is copied; parent releases
 * them; child resets them (their holders do not exist there), then gives the child private
 * copies of file-backed areas and returns the other threads' caches to the pools. */
#include "region/internal.h"

void mw_region_fork_prepare(void) {
    mw_region_purge_fork_prepare();
    mw_region_cache_fork_prepare();
    for (unsigned cls = 0; cls < MW_REGION_CLASSES; cls++)
        mw_lock(&mw_region_classes[cls].lock);
    mw_region_area_fork_prepare();
}

void mw_region_fork_parent(void) {
    mw_region_area_fork_parent();
    for (unsigned cls = 0; cls < MW_REGION_CLASSES; cls++)
        mw_unlock(&mw_region_classes[cls].lock);
    mw_region_cache_fork_parent();
    mw_region_purge_fork_parent();
}

void mw_region_fork_child(void) {
    for (unsigned cls = 0; cls < MW_REGION_CLASSES; cls++)
        mw_lock_reset(&mw_region_classes[cls].lock);
    mw_region_purge_fork_child();
    mw_region_area_fork_child();
    mw_region_cache_fork_child();
}
