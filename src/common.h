/* common.h — definitions every layer of the core shares: compiler helpers, assertions,
 * the slab limit and the kinds of pointer. Nothing here allocates or has state. */
#ifndef MW_COMMON_H
#define MW_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define mw_likely(x) __builtin_expect(!!(x), 1)
#define mw_unlikely(x) __builtin_expect(!!(x), 0)
#define mw_noinline __attribute__((noinline))
#define mw_cold __attribute__((cold, noinline))
#define mw_inline static inline __attribute__((always_inline))
#define MW_API __attribute__((visibility("default")))
/* On declarations of the library's own globals: the compiler then addresses them directly,
 * without a load from the GOT (-fvisibility=hidden hides definitions only). */
#define MW_HIDDEN __attribute__((visibility("hidden")))

#ifndef MW_HARDENED
#define MW_HARDENED 0
#endif

#ifdef NDEBUG
#define mw_assert(x) ((void)0)
#else
void mw_assert_fail(const char *expr, const char *file, int line) __attribute__((noreturn));
#define mw_assert(x) (mw_likely(x) ? (void)0 : mw_assert_fail(#x, __FILE__, __LINE__))
#endif

/* Every block is aligned to at least this; blocks of the classes 72, 88, 104 and 120 bytes
 * are 8-byte aligned, like mimalloc's, which no C object of that size can tell apart. */
#define MW_MIN_ALIGN 16

/* Largest size served from slabs; larger requests go to the region layer. */
#define MW_SLAB_MAX (16 * 1024)

/* Largest size served from regions; larger requests get their own mapping (huge). */
#define MW_REGION_MAX ((size_t)64 << 20)

/* What a pointer is, decided from its address alone before any metadata is trusted. */
enum mw_kind { MW_KIND_SLAB = 0, MW_KIND_REGION = 1, MW_KIND_HUGE = 2, MW_KIND_FOREIGN = 3 };

mw_inline size_t mw_align_up(size_t x, size_t a) {
    return (x + a - 1) & ~(a - 1);
}
/* Whether [a, a + an) and [b, b + bn) share a byte. */
mw_inline bool mw_ranges_overlap(uintptr_t a, size_t an, uintptr_t b, size_t bn) {
    return an && bn && a < b + bn && b < a + an;
}
mw_inline bool mw_is_pow2(size_t x) {
    return x != 0 && (x & (x - 1)) == 0;
}

/* The return address of the function using it: the program's call site in an entry point. */
#define MW_CALLER __builtin_return_address(0)

/* Writes a NUL-terminated string to fd with write(2): usable where stdio is not. */
void mw_write_str(int fd, const char *s);
/* Formats an unsigned number into buf (at least 21 bytes); returns buf. */
char *mw_fmt_u64(char *buf, uint64_t v);

#endif
