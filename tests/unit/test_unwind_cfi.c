/* test_unwind_cfi.c — the call-frame walker of `meshward trace --stacks` against libgcc's
 * unwinder (the reference): the same return addresses through frames whose CFA is rsp-based
 * (optimized code), rbp-based (frame pointers) and rbp-based with a frame of varying size
 * (alloca), the same again from its cache, a stack cut at `max`, and -1 from a signal
 * handler (a signal frame needs a general unwinder). */
#include "cmocka_all.h"
#include "unwind_cfi.h"
#include "unwind_gcc.h"

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

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(matches_libgcc_through_every_kind_of_frame),
        cmocka_unit_test(the_cache_gives_the_same_stack),
        cmocka_unit_test(stops_at_max),
        cmocka_unit_test(gives_up_at_a_signal_frame),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
