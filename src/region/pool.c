/* region/pool.c — the global pools of each region class: a dirty deque (freed regions whose
 * pages are still resident, newest at the head so that reuse finds warm pages, oldest at
 * the tail so that purging finds the coldest), a clean stack (regions whose pages went back
 * to the OS), and the class's current area, whose never-used regions are handed out in
 * address order once both pools are empty.
 *
 * Invariants (under the class lock): dirty_n and clean_n count the lists exactly; stamps
 * do not increase from head to tail (up to the few nanoseconds between a free reading the
 * clock and taking the lock; purging stops at the first unexpired tail). Purging unlinks a batch
 * under the lock and gives its pages back without it, so allocation never waits for madvise or
 * fallocate. */
#include "region/internal.h"

#include "trace.h"

/* The adaptive delay: a clean region taken within REGRET_DELAYS delays of its purge doubles
 * its class's delay (up to 2^MAX_DELAY_SHIFT times the base); CALM_DELAYS delays without
 * such a regret halve it again. A program whose demand swings slowly thus keeps its
 * regions resident, one that really stopped using them gets them purged at the base delay;
 * the bound on dirty bytes (region/purge.c) holds either way. */
#define REGRET_DELAYS 4
#define CALM_DELAYS 8
#define MAX_DELAY_SHIFT 6

struct mw_region_class mw_region_classes[MW_REGION_CLASSES];
_Atomic size_t mw_region_dirty_bytes;

void mw_region_pool_init(void) {
    for (unsigned cls = 0; cls < MW_REGION_CLASSES; cls++) {
        struct mw_region_class *rc = &mw_region_classes[cls];
        rc->dirty_head = rc->dirty_tail = rc->clean_head = rc->cur_area = MW_RID_NIL;
    }
}

static void unlink_dirty(struct mw_region_class *rc, mw_rid_t id) {
    struct mw_region_slot *s = mw_rid_slot(id);
    if (s->prev != MW_RID_NIL)
        mw_rid_slot(s->prev)->next = s->next;
    else
        rc->dirty_head = s->next;
    if (s->next != MW_RID_NIL)
        mw_rid_slot(s->next)->prev = s->prev;
    else
        rc->dirty_tail = s->prev;
    rc->dirty_n--;
    mw_rid_area(id)->pooled--;
    atomic_fetch_sub_explicit(&mw_region_dirty_bytes, mw_region_class_size(mw_rid_cls(id)),
                              memory_order_relaxed);
}

static void push_clean(struct mw_region_class *rc, mw_rid_t id) {
    mw_rid_slot(id)->next = rc->clean_head;
    rc->clean_head = id;
    rc->clean_n++;
    mw_rid_area(id)->pooled++;
}

uint64_t mw_region_pool_delay(unsigned cls, uint64_t base_ns) {
    return base_ns << atomic_load_explicit(&mw_region_classes[cls].delay_shift,
                                           memory_order_relaxed);
}

mw_rid_t mw_region_pool_get(unsigned cls, bool *clean, uint64_t now_ns, uint64_t base_ns) {
    struct mw_region_class *rc = &mw_region_classes[cls];
    mw_lock(&rc->lock);
    mw_rid_t id = rc->dirty_head;
    *clean = id == MW_RID_NIL;
    if (id != MW_RID_NIL) {
        unlink_dirty(rc, id);
    } else if ((id = rc->clean_head) != MW_RID_NIL) {
        struct mw_region_slot *s = mw_rid_slot(id);
        rc->clean_head = s->next;
        rc->clean_n--;
        mw_rid_area(id)->pooled--;
        unsigned shift = atomic_load_explicit(&rc->delay_shift, memory_order_relaxed);
        if (now_ns - s->stamp_ns < REGRET_DELAYS * (base_ns << shift)) {
            rc->regret_ns = now_ns;
            if (shift < MAX_DELAY_SHIFT)
                atomic_store_explicit(&rc->delay_shift, shift + 1, memory_order_relaxed);
        }
    }
    mw_unlock(&rc->lock);
    return id;
}

mw_rid_t mw_region_pool_carve(unsigned cls) {
    struct mw_region_class *rc = &mw_region_classes[cls];
    uint32_t per_area = (uint32_t)(MW_AREA_SIZE >> (MW_REGION_MIN_SHIFT + cls));
    mw_rid_t id = MW_RID_NIL;
    bool refilled = false, reclaimed = false;
    for (;;) {
        mw_lock(&rc->lock);
        if (rc->cur_area == MW_RID_NIL || rc->carved == per_area) {
            /* Taking an area is at most one mmap (file-backed), so it is done under the lock
             * rather than racing other threads into taking several. */
            uint32_t a = mw_region_area_take(cls);
            if (a != MW_RID_NIL) {
                rc->cur_area = a;
                rc->carved = 0;
                refilled = true;
                atomic_fetch_add_explicit(&rc->areas, 1, memory_order_relaxed);
                atomic_fetch_add_explicit(&rc->refills, 1, memory_order_relaxed);
            }
        }
        if (rc->cur_area != MW_RID_NIL && rc->carved < per_area)
            id = rc->cur_area << (MW_AREA_SHIFT - MW_REGION_MIN_SHIFT) | rc->carved++;
        mw_unlock(&rc->lock);
        /* The range is exhausted: take a free area from another class (once). */
        if (id != MW_RID_NIL || reclaimed || !mw_region_pool_reclaim(cls)) break;
        reclaimed = true;
    }
    /* Outside the lock: the tracer may allocate, and that allocation may come here. The
     * class is traced as the log2 of its size, as alloc events name regions. */
    if (refilled) MW_TRACE_REGION_REFILL(cls + MW_REGION_MIN_SHIFT, MW_AREA_SIZE);
    return id;
}

/* Takes area a (all of whose regions are in rc's pools or never handed out) away from its
 * class rc; the caller holds rc->lock. */
static void detach_area(struct mw_region_class *rc, uint32_t a) {
    for (mw_rid_t id = rc->dirty_head, next; id != MW_RID_NIL; id = next) {
        next = mw_rid_slot(id)->next;
        if (id >> (MW_AREA_SHIFT - MW_REGION_MIN_SHIFT) == a) unlink_dirty(rc, id);
    }
    mw_rid_t *link = &rc->clean_head;
    while (*link != MW_RID_NIL) {
        mw_rid_t id = *link;
        if (id >> (MW_AREA_SHIFT - MW_REGION_MIN_SHIFT) == a) {
            *link = mw_rid_slot(id)->next;
            rc->clean_n--;
            mw_rid_area(id)->pooled--;
        } else {
            link = &mw_rid_slot(id)->next;
        }
    }
    if (rc->cur_area == a) rc->cur_area = MW_RID_NIL;
    atomic_fetch_sub_explicit(&rc->areas, 1, memory_order_relaxed);
}

bool mw_region_pool_reclaim(unsigned cls) {
    uint32_t used = atomic_load_explicit(&mw_region_range.areas_used, memory_order_acquire);
    for (unsigned other = 0; other < MW_REGION_CLASSES; other++) {
        if (other == cls) continue;
        struct mw_region_class *rc = &mw_region_classes[other];
        uint32_t per_area = (uint32_t)(MW_AREA_SIZE >> (MW_REGION_MIN_SHIFT + other));
        mw_lock(&rc->lock);
        for (uint32_t a = 0; a < used; a++) {
            struct mw_area *area = &mw_region_range.areas[a];
            uint32_t unused = a == rc->cur_area ? per_area - rc->carved : 0;
            if (area->cls != other || area->pooled + unused != per_area) continue;
            detach_area(rc, a);
            mw_unlock(&rc->lock);
            mw_region_area_release(a);
            return true;
        }
        mw_unlock(&rc->lock);
    }
    return false;
}

void mw_region_pool_put_dirty(mw_rid_t id, uint64_t now_ns) {
    struct mw_region_class *rc = &mw_region_classes[mw_rid_cls(id)];
    struct mw_region_slot *s = mw_rid_slot(id);
    mw_lock(&rc->lock);
    s->stamp_ns = now_ns;
    s->prev = MW_RID_NIL;
    s->next = rc->dirty_head;
    if (rc->dirty_head != MW_RID_NIL)
        mw_rid_slot(rc->dirty_head)->prev = id;
    else
        rc->dirty_tail = id;
    rc->dirty_head = id;
    rc->dirty_n++;
    mw_rid_area(id)->pooled++;
    mw_unlock(&rc->lock);
    atomic_fetch_add_explicit(&mw_region_dirty_bytes, mw_region_class_size(mw_rid_cls(id)),
                              memory_order_relaxed);
}

uint64_t mw_region_pool_oldest(unsigned cls) {
    struct mw_region_class *rc = &mw_region_classes[cls];
    mw_lock(&rc->lock);
    uint64_t stamp =
        rc->dirty_tail == MW_RID_NIL ? UINT64_MAX : mw_rid_slot(rc->dirty_tail)->stamp_ns;
    mw_unlock(&rc->lock);
    return stamp;
}

size_t mw_region_pool_purge(unsigned cls, uint64_t cutoff_ns, size_t budget, uint64_t purged_ns) {
    struct mw_region_class *rc = &mw_region_classes[cls];
    size_t size = mw_region_class_size(cls), bytes = 0;
    mw_rid_t batch = MW_RID_NIL;
    mw_lock(&rc->lock);
    /* Stamps are ordered, so the expired regions are (nearly exactly) a suffix. */
    while (rc->dirty_tail != MW_RID_NIL && mw_rid_slot(rc->dirty_tail)->stamp_ns <= cutoff_ns &&
           (bytes == 0 || bytes + size <= budget)) {
        mw_rid_t id = rc->dirty_tail;
        unlink_dirty(rc, id);
        mw_rid_slot(id)->next = batch;
        batch = id;
        bytes += size;
    }
    mw_unlock(&rc->lock);
    if (batch == MW_RID_NIL) return 0;
    for (mw_rid_t id = batch; id != MW_RID_NIL; id = mw_rid_slot(id)->next)
        mw_region_area_purge(id);
    mw_lock(&rc->lock);
    for (mw_rid_t id = batch, next; id != MW_RID_NIL; id = next) {
        next = mw_rid_slot(id)->next;
        mw_rid_slot(id)->stamp_ns = purged_ns;
        push_clean(rc, id);
    }
    mw_unlock(&rc->lock);
    atomic_fetch_add_explicit(&rc->purged_bytes, bytes, memory_order_relaxed);
    return bytes;
}

size_t mw_region_pool_purge_aged(unsigned cls, uint64_t now_ns, uint64_t base_ns, size_t budget) {
    struct mw_region_class *rc = &mw_region_classes[cls];
    uint64_t delay = mw_region_pool_delay(cls, base_ns);
    size_t bytes = mw_region_pool_purge(cls, now_ns > delay ? now_ns - delay : 0, budget, now_ns);
    mw_lock(&rc->lock);
    unsigned shift = atomic_load_explicit(&rc->delay_shift, memory_order_relaxed);
    if (shift && now_ns - rc->regret_ns >= CALM_DELAYS * delay) {
        atomic_store_explicit(&rc->delay_shift, shift - 1, memory_order_relaxed);
        rc->regret_ns = now_ns; /* one step per calm period */
    }
    mw_unlock(&rc->lock);
    return bytes;
}
