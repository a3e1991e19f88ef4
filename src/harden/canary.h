/* harden/canary.h — canaries and zero checks over block memory (hardened build and the
 * sampled blocks of both builds).
 *
 * A canary is 8 bytes derived from a process secret and the canary's own address, with its
 * first byte zero (a string overrun stops there) — so a canary cannot be copied from one
 * place to another, and needs no storage. The secret is drawn at start-up. */
#ifndef MW_HARDEN_CANARY_H
#define MW_HARDEN_CANARY_H

#include "common.h"

#include <string.h>

#define MW_CANARY_SIZE 8

extern uint64_t mw_canary_secret;

void mw_canary_init(void); /* draws the secret */

mw_inline uint64_t mw_canary_of(const void *at) {
    uint64_t x = (uint64_t)(uintptr_t)at ^ mw_canary_secret;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 29;
    return x & ~(uint64_t)0xff; /* little-endian: the first byte in memory is zero */
}
mw_inline void mw_canary_put(void *at) {
    uint64_t v = mw_canary_of(at);
    memcpy(at, &v, sizeof v);
}
mw_inline bool mw_canary_ok(const void *at) {
    uint64_t v;
    memcpy(&v, at, sizeof v);
    return v == mw_canary_of(at);
}
/* Offset of the first non-zero byte of [p, p + n), or n when all are zero. */
size_t mw_first_nonzero(const void *p, size_t n);
/* One past the last non-zero byte of [p, p + n): how far a write ran into bytes that must
 * stay zero; 0 when all are zero. */
size_t mw_nonzero_extent(const void *p, size_t n);
/* Offset of the last byte of [at, at + 8) that differs from the canary of at (+1), 0 when
 * the canary is intact: how far a write ran into it. */
size_t mw_canary_damage(const void *at);

/* How many bytes at the end of [at, at + 8) differ from the canary of at, counted from its
 * first damaged byte: a write just before the next block reaches back this far. */
size_t mw_canary_reach_back(const void *at);

#endif
