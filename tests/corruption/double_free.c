/* double_free.c — a block freed twice.
 *
 *   immediate    free(p); free(p)
 *   delayed      free(p), then 64 allocations of another size class, then free(p)
 *   interleaved  free(a); free(b); free(a) (a and b of the same size)
 *   reused       free(p), then blocks of p's size are allocated until one of them is p
 *                again (at most 256, or 64 MiB); then free(p) and every new block are
 *                freed. If p was not reused, free(p) is the double free; if it was,
 *                free(p) frees the new block through a stale pointer and freeing that
 *                block is: a double free happens either way, never by luck
 */
#include "catalog.h"

#include <stdlib.h>

#define OTHERS 64
#define REUSE_MAX 256
#define REUSE_BYTES (64u << 20)

/* A size of another class than n's, small, so the in-between blocks cannot take p's slot. */
static size_t other_size(size_t n) {
    return n == 8 ? 200 : 8;
}

static int immediate(size_t n) {
    void *p = victim_malloc(n);
    free(p);
    free(catalog_opaque(p));
    return 0;
}

static int delayed(size_t n) {
    void *p = victim_malloc(n);
    void *others[OTHERS];
    free(p);
    for (size_t i = 0; i < OTHERS; i++)
        others[i] = malloc(other_size(n));
    free(catalog_opaque(p));
    for (size_t i = 0; i < OTHERS; i++)
        free(others[i]);
    return 0;
}

static int interleaved(size_t n) {
    void *a = victim_malloc(n);
    void *b = victim_malloc(n);
    free(a);
    free(b);
    free(catalog_opaque(a));
    return 0;
}

static int reused(size_t n) {
    void *p = victim_malloc(n);
    void *blocks[REUSE_MAX];
    size_t count = 0, max = REUSE_BYTES / n < REUSE_MAX ? REUSE_BYTES / n : REUSE_MAX;
    free(p);
    if (max == 0) max = 1;
    while (count < max) {
        blocks[count] = victim_malloc(n);
        if (blocks[count++] == p) break;
    }
    free(catalog_opaque(p));
    for (size_t i = 0; i < count; i++)
        free(blocks[i]);
    return 0;
}

static const catalog_case_t cases[] = {{"immediate", immediate},
                                       {"delayed", delayed},
                                       {"interleaved", interleaved},
                                       {"reused", reused}};
CATALOG_MAIN(cases)
