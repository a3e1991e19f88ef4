/* wl_frag.h — the fragmentation pattern, for one thread's part of a heap (fragmentation.c
 * runs one part, fragmentation_threads.c one per thread): objects of 16 B to 256 B
 * (log-uniform), a random 90% of them freed in random order, then random survivors
 * replaced by new objects of the same sizes, leaving every page sparsely occupied.
 * MWB_FRAG_SIZES=LO-HI draws the sizes from LO to HI bytes instead (at most 65535), to
 * measure other size classes (bench/README.md, "Span sizes").
 *
 * Invariants: a part's checksum depends only on its count and seed; its bookkeeping tables
 * come from wl_map and are touched in wl_frag_init, so that a baseline taken after it
 * counts them. */
#ifndef WL_FRAG_H
#define WL_FRAG_H

#include <stddef.h>
#include <stdint.h>

struct wl_frag {
    size_t count, keep; /* objects allocated, and kept after the free phase */
    void **obj;
    unsigned short *size;
    size_t lo, hi;     /* object sizes drawn from [lo, hi] */
    uint64_t rng, sum; /* sum: the checksum of every object read so far */
};

/* Maps and touches the tables of a part of count objects drawn from seed. */
void wl_frag_init(struct wl_frag *f, size_t count, uint64_t seed);
/* Allocates, frees 90% and replaces count / 5 survivors; returns the live bytes left. */
size_t wl_frag_build(struct wl_frag *f);
/* Frees the survivors. */
void wl_frag_free(struct wl_frag *f);

#endif
