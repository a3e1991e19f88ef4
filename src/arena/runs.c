/* arena/runs.c — an arena's runs: the free page ranges of any length that freed large spans
 * leave behind (arena.h), kept in address order and merged with their neighbours, and the
 * carving of spans of any length at any alignment: from the first run that holds one (the
 * run is split; what lies before and after stays a run), else from the last run together
 * with the pages after it when it ends at the bump (so an arena emptied entirely holds its
 * largest block again), else at the bump (the gap that an alignment skips becomes a run).
 *
 * Invariants (all under the arena lock): runs neither overlap nor touch (touching runs are
 * merged); a run's `resident` bytes may be resident (they count in the arena's dirty and
 * committed bytes: a freed span's pages all do), the rest are not (purged, or never
 * touched); where in the run they lie is not known, so a cut takes its share in proportion
 * and reads as zero only when the run had none. In the hardened build every run reads as zero
 * (freed blocks are scrubbed) and holds no protected page (a freed block's guard page is
 * opened before its span comes back; a carve opens the slab guard it covers). The
 * descriptors of runs and large spans come from this file's pool and go back to it when a
 * merge makes one redundant. */
#include "arena/arena.h"
#include "meta.h"
#include "os.h"
#if MW_HARDENED
#include "harden/guard.h"
#endif

static struct mw_pool pool = MW_POOL_INIT(struct mw_span);

static char *end_of(const struct mw_span *r) {
    return r->start + mw_span_bytes(r);
}

/* A descriptor of [start, start + bytes) of arena a; NULL when metadata is exhausted. */
static struct mw_span *new_run(const struct mw_arena *a, char *start, size_t bytes) {
    struct mw_span *r = mw_pool_alloc(&pool);
    if (!r) return NULL;
    r->start = start;
    r->pages = (uint32_t)(bytes >> 12);
    r->arena = a->id;
    return r;
}

static void unlink_run(struct mw_arena *a, struct mw_span *r) {
    if (r->prev)
        r->prev->next = r->next;
    else
        a->runs = r->next;
    if (r->next) r->next->prev = r->prev;
}

/* Links r into a's runs after prev (NULL: first). */
static void link_after(struct mw_arena *a, struct mw_span *prev, struct mw_span *r) {
    r->prev = prev;
    r->next = prev ? prev->next : a->runs;
    if (r->next) r->next->prev = r;
    if (prev)
        prev->next = r;
    else
        a->runs = r;
}

/* Run b, which starts where run r ends, joins r; b's descriptor goes back. */
static void merge(struct mw_arena *a, struct mw_span *r, struct mw_span *b) {
    r->resident += b->resident;
    r->pages += b->pages;
    unlink_run(a, b);
    mw_pool_free(&pool, b);
}

/* Makes r (its resident bytes counted as committed) a run of a, merged with the runs it
 * touches. */
static void insert(struct mw_arena *a, struct mw_span *r) {
    struct mw_span *prev = NULL;
    for (struct mw_span *it = a->runs; it && it->start < r->start; it = it->next)
        prev = it;
    a->dirty_bytes += r->resident;
    link_after(a, prev, r);
    if (r->next && end_of(r) == r->next->start) merge(a, r, r->next);
    if (prev && end_of(prev) == r->start) merge(a, prev, r);
}

/* Cuts [at, at + bytes) out of run r: the parts before and after it stay runs. Returns a
 * descriptor of the cut, or NULL (r unchanged) when metadata is exhausted. */
static struct mw_span *cut(struct mw_arena *a, struct mw_span *r, char *at, size_t bytes) {
    char *tail = at + bytes, *end = end_of(r);
    bool before = at > r->start, after = tail < end;
    struct mw_span *s = new_run(a, at, bytes);
    struct mw_span *t = s && before && after ? new_run(a, tail, (size_t)(end - tail)) : NULL;
    if (!s || (before && after && !t)) {
        if (s) mw_pool_free(&pool, s);
        return NULL;
    }
    uint64_t share = (uint64_t)((__uint128_t)r->resident * bytes / mw_span_bytes(r));
    s->dirty = r->resident != 0;
    r->resident -= share;
    a->dirty_bytes -= share;
    a->committed_bytes += bytes - share;
    if (t) { /* the rest of its share, in proportion too */
        uint64_t before_bytes = (uint64_t)(at - r->start);
        t->resident = (uint64_t)((__uint128_t)r->resident * mw_span_bytes(t) /
                                 (before_bytes + mw_span_bytes(t)));
        r->resident -= t->resident;
        link_after(a, r, t);
    }
    if (before) {
        r->pages = (uint32_t)((size_t)(at - r->start) >> 12);
    } else if (after) {
        r->start = tail;
        r->pages = (uint32_t)((size_t)(end - tail) >> 12);
    } else {
        unlink_run(a, r);
        mw_pool_free(&pool, r);
    }
    return s;
}

/* The first address at or after start aligned to align; NULL when it would wrap around. */
static char *aligned_from(char *start, size_t align) {
    char *at = (char *)mw_align_up((uintptr_t)start, align);
    return at >= start ? at : NULL;
}

/* The first run of a that holds bytes at align, cut, among the runs with resident bytes
 * first (fewer faults, and less to purge); NULL when none does. */
static struct mw_span *from_runs(struct mw_arena *a, size_t bytes, size_t align) {
    for (int resident = 1; resident >= 0; resident--)
        for (struct mw_span *r = a->runs; r; r = r->next) {
            char *at = (r->resident != 0) == resident ? aligned_from(r->start, align) : NULL;
            if (at && at < end_of(r) && (size_t)(end_of(r) - at) >= bytes)
                return cut(a, r, at, bytes);
        }
    return NULL;
}

/* Whether [at, at + bytes) fits between at and the end of a (at may be past it). */
static bool fits_before_end(const struct mw_arena *a, const char *at, size_t bytes) {
    return at <= a->end && (size_t)(a->end - at) >= bytes;
}

/* Moves a's bump up by size bytes, never carved before: they read as zero from now on. */
static void advance(struct mw_arena *a, size_t size) {
#if MW_HARDENED
    mw_guard_open(a, a->bump, a->bump + size);
#endif
    mw_arena_clear_fresh(a, a->bump, size);
    a->bump += size;
}

/* The last run of a grown by the fresh pages after it, when it ends at the bump and so can
 * hold bytes at align; NULL otherwise. */
static struct mw_span *grow_last(struct mw_arena *a, size_t bytes, size_t align) {
    struct mw_span *r = a->runs;
    while (r && r->next)
        r = r->next;
    char *at = r && end_of(r) == a->bump ? aligned_from(r->start, align) : NULL;
    if (!at || !fits_before_end(a, at, bytes) || at + bytes <= a->bump) return NULL;
    size_t more = (size_t)(at + bytes - a->bump);
    advance(a, more);
    r->pages += (uint32_t)(more >> 12);
    if (a->managed) { /* cleared: resident */
        r->resident += more;
        a->dirty_bytes += more;
        a->committed_bytes += more;
    }
    return r;
}

/* bytes at align carved at a's bump; the gap the alignment skips becomes a run. */
static struct mw_span *carve(struct mw_arena *a, size_t bytes, size_t align) {
    char *from = a->bump, *at = aligned_from(from, align);
    if (from > a->end || !at || !fits_before_end(a, at, bytes)) return NULL;
    struct mw_span *s = new_run(a, at, bytes);
    struct mw_span *gap = s && at > from ? new_run(a, from, (size_t)(at - from)) : NULL;
    if (!s || (at > from && !gap)) {
        if (s) mw_pool_free(&pool, s);
        return NULL;
    }
    advance(a, (size_t)(at + bytes - from));
    a->committed_bytes += bytes;
    if (gap) { /* fresh: not resident, unless cleared (a managed arena's pages) */
        gap->resident = a->managed ? mw_span_bytes(gap) : 0;
        a->committed_bytes += gap->resident;
        insert(a, gap);
    }
    return s;
}

struct mw_span *mw_arena_run_take(struct mw_arena *a, size_t bytes, size_t align) {
    struct mw_span *s = from_runs(a, bytes, align);
    if (s) return s;
    struct mw_span *last = grow_last(a, bytes, align);
    if (last) return cut(a, last, aligned_from(last->start, align), bytes);
    return carve(a, bytes, align);
}

void mw_arena_run_give(struct mw_arena *a, struct mw_span *s) {
    s->resident = mw_span_bytes(s);
    insert(a, s);
}

uint64_t mw_arena_run_purge(struct mw_arena *a, uint64_t keep) {
    uint64_t purged = 0;
    for (struct mw_span *r = a->runs; r && a->dirty_bytes > keep; r = r->next) {
        if (!r->resident) continue;
        mw_os_decommit(r->start, mw_span_bytes(r));
        a->dirty_bytes -= r->resident;
        a->committed_bytes -= r->resident;
        purged += r->resident;
        r->resident = 0;
    }
    return purged;
}
