/* arena/arena.c — the arena table, carving arenas and spans from the reserved range, the page
 * map, free-span reuse and purging, large spans, and the abandoned-span lists (see arena.h
 * for the invariants; arena/runs.c keeps the runs). One lock guards it all: only span-level
 * slow paths and large blocks of arenas come here. */
#include "arena/arena.h"
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

#include <errno.h>
#include <meshward.h>
#include <string.h>

char *mw_arena_base = (char *)(uintptr_t)(0 - MW_ARENA_SIZE_MAX);
size_t mw_arena_size = MW_ARENA_SIZE_MAX;
uint64_t mw_arena_granules;
struct mw_span **mw_page_map;

static mw_lock_t arena_lock;
static struct mw_arena arenas[MW_ARENA_MAX];
static _Atomic unsigned arena_count; /* arenas [0, arena_count) exist; 0 until init */
static uint64_t spans_in_use, spans_free, spans_abandoned, spans_meshed;
static uint64_t class_spans[MW_CLASS_COUNT]; /* the slab spans in use, by class */
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
    arenas[0].start = arenas[0].bump = base;
    arenas[0].end = base + size;
    if (mw_option_get(MW_OPTION_LARGE_PAGES)) { /* never purged from now on (keeps_pages) */
        bool lost;
        arenas[0].flags = MW_ARENA_LARGE_PAGES;
        mw_arena_pages_setup(base, size, MW_ARENA_LARGE_PAGES, &lost);
    }
    arena_count = 1;
    mw_arena_size = size;
    mw_arena_base = base;
    mw_arena_granules = (size < MW_ARENA_GRANULE_REACH ? size : MW_ARENA_GRANULE_REACH) >> 3;
    return true;
}

/* Called with arena_lock held: the start of a range of size bytes, aligned, carved off the
 * top of arena 0 above what it carved so far; NULL when there is no room. */
static char *carve_top(size_t size, size_t align) {
    struct mw_arena *a = &arenas[0];
    if ((size_t)(a->end - a->bump) < size) return NULL;
    char *start = (char *)((uintptr_t)(a->end - size) & ~(uintptr_t)(align - 1));
    return start >= a->bump ? start : NULL;
}

/* Called with arena_lock held, a free slot in the table: the id of a new arena over
 * [start, start + size). */
static mw_arena_id_t new_arena(char *start, size_t size, unsigned flags, bool managed) {
    struct mw_arena *a = &arenas[arena_count];
    a->start = a->bump = start;
    a->end = start + size;
    a->flags = flags;
    a->managed = managed;
    a->id = (uint8_t)arena_count;
    return (mw_arena_id_t)arena_count++;
}

int mw_arena_add(size_t size, size_t align, unsigned flags, mw_arena_id_t *id) {
    int err = ENOMEM;
    bool lost = false;
    mw_lock(&arena_lock);
    char *start = arena_count && arena_count < MW_ARENA_MAX ? carve_top(size, align) : NULL;
    if (start) err = mw_arena_pages_setup(start, size, flags, &lost);
    if (lost) arenas[0].end = start;
    if (start && !err) {
        arenas[0].end = start;
        *id = new_arena(start, size, flags, false);
    }
    mw_unlock(&arena_lock);
    return err;
}

int mw_arena_add_managed(char *start, size_t size, unsigned flags, mw_arena_id_t *id) {
    int err = ENOMEM;
    mw_lock(&arena_lock);
    bool lost; /* never: without MW_ARENA_HUGE_PAGES, pages are only advised or populated */
    if (arena_count && arena_count < MW_ARENA_MAX) err = mw_arena_managed_add(start, size);
    if (!err) mw_arena_pages_setup(start, size, flags, &lost);
    if (!err) *id = new_arena(start, size, flags, true);
    mw_unlock(&arena_lock);
    return err;
}

bool mw_arena_valid(mw_arena_id_t id) {
    return id >= 0 && (unsigned)id < atomic_load_explicit(&arena_count, memory_order_acquire);
}

char *mw_arena_range(mw_arena_id_t id, size_t *size) {
    mw_lock(&arena_lock);
    struct mw_arena *a = &arenas[id];
    *size = (size_t)(a->end - a->start);
    mw_unlock(&arena_lock);
    return a->start;
}

/* Pages never purged: those committed when the arena was made (hugetlb pages, populated or
 * transparent huge pages: purging a page would split a huge one) and the program's own
 * (discarding a file mapping's pages gives no memory back). */
static bool keeps_pages(const struct mw_arena *a) {
    return a->managed || a->flags & (MW_ARENA_LARGE_PAGES | MW_ARENA_HUGE_PAGES | MW_ARENA_COMMIT);
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
    struct mw_span **slot = mw_arena_map_slot(s->start);
    for (unsigned i = 0; i < s->pages; i++)
        slot[i] = value;
}

/* Zeroes [start, start + size), memory no block holds (memcheck keeps it unaddressable). */
static void clear(char *start, size_t size) {
    mw_vg_undefined(start, size);
    memset(start, 0, size);
}

void mw_arena_clear_fresh(const struct mw_arena *a, char *start, size_t size) {
    if (a->managed) clear(start, size);
}

/* Called with arena_lock held: a free span of a of exactly `pages`, or a newly carved one,
 * or one cut from a's runs once the bump has no room. */
static struct mw_span *take_span(struct mw_arena *a, unsigned pages) {
    struct mw_span *s = pop(&a->dirty[pages]);
    if (s) {
        a->dirty_bytes -= (uint64_t)pages << 12;
        spans_free--;
        return s;
    }
    s = pop(&a->clean[pages]);
    if (s) {
        a->committed_bytes += (uint64_t)pages << 12;
        spans_free--;
        return s;
    }
#if MW_HARDENED
    if (a->bump < a->end) mw_guard_carve(a, pages);
#endif
    if (a->bump > a->end || (size_t)(a->end - a->bump) < ((size_t)pages << 12))
        return mw_arena_run_take(a, (size_t)pages << 12, MW_PAGE_SIZE);
    s = mw_pool_alloc(&span_pool);
    if (!s) return NULL;
    s->start = a->bump;
    s->pages = pages;
    s->arena = a->id;
    a->bump += (size_t)pages << 12;
    a->committed_bytes += (uint64_t)pages << 12;
    mw_arena_clear_fresh(a, s->start, mw_span_bytes(s));
    return s;
}

/* Called with arena_lock held: the arenas serving heaps of arena id, in the order they are
 * tried (arena.h); returns how many went into out. */
static unsigned serving(mw_arena_id_t id, struct mw_arena **out) {
    if (id != 0) {
        out[0] = &arenas[id];
        return 1;
    }
    unsigned n = 0;
    for (unsigned i = 1; i < arena_count; i++)
        if (!(arenas[i].flags & MW_ARENA_EXCLUSIVE)) out[n++] = &arenas[i];
    out[n++] = &arenas[0];
    return n;
}

struct mw_span *mw_arena_span_alloc(mw_arena_id_t id, unsigned pages, unsigned cls) {
    mw_assert(pages >= 1 && pages <= MW_SPAN_MAX_PAGES);
    struct mw_arena *order[MW_ARENA_MAX];
    struct mw_span *s = NULL;
    mw_lock(&arena_lock);
    unsigned n = arena_count ? serving(id, order) : 0;
    for (unsigned i = 0; i < n && !s; i++)
        s = take_span(order[i], pages);
    if (s) {
        spans_in_use++;
        class_spans[cls]++;
        arenas[s->arena].used_bytes += (uint64_t)pages << 12;
        if (s->warm && s->cls == cls)
            mw_span_rewarm(s);
        else
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

/* Called with arena_lock held: purges dirty spans of a until at most `keep` bytes stay
 * dirty (none of an arena that keeps its pages). */
static uint64_t purge_locked(struct mw_arena *a, uint64_t keep) {
    uint64_t purged = 0;
    if (keeps_pages(a)) return 0;
    for (unsigned p = 1; p <= MW_SPAN_MAX_PAGES && a->dirty_bytes > keep; p++) {
        struct mw_span *s;
        while (a->dirty_bytes > keep && (s = pop(&a->dirty[p])) != NULL) {
            mw_os_decommit(s->start, (size_t)p << 12);
            s->dirty = s->warm = 0;
            push(&a->clean[p], s);
            a->dirty_bytes -= (uint64_t)p << 12;
            a->committed_bytes -= (uint64_t)p << 12;
            purged += (uint64_t)p << 12;
        }
    }
    purged += mw_arena_run_purge(a, keep);
    a->purged_bytes += purged;
    return purged;
}

/* Called with arena_lock held: s leaves use (map, count); its arena. */
static struct mw_arena *unuse(struct mw_span *s) {
    struct mw_arena *a = &arenas[s->arena];
    map_span(s, NULL);
    if (s->state != MW_SPAN_LARGE) class_spans[s->cls]--;
    s->state = MW_SPAN_FREE;
    a->used_bytes -= (uint64_t)s->pages << 12;
    spans_in_use--;
    return a;
}

/* Called with arena_lock held, a's dirty bytes just grew: the bytes purged to keep them
 * under the limit. */
static uint64_t keep_under_limit(struct mw_arena *a) {
    uint64_t limit = dirty_limit();
    return a->dirty_bytes > limit ? purge_locked(a, limit / 2) : 0;
}

/* Called with arena_lock held; returns the bytes purged to keep under the dirty limit. */
static uint64_t span_free_locked(struct mw_span *s) {
    struct mw_arena *a = unuse(s);
    spans_free++;
    s->dirty = 1;
    push(&a->dirty[s->pages], s);
    a->dirty_bytes += (uint64_t)s->pages << 12;
    return keep_under_limit(a);
}

/* Called with arena_lock held: an alias of a span that emptied, fresh private pages now. */
static void free_alias_locked(struct mw_span *s) {
    struct mw_arena *a = unuse(s);
    spans_free++;
    s->dirty = 0;
    push(&a->clean[s->pages], s);
    spans_meshed--;
}

void mw_arena_span_free(struct mw_span *s) {
#if MW_HARDENED
    mw_hd_span_release(s); /* its free slots are checked one last time */
#endif
    MW_TRACE_SPAN_RELEASE(s->start, s->cls, (size_t)s->pages << 12);
    atomic_store_explicit(&s->owner, NULL, memory_order_relaxed);
    /* Every block back on its lists and the pages its own: the next span of its class can
     * be this one as it is (the hardened build checks and re-arms a span when carved). */
    s->warm = !MW_HARDENED && s->used == 0 && !s->mesh_next && !s->in_file;
    mw_lock(&arena_lock);
    if (mw_unlikely(s->mesh_next || s->in_file) && !mw_mesh_unmesh(s, free_alias_locked)) {
        mw_unlock(&arena_lock); /* the kernel refused a mapping: s stays out of use */
        return;
    }
    uint64_t purged = span_free_locked(s);
    mw_unlock(&arena_lock);
    if (purged) MW_TRACE_PURGE(purged);
}

/* Called with arena_lock held: a large span of `bytes` at align for a heap of arena id, in
 * use and mapped. */
static struct mw_span *large_take(mw_arena_id_t id, size_t bytes, size_t align) {
    struct mw_arena *a = &arenas[id];
    struct mw_span *s = mw_arena_run_take(a, bytes, align);
    if (!s) return NULL;
    s->state = MW_SPAN_LARGE;
    spans_in_use++;
    a->used_bytes += bytes;
    map_span(s, s);
    return s;
}

void *mw_arena_large_alloc(mw_arena_id_t id, size_t size, size_t align, bool zero) {
    mw_assert(id != 0 && mw_is_pow2(align));
    if (size > (size_t)UINT32_MAX << 12) return NULL; /* more pages than a span counts */
    size_t bytes = mw_align_up(size, MW_PAGE_SIZE);
    mw_lock(&arena_lock);
    struct mw_span *s = large_take(id, bytes, align > MW_PAGE_SIZE ? align : MW_PAGE_SIZE);
    mw_unlock(&arena_lock);
    if (!s) return NULL;
    if (zero && s->dirty) clear(s->start, bytes); /* (hardened runs read as zero already) */
    mw_vg_noaccess(s->start, bytes); /* no block yet: the API describes it to memcheck */
    return s->start;
}

bool mw_arena_large_free(struct mw_span *s, const void *p) {
    uint64_t purged = 0;
    mw_lock(&arena_lock);
    struct mw_span **slot = mw_arena_map_slot(p);
    bool ok = slot && *slot == s && s->start == p && mw_span_is_large(s);
    if (ok) {
        struct mw_arena *a = unuse(s);
        mw_arena_run_give(a, s);
        purged = keep_under_limit(a);
    }
    mw_unlock(&arena_lock);
    if (purged) MW_TRACE_PURGE(purged);
    return ok;
}

void mw_arena_purge(bool force) {
    uint64_t purged = 0;
    mw_lock(&arena_lock);
    for (unsigned i = 0; i < arena_count; i++)
        purged += purge_locked(&arenas[i], force ? 0 : dirty_limit() / 2);
    mw_unlock(&arena_lock);
    if (purged) MW_TRACE_PURGE(purged);
}

void mw_arena_abandon(struct mw_span *s, bool back) {
    struct mw_span_queue *q = &arenas[s->arena].abandoned[s->cls];
    mw_lock(&arena_lock);
    s->state = MW_SPAN_ABANDONED;
    if (back)
        mw_queue_push_back(q, s);
    else
        mw_queue_push_front(q, s);
    spans_abandoned++;
    mw_unlock(&arena_lock);
}

/* Racy peek (adoption is opportunistic): may a heap of arena id find a span of cls to
 * adopt? */
static bool may_adopt(mw_arena_id_t id, unsigned cls) {
    for (unsigned i = 0; i < arena_count; i++)
        if (arenas[i].abandoned[cls].first && (id == 0 || (unsigned)id == i)) return true;
    return false;
}

struct mw_span *mw_arena_adopt(mw_arena_id_t id, unsigned cls) {
    if (!may_adopt(id, cls)) return NULL;
    struct mw_arena *order[MW_ARENA_MAX];
    struct mw_span *s = NULL;
    mw_lock(&arena_lock);
    unsigned n = serving(id, order);
    for (unsigned i = 0; i < n && !s; i++)
        s = mw_queue_pop_front(&order[i]->abandoned[cls]);
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
    mw_queue_remove(&arenas[s->arena].abandoned[s->cls], s);
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
    for (unsigned i = 0; i < arena_count; i++)
        for (unsigned c = 0; c < MW_CLASS_COUNT; c++)
            for (struct mw_span *s = arenas[i].abandoned[c].first, *next; s; s = next) {
                next = s->next;
                if (take_if_empty(s)) {
                    s->next = empty;
                    empty = s;
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
    struct mw_span_queue *q = &arenas[0].abandoned[cls];
    if (!q->first) return 0; /* racy peek, as adoption */
    unsigned n = 0;
    mw_lock(&arena_lock);
    for (struct mw_span *s = q->first, *next; s && n < max; s = next) {
        next = s->next;
        mw_span_collect(s);
        if (s->used == 0 || s->used > max_used) continue;
        mw_queue_remove(q, s);
        spans_abandoned--;
        s->state = MW_SPAN_QUEUED; /* so that no remote freer reclaims it meanwhile */
        out[n++] = s;
    }
    mw_unlock(&arena_lock);
    return n;
}

void mw_arena_note_meshed(struct mw_span *s) {
    mw_lock(&arena_lock);
    arenas[s->arena].committed_bytes -= (uint64_t)s->pages << 12;
    spans_meshed++;
    mw_unlock(&arena_lock);
}

void mw_arena_each_kept(void (*fn)(struct mw_span *)) {
    for (char *p = mw_arena_base; p < arenas[0].bump; p += MW_PAGE_SIZE) {
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

/* Called with arena_lock held: the bytes of a committed now (all of it once populated or
 * backed by hugetlb pages, which are reserved when mapped). */
static uint64_t committed_of(const struct mw_arena *a) {
    if (a->flags & (MW_ARENA_HUGE_PAGES | MW_ARENA_COMMIT)) return (uint64_t)(a->end - a->start);
    return a->committed_bytes;
}

void mw_arena_totals(struct mw_stats *st) {
    mw_lock(&arena_lock);
    st->arena_reserved = mw_arena_size;
    for (unsigned i = 0; i < arena_count; i++) {
        st->arena_committed += committed_of(&arenas[i]);
        st->arena_purged += arenas[i].purged_bytes;
    }
    st->arenas = arena_count;
    st->spans_in_use = spans_in_use;
    st->spans_free = spans_free;
    st->spans_abandoned = spans_abandoned;
    st->meshed_spans = spans_meshed;
    for (unsigned c = 0; c < MW_CLASS_COUNT; c++)
        st->classes[c].spans = class_spans[c];
    mw_unlock(&arena_lock);
}

/* The pages kind of a, as mw_arena_stats reports it. */
static uint64_t page_size_of(const struct mw_arena *a) {
    if (a->flags & MW_ARENA_HUGE_PAGES) return mw_arena_pages_align(a->flags);
    return a->flags & MW_ARENA_LARGE_PAGES ? (uint64_t)2 << 20 : MW_PAGE_SIZE;
}

int mw_arena_stats(mw_arena_id_t id, struct mw_arena_stats *out) {
    if (!out || !mw_arena_valid(id)) return EINVAL;
    mw_lock(&arena_lock);
    const struct mw_arena *a = &arenas[id];
    out->size = (uint64_t)(a->end - a->start);
    out->page_size = page_size_of(a);
    out->committed = committed_of(a);
    out->used = a->used_bytes;
    out->flags = a->flags;
    mw_unlock(&arena_lock);
    return 0;
}
