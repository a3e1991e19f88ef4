/* heap.h — heaps: per-thread heaps (one per thread, created on first use) and first-class
 * heaps (mw_heap_new). A heap owns spans: per size class, a queue of spans that may have
 * free slots, whose head is the allocation span (`current`), and a list of full spans. A
 * span the allocation slow path finds without a block goes to the back of its queue first
 * (`dry`), and to the full list only if found so again (heap.c). malloc reaches `current`
 * through the direct table for sizes up to MW_DIRECT_MAX.
 *
 * Threads: only the heap's user touches its queues and its spans' free/local_free lists.
 * Other threads free into a span through its atomic thread_free list; when the span is in
 * the full list, the freer also pushes the block onto the heap's atomic `delayed` list so
 * that the owner learns the span has room (span.h, enum mw_delay). A heap being torn down
 * first moves every span to MW_DELAY_NEVER, so no freer touches the heap afterwards; so
 * does a mesh pass before it gives a span of a live heap up (mw_heap_donate): a span leaves
 * a heap only by its thread's hand.
 *
 * Heap descriptors are metadata (meta.h): recycled, never unmapped. */
#ifndef MW_HEAP_H
#define MW_HEAP_H

#include "common.h"
#include "span.h"
#include "span_queue.h"

#include <meshward.h>

/* malloc's direct table: sizes up to MW_DIRECT_MAX index it by (size + 7) / 8, one load from
 * a size to its class's allocation span (mimalloc's pages_free_direct). */
#define MW_DIRECT_MAX 1024
#define MW_DIRECT_COUNT (MW_DIRECT_MAX / 8 + 1)

mw_inline unsigned mw_direct_index(size_t size) {
    return (unsigned)((size + 7) >> 3);
}

struct mw_heap {
    /* direct[i]: current[] of the class of sizes at index i, or the empty sentinel while
     * allocations are hooked (alloc.h), so that malloc's fast path needs no test for it */
    struct mw_span *direct[MW_DIRECT_COUNT];
    uint64_t direct_allocs[MW_DIRECT_COUNT]; /* blocks malloc's fast path took, by index */
    struct mw_span *current[MW_CLASS_COUNT]; /* queue head, or the empty sentinel */
    uint64_t allocs[MW_CLASS_COUNT];         /* other slab blocks allocated from this heap */
    uint64_t frees[MW_CLASS_COUNT];          /* slab blocks freed by this heap's thread */
    struct mw_span_queue queue[MW_CLASS_COUNT];
    struct mw_span_queue full;
    _Atomic(mw_block_t *) delayed; /* remote frees into full spans */
    uint64_t rng;
    uint32_t id;
    bool thread_heap; /* false for first-class heaps */
    uint8_t arena;    /* spans come from the arenas serving this arena id (arena.h) */
    bool alive;
    struct mw_heap *all_next; /* every heap ever made (heap_lock) */
    int64_t mesh_peak;        /* blocks held at its fullest since it last shrank (mesh/) */
    uint64_t mesh_look_ns;    /* when it next looks whether it shrank (mesh/) */
    uint64_t mesh_owed;       /* it shrank: its thread waits for meshing until that many
                                 timed passes ended (mesh/pass.c) */
    uint32_t mesh_skip;       /* slow paths left before one asks whether a pass is due
                                 (mw_mesh_ask) */
#if MW_HARDENED
    struct mw_quarantine *quarantine; /* thread heaps: blocks this thread freed lately */
#endif
};

/* The empty sentinel: a span with no free blocks, so the fast path needs no NULL test. */
MW_HIDDEN extern struct mw_span mw_empty_span;

/* Creates a heap (thread or first-class) of arena id (valid); NULL when metadata is
 * exhausted. */
struct mw_heap *mw_heap_create(bool thread_heap, mw_arena_id_t arena);
/* Slow path of allocation from class cls: finds or makes a span with a free block. */
void *mw_heap_alloc_slow(struct mw_heap *h, unsigned cls);
/* A local free made a span empty or un-full: requeue or release it. */
void mw_heap_span_changed(struct mw_heap *h, struct mw_span *s);
/* Frees a block of span s from a thread (whose heap is me) that does not own the span. */
void mw_heap_free_remote(struct mw_heap *me, struct mw_span *s, mw_block_t *b);
/* The same from a caller that knows valgrind is off (heap.h's fast paths). */
void mw_heap_free_remote_unhooked(struct mw_heap *me, struct mw_span *s, mw_block_t *b);
/* Meshing (mesh/): up to max spans of h's queue for cls, not its allocation span, holding
 * 1 to max_used blocks once collected. */
unsigned mw_heap_mesh_candidates(struct mw_heap *h, unsigned cls, uint32_t max_used,
                                 struct mw_span **out, unsigned max);
/* s, a span of h's queue, was meshed away (it is an alias now): h forgets it. */
void mw_heap_unlink_meshed(struct mw_heap *h, struct mw_span *s);
/* s, a candidate of h's queue that was not meshed away, goes to the back of the queue, so
 * that the next look at the class takes other spans first. */
void mw_heap_requeue_unmeshed(struct mw_heap *h, struct mw_span *s);
/* s, a candidate of h's queue that found no partner while other thread heaps live, leaves
 * h for the arena's abandoned list, where their passes may pair it (mesh/README.md): empty,
 * it goes back to the arena. Only after mw_heap_mesh_candidates took h's delayed frees. */
void mw_heap_donate(struct mw_heap *h, struct mw_span *s);
/* The thread heaps alive now (racy: a hint). */
unsigned mw_heap_thread_heaps(void);
/* Collects the remote frees of every span of h (h's thread) and releases the spans that
 * leaves empty. */
void mw_heap_collect(struct mw_heap *h);
/* Gives up h's spans: blocks still live stay valid (spans are abandoned for adoption).
 * Returns the number of spans abandoned (the others were empty and went back). */
unsigned mw_heap_abandon(struct mw_heap *h);
/* Releases all of h's spans to the arena, live blocks included. */
void mw_heap_release_all(struct mw_heap *h);
/* Returns the heap descriptor for reuse (after abandon or release_all). */
void mw_heap_retire(struct mw_heap *h);
/* Points h's direct entries of class cls at its allocation span, or at the empty sentinel
 * while allocations are hooked. */
void mw_heap_sync_direct(struct mw_heap *h, unsigned cls);
/* Blocks of class cls allocated from h, ever. */
uint64_t mw_heap_allocs(const struct mw_heap *h, unsigned cls);
/* Sums per-class counters of every heap into st. */
void mw_heap_stats(struct mw_stats *st);
void mw_heap_fork_prepare(void);
void mw_heap_fork_parent(void);
void mw_heap_fork_child(void);

/* The fast paths. The allocation fast path returns NULL when the allocation span has no
 * block at hand; callers then tail-call the slow path, so the fast path needs no frame.
 * unhooked (a constant at each call): the caller knows valgrind is off (mw_alloc_hooked),
 * so production's link needs no second look at it. */
/* Hands b, the head of s->free, to the program. */
mw_inline void mw_span_take(struct mw_span *s, mw_block_t *b, bool unhooked) {
    s->free = mw_block_next_as(s, b, unhooked);
    s->used++;
}

/* The allocation slow path's common first step, inline: s, h's allocation span, ran dry,
 * and the owner's own frees into it become its free list in O(1). NULL when there are none,
 * when remote frees wait on h's delayed list (the slow path takes those first), or when s
 * has not run dry after all (a caller that raced a tracing session's start). */
mw_inline mw_block_t *mw_heap_take_local(struct mw_heap *h, struct mw_span *s, bool unhooked) {
    mw_block_t *b = s->local_free;
    if (!b || s->free || atomic_load_explicit(&h->delayed, memory_order_relaxed)) return NULL;
    s->local_free = NULL;
    s->free = b;
    mw_span_take(s, b, unhooked);
    return b;
}

mw_inline void *mw_heap_try_alloc_small(struct mw_heap *h, unsigned cls, bool unhooked) {
    struct mw_span *s = h->current[cls];
    mw_block_t *b = s->free;
    if (mw_likely(b != NULL)) {
        mw_span_take(s, b, unhooked);
        h->allocs[cls]++;
    }
    return b;
}

/* Pushes b onto the local list of span s, owned by h (the calling thread's heap), and counts
 * the free. */
mw_inline void mw_heap_push_local(struct mw_heap *h, struct mw_span *s, mw_block_t *b,
                                  bool unhooked) {
    mw_block_set_next_as(s, b, s->local_free, unhooked);
    s->local_free = b;
    h->frees[s->cls]++;
}

/* Frees b into span s, which h (the calling thread's heap) owns and parked full (its owner
 * tagged, span.h): s leaves the full list. A full span's local list is empty, so b cannot be
 * an immediate double free. */
void mw_heap_free_full(struct mw_heap *h, struct mw_span *s, mw_block_t *b, bool unhooked);

/* Frees b into span s, which h (the calling thread's heap) owns and holds in a queue: its
 * owner is h untagged (span.h), so s is not full. Returns false, doing nothing, for an
 * immediate double free (b already heads the local list): pushing it again would loop the
 * list and hand b out twice. unhooked as for allocation. */
mw_inline bool mw_heap_free_local(struct mw_heap *h, struct mw_span *s, mw_block_t *b,
                                  bool unhooked) {
    if (mw_unlikely(b == s->local_free)) return false;
    mw_heap_push_local(h, s, b, unhooked);
    if (mw_unlikely(--s->used == 0)) mw_heap_span_changed(h, s);
    return true;
}

#endif
