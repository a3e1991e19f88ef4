/* span.h — a span: a run of pages of the arena holding blocks of one size class.
 *
 * Metadata lives out of line (this descriptor), never inside the span's pages: meshing
 * will let two virtual spans share one physical page, and hardening must survive overflows.
 *
 * Free-list sharding (mimalloc's): `free` is the allocation list and `local_free` collects
 * frees by the owning heap's thread (both owner-only, no atomics); `thread_free` is an
 * atomic stack for frees from any other thread. The owner swaps local_free and thread_free
 * into `free` when it runs dry. The low two bits of thread_free carry the delayed-free
 * state (see heap.c): whether a remote freer must also tell the owning heap that this
 * full span has room again; its top 16 bits count the blocks on it (each push adds one in
 * the same compare-and-swap), so that the owner takes them without walking the list: a
 * walk that would wait for every block's line to come from the freeing thread's cache.
 *
 * Occupancy bitmap: bit i is set when slot i has been handed to the owner — it is
 * allocated, or cached in one of the three lists. A clear bit is a slot nobody holds.
 * Slots are handed out lazily: [0, built) have been built into the lists, one batch at a
 * time in random order (so that live objects are spread randomly over the span, which is
 * what makes meshing likely to find disjoint pairs). The exact set of live objects is the
 * bitmap minus the slots on the lists; mw_span_live_bitmap computes it for its owner.
 *
 * `used` counts slots handed out to the program and not yet returned to free/local_free
 * (blocks on thread_free still count until collected). used == 0 with thread_free empty
 * means the span is empty and can go back to the arena.
 *
 * A large span (MW_SPAN_LARGE) is the other use of a descriptor: one block of any number of
 * pages, for a heap of an arena other than 0 (arena.h); it has no slots, lists nor bitmap,
 * belongs to no heap, and goes back to its arena when its block is freed. */
#ifndef MW_SPAN_H
#define MW_SPAN_H

#include "common.h"
#include "mw_valgrind.h"
#include "sizeclass.h"

#include <stdatomic.h>

typedef struct mw_block {
    struct mw_block *next;
} mw_block_t;

struct mw_heap;

enum mw_span_state {
    MW_SPAN_FREE = 0,  /* in the arena's free lists */
    MW_SPAN_QUEUED,    /* in its heap's queue for its class: may have free slots */
    MW_SPAN_FULL,      /* in its heap's full list: no free slot at last look */
    MW_SPAN_ABANDONED, /* its heap is gone; waiting in the arena's abandoned list */
    MW_SPAN_MESHED,    /* an alias: its pages map those of `mesh_into` (mesh/README.md) */
    MW_SPAN_LARGE,     /* one large block of a heap of an arena other than 0 (arena.h) */
};

/* Delayed-free states, in the low bits of thread_free. */
enum mw_delay {
    MW_DELAY_NORMAL = 0,  /* remote frees just push onto thread_free */
    MW_DELAY_USE = 1,     /* span is full: the next remote free goes to the heap's list */
    MW_DELAY_FREEING = 2, /* a remote freer is pushing onto the heap's list right now */
    MW_DELAY_NEVER = 3,   /* no owning heap to tell (abandoned, or being torn down) */
};
#define MW_DELAY_MASK ((uintptr_t)3)
/* The count of blocks on thread_free, in its top bits (user addresses are below 2^47). */
#define MW_TF_COUNT_SHIFT 48
#define MW_TF_ONE ((uintptr_t)1 << MW_TF_COUNT_SHIFT)

/* The first block of a thread_free word, and how many blocks its list holds. */
mw_inline struct mw_block *mw_tf_head(uintptr_t tf) {
    return (struct mw_block *)(tf & (MW_TF_ONE - 1) & ~MW_DELAY_MASK);
}
mw_inline uint32_t mw_tf_count(uintptr_t tf) {
    return (uint32_t)(tf >> MW_TF_COUNT_SHIFT);
}

#define MW_SPAN_BITMAP_WORDS (MW_SPAN_MAX_OBJECTS / 64)

/* Descriptors are 64-byte aligned (meta.h). The first cache line holds everything the
 * owner's fast paths touch and a freer reads; thread_free, the word other threads write,
 * lives in the second, so their pushes do not take the owner's line away. */
struct mw_span {
    /* line 0: the owner's allocations and frees, and what every free reads */
    mw_block_t *free;
    mw_block_t *local_free;
    uint32_t used;
    uint32_t block_size;
    char *start;
    uint32_t built;                  /* slots [0, built) have been handed to the lists */
    _Atomic(struct mw_heap *) owner; /* NULL when free or abandoned; tagged when full (below) */
    uint64_t div_magic;              /* ceil(2^64 / block_size), for mw_span_has_slot */
    uint32_t pages;
    uint8_t cls;
    uint8_t state; /* enum mw_span_state */
    /* line 1: remote frees and slow paths */
    _Atomic uintptr_t thread_free __attribute__((aligned(64))); /* count | head | mw_delay */
    uint32_t capacity;                                          /* slots in the span */
    uint8_t dirty; /* free span whose pages may be resident (large: may hold old bytes) */
    uint8_t arena; /* the arena it was carved from, and goes back to */
    uint8_t dry;   /* queued span the allocation slow path found without a block (heap.c) */
    uint8_t warm;  /* free span whose lists still hold every built slot of cls (arena.c) */
    struct mw_span *next, *prev; /* heap queue, full list, or arena list */
    uint64_t resident;           /* a run (arena/runs.c): bytes of it maybe resident */
    uint64_t bitmap[MW_SPAN_BITMAP_WORDS];
    /* Meshing (mesh/README.md). A kept span heads the chain of its aliases (mesh_next);
     * an alias names its kept span (mesh_into), has built == 0 (so no slot test passes on
     * it and every pointer into it takes the slow path, which translates it) and keeps its
     * own start, keys and thread_free (remote frees that raced the mesh land there and are
     * collected with the kept span). */
    struct mw_span *mesh_next;
    struct mw_span *mesh_into;
    uint16_t mesh_count; /* kept span: virtual spans sharing its pages, itself included */
    uint8_t in_file;     /* its pages are the mesh file's, at offset start - arena base */
    uint8_t pinned;      /* never un-meshed: a failed mesh left data in its pages (merge.c) */
#if MW_HARDENED
    uint64_t key[2];         /* free-list link encoding (harden/links.h) */
    struct mw_hrec *records; /* one per slot: state, size and history (harden/record.h) */
    uint8_t records_cls;     /* the class records was sized for */
#endif
};

_Static_assert(__builtin_offsetof(struct mw_span, thread_free) == 64,
               "the fast paths' fields fill the first cache line, and only it");

/* `owner` of a span parked in its heap's full list (MW_SPAN_FULL) is the heap's address with
 * bit 0 set, so that free's fast path asks "owned by the calling thread's heap, and queued"
 * with the one compare it makes anyway: a local free into a full span takes the path of a
 * free into another heap's span, which recognises the tag (heap.c). A full span's free and
 * local_free lists are both empty (it was parked because it had no block at hand, and the
 * first block freed into it unparks it). */
mw_inline struct mw_heap *mw_span_full_owner(const struct mw_heap *h) {
    return (struct mw_heap *)((uintptr_t)h | 1);
}
/* The heap that owns s (NULL when none), whether s is full or not. */
mw_inline struct mw_heap *mw_span_owner(struct mw_span *s, memory_order order) {
    return (struct mw_heap *)((uintptr_t)atomic_load_explicit(&s->owner, order) & ~(uintptr_t)1);
}

/* The bytes of s's pages. */
mw_inline size_t mw_span_bytes(const struct mw_span *s) {
    return (size_t)s->pages << 12;
}
/* Whether s holds one large block starting at s->start (MW_SPAN_LARGE): it has no slots
 * (built == 0), so every free of it leaves the fast path at the slot test. */
mw_inline bool mw_span_is_large(const struct mw_span *s) {
    return s->state == MW_SPAN_LARGE;
}

/* Prepares a span freshly carved for class cls: empty lists, clear bitmap. */
void mw_span_init(struct mw_span *s, unsigned cls);
/* Takes s, a warm span (arena.c), back into use for its class as it is: its lists, bitmap
 * and built slots stay, so it needs neither init nor extension. */
void mw_span_rewarm(struct mw_span *s);
/* Hands the next batch of never-used slots to `free`, in random order; returns how many. */
uint32_t mw_span_extend(struct mw_span *s, uint64_t *rng);
/* Takes thread_free's blocks (keeping the delay state bits), so that every block the owner
 * holds is on `free` or `local_free` and `used` is exact; `free` is empty only if both are.
 * It walks no list unless `free` and `local_free` both hold blocks and thread_free too. */
void mw_span_collect(struct mw_span *s);
/* Whether p starts a built slot of s (and which: *index). For an offset below 2^32 and div_magic =
 * ceil(2^64 / block size), the 128-bit product offset * div_magic holds the slot index in its high
 * half, and its low half is below div_magic exactly when the offset is a multiple of the block size
 * (Lemire, Kaser and Kurz, "Faster remainder by direct computation", 2019): one multiply and two
 * compares, no division. */
mw_inline bool mw_span_slot_index(const struct mw_span *s, const void *p, uint32_t *index) {
    uint64_t off = (uint64_t)((const char *)p - s->start);
    unsigned __int128 m = (unsigned __int128)off * s->div_magic;
    *index = (uint32_t)(m >> 64);
    return (uint64_t)m < s->div_magic && *index < s->built;
}
mw_inline bool mw_span_has_slot(const struct mw_span *s, const void *p) {
    uint32_t index;
    return mw_span_slot_index(s, p, &index);
}
/* The address in span home of p, a pointer into alias s of home (s->mesh_into == home), when
 * p starts a slot there; NULL otherwise (span.c). */
void *mw_span_home(const struct mw_span *s, const void *p);
/* The raw word of a block's link. A link lives in a free block, which memcheck must see as
 * unaddressable: under valgrind it is read and written through mw_vg_peek/poke (one branch
 * otherwise, see mw_valgrind.h). */
mw_inline uintptr_t mw_link_load(const mw_block_t *b) {
    if (mw_vg_hooked()) return mw_vg_peek(&b->next);
    return (uintptr_t)b->next;
}
/* The same, on paths that know valgrind is off (the API's unhooked fast paths). */
mw_inline uintptr_t mw_link_load_raw(const mw_block_t *b) {
    return (uintptr_t)b->next;
}
mw_inline void mw_link_store_raw(mw_block_t *b, uintptr_t v) {
    b->next = (mw_block_t *)v;
}
mw_inline void mw_link_store(mw_block_t *b, uintptr_t v) {
    if (mw_vg_hooked())
        mw_vg_poke(&b->next, v);
    else
        mw_link_store_raw(b, v);
}
/* Either, as a constant at each call says: unhooked, the caller knows valgrind is off. */
mw_inline uintptr_t mw_link_get(const mw_block_t *b, bool unhooked) {
    return unhooked ? mw_link_load_raw(b) : mw_link_load(b);
}
mw_inline void mw_link_put(mw_block_t *b, uintptr_t v, bool unhooked) {
    if (unhooked)
        mw_link_store_raw(b, v);
    else
        mw_link_store(b, v);
}

/* Block list links of blocks of span s. The hardened build encodes them with s's keys and
 * checks every decoded link (harden/links.h); production stores them plainly. */
#if MW_HARDENED
#include "harden/links.h"
#else
mw_inline mw_block_t *mw_block_next_as(const struct mw_span *s, const mw_block_t *b,
                                       bool unhooked) {
    (void)s;
    return (mw_block_t *)mw_link_get(b, unhooked);
}
mw_inline mw_block_t *mw_block_next_any(const struct mw_span *s, const mw_block_t *b) {
    (void)s;
    return (mw_block_t *)mw_link_load(b);
}
mw_inline void mw_block_set_next_as(const struct mw_span *s, mw_block_t *b, mw_block_t *next,
                                    bool unhooked) {
    (void)s;
    mw_link_put(b, (uintptr_t)next, unhooked);
}
#endif
/* The same where valgrind may be on. */
mw_inline mw_block_t *mw_block_next(const struct mw_span *s, const mw_block_t *b) {
    return mw_block_next_as(s, b, false);
}
mw_inline void mw_block_set_next(const struct mw_span *s, mw_block_t *b, mw_block_t *next) {
    mw_block_set_next_as(s, b, next, false);
}
/* The live set for the owner: the bitmap minus the slots on free and local_free. Blocks other
 * threads freed and the owner has not collected (on thread_free, its aliases' too) count as
 * live, as they do in `used`: they can arrive at any moment, and a mesh must carry their
 * links along with the live objects (mw_span_collect first for the exact set). */
void mw_span_live_bitmap(const struct mw_span *s, uint64_t out[MW_SPAN_BITMAP_WORDS]);
/* For meshing: rebuilds the lists of s (owned by the caller) from its live set: every built
 * slot not in live goes onto `free`, in random order. thread_free is left as it is (its
 * blocks count as live, mw_span_live_bitmap). */
void mw_span_rebuild(struct mw_span *s, const uint64_t live[MW_SPAN_BITMAP_WORDS], uint64_t *rng);
/* Pushes b onto thread_free and returns the delay state it found. MW_DELAY_USE: the span
 * was full and its owner asked to be told, so b went nowhere yet and the caller must hand
 * it to the owning heap's delayed list. MW_DELAY_NEVER: the span may be abandoned.
 * unhooked as for the links. */
mw_inline enum mw_delay mw_span_push_remote(struct mw_span *s, mw_block_t *b, bool unhooked) {
    uintptr_t tf = atomic_load_explicit(&s->thread_free, memory_order_relaxed);
    for (;;) {
        uintptr_t state = tf & MW_DELAY_MASK, next;
        if (state == MW_DELAY_USE) {
            next = (tf & ~MW_DELAY_MASK) | MW_DELAY_FREEING;
        } else {
            mw_block_set_next_as(s, b, mw_tf_head(tf), unhooked);
            next = ((tf & ~(MW_TF_ONE - 1)) + MW_TF_ONE) | (uintptr_t)b | state;
        }
        if (atomic_compare_exchange_weak_explicit(&s->thread_free, &tf, next, memory_order_release,
                                                  memory_order_relaxed))
            return (enum mw_delay)state;
    }
}
/* Ends MW_DELAY_FREEING once the block reached the heap's delayed list: back to normal
 * (the owner moves the span out of its full list when it takes that block). */
void mw_span_end_delayed(struct mw_span *s);
/* Sets the delay state, waiting out a remote freer in MW_DELAY_FREEING. With
 * only_if_empty, fails (returns false) when thread_free holds blocks. */
bool mw_span_set_delay(struct mw_span *s, enum mw_delay d, bool only_if_empty);

#endif
