/* pattern.h — bytes derived from a seed and their position, written into a block and
 * checked later. A block overwritten by another block, by the allocator's own metadata, or
 * copied from the wrong offset by realloc no longer matches. Also the pseudo-random block
 * sizes the tests draw. Header-only: the API, stress and fork tests share it. */
#ifndef MW_TEST_PATTERN_H
#define MW_TEST_PATTERN_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Word i of the pattern for seed: a strong mix, so that two seeds or two positions never
 * agree by more than chance. */
static inline uint64_t pattern_word(uint64_t seed, size_t i) {
    uint64_t x = seed ^ ((uint64_t)i * 0x9e3779b97f4a7c15u);
    x ^= x >> 31;
    x *= 0xbf58476d1ce4e5b9u;
    x ^= x >> 29;
    x *= 0x94d049bb133111ebu;
    return x ^ (x >> 32);
}

static inline void pattern_fill(void *p, size_t n, uint64_t seed) {
    unsigned char *b = p;
    size_t words = n / 8;
    for (size_t i = 0; i < words; i++) {
        uint64_t w = pattern_word(seed, i);
        memcpy(b + 8 * i, &w, 8);
    }
    if (n % 8 != 0) {
        uint64_t w = pattern_word(seed, words);
        memcpy(b + 8 * words, &w, n % 8);
    }
}

/* Returns the offset of the first byte that differs from the pattern, or n if none does. */
static inline size_t pattern_check(const void *p, size_t n, uint64_t seed) {
    const unsigned char *b = p;
    size_t words = n / 8;
    for (size_t i = 0; i < words; i++) {
        uint64_t w = pattern_word(seed, i);
        if (memcmp(b + 8 * i, &w, 8) != 0) {
            for (size_t k = 0; k < 8; k++)
                if (b[8 * i + k] != ((const unsigned char *)&w)[k]) return 8 * i + k;
        }
    }
    if (n % 8 != 0) {
        uint64_t w = pattern_word(seed, words);
        for (size_t k = 0; k < n % 8; k++)
            if (b[8 * words + k] != ((const unsigned char *)&w)[k]) return 8 * words + k;
    }
    return n;
}

/* xorshift64: reproducible, and cheap next to the allocation it sizes. state != 0. */
static inline uint64_t random_next(uint64_t *state) {
    uint64_t x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *state = x;
}

/* A size in [2^lo, 2^(hi + 1)), log-uniform: a uniform exponent in [lo, hi], then a uniform
 * size within that power of two, so every size class gets its share. */
static inline size_t random_log_size(uint64_t *state, unsigned lo, unsigned hi) {
    size_t base = (size_t)1 << (lo + random_next(state) % (hi - lo + 1));
    return base + (size_t)(random_next(state) % base);
}

#endif
