/* region/purge.c — when dirty regions go back to the OS.
 *
 * Policy: a dirty region is purged once it has sat unused in its class's dirty pool for the
 * class's delay: MESHWARD_PURGE_DELAY_MS, doubled (up to 64 times) each time a region of
 * the class is needed again shortly after being purged, and halved back after calm periods
 * (region/pool.c); and, whatever the delay, the oldest dirty regions (across
 * classes) are purged while the dirty pools hold more bytes than the live regions do plus
 * DIRTY_FLOOR, so that a program whose demand swings cannot keep every class at its peak
 * for a whole delay. (Sizes count class bytes; only touched pages are resident.)
 * By default purging is inline: region frees and slow allocations check, at most once a
 * millisecond (of the coarse clock: in practice once per kernel tick), and purge at most
 * INLINE_BUDGET bytes per check, so no single free pays for a large purge. With
 * MESHWARD_PURGE_INTERVAL_MS > 0 a background thread purges at that period instead and the inline
 * checks stop. A thread cache unused for the delay is emptied into the dirty pools first (they age
 * there); mw_region_purge flushes them too.
 *
 * purge_lock serialises purge passes (a pass holds no pool lock while it calls madvise or
 * fallocate); inline checks skip when a pass is running rather than wait for it. */
#include "region/internal.h"

#include "trace.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>

#define TICK_NS 1000000ull
#define INLINE_BUDGET ((size_t)256 << 20)
#define DIRTY_FLOOR ((size_t)128 << 20)

static mw_lock_t purge_lock;
static _Atomic uint64_t last_tick_ns;
static atomic_bool worker_running;

uint64_t mw_region_purge_delay_ns(void) {
    long ms = mw_option_get(MW_OPTION_PURGE_DELAY_MS);
    return ms > 0 ? (uint64_t)ms * 1000000ull : 0;
}

/* Bytes of dirty regions beyond what the live regions justify keeping. */
static size_t dirty_excess(void) {
    size_t live = 0;
    for (unsigned cls = 0; cls < MW_REGION_CLASSES; cls++) {
        struct mw_region_class *rc = &mw_region_classes[cls];
        uint64_t frees = atomic_load_explicit(&rc->frees, memory_order_relaxed);
        uint64_t allocs = atomic_load_explicit(&rc->allocations, memory_order_relaxed);
        live += allocs > frees ? (size_t)(allocs - frees) * mw_region_class_size(cls) : 0;
    }
    size_t keep = live + DIRTY_FLOOR;
    size_t dirty = atomic_load_explicit(&mw_region_dirty_bytes, memory_order_relaxed);
    return dirty > keep ? dirty - keep : 0;
}

/* Purges up to budget bytes, oldest first across classes: each round purges the class
 * with the oldest region down to the next-oldest class's stamp. */
static size_t purge_oldest(size_t budget) {
    size_t total = 0;
    while (total < budget) {
        unsigned oldest = MW_REGION_CLASSES;
        uint64_t first = UINT64_MAX, second = UINT64_MAX;
        for (unsigned cls = 0; cls < MW_REGION_CLASSES; cls++) {
            uint64_t stamp = mw_region_pool_oldest(cls);
            if (stamp < first) {
                second = first;
                first = stamp;
                oldest = cls;
            } else if (stamp < second) {
                second = stamp;
            }
        }
        if (oldest == MW_REGION_CLASSES) break;
        total += mw_region_pool_purge(oldest, second, budget - total, 0);
    }
    return total;
}

/* One pass: the regions unused for their class's delay (classes largest first: most bytes
 * per system call), or every dirty region when forced; then the oldest beyond the bound on
 * dirty bytes. Idle thread caches are emptied first. The caller holds purge_lock, and
 * records the purge event once it has dropped it (recording may allocate). Returns the
 * bytes purged. */
static size_t purge_pass(uint64_t now_ns, bool force, size_t budget) {
    uint64_t base = mw_region_purge_delay_ns();
    mw_region_cache_drain_idle(now_ns, force ? UINT64_MAX : now_ns > base ? now_ns - base : 0);
    size_t total = 0;
    for (unsigned cls = MW_REGION_CLASSES; cls-- > 0 && total < budget;)
        total += force ? mw_region_pool_purge(cls, UINT64_MAX, budget - total, 0)
                       : mw_region_pool_purge_aged(cls, now_ns, base, budget - total);
    size_t excess = dirty_excess();
    if (excess && total < budget)
        total += purge_oldest(excess < budget - total ? excess : budget - total);
    return total;
}

/* A pass under purge_lock, its event recorded after the lock is dropped. */
static void locked_pass(uint64_t now_ns, bool force, size_t budget) {
    mw_lock(&purge_lock);
    size_t purged = purge_pass(now_ns, force, budget);
    mw_unlock(&purge_lock);
    if (purged) MW_TRACE_PURGE(purged);
}

void mw_region_purge_tick(uint64_t now_ns) {
    if (atomic_load_explicit(&worker_running, memory_order_relaxed)) return;
    uint64_t last = atomic_load_explicit(&last_tick_ns, memory_order_relaxed);
    if (now_ns - last < TICK_NS ||
        !atomic_compare_exchange_strong_explicit(&last_tick_ns, &last, now_ns, memory_order_relaxed,
                                                 memory_order_relaxed))
        return;
    if (atomic_load_explicit(&purge_lock.held, memory_order_relaxed)) return;
    locked_pass(now_ns, false, INLINE_BUDGET);
}

void mw_region_purge(bool force) {
    mw_region_cache_flush(force);
    if (!mw_region_range_ready()) return;
    locked_pass(mw_region_now_ns(), force, SIZE_MAX);
}

/* ---- the optional background worker ---------------------------------------------------- */

static void *worker(void *arg) {
    (void)arg;
    for (;;) {
        long ms = mw_option_get(MW_OPTION_PURGE_INTERVAL_MS);
        if (ms <= 0) break;
        struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
        locked_pass(mw_region_now_ns(), false, SIZE_MAX);
    }
    atomic_store_explicit(&worker_running, false, memory_order_relaxed);
    return NULL;
}

/* Called on the allocation slow path with no lock held: pthread_create may call malloc. The
 * worker blocks every signal so that the program's signals go to its own threads. */
void mw_region_purge_start_worker(void) {
    if (atomic_load_explicit(&worker_running, memory_order_relaxed) ||
        mw_option_get(MW_OPTION_PURGE_INTERVAL_MS) <= 0 ||
        atomic_exchange_explicit(&worker_running, true, memory_order_relaxed))
        return;
    int saved = errno;
    pthread_attr_t attr;
    sigset_t all, old;
    pthread_t t;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    bool ok = pthread_attr_init(&attr) == 0;
    if (ok) {
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        ok = pthread_create(&t, &attr, worker, NULL) == 0;
        pthread_attr_destroy(&attr);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (!ok) atomic_store_explicit(&worker_running, false, memory_order_relaxed);
    errno = saved;
}

void mw_region_purge_fork_prepare(void) {
    mw_lock(&purge_lock);
}
void mw_region_purge_fork_parent(void) {
    mw_unlock(&purge_lock);
}
void mw_region_purge_fork_child(void) {
    mw_lock_reset(&purge_lock);
    atomic_store_explicit(&worker_running, false, memory_order_relaxed); /* it was not forked */
}
