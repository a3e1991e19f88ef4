/* test_unwind_cfi.c — the call-frame walker of `meshward trace --stacks` against libgcc's
 * unwinder (the reference): the same return addresses through frames whose CFA is rsp-based
 * (optimized code), rbp-based (frame pointers) and rbp-based with a frame of varying size
 * (alloca), the same again from its cache, a stack cut at `max`, -1 from a signal
 * handler (a signal frame needs a general unwinder), and a walk's trail, which a walk of the
 * same stack retraces and one of another stack at the same depth does not. */
#include "cmocka_all.h"
#include "stacks/cfi.h"
#include "stacks/gcc.h"

#include <alloca.h>
#include <signal.h>
#include <string.h>

enum { MAX = 64, SLOTS = 1 << 10 };

static struct mw_cfi_slot slots[SLOTS];
static const struct mw_cfi_cache cache = {slots, SLOTS - 1};

struct walk {
    void *cfi[MAX], *gcc[MAX];
    int n_cfi, n_gcc, max;
};

static volatile int sink;

/* Both stacks from one frame: their first entries are two call sites in it; the rest, the
 * callers, must be the same. */
static __attribute__((noinline)) void take(struct walk *w) {
    w->n_cfi = mw_cfi_backtrace(&cache, w->cfi, w->max);
    w->n_gcc = mw_gcc_backtrace(w->gcc, MAX);
    sink++;
}

static void same_callers(const struct walk *w) {
    assert_true(w->n_cfi > 4);
    assert_int_equal(w->n_cfi, w->n_gcc);
    for (int i = 1; i < w->n_cfi; i++)
        assert_ptr_equal(w->cfi[i], w->gcc[i]);
}

static __attribute__((noinline)) void plain(int depth, struct walk *w) {
    if (depth)
        plain(depth - 1, w);
    else
        take(w);
    sink++;
}

static __attribute__((noinline, optimize("no-omit-frame-pointer"))) void framed(int depth,
                                                                                struct walk *w) {
    if (depth)
        framed(depth - 1, w);
    else
        plain(2, w);
    sink++;
}

static __attribute__((noinline)) void sized(int depth, size_t bytes, struct walk *w) {
    char *buf = alloca(bytes); /* the CFA is rbp-based here, the frame's size varies */
    memset(buf, depth, bytes);
    if (depth)
        sized(depth - 1, bytes * 2 + 8, w);
    else
        framed(2, w);
    sink += buf[bytes - 1];
}

static void matches_libgcc_through_every_kind_of_frame(void **state) {
    (void)state;
    struct walk w = {.max = MAX};
    plain(3, &w);
    same_callers(&w);
    sized(3, 24, &w);
    same_callers(&w);
    sized(2, 100, &w); /* other frame sizes, the rules now cached */
    same_callers(&w);
}

static void the_cache_gives_the_same_stack(void **state) {
    (void)state;
    struct walk a = {.max = MAX}, b = {.max = MAX};
    struct walk *walks[2] = {&a, &b};
    for (volatile int i = 0; i < 2; i++) /* one call site (never unrolled): one stack twice */
        framed(4, walks[i]);
    same_callers(&a);
    assert_int_equal(a.n_cfi, b.n_cfi);
    assert_memory_equal(a.cfi + 1, b.cfi + 1, (size_t)(a.n_cfi - 1) * sizeof(void *));
}

static void stops_at_max(void **state) {
    (void)state;
    struct walk w = {.max = 3};
    plain(5, &w);
    assert_int_equal(w.n_cfi, 3);
    assert_ptr_equal(w.cfi[1], w.gcc[1]);
    assert_ptr_equal(w.cfi[2], w.gcc[2]);
}

static struct walk in_handler = {.max = MAX};

static void handler(int sig) {
    (void)sig;
    plain(1, &in_handler);
}

static void gives_up_at_a_signal_frame(void **state) {
    (void)state;
    signal(SIGUSR1, handler);
    raise(SIGUSR1);
    signal(SIGUSR1, SIG_DFL);
    assert_int_equal(in_handler.n_cfi, -1);
    assert_true(in_handler.n_gcc > 4); /* libgcc steps through it */
}

/* ---- trails ------------------------------------------------------------------------- */

struct trail_job {
    struct mw_cfi_trail t;
    struct mw_cfi_regs r;
    void *out[MAX], *gcc[MAX];
    int n, n_gcc;
    bool replay, same;
};

/* Walks from here, keeping the trail, or (replay) checks the trail from here. */
static __attribute__((noinline)) void trail_bottom(struct trail_job *j) {
    mw_cfi_capture(&j->r);
    if (j->replay)
        j->same = mw_cfi_retrace(&j->t, &j->r);
    else
        j->n = mw_cfi_walk(&cache, &j->r, j->out, MAX, &j->t);
    j->n_gcc = j->replay ? j->n_gcc : mw_gcc_backtrace(j->gcc, MAX);
    sink++;
}

/* A frame whose CFA is rbp-based: the walk reads rbp. */
static __attribute__((noinline, optimize("no-omit-frame-pointer"))) void
trail_framed(struct trail_job *j) {
    trail_bottom(j);
    sink++;
}

/* Two callers of one frame size, which differ in their return addresses only. */
static __attribute__((noinline)) void trail_left(struct trail_job *j) {
    trail_framed(j);
    sink += 1;
}
static __attribute__((noinline)) void trail_right(struct trail_job *j) {
    trail_framed(j);
    sink += 2;
}

static void a_trail_retraces_its_stack_only(void **state) {
    (void)state;
    static struct trail_job j;
    void (*const via[3])(struct trail_job *) = {trail_left, trail_left, trail_right};
    uintptr_t sp[3];
    bool same[3];
    for (volatile int i = 0; i < 3; i++) { /* one call site: the same depth each time */
        j.replay = i > 0;
        via[i](&j);
        sp[i] = j.r.sp;
        same[i] = j.same;
    }
    assert_true(j.t.valid);
    assert_true(j.n > 4);
    assert_int_equal(j.n + 1, j.n_gcc); /* libgcc's first frame is trail_bottom's own */
    for (int i = 0; i < j.n; i++)
        assert_ptr_equal(j.out[i], j.gcc[i + 1]);
    assert_true(j.t.words > (uint32_t)j.n); /* every return address, and the saved rbp that
                                               trail_framed's CFA is computed from */
    assert_int_equal(sp[1], sp[0]);
    assert_int_equal(sp[2], sp[0]);
    assert_true(same[1]);  /* the same stack */
    assert_false(same[2]); /* another stack at the same depth */
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(matches_libgcc_through_every_kind_of_frame),
        cmocka_unit_test(the_cache_gives_the_same_stack),
        cmocka_unit_test(stops_at_max),
        cmocka_unit_test(gives_up_at_a_signal_frame),
        cmocka_unit_test(a_trail_retraces_its_stack_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
