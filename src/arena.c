/* arena.c — carving spans from the reserved range, the page map, free-span reuse and
 * purging, and the abandoned-span lists (see arena.h for the invariants). One lock guards
 * it all: only span-level slow paths come here. */
#include "arena.h"
#include "lock.h"
#include "mesh/mesh.h"
#include "meta.h"
#include "mw_valgrind.h"
#include "os.h"
#include "trace.h"
#if MW_HARDENED
#include "harden/guard.h"
#include "harden/harden.h"
#endif

#include <meshward.h>

char *mw_arena_base = (char *)(uintptr_t)(0 - MW_ARENA_SIZE_MAX);
size_t mw_arena_size = MW_ARENA_SIZE_MAX;
struct mw_span **mw_page_map;

static mw_lock_t arena_lock;
static char *bump;                                   /* next never-carved byte */
static struct mw_span *dirty[MW_SPAN_MAX_PAGES + 1]; /* free spans by page count */
static struct mw_span *clean[MW_SPAN_MAX_PAGES + 1];
static struct mw_span *abandoned[MW_CLASS_COUNT];
static uint64_t dirty_bytes, committed_bytes, purged_bytes;
static uint64_t spans_in_use, spans_free, spans_abandoned, spans_meshed;
static struct mw_pool span_pool = MW_POOL_INIT(struct mw_span);

bool mw_arena_init(void) {
    size_t size = MW_ARENA_SIZE_MAX, share = mw_os_reserve_share() / 4; /* first reserved */
    if (size > share) size = share;
    char *base = mw_os_reserve_upto(&size, (size_t)16 << 20, (size_t)1 << 21);
    if (!base) return false;
    mw_vg_noaccess(base, size); /* memcheck: no block yet (and no leak-check scan of it all) */
    mw_page_map = mw_os_reserve((size >> 12) * sizeof(struct mw_span *), MW_PAGE_SIZE);
    if (!mw_page_map) {
        mw_os_unmap(base, size);
        return false;
    }
    bump = base;
    mw_arena_size = size;
    mw_arena_base = base;
    return true;
}

static void unlink_span(struct mw_span **list, struct mw_span *s) {
    if (s->prev)
        s->prev->next = s->next;
    else
        *list = s->next;
    if (s->next) s->next->prev = s->prev;
}

static void push(struct mw_span **list, struct mw_span *s) {
    s->prev = NULL;
    s->next = *list;
    if (*list) (*list)->prev = s;
    *list = s;
}

static struct mw_span *pop(struct mw_span **list) {
    struct mw_span *s = *list;
    if (s) {
        *list = s->next;
        if (s->next) s->next->prev = NULL;
    }
    return s;
}

static void map_span(struct mw_span *s, struct mw_span *value) {
    size_t first = (size_t)(s->start - mw_arena_base) >> 12;
    for (unsigned i = 0; i < s->pages; i++)
        mw_page_map[first + i] = value;
}

/* Called with arena_lock held: a free span of exactly `pages`, or a newly carved one. */
static struct mw_span *take_span(unsigned pages) {
    struct mw_span *s = pop(&dirty[pages]);
    if (s) {
        dirty_bytes -= (uint64_t)pages << 12;
        spans_free--;
        return s;
    }
    s = pop(&clean[pages]);
    if (s) {
        committed_bytes += (uint64_t)pages << 12;
        spans_free--;
        return s;
    }
#if MW_HARDENED
    if (bump) bump = mw_guard_carve(mw_arena_base, bump, pages);
#endif
    if (!bump || bump > mw_arena_base + mw_arena_size ||
        (size_t)(mw_arena_base + mw_arena_size - bump) < ((size_t)pages << 12))
        return NULL;
    s = mw_pool_alloc(&span_pool);
    if (!s) return NULL;
    s->start = bump;
    s->pages = (uint16_t)pages;
    bump += (size_t)pages << 12;
    committed_bytes += (uint64_t)pages << 12;
    return s;
}

struct mw_span *mw_arena_span_alloc(unsigned pages, unsigned cls) {
    mw_assert(pages >= 1 && pages <= MW_SPAN_MAX_PAGES);
    mw_lock(&arena_lock);
    struct mw_span *s = take_span(pages);
    if (s) {
        spans_in_use++;
        mw_span_init(s, cls);
        s->state = MW_SPAN_QUEUED;
        map_span(s, s);
    }
    mw_unlock(&arena_lock);
    return s;
}

static uint64_t dirty_limit(void) {
    return (uint64_t)mw_option_get(MW_OPTION_ARENA_DIRTY_MAX) << 10;
}

/* Called with arena_lock held: purges dirty spans until at most `keep` bytes stay dirty. */
static uint64_t purge_locked(uint64_t keep) {
    uint64_t purged = 0;
    for (unsigned p = 1; p <= MW_SPAN_MAX_PAGES && dirty_bytes > keep; p++) {
        struct mw_span *s;
        while (dirty_bytes > keep && (s = pop(&dirty[p])) != NULL) {
            mw_os_decommit(s->start, (size_t)p << 12);
            s->dirty = 0;
            push(&clean[p], s);
            dirty_bytes -= (uint64_t)p << 12;
            committed_bytes -= (uint64_t)p << 12;
            purged += (uint64_t)p << 12;
        }
    }
    purged_bytes += purged;
    return purged;
}

/* Called with arena_lock held; returns the bytes purged to keep under the dirty limit. */
static uint64_t span_free_locked(struct mw_span *s) {
    map_span(s, NULL);
    s->state = MW_SPAN_FREE;
    s->dirty = 1;
    push(&dirty[s->pages], s);
    dirty_bytes += (uint64_t)s->pages << 12;
    spans_in_use--;
    spans_free++;
    uint64_t limit = dirty_limit();
    return dirty_bytes > limit ? purge_locked(limit / 2) : 0;
}

/* Called with arena_lock held: an alias of a span that emptied, fresh private pages now. */
static void free_alias_locked(struct mw_span *a) {
    map_span(a, NULL);
    a->state = MW_SPAN_FREE;
    a->dirty = 0;
    push(&clean[a->pages], a);
    spans_in_use--;
    spans_meshed--;
    spans_free++;
}

void mw_arena_span_free(struct mw_span *s) {
#if MW_HARDENED
    mw_hd_span_release(s); /* its free slots are checked one last time */
#endif
    MW_TRACE_SPAN_RELEASE(s->start, s->cls, (size_t)s->pages << 12);
    atomic_store_explicit(&s->owner, NULL, memory_order_relaxed);
    mw_lock(&arena_lock);
    if (mw_unlikely(s->mesh_next || s->in_file) && !mw_mesh_unmesh(s, free_alias_locked)) {
        mw_unlock(&arena_lock); /* the kernel refused a mapping: s stays out of use */
        return;
    }
    uint64_t purged = span_free_locked(s);
    mw_unlock(&arena_lock);
    if (purged) MW_TRACE_PURGE(purged);
}

void mw_arena_purge(bool force) {
    mw_lock(&arena_lock);
    uint64_t purged = purge_locked(force ? 0 : dirty_limit() / 2);
    mw_unlock(&arena_lock);
    if (purged) MW_TRACE_PURGE(purged);
}

void mw_arena_abandon(struct mw_span *s) {
    mw_lock(&arena_lock);
    s->state = MW_SPAN_ABANDONED;
    push(&abandoned[s->cls], s);
    spans_abandoned++;
    mw_unlock(&arena_lock);
}

struct mw_span *mw_arena_adopt(unsigned cls) {
    if (!abandoned[cls]) return NULL; /* racy peek: adoption is opportunistic */
    mw_lock(&arena_lock);
    struct mw_span *s = pop(&abandoned[cls]);
    if (s) {
        spans_abandoned--;
        s->state = MW_SPAN_QUEUED; /* the adopter owns it from here */
    }
    mw_unlock(&arena_lock);
    return s;
}

/* Called with arena_lock held, s in the abandoned list (nobody owns it: the lock guards its
 * lists): collects the frees other threads made into it and, when that leaves it empty,
 * takes it out of the list, owned by the caller, who frees it once the lock is dropped
 * (recording its release may allocate). */
static bool take_if_empty(struct mw_span *s) {
    mw_span_collect(s);
    if (s->used != 0) return false;
    unlink_span(&abandoned[s->cls], s);
    spans_abandoned--;
    s->state = MW_SPAN_QUEUED;
    return true;
}

void mw_arena_reclaim_abandoned(struct mw_span *s) {
    if (s->state != MW_SPAN_ABANDONED) return; /* racy peek, confirmed under the lock */
    mw_lock(&arena_lock);
    bool empty = s->state == MW_SPAN_ABANDONED && take_if_empty(s);
    mw_unlock(&arena_lock);
    if (empty) mw_arena_span_free(s);
}

void mw_arena_collect_abandoned(void) {
    struct mw_span *empty = NULL;
    mw_lock(&arena_lock);
    for (unsigned c = 0; c < MW_CLASS_COUNT; c++) {
        for (struct mw_span *s = abandoned[c], *next; s; s = next) {
            next = s->next;
            if (take_if_empty(s)) {
                s->next = empty;
                empty = s;
            }
        }
    }
    mw_unlock(&arena_lock);
    while (empty) {
        struct mw_span *s = empty;
        empty = s->next;
        mw_arena_span_free(s);
    }
}

unsigned mw_arena_take_sparse(unsigned cls, uint32_t max_used, struct mw_span **out, unsigned max) {
    if (!abandoned[cls]) return 0; /* racy peek, as adoption */
    unsigned n = 0;
    mw_lock(&arena_lock);
    for (struct mw_span *s = abandoned[cls], *next; s && n < max; s = next) {
        next = s->next;
        mw_span_collect(s);
        if (s->used == 0 || s->used > max_used) continue;
        unlink_span(&abandoned[cls], s);
        spans_abandoned--;
        s->state = MW_SPAN_QUEUED; /* so that no remote freer reclaims it meanwhile */
        out[n++] = s;
    }
    mw_unlock(&arena_lock);
    return n;
}

void mw_arena_note_meshed(struct mw_span *s) {
    mw_lock(&arena_lock);
    committed_bytes -= (uint64_t)s->pages << 12;
    spans_meshed++;
    mw_unlock(&arena_lock);
}

void mw_arena_each_kept(void (*fn)(struct mw_span *)) {
    for (char *p = mw_arena_base; p < bump; p += MW_PAGE_SIZE) {
        struct mw_span *s = mw_arena_span_of(p);
        if (!s || s->start != p) continue;
        if (s->in_file) fn(s);
        p += ((size_t)s->pages - 1) << 12;
    }
}

void mw_arena_fork_prepare(void) {
    mw_lock(&arena_lock);
}
void mw_arena_fork_parent(void) {
    mw_unlock(&arena_lock);
}
void mw_arena_fork_child(void) {
    mw_lock_reset(&arena_lock);
}

void mw_arena_stats(struct mw_stats *st) {
    mw_lock(&arena_lock);
    st->arena_reserved = mw_arena_size;
    st->arena_committed = committed_bytes;
    st->arena_purged = purged_bytes;
    st->spans_in_use = spans_in_use;
    st->spans_free = spans_free;
    st->spans_abandoned = spans_abandoned;
    st->meshed_spans = spans_meshed;
    mw_unlock(&arena_lock);
}
