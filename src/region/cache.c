/* region/cache.c — per-thread region caches: small LIFO lists per class, bounded by bytes
 * (MW_REGION_CACHE_BYTES), that serve a thread's frees and reallocations without touching
 * the global pools; stealing from other threads' caches; returning a cache to the pools
 * when its thread exits, or when it has not been used for the purge delay (so that an idle
 * thread does not keep MW_REGION_CACHE_BYTES resident for good).
 *
 * Caches are never freed (nothing here may call malloc, and a stealer may be walking the
 * registry): they come from a static block, then from reserved chunks, and are linked into
 * an append-only registry. A released cache is empty and is reused by the next new thread.
 * Each cache has a lock because other threads steal from it; its owner takes it too, which
 * costs one uncontended atomic per operation on blocks of at least 32 KiB.
 * A thread's pointer to its cache is initial-exec TLS; CACHE_EXITED marks a thread past
 * mw_region_thread_exit, whose later frees go straight to the global pools. */
#include "region/internal.h"

#include "os.h"

struct mw_region_cache {
    mw_lock_t lock;
    atomic_bool in_use;
    struct mw_region_cache *_Atomic next; /* registry link, set once */
    size_t bytes;
    /* Idle detection without reading a clock on the fast path: the owner counts its pushes
     * and pops; each purge pass notes when it last saw the count change. */
    _Atomic uint64_t uses;
    uint64_t seen_uses, seen_ns; /* the purge pass's (under its lock) */
    mw_rid_t head[MW_REGION_CACHE_CLASSES];
    _Atomic uint32_t count[MW_REGION_CACHE_CLASSES]; /* read without the lock by stealers */
};

#define CACHE_EXITED ((struct mw_region_cache *)(uintptr_t)1)
#define CACHE_CHUNK 256

static __thread struct mw_region_cache *tcache __attribute__((tls_model("initial-exec")));
static struct mw_region_cache *_Atomic registry;
static mw_lock_t registry_lock;
static struct mw_region_cache static_caches[64];
static struct mw_region_cache *spare = static_caches; /* under registry_lock */
static size_t spare_left = sizeof static_caches / sizeof static_caches[0];

static struct mw_region_cache *new_cache(void) {
    mw_lock(&registry_lock);
    if (spare_left == 0) {
        spare = mw_os_reserve(CACHE_CHUNK * sizeof(struct mw_region_cache), MW_PAGE_SIZE);
        spare_left = spare ? CACHE_CHUNK : 0;
    }
    struct mw_region_cache *c = NULL;
    if (spare_left) {
        c = spare++;
        spare_left--;
        for (unsigned cls = 0; cls < MW_REGION_CACHE_CLASSES; cls++)
            c->head[cls] = MW_RID_NIL;
        atomic_store_explicit(&c->in_use, true, memory_order_relaxed);
        c->next = atomic_load_explicit(&registry, memory_order_relaxed);
        atomic_store_explicit(&registry, c, memory_order_release);
    }
    mw_unlock(&registry_lock);
    return c;
}

static struct mw_region_cache *acquire(void) {
    for (struct mw_region_cache *c = atomic_load_explicit(&registry, memory_order_acquire); c;
         c = c->next)
        if (!atomic_load_explicit(&c->in_use, memory_order_relaxed) &&
            !atomic_exchange_explicit(&c->in_use, true, memory_order_acquire))
            return c;
    return new_cache();
}

struct mw_region_cache *mw_region_cache_self(void) {
    struct mw_region_cache *c = tcache;
    if (mw_likely(c > CACHE_EXITED)) return c;
    if (c == CACHE_EXITED) return NULL;
    return tcache = acquire();
}

/* Pops a region of cls from c; the caller holds c->lock. */
static mw_rid_t take(struct mw_region_cache *c, unsigned cls) {
    mw_rid_t id = c->head[cls];
    if (id == MW_RID_NIL) return id;
    c->head[cls] = mw_rid_slot(id)->next;
    atomic_store_explicit(&c->count[cls], c->count[cls] - 1, memory_order_relaxed);
    c->bytes -= mw_region_class_size(cls);
    return id;
}

static mw_rid_t take_locked(struct mw_region_cache *c, unsigned cls) {
    if (cls >= MW_REGION_CACHE_CLASSES ||
        !atomic_load_explicit(&c->count[cls], memory_order_relaxed))
        return MW_RID_NIL;
    mw_lock(&c->lock);
    mw_rid_t id = take(c, cls);
    mw_unlock(&c->lock);
    return id;
}

static void touch(struct mw_region_cache *c) {
    atomic_store_explicit(&c->uses, atomic_load_explicit(&c->uses, memory_order_relaxed) + 1,
                          memory_order_relaxed);
}

mw_rid_t mw_region_cache_pop(struct mw_region_cache *c, unsigned cls) {
    mw_rid_t id = take_locked(c, cls);
    if (id != MW_RID_NIL) touch(c);
    return id;
}

bool mw_region_cache_push(struct mw_region_cache *c, mw_rid_t id) {
    unsigned cls = mw_rid_cls(id);
    size_t size = mw_region_class_size(cls);
    if (cls >= MW_REGION_CACHE_CLASSES) return false;
    mw_lock(&c->lock);
    bool fits = c->bytes + size <= MW_REGION_CACHE_BYTES;
    if (fits) {
        touch(c);
        mw_rid_slot(id)->next = c->head[cls];
        c->head[cls] = id;
        atomic_store_explicit(&c->count[cls], c->count[cls] + 1, memory_order_relaxed);
        c->bytes += size;
    }
    mw_unlock(&c->lock);
    return fits;
}

mw_rid_t mw_region_cache_steal(struct mw_region_cache *self, unsigned cls) {
    for (struct mw_region_cache *c = atomic_load_explicit(&registry, memory_order_acquire); c;
         c = c->next) {
        if (c == self) continue;
        mw_rid_t id = take_locked(c, cls);
        if (id != MW_RID_NIL) return id;
    }
    return MW_RID_NIL;
}

/* Moves everything in c to the dirty pools (its pages are resident: they were in use). */
static void drain(struct mw_region_cache *c) {
    uint64_t now = mw_region_now_ns();
    for (unsigned cls = 0; cls < MW_REGION_CACHE_CLASSES; cls++)
        for (mw_rid_t id; (id = take_locked(c, cls)) != MW_RID_NIL;)
            mw_region_pool_put_dirty(id, now);
}

void mw_region_cache_flush(bool all) {
    if (!all) {
        if (tcache > CACHE_EXITED) drain(tcache);
        return;
    }
    for (struct mw_region_cache *c = atomic_load_explicit(&registry, memory_order_acquire); c;
         c = c->next)
        drain(c);
}

void mw_region_cache_drain_idle(uint64_t now_ns, uint64_t cutoff_ns) {
    for (struct mw_region_cache *c = atomic_load_explicit(&registry, memory_order_acquire); c;
         c = c->next) {
        uint64_t uses = atomic_load_explicit(&c->uses, memory_order_relaxed);
        if (uses != c->seen_uses) {
            c->seen_uses = uses;
            c->seen_ns = now_ns;
        } else if (c->seen_ns <= cutoff_ns) {
            drain(c);
        }
    }
}

uint64_t mw_region_cache_count(unsigned cls) {
    uint64_t n = 0;
    if (cls < MW_REGION_CACHE_CLASSES)
        for (struct mw_region_cache *c = atomic_load_explicit(&registry, memory_order_acquire); c;
             c = c->next)
            n += atomic_load_explicit(&c->count[cls], memory_order_relaxed);
    return n;
}

void mw_region_thread_exit(void) {
    struct mw_region_cache *c = tcache;
    tcache = CACHE_EXITED;
    if (c <= CACHE_EXITED) return;
    drain(c);
    atomic_store_explicit(&c->in_use, false, memory_order_release);
}

/* ---- fork: the registry lock, then every cache's lock, in registry order --------------- */

void mw_region_cache_fork_prepare(void) {
    mw_lock(&registry_lock);
    for (struct mw_region_cache *c = registry; c; c = c->next)
        mw_lock(&c->lock);
}

void mw_region_cache_fork_parent(void) {
    for (struct mw_region_cache *c = registry; c; c = c->next)
        mw_unlock(&c->lock);
    mw_unlock(&registry_lock);
}

/* Only the forking thread exists in the child: the other threads' caches go back. */
void mw_region_cache_fork_child(void) {
    mw_lock_reset(&registry_lock);
    for (struct mw_region_cache *c = registry; c; c = c->next)
        mw_lock_reset(&c->lock);
    for (struct mw_region_cache *c = registry; c; c = c->next) {
        if (c == tcache || !atomic_load_explicit(&c->in_use, memory_order_relaxed)) continue;
        drain(c);
        atomic_store_explicit(&c->in_use, false, memory_order_relaxed);
    }
}
