/* mw_valgrind.c — the out-of-line half of the memcheck annotation layer (mw_valgrind.h):
 * settling whether valgrind runs us, the requested size of a live block, and the native
 * accesses to single unaddressable words. Everything here runs only under valgrind (or once, to
 * find out); nothing allocates. */
#include "mw_valgrind.h"

#if defined(MW_VALGRIND) && MW_VALGRIND

/* Written once by the first hook (racing first hooks write the same value). */
__attribute__((visibility("hidden"))) int mw_vg_state = MW_VG_UNKNOWN;

/* Memcheck only: it answers GET_VBITS (1) where other tools (callgrind, ...) leave the
 * default 0, so that under them meshward runs the paths it runs natively. */
static bool memcheck_runs(void) {
    char probe = 0, vbits;
    return RUNNING_ON_VALGRIND && VALGRIND_GET_VBITS(&probe, &vbits, 1) == 1;
}

bool mw_vg_resolve(void) {
    int on = memcheck_runs() ? MW_VG_ON : MW_VG_OFF;
    __atomic_store_n(&mw_vg_state, on, __ATOMIC_RELAXED);
    return on == MW_VG_ON;
}

/* Whether memcheck lets the program touch the byte at a: GET_VBITS copies nothing and
 * reports nothing when the byte is unaddressable (it returns 3). */
static bool addressable(const char *a) {
    char vbits;
    return VALGRIND_GET_VBITS(a, &vbits, 1) == 1;
}

/* The live block's bytes [0, requested) are addressable and the rest of its slot is not
 * (mw_vg_alloc and RESIZEINPLACE keep it so): a binary search finds the boundary. */
size_t mw_vg_live_size_slow(const void *p, size_t usable) {
    size_t lo = 0, hi = usable;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (addressable((const char *)p + mid))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* mw_vg_peek and mw_vg_poke run these on the real CPU (VALGRIND_NON_SIMD_CALL), in
 * valgrind's context: they touch their arguments only (no global, no TLS, no stack
 * protector, no call). The first argument is valgrind's thread id. */
__attribute__((visibility("hidden"), noinline, no_stack_protector)) uintptr_t
mw_vg_native_load(uintptr_t tid, uintptr_t word) {
    (void)tid;
    return *(const volatile uintptr_t *)word;
}

__attribute__((visibility("hidden"), noinline, no_stack_protector)) uintptr_t
mw_vg_native_store(uintptr_t tid, uintptr_t word, uintptr_t value) {
    (void)tid;
    *(volatile uintptr_t *)word = value;
    return 0;
}

#endif
