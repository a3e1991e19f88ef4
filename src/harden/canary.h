/* harden/canary.h — canaries and zero checks over block memory (hardened build and the
 * sampled blocks of both builds).
 *
 * A canary is 8 bytes derived from a process secret and the canary's own address, with its
 * first byte zero (a string overrun stops there) — so a canary cannot be copied from one
 * place to another, and needs no storage. The secret is drawn at start-up. The derivation is
 * one multiply by an odd constant (a bijection, so distinct addresses give distinct words):
 * a stronger mix would add nothing, since a program that reads one canary and knows its
 * address could invert any bijective mix to the secret alike. */
#ifndef MW_HARDEN_CANARY_H
#define MW_HARDEN_CANARY_H

#include "common.h"

#include <string.h>

#define MW_CANARY_SIZE 8

MW_HIDDEN extern uint64_t mw_canary_secret;

void mw_canary_init(void); /* draws the secret */

mw_inline uint64_t mw_canary_of(const void *at) {
    uint64_t x = ((uint64_t)(uintptr_t)at ^ mw_canary_secret) * 0x9e3779b97f4a7c15ull;
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
/* Whether the n bytes at p (8-aligned; n a multiple of 8) are all zero: 32 bytes per step
 * in 16-byte loads, the last 16 bytes read once more where they overlap (no tail loop), no
 * early exit (the answer is almost always yes), inline on the hot paths. */
typedef uint64_t mw_v2 __attribute__((vector_size(16)));
mw_inline uint64_t mw_word_at(const char *p) {
    uint64_t w;
    memcpy(&w, p, sizeof w);
    return w;
}
mw_inline mw_v2 mw_v2_at(const char *p) {
    mw_v2 v;
    memcpy(&v, p, sizeof v);
    return v;
}
mw_inline bool mw_words_zero(const void *p, size_t n) {
    const char *c = p, *end = c + n;
    if (n < 16) return n == 0 || mw_word_at(c) == 0;
    mw_v2 acc = mw_v2_at(end - 16);
    for (; end - c > 32; c += 32)
        acc |= mw_v2_at(c) | mw_v2_at(c + 16);
    if (end - c > 16) acc |= mw_v2_at(c); /* else the last 16 bytes hold what is left */
    return (acc[0] | acc[1]) == 0;
}
/* A mask of the low k bytes of a word (k <= 8). */
mw_inline uint64_t mw_low_bytes(size_t k) {
    return k >= 8 ? ~(uint64_t)0 : ((uint64_t)1 << (8 * k)) - 1;
}
/* The same at any alignment and length: the aligned words holding the range are read
 * whole, the bytes outside it masked off (no read crosses a page the range is not on). */
mw_inline bool mw_bytes_zero(const void *p, size_t n) {
    if (!n) return true;
    uintptr_t a = (uintptr_t)p, lead = a & 7, end = a + n, trail = end & 7;
    const char *w = (const char *)(a - lead);
    if (lead + n <= 8) return (mw_word_at(w) & mw_low_bytes(lead + n) & ~mw_low_bytes(lead)) == 0;
    const char *last = (const char *)(end - trail);
    uint64_t edges = mw_word_at(w) & ~mw_low_bytes(lead);
    if (trail) edges |= mw_word_at(last) & mw_low_bytes(trail);
    return edges == 0 && mw_words_zero(w + 8, (size_t)(last - (w + 8)));
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
