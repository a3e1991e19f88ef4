/* unwind_cost.c — what one call stack costs to take, for choosing the unwinder of
 * `meshward trace --stacks`: libgcc's _Unwind_Backtrace, libunwind's unw_backtrace and
 * meshward's call-frame walker (src/stacks/cfi.c, with a cache of its own), from the bottom of a
 * chain of DEPTH calls, compiled once with frame pointers and once without (the two executables
 * mwb-unwind-fp and mwb-unwind-nofp). Prints, per unwinder, the nanoseconds per stack and the
 * frames it found (the chain, main and libc's start-up).
 *
 * usage: mwb-unwind-{fp,nofp} [DEPTH [STACKS]]   (20 and 200000 by default) */
#define UNW_LOCAL_ONLY
#include <libunwind.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "stacks/cfi.h"
#include "stacks/gcc.h"

enum { MAX_FRAMES = 64, RULES = 1 << 12 };

static struct mw_cfi_slot rule_slots[RULES];
static const struct mw_cfi_cache rules = {rule_slots, RULES - 1};

static int cfi_backtrace(void **out, int max) {
    return mw_cfi_backtrace(&rules, out, max);
}

typedef int (*unwinder)(void **out, int max);

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

/* Takes `stacks` stacks at the bottom of the chain; ns per stack, frames in *frames. */
static __attribute__((noinline)) double measure(unwinder u, long stacks, int *frames) {
    void *out[MAX_FRAMES];
    *frames = u(out, MAX_FRAMES); /* the first walk fills the unwinders' caches */
    double t = now();
    for (long i = 0; i < stacks; i++)
        *frames = u(out, MAX_FRAMES);
    return (now() - t) * 1e9 / (double)stacks;
}

struct job {
    long stacks;
    double gcc_ns, unw_ns, cfi_ns;
    int gcc_frames, unw_frames, cfi_frames;
};

static volatile int sink;

static __attribute__((noinline)) void chain(int depth, struct job *j) {
    if (depth > 1) {
        chain(depth - 1, j);
        sink++; /* not a tail call: every level keeps a frame */
        return;
    }
    j->gcc_ns = measure(mw_gcc_backtrace, j->stacks, &j->gcc_frames);
    j->unw_ns = measure(unw_backtrace, j->stacks, &j->unw_frames);
    j->cfi_ns = measure(cfi_backtrace, j->stacks, &j->cfi_frames);
}

int main(int argc, char **argv) {
    int depth = argc > 1 ? atoi(argv[1]) : 20;
    struct job j = {.stacks = argc > 2 ? atol(argv[2]) : 200000};
    chain(depth, &j);
    printf("unwinder\tns/stack\tframes\tns/frame\n");
    printf("_Unwind_Backtrace\t%.0f\t%d\t%.1f\n", j.gcc_ns, j.gcc_frames, j.gcc_ns / j.gcc_frames);
    printf("unw_backtrace\t%.0f\t%d\t%.1f\n", j.unw_ns, j.unw_frames, j.unw_ns / j.unw_frames);
    printf("mw_cfi_backtrace\t%.0f\t%d\t%.1f\n", j.cfi_ns, j.cfi_frames, j.cfi_ns / j.cfi_frames);
    return 0;
}
