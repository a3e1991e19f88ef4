/* test_mesh_heaps.c — meshing spans of different live thread heaps (mesh/README.md, "who
 * meshes what"). Two worker threads each fill spans of 64 B blocks and keep only the blocks
 * at slot positions 0-1 (worker 0) or 8-9 (worker 1) of every 16, read from the address (a
 * 64 B slot never straddles a page): a worker's spans all hold the same positions, so no two
 * of one heap can mesh, while any span of one worker meshes with any of the other. The
 * workers stay alive between the steps the main thread hands them. The hardened build
 * meshes only while one thread lives (mesh/pass.c): there the same steps must mesh nothing
 * and lose nothing. The first test lets passes run on their own, from the workers' slow
 * paths, as a program's would (mesh/pass.c, "when"); the others ask for them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <meshward.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SIZE 64
#define COUNT (256 * 128) /* 128 spans of 256 blocks per worker */
#define ROUNDS 20         /* of the race */

struct part {
    unsigned char *block[COUNT]; /* NULL once freed */
    unsigned index;              /* the worker's */
};

static struct part parts[2];

static struct mw_stats stats(void) {
    struct mw_stats st;
    assert_int_equal(mw_stats_get(&st), 0);
    return st;
}

/* ---- the blocks ---------------------------------------------------------------------- */

static unsigned char pattern(const struct part *p, size_t i, size_t k) {
    return (unsigned char)((i + p->index * COUNT) * 131 + k * 7 + 1);
}

static bool kept_at(const struct part *p, const void *block) {
    unsigned pos = (unsigned)((uintptr_t)block & 4095) / SIZE % 16;
    return pos / 2 == p->index * 4;
}

/* Fills spans with blocks. */
static void fill_spans(struct part *p) {
    for (size_t i = 0; i < COUNT; i++) {
        p->block[i] = malloc(SIZE);
        assert_non_null(p->block[i]);
        for (size_t k = 0; k < SIZE; k++)
            p->block[i][k] = pattern(p, i, k);
    }
}

/* Frees the blocks of p that are not at the part's slot positions (kept: false), or those
 * that are, with index i % 4 == rest (kept: true). */
static void free_where(struct part *p, bool kept, size_t rest) {
    for (size_t i = 0; i < COUNT; i++)
        if (p->block[i] && kept_at(p, p->block[i]) == kept && (!kept || i % 4 == rest)) {
            free(p->block[i]);
            p->block[i] = NULL;
        }
}

static void thin(struct part *p) {
    free_where(p, false, 0);
}

static void build(struct part *p) {
    fill_spans(p);
    thin(p);
}

static void check(struct part *p) {
    for (size_t i = 0; i < COUNT; i++)
        for (size_t k = 0; p->block[i] && k < SIZE; k++)
            assert_int_equal(p->block[i][k], pattern(p, i, k));
}

/* Frees the blocks of p whose index has the given parity. */
static void free_half(struct part *p, size_t parity) {
    for (size_t i = parity; i < COUNT; i += 2) {
        free(p->block[i]);
        p->block[i] = NULL;
    }
}

/* Its own even blocks, and the other worker's odd ones (remote frees, through aliases). */
static void free_crosswise(struct part *p) {
    free_half(p, 0);
    free_half(&parts[1 - p->index], 1);
}

static void free_rest(struct part *p) {
    free_half(p, 0);
    free_half(p, 1);
}

static void mesh(struct part *p) {
    (void)p;
    mw_mesh_now();
}

/* Passes while the other worker runs its own (one at a time: a pass that finds another
 * running returns at once) and the main thread frees. */
static void mesh_repeatedly(struct part *p) {
    for (int i = 0; i < 4; i++) {
        mesh(p);
        sched_yield();
    }
}

static void collect(struct part *p) {
    (void)p;
    mw_collect(true);
}

/* ---- the workers ----------------------------------------------------------------------- */

struct worker {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    void (*job)(struct part *); /* the step to run; NULL when done */
    bool quit;
};

static struct worker workers[2];

static void *worker_main(void *arg) {
    struct worker *w = arg;
    struct part *p = &parts[w - workers];
    pthread_mutex_lock(&w->lock);
    for (;;) {
        while (!w->job && !w->quit)
            pthread_cond_wait(&w->cond, &w->lock);
        if (!w->job) break;
        pthread_mutex_unlock(&w->lock);
        w->job(p);
        pthread_mutex_lock(&w->lock);
        w->job = NULL;
        pthread_cond_broadcast(&w->cond);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

static void start(unsigned t, void (*job)(struct part *)) {
    struct worker *w = &workers[t];
    pthread_mutex_lock(&w->lock);
    w->job = job;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->lock);
}

static void finish(unsigned t) {
    struct worker *w = &workers[t];
    pthread_mutex_lock(&w->lock);
    while (w->job)
        pthread_cond_wait(&w->cond, &w->lock);
    pthread_mutex_unlock(&w->lock);
}

static void run_on(unsigned t, void (*job)(struct part *)) {
    start(t, job);
    finish(t);
}

static void run_on_both(void (*job)(struct part *)) {
    start(0, job);
    start(1, job);
    finish(0);
    finish(1);
}

static int setup(void **state) {
    (void)state;
    mw_option_set(MW_OPTION_QUARANTINE, 0); /* hardened: every free reaches its span now */
    for (unsigned t = 0; t < 2; t++) {
        parts[t].index = t;
        pthread_mutex_init(&workers[t].lock, NULL);
        pthread_cond_init(&workers[t].cond, NULL);
        if (pthread_create(&workers[t].thread, NULL, worker_main, &workers[t]) != 0) return -1;
    }
    return 0;
}

static int teardown(void **state) {
    (void)state;
    for (unsigned t = 0; t < 2; t++) {
        pthread_mutex_lock(&workers[t].lock);
        workers[t].quit = true;
        pthread_cond_broadcast(&workers[t].cond);
        pthread_mutex_unlock(&workers[t].lock);
        pthread_join(workers[t].thread, NULL);
    }
    return 0;
}

/* Every span the workers' blocks took is back: none meshed, and in use no more than before
 * (give or take the workers' allocation spans, of two classes each, and one of the main
 * thread's: the test's own bookkeeping may start a class). */
static void assert_spans_back(uint64_t in_use_before) {
    run_on_both(collect);
    mw_collect(true);
    struct mw_stats st = stats();
    assert_int_equal(st.meshed_spans, 0);
    assert_true(st.spans_in_use <= in_use_before + 6);
}

static uint64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

#define OTHER_SIZE 48 /* another class: its spans run dry often, so slow paths run */
#define OTHER_COUNT 4096
#define SHRINK_MESHES (COUNT / 256 / 2) /* pairs the workers' spans give, at least */

/* Allocates and frees OTHER_COUNT blocks of another class: slow paths, each eighth of
 * which may look whether the heap shrank and run a slice of a pass. */
static void other_round(struct part *p) {
    static void *other[2][OTHER_COUNT];
    for (size_t i = 0; i < OTHER_COUNT; i++)
        assert_non_null(other[p->index][i] = malloc(OTHER_SIZE));
    for (size_t i = 0; i < OTHER_COUNT; i++)
        free(other[p->index][i]);
}

/* Fills spans, lets the heap look at itself full (it looks every millisecond of the
 * period, on a clock a few milliseconds coarse, and from slow paths only), then thins. */
static void build_seen(struct part *p) {
    fill_spans(p);
    struct timespec pause = {0, 20 * 1000000};
    nanosleep(&pause, NULL);
    other_round(p);
    thin(p);
}

/* Slow paths until the workers' spans meshed or a time limit (the hardened build: a short
 * one, it meshes nothing while threads live). */
static void allocate_elsewhere(struct part *p) {
    uint64_t meshes = stats().meshes, end = now_ms() + (MW_HARDENED ? 300 : 5000);
    while (stats().meshes < meshes + SHRINK_MESHES && now_ms() < end)
        other_round(p);
}

/* ---- tests --------------------------------------------------------------------------- */

/* Passes from slow paths only (no mw_mesh_now): each worker's heap shrank, so its thread
 * gives all its sparse spans to the abandoned lists when it next looks, and asks for a
 * shrink pass, which pairs the two workers' spans, whichever thread runs its slices; the
 * workers' spans cannot pair within one heap, so no mesh happens unless both gave theirs.
 * A heap looks whether it shrank every few milliseconds, from its slow paths only:
 * build_seen lets it see itself full before it thins. */
static void test_shrunk_heaps_give_and_mesh(void **state) {
    (void)state;
    long period = mw_option_get(MW_OPTION_MESH_PERIOD_MS);
    mw_option_set(MW_OPTION_MESH_PERIOD_MS, 1);
    uint64_t in_use = stats().spans_in_use;
    run_on_both(build_seen);
    uint64_t before = stats().meshes;
    run_on_both(allocate_elsewhere);
    mw_option_set(MW_OPTION_MESH_PERIOD_MS, period);
    uint64_t meshes = stats().meshes - before;
    if (MW_HARDENED)
        assert_int_equal(meshes, 0);
    else
        assert_true(meshes >= SHRINK_MESHES);
    run_on_both(check);
    run_on(0, free_crosswise);
    run_on(1, free_crosswise);
    assert_spans_back(in_use);
}

static void test_spans_of_two_heaps_mesh(void **state) {
    (void)state;
    uint64_t in_use = stats().spans_in_use;
    run_on(0, build);
    run_on(1, build);
    uint64_t before = stats().meshes;
    run_on(0, mesh); /* one heap alone: its spans overlap, nothing to mesh */
    assert_int_equal(stats().meshes, before);
    run_on(1, mesh); /* worker 0 gave its spans up: they pair with worker 1's */
    uint64_t meshes = stats().meshes - before;
    if (MW_HARDENED)
        assert_int_equal(meshes, 0);
    else
        assert_true(meshes >= COUNT / 256 / 2);
    run_on_both(check);
    check(&parts[0]);
    check(&parts[1]);
    run_on(0, free_crosswise);
    run_on(1, free_crosswise);
    assert_spans_back(in_use);
}

/* Remote frees race the handoff and the meshes. The main thread frees a quarter of the
 * survivors while the workers' spans are full (those frees wait on the heaps' delayed lists:
 * span.h) and a quarter while each worker runs passes, one giving its spans up as the other
 * takes them. A lost free would keep its span in use; a delayed free taken into a span its
 * heap gave up would corrupt that span's lists. */
static void test_remote_frees_race_handoff(void **state) {
    (void)state;
    struct mw_stats before = stats();
    for (int r = 0; r < ROUNDS; r++) {
        run_on_both(fill_spans);
        free_where(&parts[0], true, 1);
        free_where(&parts[1], true, 1);
        run_on_both(thin);
        start(0, mesh_repeatedly);
        start(1, mesh_repeatedly);
        free_where(&parts[r & 1], true, 3);
        free_where(&parts[1 - (r & 1)], true, 3);
        finish(0);
        finish(1);
        run_on_both(check);
        run_on_both(free_rest);
    }
    assert_true(MW_HARDENED || stats().meshes > before.meshes); /* the race was run */
    assert_spans_back(before.spans_in_use);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shrunk_heaps_give_and_mesh),
        cmocka_unit_test(test_spans_of_two_heaps_mesh),
        cmocka_unit_test(test_remote_frees_race_handoff),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
