/* mesh/pass.c — mesh passes: when they run, what takes part, the cap on meshed mappings,
 * the statistics and the fork handlers. One pass at a time (pass_lock); a thread that finds
 * a pass running skips, unless its heap shrank and the pass has yet to mesh what it gave:
 * it then waits, for a slice's time at most (wait_slice(), slice_wait.h).
 *
 * When: from an allocation slow path, at most once per MESHWARD_MESH_PERIOD_MS, or once
 * every `backoff` periods, a backoff that doubles while passes release little; and at once
 * when a heap shrank. Each heap looks every LOOK_NS, in its own slow path, whether it
 * holds clearly fewer blocks than at its fullest (look()): the program just freed much,
 * the one moment meshing has most to give back. It then asks for a *shrink pass*, which
 * may spend SHRINK_PERIODS periods, and a heap that donates (donates()) first gives every
 * sparse span it holds to the abandoned lists, so that the pass, whichever heap's thread
 * runs it, pairs them with the others' (a thread that goes idle afterwards runs no pass
 * and could pair nothing of its own). A pass is spent in slices of at most SLICE_NS run by
 * slow paths some time apart (see SLICE_GAP_SHRUNK_NS), so that no call pauses longer than
 * a slice; the next slice resumes at the class the last one stopped in, and a heap's shrink
 * starts the round of classes again (new candidates came). An explicit pass (mw_mesh_now,
 * mw_collect, malloc_trim) has no limit. What: class by class, the calling thread's sparse
 * spans and the abandoned ones; those of its own it could not pair it donates while other
 * thread heaps live; the abandoned ones it took go back behind the others, so that the
 * next look at the class takes spans not looked at yet.
 *
 * The cap: at most half of vm.max_map_count meshed ranges (aliases and kept spans in the
 * file), which leaves the program the other half (Mesh keeps a third; measured, five runs
 * each, fragmentation ended at 2.61 times its live bytes with half against 3.45 with a
 * third, and at four fifths as with half: the cap no longer binds there). Each range splits
 * the arena's mapping, but neighbours merge: measured, 440 meshes (880 ranges) added 806
 * mappings. At the cap a pass goes on with the meshes that add no range: two spans both in
 * the file (a chain merge, merge.c, turns a file range into an alias range). */
#include "mesh/mesh.h"

#include "arena/arena.h"
#include "heap.h"
#include "init.h"
#include "lock.h"
#include "mesh/barrier.h"
#include "mesh/file.h"
#include "mesh/merge.h"
#include "mesh/pairs.h"
#include "mesh/slice_wait.h"
#include "mw_valgrind.h"
#include "options.h"
#include "os.h"
#include "thread.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#define MAX_CANDIDATES 4096 /* per class and pass */
#define BACKOFF_MAX 64      /* passes that release little space out, up to 64 periods apart */
#define LITTLE ((size_t)1 << 20)
/* A pass after a heap shrank may run that many periods (of CPU time): measured, three runs
 * each, 16 against 8 left fragmentation at 2.2-2.8 times its live bytes against 2.5-2.8,
 * fragmentation_threads at 2.8-3.4 against 3.7-4.2 (passes end sooner when they find
 * nothing: a class leaves them after visits that mesh nothing). */
#define SHRINK_PERIODS 16
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
/* A set of classes, one bit each. */
typedef unsigned __int128 class_set;
_Static_assert(MW_CLASS_COUNT <= 128, "a class set holds every class");
#define ALL_CLASSES ((((class_set)1) << MW_CLASS_COUNT) - 1)

/* The timed pass in progress (no classes left: none), under pass_lock: the time it may
 * still spend, the bytes it gave back so far, the wait between its slices, the classes
 * that may still give. */
static struct {
    uint64_t budget_ns, bytes, gap_ns;
    class_set classes;
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
    return max / 2;
}

static bool enabled(void) {
    return mw_option_now(MW_OPTION_MESH) && !mw_vg_active();
}

/* ---- one pass ------------------------------------------------------------------------ */

static bool under_cap(void) {
    return (long)(mw_mesh_ranges.aliases + mw_mesh_ranges.files) < range_cap;
}

/* Which of a and b is kept: a span with aliases or already in the file (no move), the one
 * with more aliases when both have some (fewer to map again: merge.c), then the pass's own,
 * then the fuller. */
static struct mw_mesh_cand *keeper(struct mw_mesh_cand *a, struct mw_mesh_cand *b) {
    bool a_kept = a->span->mesh_next || a->span->in_file;
    bool b_kept = b->span->mesh_next || b->span->in_file;
    if (a_kept != b_kept) return a_kept ? a : b;
    if (a->span->mesh_count != b->span->mesh_count)
        return a->span->mesh_count > b->span->mesh_count ? a : b;
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
    return n < 128 ? 128 : n > MAX_CANDIDATES ? MAX_CANDIDATES : (unsigned)n;
}

static size_t mesh_pair(struct mw_mesh_cand *a, struct mw_mesh_cand *b, void *ctx) {
    struct mw_heap *h = ctx;
    struct mw_mesh_cand *k = keeper(a, b), *r = k == a ? b : a;
    if (!in_time()) return MW_MESH_STOP;
    if (!under_cap() && !(k->span->in_file && r->span->in_file)) return 0; /* a new range */
    if (k->span->mesh_count + r->span->mesh_count > MW_MESH_SHARE_MAX ||
        k->span->used + r->span->used > k->span->capacity || r->span->pinned)
        return 0;
    size_t bytes = mw_mesh_merge(k->span, mw_mesh_live(k), r->span, mw_mesh_live(r), &rng);
    if (bytes && r->ours) mw_heap_unlink_meshed(h, r->span);
    totals.meshes += bytes != 0;
    return bytes;
}

/* The candidates of class cls: sparse spans of h, then abandoned ones; their live sets.
 * *all: they are all the class has. At the range cap, those outside the file are left out
 * of the search (a pair of them, which the cap refuses, would use up both). */
/* The fullest span worth a live set: two spans of n slots with k live each are disjoint with
 * probability about (1 - (k/n)^2)^n, under 1% from k = 3 sqrt(n) up (a span of 256 slots
 * holding 48 blocks pairs only with much sparser ones); never above 4/5 full (Mesh's cut). */
static uint32_t max_used_of(unsigned cls) {
    uint32_t n = mw_classes[cls].count, k = 1;
    while (k * k <= 9 * n)
        k++;
    return k - 1 < n * 4 / 5 ? k - 1 : n * 4 / 5;
}

static unsigned gather(struct mw_heap *h, unsigned cls, bool *all) {
    uint32_t max_used = max_used_of(cls);
    unsigned max = candidates_in_time();
    unsigned ours = h ? mw_heap_mesh_candidates(h, cls, max_used, found, max) : 0;
    unsigned n = ours + mw_arena_take_sparse(cls, max_used, found + ours, max - ours);
    bool full = !under_cap(); /* only spans in the file can mesh without a new range */
    for (unsigned i = 0; i < n; i++) {
        struct mw_mesh_cand *c = &cands[i];
        c->span = found[i];
        c->ours = i < ours;
        c->known = false;
        c->paired = full && !c->span->in_file; /* out of the search */
    }
    *all = n < max;
    return n;
}

/* Whether h gives the candidates it could not pair to the abandoned lists, for the passes
 * of other heaps (mesh/README.md): only a thread heap (a first-class heap's blocks stay its
 * own, mw_heap_destroy frees them), only while another thread heap lives to pair them, and
 * never in the hardened build (it meshes while one thread lives, begin_locked). */
static bool donates(const struct mw_heap *h) {
    return !MW_HARDENED && h && h->thread_heap && mw_heap_thread_heaps() > 1;
}

/* Candidates that visits without a mesh must have brought, in all, before a class counts
 * as spent when each brought only part of them (the candidates left unpaired go behind the
 * others, pass_class, so the next visits bring others): as many as a visit with no time
 * limit brings. Visits near a slice's end bring few, and three such visits that found
 * nothing ended passes early: an explicit pass right after took fragmentation's heap from
 * 3.9 to 1.8 times its live bytes. */
#define DRY_CANDIDATES MAX_CANDIDATES
static uint32_t dry[MW_CLASS_COUNT]; /* the candidates since each class last yielded */

static size_t pass_class(struct mw_heap *h, unsigned cls, bool *all) {
    unsigned n = gather(h, cls, all);
    dry[cls] += n;
    size_t bytes = n >= 2 ? mw_mesh_pairs(cands, n, &rng, mesh_pair, h) : 0;
    bool donate = donates(h);
    for (unsigned i = 0; i < n; i++) { /* those not meshed away go behind the others */
        struct mw_span *s = cands[i].span;
        if (s->state == MW_SPAN_MESHED) continue;
        if (!cands[i].ours)
            mw_arena_abandon(s, true);
        else if (donate && !cands[i].paired)
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

/* Does h hold clearly fewer blocks than at its fullest since it last shrank (an eighth
 * fewer, and at least 4096)? Then its spans thinned out, and a pass is worth running
 * whatever the last one released. */
static bool shrinking(struct mw_heap *h) {
    int64_t held = heap_held(h), drop = h->mesh_peak - held;
    if (held > h->mesh_peak) h->mesh_peak = held;
    return drop >= 4096 && drop >= h->mesh_peak / 8;
}

/* Gives every sparse span of h (h's thread; not its allocation spans) to the abandoned
 * lists, class by class, in batches. */
#define DONATE_BATCH 256
static void donate_sparse(struct mw_heap *h) {
    struct mw_span *batch[DONATE_BATCH];
    for (unsigned c = 0; c < MW_CLASS_COUNT; c++) {
        unsigned n;
        do {
            n = mw_heap_mesh_candidates(h, c, max_used_of(c), batch, DONATE_BATCH);
            for (unsigned i = 0; i < n; i++)
                mw_heap_donate(h, batch[i]);
        } while (n == DONATE_BATCH);
    }
}

static _Atomic bool shrink_asked;   /* a heap shrank since the last slice began */
static _Atomic uint64_t timed_ends; /* timed passes ended (or superseded), ever */

static uint64_t period_ns(void) {
    uint64_t period = (uint64_t)mw_option_now(MW_OPTION_MESH_PERIOD_MS) * 1000000u;
    return period ? period : 1000000u; /* 0 counts as a millisecond */
}

/* How often a heap looks whether it shrank (every period when that is shorter): often
 * enough that a thread which frees much and then allocates for a little while longer looks
 * in that while (measured: with a look per period, two of fragmentation_threads' four
 * threads ended their work before they looked again), rarely enough to cost nothing (a
 * look sums the heap's counters). A heap that grows and shrinks between two looks is not
 * seen to shrink. */
#define LOOK_NS 10000000u

/* h's thread, every LOOK_NS: when h shrank, it donates its sparse spans (when it donates
 * at all) and asks for a shrink pass, due at once, which it owes until it ends. */
static void look(struct mw_heap *h, uint64_t now) {
    uint64_t period = period_ns();
    h->mesh_look_ns = now + (period < LOOK_NS ? period : LOOK_NS);
    if (!shrinking(h)) return;
    h->mesh_peak = heap_held(h);
    h->mesh_owed = atomic_load_explicit(&timed_ends, memory_order_relaxed) + 1;
    if (donates(h)) donate_sparse(h);
    atomic_store_explicit(&shrink_asked, true, memory_order_relaxed);
    atomic_store_explicit(&next_due_ns, 0, memory_order_relaxed);
}

/* The first class of set (not empty) from class `from` on, going round. */
static unsigned next_in(class_set set, unsigned from) {
    unsigned c = from;
    while (!(set >> c & 1))
        c = (c + 1) % MW_CLASS_COUNT;
    return c;
}

/* Every class may give again (a pass starts, or a heap shrank). */
static void all_classes(class_set *classes) {
    *classes = ALL_CLASSES;
    memset(dry, 0, sizeof dry);
}

/* Meshes round the classes of *classes from next_class, one visit each (as many candidates
 * as the time left can pair, gather()), until the deadline, or until every class gave all
 * it could: a class leaves *classes when a visit in time that brought all its
 * candidates yields nothing, or visits that brought DRY_CANDIDATES did. Going round rather than
 * staying in a class while it yields spreads a pass cut short over all classes, and the
 * larger ones, whose spans hold fewer slots, pair best and give the most per mesh
 * (measured: the threads of fragmentation_threads stopped allocating while the pass that
 * stayed was at the eighth class). Returns the bytes released. */
static size_t sweep(struct mw_heap *h, uint64_t deadline, class_set *classes) {
    if (!range_cap) range_cap = read_range_cap();
    pass_deadline_ns = deadline;
    size_t bytes = 0;
    while (*classes && in_time()) {
        unsigned c = next_in(*classes, next_class);
        bool all;
        size_t got = pass_class(h, c, &all);
        bytes += got;
        if (got)
            dry[c] = 0;
        else if (in_time() && (all || dry[c] >= DRY_CANDIDATES))
            *classes &= ~((class_set)1 << c);
        next_class = (c + 1) % MW_CLASS_COUNT;
    }
    return bytes;
}

/* Records a pause of the program (a racy maximum where it waited without the lock). */
static void account_pause(uint64_t ns) {
    if (ns > totals.max_pause_ns) totals.max_pause_ns = ns;
}

/* A stretch of meshing from t0 took until now, releasing bytes, after the caller had
 * waited `waited` for another's (wait_slice). */
static void account_slice(uint64_t t0, size_t bytes, uint64_t waited) {
    uint64_t t1 = mw_os_now_ns();
    totals.released_bytes += bytes;
    totals.ns += t1 - t0;
    account_pause(t1 - t0 + waited);
}

/* A pass ended, having released bytes in all: the backoff. */
static void account_pass(size_t bytes) {
    totals.passes++;
    atomic_fetch_add_explicit(&timed_ends, 1, memory_order_relaxed);
    backoff = bytes >= LITTLE ? 1 : (backoff * 2 > BACKOFF_MAX ? BACKOFF_MAX : backoff * 2);
    last_pass_ns = mw_os_now_ns();
}

/* An explicit pass: every class, no time limit (it supersedes a timed one in progress). */
static size_t run_whole(struct mw_heap *h) {
    uint64_t t0 = mw_os_now_ns();
    class_set all;
    all_classes(&all);
    size_t bytes = sweep(h, UINT64_MAX, &all);
    account_slice(t0, bytes, 0);
    account_pass(bytes);
    if (h) h->mesh_peak = heap_held(h); /* what it freed is meshed: no shrink pass for it */
    timed.classes = 0;
    return bytes;
}

/* One slice of the timed pass in progress, of at most limit_ns; ends the pass when its
 * time or its classes are spent. A slice's length is wall-clock time (it bounds a pause),
 * a pass's budget is the CPU time its slices took: on a loaded machine a slice gets less
 * done, and a pass as much (measured, three runs each at a load average of 7 to 9 on two
 * CPUs: fragmentation's heap ended at 4.2 to 4.8 times its live bytes with a wall-clock
 * budget, 2.8 to 3.2 with this one). */
static void run_slice(struct mw_heap *h, uint64_t limit_ns, uint64_t waited) {
    uint64_t t0 = mw_os_now_ns(), cpu0 = mw_os_thread_cpu_ns();
    uint64_t slice = limit_ns < timed.budget_ns ? limit_ns : timed.budget_ns;
    size_t bytes = sweep(h, t0 + slice, &timed.classes);
    account_slice(t0, bytes, waited);
    uint64_t spent = mw_os_thread_cpu_ns() - cpu0;
    timed.bytes += bytes;
    timed.budget_ns -= spent < timed.budget_ns ? spent : timed.budget_ns;
    if (timed.budget_ns == 0) timed.classes = 0;
    if (!timed.classes) account_pass(timed.bytes);
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

/* With pass_lock held: a heap shrank. The timed pass in progress, or a new one, may spend
 * SHRINK_PERIODS periods from now and takes every class again. */
static void start_shrink_pass(uint64_t period) {
    if (!timed.classes) timed.bytes = timed.budget_ns = 0;
    if (timed.budget_ns < period * SHRINK_PERIODS) timed.budget_ns = period * SHRINK_PERIODS;
    timed.gap_ns = SLICE_GAP_SHRUNK_NS;
    all_classes(&timed.classes);
}

/* With pass_lock held, no timed pass in progress: starts one when it is due. */
static void start_if_due(uint64_t now, uint64_t period) {
    if (now < last_pass_ns + period * backoff) return;
    timed.budget_ns = period;
    timed.gap_ns = SLICE_NS;
    timed.bytes = 0;
    all_classes(&timed.classes);
}

/* Whether h shrank and the shrink pass it asked for still runs. */
static bool owes(const struct mw_heap *h) {
    return atomic_load_explicit(&timed_ends, memory_order_relaxed) < h->mesh_owed;
}

/* Another thread runs a slice of the pass that h owes: h's thread waits (slice_wait.h) up
 * to a slice's time, then spends what is left of that time in a slice of its own, so that
 * every ask of a thread that owes spends about a slice, as the slices a single-threaded
 * program's slow paths run do, and no call pauses longer. Returns the time waited with
 * pass_lock held, or SLICE_NS (not held) when no time is left. */
static uint64_t wait_slice(void) {
    uint64_t waited = mw_mesh_slice_wait(&pass_lock, SLICE_NS);
    if (waited < SLICE_NS) return waited;
    account_pause(waited);
    return SLICE_NS;
}

/* Runs a slice of the timed pass (pass_lock held) when this process may mesh now (the
 * look at its threads is part of the slice, for the threads that wait); else drops it. */
static void slice(struct mw_heap *h, uint64_t limit_ns, uint64_t waited) {
    mw_mesh_slice_begin();
    if (begin_locked()) {
        run_slice(h, limit_ns, waited);
        mw_mesh_file_solo(false);
    } else { /* the pass ends unspent (no heap owes it), the next is a period away at least */
        timed.classes = 0;
        atomic_fetch_add_explicit(&timed_ends, 1, memory_order_relaxed);
    }
}

static void tick(struct mw_heap *h) {
    uint64_t now = mw_os_coarse_ns(), period, waited = 0;
    if (now >= h->mesh_look_ns && enabled()) look(h, now);
    if (now < atomic_load_explicit(&next_due_ns, memory_order_relaxed)) return;
    if (!enabled() || !h->alive) return;
    if (!mw_trylock(&pass_lock) && (!owes(h) || (waited = wait_slice()) >= SLICE_NS)) return;
    period = period_ns();
    if (!last_pass_ns) last_pass_ns = now; /* none in the process's first period: start-up */
    if (atomic_exchange_explicit(&shrink_asked, false, memory_order_relaxed))
        start_shrink_pass(period);
    else if (!timed.classes)
        start_if_due(now, period);
    uint64_t wait = period; /* the next pass a period after this one ended */
    bool sliced = timed.classes != 0;
    if (sliced) {
        uint64_t limit = SLICE_NS < period ? SLICE_NS : period;
        slice(h, limit > waited ? limit - waited : 0, waited);
        now = mw_os_coarse_ns();
        if (timed.classes) wait = timed.gap_ns;
    }
    atomic_store_explicit(&next_due_ns, now + wait, memory_order_relaxed);
    mw_unlock(&pass_lock);
    if (sliced) mw_mesh_slice_end();
}

void mw_mesh_ask(struct mw_heap *h) {
    tick(h);
    if (owes(h)) h->mesh_skip = 0; /* it asks again at its next slow path */
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
        mw_mesh_file_fork_parent(mw_arena_each_kept);
        mw_mesh_file_solo(false);
        mw_mesh_barrier_end();
    }
    mw_unlock(&pass_lock);
}

void mw_mesh_fork_child(void) {
    if (fork_files && !mw_mesh_file_fork_child(mw_arena_each_kept))
        mw_write_str(2, "meshward: fork: cannot copy meshed memory; "
                        "parent and child may share some of it\n");
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
