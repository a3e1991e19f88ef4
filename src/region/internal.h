/* region/internal.h — what the region layer's files (the .c files of region/) share, and nobody
 * else.
 *
 * Layout. One reserved virtual range, cut into 64 MiB areas aligned to 64 MiB. An area is
 * taken for one size class when that class runs dry and stays with it (only when the range
 * is exhausted does a wholly free area move to another class); its regions are the class-size
 * slices of the area, so every region is naturally aligned to its class size (a 64 MiB alignment
 * request is met by any 64 MiB region). Regions of a fresh area are handed out lazily, lowest
 * first: taking an area costs no system call for anonymous memory and one mmap for a file-backed
 * area.
 *
 * Metadata lives out of line, in area descriptors (never inside region memory: writing a
 * link into a clean region would fault its page back in, and an overflow of one region
 * must not corrupt the pools). A region is named by a 32-bit id: area index << 11 | slot.
 *
 * A clean region (purged) and a never-used one read as zero: calloc needs no memset there.
 *
 * Ownership of a free region: it is in exactly one list at a time (a thread cache, its
 * class's dirty deque or clean stack, or a purge batch in flight), and the list's lock
 * protects its links. A live region is in no list; its bit in the area's live bitmap is the
 * truth for is_live. */
#ifndef MW_REGION_INTERNAL_H
#define MW_REGION_INTERNAL_H

#include "lock.h"
#include "region/region.h"

#include <stdatomic.h>
#include <time.h>

#define MW_REGION_MIN_SHIFT 15 /* the smallest class: 32 KiB, the first power above slabs */
#define MW_REGION_CLASSES 12   /* 32 KiB ... 64 MiB */
#define MW_AREA_SHIFT 26
#define MW_AREA_SIZE ((size_t)1 << MW_AREA_SHIFT)
#define MW_AREA_SLOTS (1u << (MW_AREA_SHIFT - MW_REGION_MIN_SHIFT)) /* 2048 */
#define MW_RID_NIL UINT32_MAX

/* A thread cache holds at most this many bytes, and only regions of at most a quarter of
 * it: the cache exists for the frequent mid-size blocks, and every byte in it stays
 * resident until the thread allocates it again, exits, calls mw_collect, or leaves the
 * cache unused for the purge delay. */
#define MW_REGION_CACHE_BYTES ((size_t)8 << 20)
#define MW_REGION_CACHE_CLASSES (21 - MW_REGION_MIN_SHIFT + 1) /* 32 KiB ... 2 MiB */

_Static_assert((MW_SLAB_MAX << 1) == ((size_t)1 << MW_REGION_MIN_SHIFT), "first region class");
_Static_assert(((size_t)1 << (MW_REGION_MIN_SHIFT + MW_REGION_CLASSES - 1)) == MW_REGION_MAX,
               "last region class");
_Static_assert(MW_REGION_CLASSES <= MW_STATS_REGION_CLASSES, "room in struct mw_stats");
_Static_assert(MW_AREA_SIZE == MW_REGION_MAX, "an area holds at least one region of each class");

typedef uint32_t mw_rid_t;

struct mw_region_slot {
    mw_rid_t next, prev; /* links of the list holding the free region */
    uint64_t stamp_ns;   /* when it entered the dirty deque, or the clean stack */
};

struct mw_area {
    uint8_t cls;         /* set before any of its regions is handed out */
    uint8_t file_backed; /* mapped shared from the region file: purged by punching holes */
    uint32_t pooled;     /* its regions in its class's dirty and clean pools (class lock) */
    _Atomic uint64_t live[MW_AREA_SLOTS / 64];
    struct mw_region_slot slot[MW_AREA_SLOTS];
};

/* The range; areas[0 .. areas_used) have been taken (areas_used only grows). When the
 * range is exhausted, an area whose regions are all free in its class's pools is taken
 * back from that class and handed to another (region/pool.c). */
struct mw_region_range {
    uintptr_t base;
    _Atomic size_t size; /* 0 until reserved */
    uint32_t nareas;
    _Atomic uint32_t areas_used;
    struct mw_area *areas;
    atomic_bool ready; /* set once the fields above and the pools are initialized */
};
MW_HIDDEN extern struct mw_region_range mw_region_range;

/* Per class: the global pools, the area being handed out, and the metrics. */
struct mw_region_class {
    mw_lock_t lock;
    mw_rid_t dirty_head, dirty_tail; /* newest at the head (reused first), oldest at the tail */
    mw_rid_t clean_head;
    uint32_t cur_area, carved; /* regions of cur_area handed out so far */
    uint64_t dirty_n, clean_n;
    uint64_t regret_ns;           /* last time a region purged too early was needed */
    _Atomic unsigned delay_shift; /* this class's purge delay: the base delay << shift */
    _Atomic uint64_t areas, refills, allocations, frees, slow_allocations, steals, purged_bytes;
};
MW_HIDDEN extern struct mw_region_class mw_region_classes[MW_REGION_CLASSES];
MW_HIDDEN extern _Atomic size_t mw_region_dirty_bytes; /* class bytes of all dirty pools */

/* The clock of dirty stamps and purge checks: CLOCK_MONOTONIC_COARSE, a few milliseconds
 * of resolution (one tick, 4 ms at HZ=250) that purge delays can live with, read in ~3 ns
 * where CLOCK_MONOTONIC takes ~30 ns on virtual machines without a usable TSC. */
mw_inline uint64_t mw_region_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

mw_inline size_t mw_region_class_size(unsigned cls) {
    return (size_t)1 << (MW_REGION_MIN_SHIFT + cls);
}

mw_inline struct mw_area *mw_rid_area(mw_rid_t id) {
    return &mw_region_range.areas[id >> (MW_AREA_SHIFT - MW_REGION_MIN_SHIFT)];
}
mw_inline struct mw_region_slot *mw_rid_slot(mw_rid_t id) {
    return &mw_rid_area(id)->slot[id & (MW_AREA_SLOTS - 1)];
}
mw_inline unsigned mw_rid_cls(mw_rid_t id) {
    return mw_rid_area(id)->cls;
}
mw_inline char *mw_rid_addr(mw_rid_t id) {
    uintptr_t area = (uintptr_t)(id >> (MW_AREA_SHIFT - MW_REGION_MIN_SHIFT)) << MW_AREA_SHIFT;
    uintptr_t slot = (uintptr_t)(id & (MW_AREA_SLOTS - 1))
                     << (MW_REGION_MIN_SHIFT + mw_rid_cls(id));
    return (char *)(mw_region_range.base + area + slot);
}
/* The id of the region starting at p, which lies in a taken area and is class-aligned. */
mw_inline mw_rid_t mw_region_rid(const void *p) {
    uintptr_t off = (uintptr_t)p - mw_region_range.base;
    uint32_t area = (uint32_t)(off >> MW_AREA_SHIFT);
    unsigned cls = mw_region_range.areas[area].cls;
    uint32_t slot = (uint32_t)((off & (MW_AREA_SIZE - 1)) >> (MW_REGION_MIN_SHIFT + cls));
    return area << (MW_AREA_SHIFT - MW_REGION_MIN_SHIFT) | slot;
}

/* region/area.c: the range and its areas. */
bool mw_region_range_init(void); /* idempotent; false when nothing could be reserved */
mw_inline bool mw_region_range_ready(void) {
    return atomic_load_explicit(&mw_region_range.ready, memory_order_acquire);
}
uint32_t mw_region_area_take(unsigned cls); /* a committed area for cls, or MW_RID_NIL */
void mw_region_area_release(uint32_t a);    /* a wholly free area: pages back, reusable */
void mw_region_area_purge(mw_rid_t id);     /* gives its pages back; they read as zero after */
void mw_region_area_fork_child(void);       /* re-backs file-backed areas with private memory */
void mw_region_area_fork_prepare(void);
void mw_region_area_fork_parent(void);

/* region/pool.c: the global dirty and clean pools of each class. */
void mw_region_pool_init(void); /* empties every pool; before the first use */
/* The newest dirty region, else a clean one (*clean tells: its pages read as zero). A clean
 * region purged less than a few delays ago was purged too early: the class's delay grows. */
mw_rid_t mw_region_pool_get(unsigned cls, bool *clean, uint64_t now_ns, uint64_t base_ns);
/* The purge delay of cls given the base delay (MESHWARD_PURGE_DELAY_MS). */
uint64_t mw_region_pool_delay(unsigned cls, uint64_t base_ns);
/* Purges the regions of cls unused for its delay (at most budget bytes); a class without
 * early purges for a while gets its delay shortened again. Returns the bytes purged. */
size_t mw_region_pool_purge_aged(unsigned cls, uint64_t now_ns, uint64_t base_ns, size_t budget);
mw_rid_t mw_region_pool_carve(unsigned cls); /* a never-used region, taking an area if needed */
void mw_region_pool_put_dirty(mw_rid_t id, uint64_t now_ns);
uint64_t mw_region_pool_oldest(unsigned cls); /* stamp of the oldest dirty region, or max */
/* When the range is exhausted: takes a wholly free area from a class other than cls and
 * releases it; false when there is none. */
bool mw_region_pool_reclaim(unsigned cls);
/* Moves dirty regions that entered the deque at or before cutoff_ns to the clean pool,
 * purging at most budget bytes; returns the bytes purged. purged_ns is recorded as their
 * purge time for the adaptive delay: 0 when the delay did not decide the purge (forced, or
 * for the bound on dirty bytes), so that reusing them soon is no sign of a short delay. */
size_t mw_region_pool_purge(unsigned cls, uint64_t cutoff_ns, size_t budget, uint64_t purged_ns);

/* region/cache.c: the per-thread caches. */
struct mw_region_cache;
struct mw_region_cache *mw_region_cache_self(void); /* NULL once the thread has exited */
mw_rid_t mw_region_cache_pop(struct mw_region_cache *c, unsigned cls);
bool mw_region_cache_push(struct mw_region_cache *c, mw_rid_t id);
mw_rid_t mw_region_cache_steal(struct mw_region_cache *self, unsigned cls);
/* Empties caches into the dirty pools: the calling thread's, or every thread's. */
void mw_region_cache_flush(bool all);
uint64_t mw_region_cache_count(unsigned cls); /* regions of cls in all caches, for stats */
/* Empties the caches whose owners have not used them since cutoff_ns (as far as the passes
 * calling this, under the purge lock, can tell) into the dirty pools. */
void mw_region_cache_drain_idle(uint64_t now_ns, uint64_t cutoff_ns);
void mw_region_cache_fork_prepare(void);
void mw_region_cache_fork_parent(void);
void mw_region_cache_fork_child(void);

/* region/purge.c: when to purge. */
void mw_region_purge_tick(uint64_t now_ns); /* after a free to the dirty pool; rate-limited */
uint64_t mw_region_purge_delay_ns(void);    /* MESHWARD_PURGE_DELAY_MS, in ns */
void mw_region_purge_start_worker(void);    /* if MESHWARD_PURGE_INTERVAL_MS asks for one */
void mw_region_purge_fork_prepare(void);
void mw_region_purge_fork_parent(void);
void mw_region_purge_fork_child(void);

#endif
