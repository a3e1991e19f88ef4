/* stacks/gcc.h — libgcc's unwinder as a plain backtrace, for the hardened build's reports
 * (harden/report.c), the traces' call stacks when libunwind is missing (stacks/stacks.c) and
 * the benchmark that compares the two (bench/unwind_cost.c). Header-only and standalone so
 * that the benchmark can use the same code.
 *
 * mw_gcc_backtrace writes the return addresses of the calling thread's stack, innermost
 * first, into out (at most max) and returns how many; the walk ends at the first frame
 * without an address (code the unwinder cannot step through, such as JIT code without
 * unwind tables). It allocates nothing. */
#ifndef MW_UNWIND_GCC_H
#define MW_UNWIND_GCC_H

#include <unwind.h>

struct mw_gcc_walk {
    void **out;
    int n, max;
};

static _Unwind_Reason_Code mw_gcc_frame(struct _Unwind_Context *ctx, void *arg) {
    struct mw_gcc_walk *w = arg;
    void *ip = (void *)_Unwind_GetIP(ctx);
    if (!ip || w->n == w->max) return _URC_END_OF_STACK;
    w->out[w->n++] = ip;
    return _URC_NO_REASON;
}

static inline int mw_gcc_backtrace(void **out, int max) {
    struct mw_gcc_walk w = {out, 0, max};
    _Unwind_Backtrace(mw_gcc_frame, &w);
    return w.n;
}

#endif
