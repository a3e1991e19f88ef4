/* heap.c — heap slow paths: refilling an allocation span, local frees that empty or
 * un-fill a span, remote and delayed frees, abandoning and adopting spans, tearing heaps
 * down. The invariants are in heap.h and span.h. */
#include "heap.h"
#include "alloc.h"
#include "arena/arena.h"
#include "lock.h"
#include "mesh/mesh.h"
#include "meta.h"
#include "os.h"
#include "trace.h"
#if MW_HARDENED
#include "harden/quarantine.h"
#include "harden/record.h"
#endif

struct mw_span mw_empty_span;

static mw_lock_t heap_lock; /* guards the list of heaps and id assignment */
static struct mw_heap *all_heaps;
static uint32_t next_heap_id = 1;
static struct mw_pool heap_pool = MW_POOL_INIT(struct mw_heap);
static _Atomic uint64_t orphan_frees[MW_CLASS_COUNT]; /* by threads without a heap */
static _Atomic unsigned thread_heaps;                 /* alive thread heaps */

/* ---- queues ------------------------------------------------------------------------- */

/* The direct indices of class c are [direct_first[c], direct_first[c + 1]): sizes above
 * the previous class's, up to MW_DIRECT_MAX (none beyond). A table, so that the slow path's
 * rewrite of a class's entries reads two bytes (class sizes are multiples of 8). */
#define DFIRST_(c) (MW_CLASS_SIZE((c)-1) / 8u + 1u)
#define DFIRST(c) ((c) == 0 ? 0u : DFIRST_(c) < MW_DIRECT_COUNT ? DFIRST_(c) : MW_DIRECT_COUNT)
#define DF4(c) DFIRST(c), DFIRST(c + 1), DFIRST(c + 2), DFIRST(c + 3)
#define DF16(c) DF4(c), DF4(c + 4), DF4(c + 8), DF4(c + 12)
static const uint8_t direct_first[MW_CLASS_COUNT + 1] = {DF16(0),  DF16(16), DF16(32),
                                                         DF16(48), DF4(64),  DFIRST(68)};
_Static_assert(MW_CLASS_COUNT == 68 && MW_DIRECT_COUNT < 256, "direct_first's rows");

void mw_heap_sync_direct(struct mw_heap *h, unsigned cls) {
    struct mw_span *s = mw_alloc_hooked ? &mw_empty_span : h->current[cls];
    for (unsigned i = direct_first[cls], end = direct_first[cls + 1]; i < end; i++)
        h->direct[i] = s;
}

uint64_t mw_heap_allocs(const struct mw_heap *h, unsigned cls) {
    uint64_t n = h->allocs[cls];
    for (unsigned i = direct_first[cls], end = direct_first[cls + 1]; i < end; i++)
        n += h->direct_allocs[i];
    return n;
}

mw_inline void sync_current(struct mw_heap *h, unsigned cls) {
    struct mw_span *first = h->queue[cls].first;
    if (!first) first = &mw_empty_span;
    if (h->current[cls] == first) return;
    h->current[cls] = first;
    mw_heap_sync_direct(h, cls);
}

/* The list a span of h sits in, by its state. */
static struct mw_span_queue *list_of(struct mw_heap *h, struct mw_span *s) {
    return s->state == MW_SPAN_FULL ? &h->full : &h->queue[s->cls];
}

/* ---- creation ----------------------------------------------------------------------- */

struct mw_heap *mw_heap_create(bool thread_heap, mw_arena_id_t arena) {
    struct mw_heap *h = NULL;
    mw_lock(&heap_lock);
    for (struct mw_heap *it = all_heaps; it; it = it->all_next)
        if (!it->alive) { /* recycle: counters stay, so totals stay right */
            h = it;
            break;
        }
    if (h) {
        h->alive = true;
        h->id = next_heap_id++;
    }
    mw_unlock(&heap_lock);
    if (!h) {
        h = mw_pool_alloc(&heap_pool);
        if (!h) return NULL;
        mw_lock(&heap_lock);
        h->alive = true;
        h->id = next_heap_id++;
        h->all_next = all_heaps;
        all_heaps = h;
        mw_unlock(&heap_lock);
    }
    for (unsigned c = 0; c < MW_CLASS_COUNT; c++) {
        h->queue[c].first = h->queue[c].last = NULL;
        h->current[c] = &mw_empty_span;
        mw_heap_sync_direct(h, c);
    }
    h->full.first = h->full.last = NULL;
    atomic_store(&h->delayed, NULL);
    h->thread_heap = thread_heap;
    h->arena = (uint8_t)arena;
    h->mesh_peak = 0;
    h->mesh_look_ns = h->mesh_owed = 0;
    mw_os_random(&h->rng, sizeof h->rng);
    if (thread_heap) atomic_fetch_add_explicit(&thread_heaps, 1, memory_order_relaxed);
    return h;
}

/* ---- span state changes ------------------------------------------------------------- */

static void release_span(struct mw_heap *h, struct mw_span *s) {
    mw_queue_remove(list_of(h, s), s);
    sync_current(h, s->cls);
    mw_arena_span_free(s);
}

/* s (in h's full list) has room again. */
static void unfull(struct mw_heap *h, struct mw_span *s) {
    mw_queue_remove(&h->full, s);
    s->state = MW_SPAN_QUEUED;
    atomic_store_explicit(&s->owner, h, memory_order_relaxed);
    s->dry = 0;
    mw_span_set_delay(s, MW_DELAY_NORMAL, false);
    struct mw_span_queue *q = &h->queue[s->cls];
    if (q->first) { /* behind the allocation span, which keeps serving */
        mw_queue_push_back(q, s);
    } else {
        mw_queue_push_front(q, s);
        sync_current(h, s->cls);
    }
}

/* s has no free slot: park it in the full list, unless a remote free just arrived. */
static bool to_full(struct mw_heap *h, struct mw_span *s) {
    if (!mw_span_set_delay(s, MW_DELAY_USE, true)) return false;
    mw_queue_remove(&h->queue[s->cls], s);
    sync_current(h, s->cls);
    s->state = MW_SPAN_FULL;
    atomic_store_explicit(&s->owner, mw_span_full_owner(h), memory_order_relaxed);
    mw_queue_push_front(&h->full, s);
    return true;
}

void mw_heap_span_changed(struct mw_heap *h, struct mw_span *s) {
    if (s->used == 0 && s != h->current[s->cls]) {
        mw_span_set_delay(s, MW_DELAY_NEVER, false);
        release_span(h, s);
    } else if (s->state == MW_SPAN_FULL) {
        unfull(h, s);
    }
}

/* Frees taken off the delayed list: local frees, already counted by their freers. */
static void take_delayed(struct mw_heap *h, bool teardown) {
    mw_block_t *b = atomic_exchange_explicit(&h->delayed, NULL, memory_order_acquire);
    while (b) {
        struct mw_span *s = mw_arena_span_of_any(b);
        mw_block_t *next = mw_block_next_any(s, b);
        mw_block_set_next(s, b, s->local_free);
        s->local_free = b;
        --s->used;
        if (!teardown) mw_heap_span_changed(h, s);
        b = next;
    }
}

/* ---- allocation slow path ----------------------------------------------------------- */

mw_inline void *pop_block(struct mw_heap *h, struct mw_span *s) {
    mw_block_t *b = s->free;
    mw_span_take(s, b, false);
    h->allocs[s->cls]++;
    return b;
}

/* mw_span_collect for a span whose free list is empty, its common case inline: no remote
 * frees and no aliases, so the local list becomes the free list (the call and its test of
 * `free` cost more than that). */
mw_inline void gather(struct mw_span *s) {
    uintptr_t remote = atomic_load_explicit(&s->thread_free, memory_order_relaxed) & ~MW_DELAY_MASK;
    if (mw_unlikely(remote || s->mesh_next)) return mw_span_collect(s);
    s->free = s->local_free;
    s->local_free = NULL;
}

/* Makes s (already in h's queue) the allocation span if it has or can get a free block. */
mw_inline bool ready(struct mw_heap *h, struct mw_span *s) {
    if (!s->free) gather(s);
    if (!s->free && s->built < s->capacity) mw_span_extend(s, &h->rng);
    if (!s->free) return false;
    s->dry = 0;
    struct mw_span_queue *q = &h->queue[s->cls];
    if (q->first != s) {
        mw_queue_remove(q, s);
        mw_queue_push_front(q, s);
    }
    sync_current(h, s->cls);
    return true;
}

/* s, a queued span without a block, waits at the back of its queue the first time, since
 * the program usually frees some of its blocks before the queue comes round to it again;
 * found dry a second time, it goes to the full list (false: a remote free landed, look
 * again). So a span that fills and empties by turns stays queued, and its frees take no
 * slow path, while a span that stays full is looked at twice, not at every refill. */
static bool set_aside(struct mw_heap *h, struct mw_span *s) {
    if (s->dry) return to_full(h, s);
    s->dry = 1;
    struct mw_span_queue *q = &h->queue[s->cls];
    if (q->last != s) {
        mw_queue_remove(q, s);
        mw_queue_push_back(q, s);
        sync_current(h, s->cls);
    }
    return true;
}

/* Each span of the queue is looked at once, in order; those set aside go behind the last. */
static void *from_queue(struct mw_heap *h, unsigned cls) {
    struct mw_span *s = h->queue[cls].first, *last = h->queue[cls].last;
    while (s) {
        if (ready(h, s)) return pop_block(h, s);
        struct mw_span *next = s == last ? NULL : s->next;
        if (!set_aside(h, s)) continue; /* a remote free landed: look again */
        s = next;
    }
    return NULL;
}

static void *from_abandoned(struct mw_heap *h, unsigned cls) {
    struct mw_span *s;
    while ((s = mw_arena_adopt(h->arena, cls)) != NULL) {
        atomic_store_explicit(&s->owner, h, memory_order_release);
        mw_span_collect(s);
        s->state = MW_SPAN_QUEUED;
        mw_queue_push_front(&h->queue[cls], s);
        if (s->used == 0) {
            release_span(h, s);
            continue;
        }
        mw_span_set_delay(s, MW_DELAY_NORMAL, false);
        if (ready(h, s)) return pop_block(h, s);
        while (!to_full(h, s))
            if (ready(h, s)) return pop_block(h, s);
    }
    return NULL;
}

static void *from_new_span(struct mw_heap *h, unsigned cls) {
    struct mw_span *s = mw_arena_span_alloc(h->arena, mw_classes[cls].pages, cls);
    if (!s) return NULL;
    atomic_store_explicit(&s->owner, h, memory_order_release);
    mw_queue_push_front(&h->queue[cls], s);
    mw_span_collect(s); /* a warm span's blocks (arena.c) */
    if (!s->free) mw_span_extend(s, &h->rng);
    sync_current(h, cls);
    MW_TRACE_REFILL(h->id, cls, s->start, s->built);
    return pop_block(h, s);
}

void *mw_heap_alloc_slow(struct mw_heap *h, unsigned cls) {
    if (mw_unlikely(!h->alive)) return NULL; /* the empty heap, or a deleted one */
    if (atomic_load_explicit(&h->delayed, memory_order_relaxed)) take_delayed(h, false);
    mw_block_t *b = mw_heap_take_local(h, h->current[cls], false);
    if (b) {
        h->allocs[cls]++;
        return b;
    }
    if (!h->mesh_skip--) { /* a clock read costs a tenth of this path: every 8th asks */
        h->mesh_skip = 7;
        mw_mesh_ask(h);
    }
    void *p = from_queue(h, cls);
    if (!p) p = from_abandoned(h, cls);
    if (!p) p = from_new_span(h, cls);
    return p;
}

/* ---- meshing ------------------------------------------------------------------------ */

unsigned mw_heap_mesh_candidates(struct mw_heap *h, unsigned cls, uint32_t max_used,
                                 struct mw_span **out, unsigned max) {
    /* A candidate's block may wait on the delayed list (a local free un-filled its span
     * after a remote one reached the list): taken now, it can no longer land in a span
     * that the pass meshes away or gives up. */
    if (atomic_load_explicit(&h->delayed, memory_order_relaxed)) take_delayed(h, false);
    unsigned n = 0;
    for (struct mw_span *s = h->queue[cls].first; s && n < max; s = s->next) {
        if (s == h->current[cls] || s->arena != 0) continue; /* other arenas: never */
        if (s->used > max_used &&
            !(atomic_load_explicit(&s->thread_free, memory_order_relaxed) & ~MW_DELAY_MASK))
            continue; /* too full, and no remote frees to collect that could change that */
        mw_span_collect(s);
        if (s->used != 0 && s->used <= max_used) out[n++] = s;
    }
    return n;
}

void mw_heap_unlink_meshed(struct mw_heap *h, struct mw_span *s) {
    mw_queue_remove(&h->queue[s->cls], s);
}

void mw_heap_requeue_unmeshed(struct mw_heap *h, struct mw_span *s) {
    struct mw_span_queue *q = &h->queue[s->cls];
    if (q->last == s) return;
    mw_queue_remove(q, s); /* q keeps its allocation span, never a candidate: not empty */
    mw_queue_push_back(q, s);
}

/* ---- frees from other threads ------------------------------------------------------- */

/* Remote frees that found s full or abandoned (d, what mw_span_push_remote found). */
static mw_noinline void free_remote_odd(struct mw_span *s, mw_block_t *b, enum mw_delay d) {
    if (d == MW_DELAY_NEVER) mw_arena_reclaim_abandoned(s);
    if (d != MW_DELAY_USE) return;
    /* The owner parked s as full and asked to be told: hand it the block. The owner
     * cannot go away meanwhile: teardown waits for MW_DELAY_FREEING to end. */
    struct mw_heap *h = mw_span_owner(s, memory_order_acquire);
    mw_block_t *head = atomic_load_explicit(&h->delayed, memory_order_relaxed);
    do {
        mw_block_set_next(s, b, head);
    } while (!atomic_compare_exchange_weak_explicit(&h->delayed, &head, b, memory_order_release,
                                                    memory_order_relaxed));
    mw_span_end_delayed(s);
}

void mw_heap_free_full(struct mw_heap *h, struct mw_span *s, mw_block_t *b, bool unhooked) {
    mw_heap_push_local(h, s, b, unhooked); /* its local list was empty: no double free */
    --s->used;
    mw_heap_span_changed(h, s);
}

mw_inline void free_remote(struct mw_heap *me, struct mw_span *s, mw_block_t *b, bool unhooked) {
    if (mw_likely(me->alive))
        me->frees[s->cls]++;
    else
        atomic_fetch_add_explicit(&orphan_frees[s->cls], 1, memory_order_relaxed);
    enum mw_delay d = mw_span_push_remote(s, b, unhooked);
    if (mw_unlikely(d != MW_DELAY_NORMAL)) free_remote_odd(s, b, d);
}

void mw_heap_free_remote(struct mw_heap *me, struct mw_span *s, mw_block_t *b) {
    free_remote(me, s, b, false);
}

void mw_heap_free_remote_unhooked(struct mw_heap *me, struct mw_span *s, mw_block_t *b) {
    free_remote(me, s, b, true);
}

/* ---- teardown ----------------------------------------------------------------------- */

/* Calls fn on every span of h (each queue and the full list); fn may unlink the span.
 * Returns the sum of what fn returned. */
static unsigned each_span(struct mw_heap *h, unsigned (*fn)(struct mw_heap *, struct mw_span *)) {
    unsigned sum = 0;
    for (unsigned c = 0; c <= MW_CLASS_COUNT; c++) {
        struct mw_span_queue *q = c < MW_CLASS_COUNT ? &h->queue[c] : &h->full;
        for (struct mw_span *s = q->first, *next; s; s = next) {
            next = s->next;
            sum += fn(h, s);
        }
    }
    return sum;
}

static unsigned collect_span(struct mw_heap *h, struct mw_span *s) {
    mw_span_collect(s);
    mw_heap_span_changed(h, s);
    return 0;
}

void mw_heap_collect(struct mw_heap *h) {
    take_delayed(h, false);
    each_span(h, collect_span);
}

static unsigned stop_delayed(struct mw_heap *h, struct mw_span *s) {
    (void)h;
    mw_span_set_delay(s, MW_DELAY_NEVER, false);
    return 0;
}

/* Gives s up: back to the arena when empty, else abandoned (returns 1). */
static unsigned abandon_span(struct mw_heap *h, struct mw_span *s) {
    mw_queue_remove(list_of(h, s), s);
    mw_span_collect(s);
    if (s->used == 0) {
        mw_arena_span_free(s);
        return 0;
    }
    atomic_store_explicit(&s->owner, NULL, memory_order_release);
    mw_arena_abandon(s, false);
    return 1;
}

void mw_heap_donate(struct mw_heap *h, struct mw_span *s) {
    mw_assert(s != h->current[s->cls] && s->state == MW_SPAN_QUEUED);
    stop_delayed(h, s);
    abandon_span(h, s);
}

unsigned mw_heap_thread_heaps(void) {
    return atomic_load_explicit(&thread_heaps, memory_order_relaxed);
}

/* Tells memcheck that every live block of s is freed (s is collected). */
static mw_noinline void vg_free_live(const struct mw_span *s) {
    uint64_t live[MW_SPAN_BITMAP_WORDS];
    mw_span_live_bitmap(s, live);
    for (unsigned w = 0; w < MW_SPAN_BITMAP_WORDS; w++)
        for (uint64_t bits = live[w]; bits; bits &= bits - 1) {
            unsigned slot = w * 64 + (unsigned)__builtin_ctzll(bits);
            if (slot == 0) continue; /* never a block under memcheck (span.c) */
#if MW_HARDENED /* quarantined blocks are on no list either, yet no block of the program */
            if (mw_rec_state(s->records[slot].state) != MW_HS_LIVE) continue;
#endif
            mw_vg_free(s->start + (size_t)slot * s->block_size);
        }
}

/* Releases s with whatever it holds; its live blocks count as freed. */
static unsigned free_span(struct mw_heap *h, struct mw_span *s) {
    mw_queue_remove(list_of(h, s), s);
    mw_span_collect(s);
    if (mw_vg_active()) vg_free_live(s);
    h->frees[s->cls] += s->used;
    mw_arena_span_free(s);
    return 0;
}

static void reset_queues(struct mw_heap *h) {
    for (unsigned c = 0; c < MW_CLASS_COUNT; c++)
        sync_current(h, c);
}

unsigned mw_heap_abandon(struct mw_heap *h) {
    each_span(h, stop_delayed);
    take_delayed(h, true);
    unsigned abandoned = each_span(h, abandon_span);
    reset_queues(h);
    return abandoned;
}

void mw_heap_release_all(struct mw_heap *h) {
    each_span(h, stop_delayed);
    take_delayed(h, true); /* blocks freed already: not live for memcheck's accounting */
    each_span(h, free_span);
    reset_queues(h);
}

void mw_heap_retire(struct mw_heap *h) {
    if (h->thread_heap) atomic_fetch_sub_explicit(&thread_heaps, 1, memory_order_relaxed);
    mw_lock(&heap_lock);
    h->alive = false;
    mw_unlock(&heap_lock);
}

/* ---- statistics and fork ------------------------------------------------------------ */

void mw_heap_stats(struct mw_stats *st) {
    mw_lock(&heap_lock);
    for (struct mw_heap *h = all_heaps; h; h = h->all_next) {
        st->heaps += h->alive;
#if MW_HARDENED
        mw_quarantine_count(h->quarantine, st);
#endif
        for (unsigned c = 0; c < MW_CLASS_COUNT; c++) {
            st->classes[c].allocations += mw_heap_allocs(h, c);
            st->classes[c].frees += h->frees[c];
        }
    }
    for (unsigned c = 0; c < MW_CLASS_COUNT; c++)
        st->classes[c].frees += orphan_frees[c];
    mw_unlock(&heap_lock);
}

void mw_heap_fork_prepare(void) {
    mw_lock(&heap_lock);
}
void mw_heap_fork_parent(void) {
    mw_unlock(&heap_lock);
}
void mw_heap_fork_child(void) {
    mw_lock_reset(&heap_lock);
}
