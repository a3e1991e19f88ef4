/* harden/canary.c — the canary secret and the scanning helpers (see canary.h). */
#include "harden/canary.h"

#include "os.h"

uint64_t mw_canary_secret;

void mw_canary_init(void) {
    while (mw_canary_secret == 0)
        mw_os_random(&mw_canary_secret, sizeof mw_canary_secret);
}

/* 64 bytes at a time with the hot paths' scan (canary.h), then byte by byte. */
size_t mw_first_nonzero(const void *p, size_t n) {
    const unsigned char *b = p;
    size_t i = 0;
    while (n - i >= 64 && mw_bytes_zero(b + i, 64))
        i += 64;
    for (; i < n; i++)
        if (b[i]) return i;
    return n;
}

size_t mw_nonzero_extent(const void *p, size_t n) {
    const unsigned char *b = p;
    if (mw_first_nonzero(b, n) == n) return 0;
    while (!b[n - 1])
        n--;
    return n;
}

size_t mw_canary_damage(const void *at) {
    uint64_t want = mw_canary_of(at), got;
    memcpy(&got, at, sizeof got);
    uint64_t diff = want ^ got;
    return diff ? (size_t)(63 - __builtin_clzll(diff)) / 8 + 1 : 0;
}

size_t mw_canary_reach_back(const void *at) {
    uint64_t want = mw_canary_of(at), got;
    memcpy(&got, at, sizeof got);
    uint64_t diff = want ^ got;
    return diff ? 8 - (size_t)__builtin_ctzll(diff) / 8 : 0;
}
