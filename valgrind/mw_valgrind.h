/* mw_valgrind.h — the memcheck annotation layer: the hooks the core calls wherever a block
 * changes hands or the allocator touches memory memcheck considers not the program's.
 *
 * The view memcheck is given (the invariant every hook keeps):
 * - a live block p of requested size n is a MALLOCLIKE block [p, p+n); the rest of its slot
 *   (up to the usable size, and the hardened canary) is unaddressable: a redzone, so that
 *   running off the requested end is reported as an overflow of that very block;
 * - every other byte of a span, region or huge map is unaddressable: free blocks (their
 *   free-list links included), never-used slots, slack. The allocator reads and writes
 *   such bytes only through mw_vg_peek/mw_vg_poke (one word) or between mw_vg_undefined /
 *   mw_vg_defined and mw_vg_noaccess brackets.
 * Hence the requested size of a live block is where its addressable bytes end
 * (mw_vg_live_size), and the allocator needs no table of its own.
 *
 * Cost: with MW_VALGRIND unset every hook compiles to nothing and mw_vg_active() is false.
 * With it set, off valgrind each hook is one load and one never-taken branch on mw_vg_state
 * (mw_vg_hooked); that state starts "unknown" so that the very first hook, whenever it
 * runs, asks RUNNING_ON_VALGRIND (and whether the tool is memcheck: other tools, such as
 * callgrind, see meshward as it runs natively) once and settles it (no constructor-order
 * question). The
 * hooks' arguments are evaluated only under valgrind: the hooks are macros. */
#ifndef MW_VALGRIND_H
#define MW_VALGRIND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if defined(MW_VALGRIND) && MW_VALGRIND
#include <valgrind/memcheck.h>

enum { MW_VG_OFF = 0, MW_VG_ON = 1, MW_VG_UNKNOWN = 2 };
/* Hidden: the test off valgrind is one compare with memory, no GOT load. */
extern __attribute__((visibility("hidden"))) int mw_vg_state;
/* Settles mw_vg_state from RUNNING_ON_VALGRIND; returns whether valgrind runs us. */
bool mw_vg_resolve(void);

/* The one branch off valgrind: true under valgrind and before the first hook ran. */
#define mw_vg_hooked() __builtin_expect(mw_vg_state != MW_VG_OFF, 0)
/* Whether memcheck is watching (meshing and sampled guard pages must be off then). */
static inline bool mw_vg_active(void) {
    return mw_vg_hooked() && (mw_vg_state == MW_VG_ON || mw_vg_resolve());
}

/* A block of req bytes (of usable bytes in its slot) was handed to the program; zeroed when
 * it reads as zero (calloc, or the hardened build's zeroing). Put it at the API level,
 * where the program's call is the next frame, before anything writes into the block. */
#define mw_vg_alloc(p, req, usable, zeroed)                                                        \
    do {                                                                                           \
        if (mw_vg_active() && (p)) mw_vg_alloc_now((p), (req), (usable), (zeroed));                \
    } while (0)
static inline void mw_vg_alloc_now(void *p, size_t req, size_t usable, bool zeroed) {
    if (usable > req) VALGRIND_MAKE_MEM_NOACCESS((char *)p + req, usable - req);
    VALGRIND_MALLOCLIKE_BLOCK(p, req, 0, zeroed);
}
/* The program gave p back (any pointer: memcheck reports one that is no live block). Put it
 * at the API level before the allocator touches the block; checks that read the block
 * (canaries) come before it or bracket their reads. */
#define mw_vg_free(p)                                                                              \
    do {                                                                                           \
        if (mw_vg_active()) VALGRIND_FREELIKE_BLOCK((p), 0);                                       \
    } while (0)
/* The live block p grew or shrank in place from old to new requested bytes. */
#define mw_vg_resize(p, old, new)                                                                  \
    do {                                                                                           \
        if (mw_vg_active()) VALGRIND_RESIZEINPLACE_BLOCK((p), (old), (new), 0);                    \
    } while (0)
/* Brackets for the allocator's own accesses to bytes that are not the program's. */
#define mw_vg_noaccess(p, n)                                                                       \
    do {                                                                                           \
        if (mw_vg_active()) VALGRIND_MAKE_MEM_NOACCESS((p), (n));                                  \
    } while (0)
#define mw_vg_undefined(p, n)                                                                      \
    do {                                                                                           \
        if (mw_vg_active()) VALGRIND_MAKE_MEM_UNDEFINED((p), (n));                                 \
    } while (0)
#define mw_vg_defined(p, n)                                                                        \
    do {                                                                                           \
        if (mw_vg_active()) VALGRIND_MAKE_MEM_DEFINED((p), (n));                                   \
    } while (0)

/* The size the program may use of the live block p whose slot holds usable bytes: usable
 * off valgrind, the requested size (where its addressable bytes end) under it. */
size_t mw_vg_live_size_slow(const void *p, size_t usable);
#define mw_vg_live_size(p, usable) (mw_vg_active() ? mw_vg_live_size_slow((p), (usable)) : (usable))

/* One word of an unaddressable byte range (a free-list link), read or written by the
 * allocator on the real CPU, unseen by memcheck: the word stays unaddressable, at the cost of
 * one client request (a MAKE_MEM bracket costs two). Callers test mw_vg_hooked() first and do
 * the plain access otherwise, so that the fast paths keep a single branch. */
__attribute__((visibility("hidden"))) uintptr_t mw_vg_native_load(uintptr_t tid, uintptr_t word);
__attribute__((visibility("hidden"))) uintptr_t mw_vg_native_store(uintptr_t tid, uintptr_t word,
                                                                   uintptr_t value);
static inline uintptr_t mw_vg_peek(const void *word) {
    if (!mw_vg_active()) return *(const uintptr_t *)word;
    return VALGRIND_NON_SIMD_CALL1(mw_vg_native_load, (uintptr_t)word);
}
static inline void mw_vg_poke(void *word, uintptr_t value) {
    if (mw_vg_active())
        VALGRIND_NON_SIMD_CALL2(mw_vg_native_store, (uintptr_t)word, value);
    else
        *(uintptr_t *)word = value;
}

#else /* MW_VALGRIND unset: nothing at all */

#define mw_vg_hooked() 0
static inline bool mw_vg_active(void) {
    return false;
}
#define mw_vg_alloc(p, req, usable, zeroed)                                                        \
    ((void)sizeof(p), (void)sizeof(req), (void)sizeof(usable), (void)sizeof(zeroed))
#define mw_vg_free(p) ((void)sizeof(p))
#define mw_vg_resize(p, old, new) ((void)sizeof(p), (void)sizeof(old), (void)sizeof(new))
#define mw_vg_noaccess(p, n) ((void)sizeof(p), (void)sizeof(n))
#define mw_vg_undefined(p, n) ((void)sizeof(p), (void)sizeof(n))
#define mw_vg_defined(p, n) ((void)sizeof(p), (void)sizeof(n))
#define mw_vg_live_size(p, usable) ((void)sizeof(p), (usable))
static inline uintptr_t mw_vg_peek(const void *word) {
    return *(const uintptr_t *)word;
}
static inline void mw_vg_poke(void *word, uintptr_t value) {
    *(uintptr_t *)word = value;
}

#endif
#endif
