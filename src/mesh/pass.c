/* mesh/pass.c — mesh passes: when they run, what takes part, the cap on meshed mappings,
 * the statistics and the fork handlers. One pass at a time (pass_lock); a thread that finds
 * a pass running skips.
 *
 * When: from an allocation slow path, at most once per MESHWARD_MESH_PERIOD_MS, if the
 * heap shrank since its fullest (shrinking()), else once every `backoff` periods, a
 * backoff that doubles while passes release little. Such a pass stops after a period, or
 * after SHRINK_PERIODS when the heap shrank (the program just freed much: the one moment
 * meshing has most to give back, worth a longer pause), and the next resumes at the class
 * it stopped in; an explicit pass (mw_mesh_now, mw_collect, malloc_trim) has no limit. What: class
 * by class, the calling thread's sparse spans and the abandoned ones.
 *
 * The cap: at most a third of vm.max_map_count meshed ranges (aliases and kept spans in the
 * file), as in Mesh. Each splits the arena's mapping, but neighbours merge: measured, 440
 * meshes (880 ranges) added 806 mappings. */
#include "mesh/mesh.h"

#include "arena.h"
#include "heap.h"
#include "init.h"
#include "lock.h"
#include "mesh/barrier.h"
#include "mesh/file.h"
#include "mesh/merge.h"
#include "mesh/pairs.h"
#include "mw_valgrind.h"
#include "options.h"
#include "os.h"
#include "thread.h"

#include <fcntl.h>
#include <unistd.h>

#define MAX_CANDIDATES 4096 /* per class and pass */
#define BACKOFF_MAX 64      /* passes that release little space out, up to 64 periods apart */
#define LITTLE ((size_t)1 << 20)
#define SHRINK_PERIODS 8 /* a pass after the heap shrank may run that many periods */

static mw_lock_t pass_lock;
static _Atomic uint64_t next_due_ns; /* no thread looks before (racy, only a hint) */
static uint64_t last_pass_ns;        /* these three under pass_lock */
static uint64_t backoff = 1;         /* in periods: doubles while passes release little */
static uint64_t rng = 0x6d657368;    /* under pass_lock */
static long range_cap;               /* meshed ranges allowed; 0 until read */
static struct mw_mesh_cand cands[MAX_CANDIDATES];
static struct mw_span *found[MAX_CANDIDATES];
static struct { uint64_t passes, meshes, released_bytes, ns, max_pause_ns; } totals;

static long read_range_cap(void) {
    char buf[32];
    long max = 65530;
    int fd = open("/proc/sys/vm/max_map_count", O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
    if (fd >= 0) close(fd);
    if (n > 0) {
        max = 0;
        for (ssize_t i = 0; i < n && buf[i] >= '0' && buf[i] <= '9'; i++)
            max = max * 10 + (buf[i] - '0');
    }
    return max / 3;
}

static bool enabled(void) {
    return mw_option_now(MW_OPTION_MESH) && !mw_vg_active();
}

static size_t run_locked(struct mw_heap *h, unsigned periods);

/* ---- one pass ------------------------------------------------------------------------ */

static bool under_cap(void) {
    return (long)(mw_mesh_ranges.aliases + mw_mesh_ranges.files) < range_cap;
}

/* Which of a and b is kept: a span with aliases or already in the file (no move), then the
 * pass's own, then the fuller. NULL when neither may be released (both have aliases). */
static struct mw_mesh_cand *keeper(struct mw_mesh_cand *a, struct mw_mesh_cand *b) {
    bool a_kept = a->span->mesh_next || a->span->in_file;
    bool b_kept = b->span->mesh_next || b->span->in_file;
    if (a->span->mesh_next && b->span->mesh_next) return NULL;
    if (a_kept != b_kept) return a_kept ? a : b;
    if (a->ours != b->ours) return a->ours ? a : b;
    return a->span->used >= b->span->used ? a : b;
}

/* A pass stops meshing once it ran for a period (at least a millisecond), so that a pause
 * stays within a period and meshing takes at most half the time; the next pass goes on
 * from the class it stopped in. A mesh takes about MESH_NS (measured: 30 us with the
 * search), so a class brings no more candidates than the time left can pair. */
#define MESH_NS 30000u
static uint64_t pass_deadline_ns;
static unsigned next_class;

static bool in_time(void) {
    return mw_os_now_ns() < pass_deadline_ns;
}

static unsigned candidates_in_time(void) {
    uint64_t now = mw_os_now_ns(), left = pass_deadline_ns > now ? pass_deadline_ns - now : 0;
    uint64_t n = 4 * left / MESH_NS;
    return n < 64 ? 64 : n > MAX_CANDIDATES ? MAX_CANDIDATES : (unsigned)n;
}

static size_t mesh_pair(struct mw_mesh_cand *a, struct mw_mesh_cand *b, void *ctx) {
    struct mw_heap *h = ctx;
    struct mw_mesh_cand *k = keeper(a, b), *r = k == a ? b : a;
    if (!under_cap() || !in_time()) return MW_MESH_STOP;
    if (!k || k->span->mesh_count >= MW_MESH_SHARE_MAX ||
        k->span->used + r->span->used > k->span->capacity)
        return 0;
    size_t bytes = mw_mesh_merge(k->span, mw_mesh_live(k), r->span, mw_mesh_live(r), &rng);
    if (bytes && r->ours) mw_heap_unlink_meshed(h, r->span);
    totals.meshes += bytes != 0;
    return bytes;
}

/* The candidates of class cls: sparse spans of h, then abandoned ones; their live sets. */
/* The fullest span worth a live set: two spans of n slots with k live each are disjoint with
 * probability about (1 - (k/n)^2)^n, under 1% from k = 3 sqrt(n) up (a span of 256 slots
 * holding 48 blocks pairs only with much sparser ones); never above 4/5 full (Mesh's cut). */
static uint32_t max_used_of(unsigned cls) {
    uint32_t n = mw_classes[cls].count, k = 1;
    while (k * k <= 9 * n)
        k++;
    return k - 1 < n * 4 / 5 ? k - 1 : n * 4 / 5;
}

static unsigned gather(struct mw_heap *h, unsigned cls) {
    uint32_t max_used = max_used_of(cls);
    unsigned max = candidates_in_time();
    unsigned ours = h ? mw_heap_mesh_candidates(h, cls, max_used, found, max) : 0;
    unsigned n = ours + mw_arena_take_sparse(cls, max_used, found + ours, max - ours);
    for (unsigned i = 0; i < n; i++) {
        struct mw_mesh_cand *c = &cands[i];
        c->span = found[i];
        c->ours = i < ours;
        c->paired = c->known = false;
    }
    return n;
}

static size_t pass_class(struct mw_heap *h, unsigned cls) {
    unsigned n = gather(h, cls);
    size_t bytes = n >= 2 ? mw_mesh_pairs(cands, n, &rng, mesh_pair, h) : 0;
    for (unsigned i = 0; i < n; i++) { /* the abandoned ones go back (unless meshed away) */
        struct mw_span *s = cands[i].span;
        if (s->state == MW_SPAN_MESHED) continue;
        if (!cands[i].ours)
            mw_arena_abandon(s);
        else if (!cands[i].paired)
            mw_heap_requeue_unmeshed(h, s);
    }
    return bytes;
}

/* The blocks h holds: its thread's allocations minus its frees, summed over its classes
 * (rough: other threads' frees count where they are made). */
static int64_t heap_held(const struct mw_heap *h) {
    uint64_t allocs = 0, frees = 0;
    for (unsigned c = 0; c < MW_CLASS_COUNT; c++) {
        allocs += h->allocs[c];
        frees += h->frees[c];
    }
    return (int64_t)(allocs - frees);
}

/* Looked at once per period: does h hold clearly fewer blocks than at its fullest since its
 * last pass (an eighth fewer, and at least 4096)? Then its spans thinned out, and a pass is
 * worth running whatever the last one released. */
static bool shrinking(struct mw_heap *h) {
    int64_t held = heap_held(h), drop = h->mesh_peak - held;
    if (held > h->mesh_peak) h->mesh_peak = held;
    return drop >= 4096 && drop >= h->mesh_peak / 8;
}

/* periods: a pass from a slow path stops after that many periods; an explicit one (0:
 * mw_mesh_now, mw_collect, malloc_trim) goes through every class. */
static size_t run_pass(struct mw_heap *h, unsigned periods) {
    if (!range_cap) range_cap = read_range_cap();
    uint64_t t0 = mw_os_now_ns(), period = (uint64_t)mw_option_now(MW_OPTION_MESH_PERIOD_MS);
    bool timed = periods != 0;
    pass_deadline_ns = timed ? t0 + (period ? period : 1) * periods * 1000000u : UINT64_MAX;
    size_t bytes = 0;
    for (unsigned i = 0; i < MW_CLASS_COUNT && under_cap() && in_time(); i++) {
        size_t got;
        do /* an explicit pass takes the class again while it yields (candidates are capped) */
            bytes += got = pass_class(h, next_class);
        while (!timed && got && under_cap());
        next_class = (next_class + 1) % MW_CLASS_COUNT;
    }
    uint64_t t1 = mw_os_now_ns();
    totals.passes++;
    totals.released_bytes += bytes;
    totals.ns += t1 - t0;
    if (t1 - t0 > totals.max_pause_ns) totals.max_pause_ns = t1 - t0;
    if (h) h->mesh_peak = heap_held(h);
    backoff = bytes >= LITTLE ? 1 : (backoff * 2 > BACKOFF_MAX ? BACKOFF_MAX : backoff * 2);
    last_pass_ns = t1;
    return bytes;
}

/* With pass_lock held. The hardened build meshes single-threaded processes only: a free in
 * another thread checks a block's canaries and changes its record in several steps, which
 * a mesh moving that record and re-keying those canaries would tear. */
static size_t run_locked(struct mw_heap *h, unsigned periods) {
    bool solo = mw_os_threads() == 1;
    if (MW_HARDENED && !solo) return 0;
    mw_mesh_file_solo(solo);
    size_t bytes = run_pass(h, periods);
    mw_mesh_file_solo(false);
    return bytes;
}

size_t mw_mesh_pass(struct mw_heap *h) {
    if (!enabled() || (h && !h->alive) || !mw_trylock(&pass_lock)) return 0;
    size_t bytes = run_locked(h, 0);
    mw_unlock(&pass_lock);
    return bytes;
}

void mw_mesh_tick(struct mw_heap *h) {
    uint64_t now = mw_os_coarse_ns(), period;
    if (now < atomic_load_explicit(&next_due_ns, memory_order_relaxed)) return;
    if (!enabled() || !h->alive || !mw_trylock(&pass_lock)) return;
    period = (uint64_t)mw_option_now(MW_OPTION_MESH_PERIOD_MS) * 1000000u;
    if (!last_pass_ns) last_pass_ns = now; /* none in the process's first period: start-up */
    bool shrunk = shrinking(h);
    if (shrunk || now >= last_pass_ns + period * backoff) {
        run_locked(h, shrunk ? SHRINK_PERIODS : 1);
        now = mw_os_coarse_ns(); /* the next pass a period after this one ended */
    }
    atomic_store_explicit(&next_due_ns, now + period, memory_order_relaxed);
    mw_unlock(&pass_lock);
}

size_t mw_mesh_now(void) {
    mw_init();
    return mw_mesh_pass(mw_tls_heap);
}

/* ---- fork ---------------------------------------------------------------------------- */

void mw_mesh_fork_prepare(void) {
    mw_lock(&pass_lock);
}

static bool fork_files; /* meshed memory existed at prepare */

void mw_mesh_fork_freeze(void) {
    fork_files = mw_mesh_ranges.files != 0;
    if (!fork_files) return;
    mw_mesh_barrier_begin();
    mw_mesh_file_solo(mw_os_threads() == 1);
    mw_mesh_file_fork_prepare(mw_arena_each_kept);
}

void mw_mesh_fork_parent(void) {
    if (fork_files) {
        if (!mw_mesh_file_fork_parent(mw_arena_each_kept))
            mw_write_str(2, "meshward: fork: cannot copy meshed memory; "
                            "parent and child may share some of it\n");
        mw_mesh_file_solo(false);
        mw_mesh_barrier_end();
    }
    mw_unlock(&pass_lock);
}

void mw_mesh_fork_child(void) {
    if (fork_files) mw_mesh_file_fork_child(mw_arena_each_kept);
    mw_mesh_file_solo(false);
    mw_mesh_barrier_reset();
    mw_lock_reset(&pass_lock);
}

void mw_mesh_stats(struct mw_stats *st) {
    st->mesh_passes = totals.passes;
    st->meshes = totals.meshes;
    st->mesh_released_bytes = totals.released_bytes;
    st->mesh_ns = totals.ns;
    st->mesh_max_pause_ns = totals.max_pause_ns;
}
