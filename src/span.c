/* span.c — span lifecycle: lazy randomized extension, list collection, the live bitmap
 * and the remote-free protocol (see span.h for the invariants). */
#include "span.h"
#include "os.h"
#if MW_HARDENED
#include "harden/harden.h"
#endif

#include <sched.h>

void mw_span_init(struct mw_span *s, unsigned cls) {
    const struct mw_class_info *ci = &mw_classes[cls];
    s->free = s->local_free = NULL;
    s->used = 0;
    s->block_size = ci->size;
    s->div_magic = UINT64_MAX / ci->size + 1;
    s->cls = (uint8_t)cls;
    s->capacity = ci->count;
    s->built = 0;
    s->dry = s->warm = 0;
    s->mesh_next = s->mesh_into = NULL;
    s->mesh_count = 1;
    s->pinned = 0;
    atomic_store_explicit(&s->thread_free, MW_DELAY_NORMAL, memory_order_relaxed);
    for (unsigned w = 0; w < MW_SPAN_BITMAP_WORDS; w++)
        s->bitmap[w] = 0;
#if MW_HARDENED
    mw_hd_span_init(s);
#endif
    mw_vg_noaccess(s->start, (size_t)s->pages * MW_PAGE_SIZE); /* no block yet */
}

void mw_span_rewarm(struct mw_span *s) {
    s->dry = s->warm = 0;
    atomic_store_explicit(&s->thread_free, MW_DELAY_NORMAL, memory_order_relaxed);
}

static inline uint64_t rng_next(uint64_t *state) { /* wyrand */
    *state += 0xa0761d6478bd642full;
    __uint128_t m = (__uint128_t)*state * (*state ^ 0xe7037ed1a0b428dbull);
    return (uint64_t)(m >> 64) ^ (uint64_t)m;
}

/* A batch is the slots starting in the next page, and at least 8, so that large blocks
 * are still shuffled: only the pages holding the batch get touched. */
static uint32_t batch_size(const struct mw_span *s) {
    uint32_t per_page = MW_PAGE_SIZE / s->block_size;
    uint32_t n = per_page > MW_SPAN_MIN_OBJECTS ? per_page : MW_SPAN_MIN_OBJECTS;
    uint32_t left = s->capacity - s->built;
    return n < left ? n : left;
}

/* Fisher-Yates; each draw of the generator gives two 32-bit numbers. */
static void shuffle(uint16_t *order, uint32_t n, uint64_t *rng) {
    uint64_t r = 0;
    for (uint32_t i = n, k = 0; i-- > 1; k++) {
        r = (k & 1) ? r >> 32 : rng_next(rng);
        uint32_t j = (uint32_t)(((r & 0xffffffffu) * (i + 1)) >> 32);
        uint16_t t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
}

/* Pushes the slots of order (built slots) onto s->free. Slot 0 is never handed out in the
 * hardened build (the canary before slot 1, harden.h) nor under memcheck: the span
 * descriptor holds its address (start), which would make a leaked block there look
 * reachable to memcheck's leak check. unhooked: memcheck is known to be away. */
mw_inline void push_order(struct mw_span *s, const uint16_t *order, uint32_t n, bool skip_first,
                          bool unhooked) {
    mw_block_t *head = s->free;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t slot = order[i];
        if (skip_first && slot == 0) continue;
        mw_block_t *b = (mw_block_t *)(s->start + (size_t)slot * s->block_size);
        mw_block_set_next_as(s, b, head, unhooked);
        head = b;
    }
    s->free = head;
}

static void push_slots(struct mw_span *s, const uint16_t *order, uint32_t n, bool skip_first) {
    if (mw_vg_hooked())
        push_order(s, order, n, skip_first, false);
    else
        push_order(s, order, n, skip_first, true);
}

/* Sets the bitmap bits of slots [first, first + n): they are the owner's from now on. */
static void mark_built(struct mw_span *s, uint32_t first, uint32_t n) {
    for (uint32_t i = first, end = first + n; i < end;) {
        uint32_t bit = i & 63, take = end - i < 64 - bit ? end - i : 64 - bit;
        uint64_t ones = take == 64 ? ~0ull : ((1ull << take) - 1);
        s->bitmap[i >> 6] |= ones << bit;
        i += take;
    }
}

uint32_t mw_span_extend(struct mw_span *s, uint64_t *rng) {
    uint32_t n = batch_size(s);
    if (n == 0) return 0;
    uint16_t order[MW_SPAN_MAX_OBJECTS];
    for (uint32_t i = 0; i < n; i++)
        order[i] = (uint16_t)(s->built + i);
    shuffle(order, n, rng);
#if MW_HARDENED
    mw_hd_span_extend(s, s->built, n);
#endif
    mark_built(s, s->built, n);
    push_slots(s, order, n, MW_HARDENED || (s->built == 0 && mw_vg_active()));
    s->built += n;
    return n;
}

/* Every slot below built keeps its bitmap bit (span.h), so the slots rebuilt are marked. */
void mw_span_rebuild(struct mw_span *s, const uint64_t live[MW_SPAN_BITMAP_WORDS], uint64_t *rng) {
    uint16_t order[MW_SPAN_MAX_OBJECTS];
    uint32_t n = 0;
    for (uint32_t i = 0; i < s->built; i++)
        if (!(live[i >> 6] >> (i & 63) & 1)) order[n++] = (uint16_t)i;
    shuffle(order, n, rng);
    s->free = s->local_free = NULL;
    push_slots(s, order, n, MW_HARDENED); /* meshing is off under memcheck */
}

/* Appends list onto s->free (a walk of list, to its tail). */
static void append_to_free(struct mw_span *s, mw_block_t *list) {
    mw_block_t *tail = list;
    for (mw_block_t *nx; (nx = mw_block_next(s, tail)) != NULL; tail = nx) {
    }
    mw_block_set_next(s, tail, s->free);
    s->free = list;
}

/* Takes s's remote frees: the blocks on its thread_free and their count (in *n), keeping
 * the delay state bits. */
static mw_block_t *take_remote(struct mw_span *s, uint32_t *n) {
    uintptr_t tf = atomic_load_explicit(&s->thread_free, memory_order_relaxed);
    while (tf & ~MW_DELAY_MASK)
        if (atomic_compare_exchange_weak_explicit(&s->thread_free, &tf, tf & MW_DELAY_MASK,
                                                  memory_order_acquire, memory_order_relaxed)) {
            *n = mw_tf_count(tf);
            return mw_tf_head(tf);
        }
    *n = 0;
    return NULL;
}

/* The next block of alias a's thread_free: linked with a's keys, at a's addresses, and (in the
 * hardened build) checked to name a slot of a's kept span. */
static mw_block_t *alias_next(const struct mw_span *a, const mw_block_t *b) {
#if MW_HARDENED
    mw_block_t *next = mw_link_decode(a, b, false);
    if (next && !mw_span_home(a, next)) {
        mw_hd_bad_link(a, b, next);
        return NULL;
    }
    return next;
#else
    return mw_block_next(a, b);
#endif
}

/* Remote frees that reached the aliases of s (they raced its meshes): each block moves, by
 * its address in s, onto s->free. */
static void collect_aliases(struct mw_span *s) {
    for (struct mw_span *a = s->mesh_next; a; a = a->mesh_next) {
        uint32_t n;
        for (mw_block_t *b = take_remote(a, &n), *next; b; b = next) {
            next = alias_next(a, b);
            mw_block_t *home = (mw_block_t *)(s->start + ((char *)b - a->start));
            mw_block_set_next(s, home, s->free);
            s->free = home;
            s->used--;
        }
    }
}

void mw_span_collect(struct mw_span *s) {
    uint32_t n;
    mw_block_t *remote = take_remote(s, &n);
    if (remote) { /* each list stays as it is, unless all three hold blocks */
        s->used -= n;
        if (!s->free)
            s->free = remote;
        else if (!s->local_free)
            s->local_free = remote;
        else
            append_to_free(s, remote);
    }
    if (!s->free) {
        s->free = s->local_free;
        s->local_free = NULL;
    }
    if (mw_unlikely(s->mesh_next != NULL)) collect_aliases(s);
}

/* Clears in out the slots of the blocks on list b of span s. */
static void clear_listed(const struct mw_span *s, const mw_block_t *b, uint64_t *out) {
    for (; b; b = mw_block_next(s, b)) {
        uint32_t i = mw_class_index(s->cls, (size_t)((const char *)b - s->start));
        out[i >> 6] &= ~(1ull << (i & 63));
    }
}

void mw_span_live_bitmap(const struct mw_span *s, uint64_t out[MW_SPAN_BITMAP_WORDS]) {
    /* The lists wander over the span in random order, one dependent miss per block: a
     * sweep ahead of them lets the hardware fetch the span's lines in parallel first. */
    size_t bytes = (size_t)s->built * s->block_size;
    for (size_t off = 0; off < bytes; off += 64)
        __builtin_prefetch(s->start + off);
    for (unsigned w = 0; w < MW_SPAN_BITMAP_WORDS; w++)
        out[w] = s->bitmap[w];
    clear_listed(s, s->free, out);
    clear_listed(s, s->local_free, out);
}

void *mw_span_home(const struct mw_span *s, const void *p) {
    const struct mw_span *home = s->mesh_into;
    if (!home) return NULL;
    char *q = home->start + ((const char *)p - s->start);
    return mw_span_has_slot(home, q) ? q : NULL;
}

void mw_span_end_delayed(struct mw_span *s) {
    uintptr_t tf = atomic_load_explicit(&s->thread_free, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(&s->thread_free, &tf,
                                                  (tf & ~MW_DELAY_MASK) | MW_DELAY_NORMAL,
                                                  memory_order_release, memory_order_relaxed)) {
    }
}

bool mw_span_set_delay(struct mw_span *s, enum mw_delay d, bool only_if_empty) {
    uintptr_t tf = atomic_load_explicit(&s->thread_free, memory_order_relaxed);
    for (;;) {
        if ((tf & MW_DELAY_MASK) == MW_DELAY_FREEING) {
            sched_yield();
            tf = atomic_load_explicit(&s->thread_free, memory_order_relaxed);
            continue;
        }
        if (only_if_empty && (tf & ~MW_DELAY_MASK)) return false;
        if (atomic_compare_exchange_weak_explicit(&s->thread_free, &tf,
                                                  (tf & ~MW_DELAY_MASK) | (uintptr_t)d,
                                                  memory_order_acq_rel, memory_order_relaxed))
            return true;
    }
}
