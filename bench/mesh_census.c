/* mesh_census.c — what meshing could give back of a program's heap at best, and with which
 * span sizes. Built into libmwb-mesh-census.so (meshward itself plus this file): preload it
 * with MESHWARD_MESH=0, and when the program exits it prints, per size class and in all, the
 * bytes of the live blocks, of the spans that hold them, and of the spans left after an
 * unhurried SplitMesher (shuffle, halves, 64 probes per span, pairs merged when their live
 * bitmaps are disjoint, again on the merged spans until a round merges nothing; no mapping
 * cap, no time limit, no share limit) over the same live sets laid out in spans of three
 * sizes: the library's own, the smallest that fill whole pages with at least 8 slots
 * (Mesh's rule), and 8 slots counted in the bytes of their slots (a bound no layout reaches:
 * spans are made of whole pages). The other layouts cut each span's bitmap in pieces of their slot
 * count: that stands for the program's heap in smaller spans as long as which blocks live does not
 * depend on where they lie (random deletes, as in bench/redis_frag.sh and the fragmentation
 * workload). Output goes to stderr.
 *
 * usage: MESHWARD_MESH=0 LD_PRELOAD=build/bench/libmwb-mesh-census.so PROGRAM ARGS */
#include "arena/arena.h"
#include "os.h"
#include "sizeclass.h"
#include "span.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROBES 64
#define LAYOUTS 3

typedef uint64_t live_set[MW_SPAN_BITMAP_WORDS];

static unsigned live_count(const uint64_t *s) {
    unsigned n = 0;
    for (unsigned w = 0; w < MW_SPAN_BITMAP_WORDS; w++)
        n += (unsigned)__builtin_popcountll(s[w]);
    return n;
}

static bool disjoint(const uint64_t *a, const uint64_t *b) {
    for (unsigned w = 0; w < MW_SPAN_BITMAP_WORDS; w++)
        if (a[w] & b[w]) return false;
    return true;
}

/* Mesh leaves spans 80% full out. */
static bool sparse(const uint64_t *s, unsigned slots) {
    return live_count(s) * 5 <= slots * 4;
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t next_random(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* One SplitMesher round over sets[0, n) of `slots` slots (merged sets replace the kept one,
 * released ones are dropped); returns how many are left. */
static unsigned split_mesh(live_set *sets, unsigned n, unsigned slots) {
    for (unsigned i = n; i > 1; i--) {
        unsigned j = (unsigned)(next_random() % i);
        live_set t;
        memcpy(t, sets[i - 1], sizeof t);
        memcpy(sets[i - 1], sets[j], sizeof t);
        memcpy(sets[j], t, sizeof t);
    }
    unsigned half = n / 2;
    for (unsigned i = 0; i < half; i++) {
        if (!sparse(sets[i], slots)) continue;
        for (unsigned k = 0; k < PROBES && k < half; k++) {
            uint64_t *r = sets[half + (i + k) % half];
            if (!live_count(r) || !sparse(r, slots) || !disjoint(sets[i], r)) continue;
            for (unsigned w = 0; w < MW_SPAN_BITMAP_WORDS; w++)
                sets[i][w] |= r[w];
            memset(r, 0, sizeof(live_set)); /* released: empty from now on */
            break;
        }
    }
    unsigned kept = 0; /* the released (empty) sets go */
    for (unsigned i = 0; i < n; i++)
        if (live_count(sets[i])) memmove(sets[kept++], sets[i], sizeof(live_set));
    return kept;
}

/* The spans left of sets[0, n) after rounds until one merges nothing. */
static unsigned mesh_all(live_set *sets, unsigned n, unsigned slots) {
    for (unsigned before = n + 1; n < before && n > 1;) {
        before = n;
        n = split_mesh(sets, n, slots);
    }
    return n;
}

/* The live sets in[0, n) cut in pieces of `slots` (empty pieces dropped: they would
 * be free spans); returns the pieces. */
static unsigned cut(live_set *out, live_set *const *in, unsigned n, unsigned cap, unsigned slots) {
    unsigned m = 0;
    for (unsigned i = 0; i < n; i++)
        for (unsigned first = 0; first + slots <= cap; first += slots) {
            memset(out[m], 0, sizeof(live_set));
            for (unsigned b = 0; b < slots; b++) {
                unsigned s = first + b;
                if ((*in[i])[s / 64] >> (s % 64) & 1) out[m][b / 64] |= 1ull << (b % 64);
            }
            m += live_count(out[m]) != 0;
        }
    return m;
}

#define MAX_SPANS (1u << 22)
static struct mw_span **spans; /* every span in use, then those of one class */
static live_set *sets[MAX_SPANS];
static double total_live, total_now, total_after[LAYOUTS];

/* The live sets of the spans of class cls among spans[0, n) into sets; returns how many. */
static unsigned class_sets(unsigned cls, unsigned n, unsigned *cap) {
    unsigned m = 0;
    for (unsigned i = 0; i < n; i++) {
        struct mw_span *s = spans[i];
        if (s->cls != cls || !(sets[m] = malloc(sizeof(live_set)))) continue;
        mw_span_live_bitmap(s, *sets[m++]);
        *cap = s->capacity;
    }
    return m;
}

/* Pages of a span of `slots` blocks of `size` bytes. */
static double span_bytes(unsigned slots, unsigned size) {
    return (double)(((size_t)slots * size + MW_PAGE_SIZE - 1) / MW_PAGE_SIZE * MW_PAGE_SIZE);
}

static void census_class(unsigned cls, unsigned n, unsigned cap) {
    unsigned size = mw_classes[cls].size;
    unsigned page_slots = MW_PAGE_SIZE / size > 8 ? MW_PAGE_SIZE / size : 8;
    unsigned slots[LAYOUTS] = {cap, page_slots < cap ? page_slots : cap, 8 < cap ? 8 : cap};
    double live = 0;
    for (unsigned i = 0; i < n; i++)
        live += live_count(*sets[i]) * (double)size;
    double now = n * (double)mw_classes[cls].pages * MW_PAGE_SIZE;
    live_set *pieces = malloc(sizeof *pieces * (size_t)n * (cap / 8 + 1));
    if (!pieces) return;
    fprintf(stderr, "class %4u B, %3u slots: %7u spans, %5.1f%% live, %8.1f MiB", size, cap, n,
            100 * live / (n * (double)cap * size), now / 1048576);
    for (unsigned l = 0; l < LAYOUTS; l++) {
        unsigned m = cut(pieces, sets, n, cap, slots[l]);
        double bytes = l == 0   ? (double)mw_classes[cls].pages * MW_PAGE_SIZE
                       : l == 1 ? span_bytes(slots[l], size)
                                : (double)slots[l] * size;
        double after = mesh_all(pieces, m, slots[l]) * bytes;
        fprintf(stderr, " | %3u: %8.1f", slots[l], after / 1048576);
        total_after[l] += after;
    }
    fprintf(stderr, " MiB\n");
    free(pieces);
    total_live += live;
    total_now += now;
}

/* A span whose blocks the program may hold: attached to a heap or abandoned, in the default
 * arena (meshing leaves the others alone). */
static bool counted(const struct mw_span *s) {
    return s->arena == 0 && (s->state == MW_SPAN_QUEUED || s->state == MW_SPAN_FULL ||
                             s->state == MW_SPAN_ABANDONED);
}

__attribute__((destructor)) static void census(void) {
    size_t size;
    char *base = mw_arena_range(0, &size);
    if (!base || !(spans = malloc(sizeof *spans * MAX_SPANS))) return;
    unsigned n = 0;
    for (char *p = base; p < base + size && n < MAX_SPANS; p += MW_PAGE_SIZE) {
        struct mw_span *s = mw_arena_span_of(p);
        if (s && s->start == p && counted(s)) spans[n++] = s;
    }
    fprintf(stderr,
            "mesh census: spans' bytes now, then after meshing laid out in spans of "
            "the library's slots | whole pages (>= 8 slots) | 8 slots (their bytes only)\n");
    for (unsigned cls = 0; cls < MW_CLASS_COUNT; cls++) {
        unsigned cap = 0, m = class_sets(cls, n, &cap);
        if (m) census_class(cls, m, cap);
        for (unsigned i = 0; i < m; i++)
            free(sets[i]);
    }
    fprintf(stderr,
            "mesh census: live %.1f MiB, spans %.1f MiB; after meshing %.1f | %.1f | %.1f MiB\n",
            total_live / 1048576, total_now / 1048576, total_after[0] / 1048576,
            total_after[1] / 1048576, total_after[2] / 1048576);
}
