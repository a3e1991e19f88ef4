/* checks.h — helpers the API tests share, for use after <cmocka.h>: sizes the compiler
 * cannot see through, and the CMocka assertion that a block still holds its pattern. */
#ifndef MW_TEST_CHECKS_H
#define MW_TEST_CHECKS_H

#include <stddef.h>
#include <stdint.h>

#include "pattern.h"

#define KiB ((size_t)1 << 10)
#define MiB ((size_t)1 << 20)

/* Passing sizes through a volatile keeps the compiler from folding or warning about
 * requests it can prove impossible. */
static inline size_t opaque(size_t n) {
    volatile size_t v = n;
    return v;
}

static inline void assert_pattern(const void *p, size_t n, uint64_t seed) {
    size_t bad = pattern_check(p, n, seed);
    if (bad != n)
        fail_msg("block %p of %zu bytes differs from its pattern at offset %zu", p, n, bad);
}

#endif
