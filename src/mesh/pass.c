/* mesh/pass.c — mesh passes: when they run, what takes part, the cap on meshed mappings,
 * the statistics and the fork handlers. One pass at a time (pass_lock); a thread that finds
 * a pass running skips.
 *
 * When: from an allocation slow path, at most once per MESHWARD_MESH_PERIOD_MS, if the
 * heap shrank since its fullest (shrinking()), else once every `backoff` periods, a
 * backoff that doubles while passes release little. Such a pass may spend a period, or
 * SHRINK_PERIODS when the heap shrank (the program just freed much: the one moment meshing
 * has most to give back), in slices of at most SLICE_NS run by slow paths some time apart
 * (see SLICE_GAP_SHRUNK_NS), so that no call pauses longer than a slice; the next pass resumes at
 * the class the last one stopped in. An explicit pass (mw_mesh_now, mw_collect,
 * malloc_trim) has no limit. What: class by class, the calling thread's sparse spans and
 * the abandoned ones; those of its own it could not pair it donates to the abandoned lists
 * while other thread heaps live, for their passes (donates()).
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
#define SHRINK_PERIODS 8   /* a pass after the heap shrank may run that many periods */
#define SLICE_NS 10000000u /* the longest a slow path meshes at a time */
/* Between two slices of a pass the program runs at least this long: a tenth of a slice
 * after the heap shrank (meshing then has the most to give back, soon), a whole slice
 * otherwise (meshing takes at most half the time). */
#define SLICE_GAP_SHRUNK_NS (SLICE_NS / 10)

static mw_lock_t pass_lock;
static _Atomic uint64_t next_due_ns; /* no thread looks before (racy, only a hint) */
static uint64_t last_pass_ns;        /* these three under pass_lock */
static uint64_t backoff = 1;         /* in periods: doubles while passes release little */
static uint64_t rng = 0x6d657368;    /* under pass_lock */
static long range_cap;               /* meshed ranges allowed; 0 until read */
static struct mw_mesh_cand cands[MAX_CANDIDATES];
static struct mw_span *found[MAX_CANDIDATES];
static struct { uint64_t passes, meshes, released_bytes, ns, max_pause_ns; } totals;
/* The timed pass in progress (classes_left 0: none), under pass_lock: the time it may still
 * spend, the bytes it gave back so far, the wait between its slices, the classes it has
 * still to visit. */
static struct {
    uint64_t budget_ns, bytes, gap_ns;
    unsigned classes_left;
} timed;

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

/* Whether h gives the candidates it could not pair to the abandoned lists, for the passes
 * of other heaps (mesh/README.md): only a thread heap (a first-class heap's blocks stay its
 * own, mw_heap_destroy frees them), only while another thread heap lives to pair them, and
 * never in the hardened build (it meshes while one thread lives, begin_locked). */
static bool donates(const struct mw_heap *h) {
    return !MW_HARDENED && h && h->thread_heap && mw_heap_thread_heaps() > 1;
}

static size_t pass_class(struct mw_heap *h, unsigned cls) {
    unsigned n = gather(h, cls);
    size_t bytes = n >= 2 ? mw_mesh_pairs(cands, n, &rng, mesh_pair, h) : 0;
    bool donate = donates(h);
    for (unsigned i = 0; i < n; i++) { /* the abandoned ones go back (unless meshed away) */
        struct mw_span *s = cands[i].span;
        if (s->state == MW_SPAN_MESHED || (cands[i].ours && cands[i].paired)) continue;
        if (!cands[i].ours)
            mw_arena_abandon(s);
        else if (donate)
            mw_heap_donate(h, s);
        else
            mw_heap_requeue_unmeshed(h, s);
    }
    return bytes;
}

/* The blocks h holds: its thread's allocations minus its frees, summed over its classes
 * (rough: other threads' frees count where they are made). */
static int64_t heap_held(const struct mw_heap *h) {
    uint64_t allocs = 0, frees = 0;
    for (unsigned c = 0; c < MW_CLASS_COUNT; c++) {
        allocs += mw_heap_allocs(h, c);
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

/* Meshes class after class from next_class, until the deadline or the cap, or until
 * *classes_left classes gave all they could: a class is taken again while it yields (its
 * candidates are capped, by the time left too), and one cut short by the deadline is where
 * the next sweep resumes. Returns the bytes released. */
static size_t sweep(struct mw_heap *h, uint64_t deadline, unsigned *classes_left) {
    if (!range_cap) range_cap = read_range_cap();
    pass_deadline_ns = deadline;
    size_t bytes = 0;
    while (*classes_left && under_cap() && in_time()) {
        size_t got = pass_class(h, next_class);
        bytes += got;
        if (got) continue;
        next_class = (next_class + 1) % MW_CLASS_COUNT;
        --*classes_left;
    }
    return bytes;
}

/* A stretch of meshing from t0 took until now, releasing bytes. */
static uint64_t account_slice(uint64_t t0, size_t bytes) {
    uint64_t t1 = mw_os_now_ns();
    totals.released_bytes += bytes;
    totals.ns += t1 - t0;
    if (t1 - t0 > totals.max_pause_ns) totals.max_pause_ns = t1 - t0;
    return t1 - t0;
}

/* A pass ended, having released bytes in all: the backoff and the heap's new mark. */
static void account_pass(struct mw_heap *h, size_t bytes) {
    totals.passes++;
    if (h) h->mesh_peak = heap_held(h);
    backoff = bytes >= LITTLE ? 1 : (backoff * 2 > BACKOFF_MAX ? BACKOFF_MAX : backoff * 2);
    last_pass_ns = mw_os_now_ns();
}

/* An explicit pass: every class, no time limit (it supersedes a timed one in progress). */
static size_t run_whole(struct mw_heap *h) {
    uint64_t t0 = mw_os_now_ns();
    unsigned all = MW_CLASS_COUNT;
    size_t bytes = sweep(h, UINT64_MAX, &all);
    account_slice(t0, bytes);
    account_pass(h, bytes);
    timed.classes_left = 0;
    return bytes;
}

/* One slice of the timed pass in progress; ends the pass when its time or its classes are
 * spent, or the cap is reached. */
static void run_slice(struct mw_heap *h, uint64_t period_ns) {
    uint64_t t0 = mw_os_now_ns(), slice = SLICE_NS < period_ns ? SLICE_NS : period_ns;
    if (slice > timed.budget_ns) slice = timed.budget_ns;
    size_t bytes = sweep(h, t0 + slice, &timed.classes_left);
    uint64_t spent = account_slice(t0, bytes);
    timed.bytes += bytes;
    timed.budget_ns -= spent < timed.budget_ns ? spent : timed.budget_ns;
    if (timed.budget_ns == 0 || !under_cap()) timed.classes_left = 0;
    if (!timed.classes_left) account_pass(h, timed.bytes);
}

/* With pass_lock held, before meshing: false when this process may not mesh now. The
 * hardened build meshes single-threaded processes only: a free in another thread checks a
 * block's canaries and changes its record in several steps, which a mesh moving that
 * record and re-keying those canaries would tear. */
static bool begin_locked(void) {
    bool solo = mw_os_threads() == 1;
    if (MW_HARDENED && !solo) return false;
    mw_mesh_file_solo(solo);
    return true;
}

size_t mw_mesh_pass(struct mw_heap *h) {
    if (!enabled() || (h && !h->alive) || !mw_trylock(&pass_lock)) return 0;
    size_t bytes = 0;
    if (begin_locked()) {
        bytes = run_whole(h);
        mw_mesh_file_solo(false);
    }
    mw_unlock(&pass_lock);
    return bytes;
}

/* With pass_lock held, no timed pass in progress: starts one when it is due. */
static void start_if_due(struct mw_heap *h, uint64_t now, uint64_t period_ns) {
    bool shrunk = shrinking(h);
    if (!shrunk && now < last_pass_ns + period_ns * backoff) return;
    timed.budget_ns = period_ns * (shrunk ? SHRINK_PERIODS : 1);
    timed.gap_ns = shrunk ? SLICE_GAP_SHRUNK_NS : SLICE_NS;
    timed.bytes = 0;
    timed.classes_left = MW_CLASS_COUNT;
}

void mw_mesh_tick(struct mw_heap *h) {
    uint64_t now = mw_os_coarse_ns(), period;
    if (now < atomic_load_explicit(&next_due_ns, memory_order_relaxed)) return;
    if (!enabled() || !h->alive || !mw_trylock(&pass_lock)) return;
    period = (uint64_t)mw_option_now(MW_OPTION_MESH_PERIOD_MS) * 1000000u;
    if (!period) period = 1000000u;        /* 0 counts as a millisecond */
    if (!last_pass_ns) last_pass_ns = now; /* none in the process's first period: start-up */
    if (!timed.classes_left) start_if_due(h, now, period);
    uint64_t wait = period; /* the next pass a period after this one ended */
    if (timed.classes_left && begin_locked()) {
        run_slice(h, period);
        mw_mesh_file_solo(false);
        now = mw_os_coarse_ns();
        if (timed.classes_left) wait = timed.gap_ns;
    }
    atomic_store_explicit(&next_due_ns, now + wait, memory_order_relaxed);
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
