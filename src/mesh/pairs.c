/* mesh/pairs.c — SplitMesher (see pairs.h). */
#include "mesh/pairs.h"

static uint64_t next_random(uint64_t *state) { /* splitmix64 */
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void shuffle(struct mw_mesh_cand *c, unsigned n, uint64_t *rng) {
    for (unsigned i = n; i-- > 1;) {
        unsigned j = (unsigned)(next_random(rng) % (i + 1));
        struct mw_mesh_cand t = c[i];
        c[i] = c[j];
        c[j] = t;
    }
}

const uint64_t *mw_mesh_live(struct mw_mesh_cand *c) {
    if (!c->known) {
        mw_span_live_bitmap(c->span, c->live);
        if (MW_HARDENED) c->live[0] &= ~1ull; /* slot 0 is never a block (span.c) */
        c->known = true;
    }
    return c->live;
}

static bool disjoint(struct mw_mesh_cand *a, struct mw_mesh_cand *b) {
    const uint64_t *la = mw_mesh_live(a), *lb = mw_mesh_live(b);
    uint64_t overlap = 0;
    for (unsigned w = 0; w < MW_SPAN_BITMAP_WORDS; w++)
        overlap |= la[w] & lb[w];
    return overlap == 0;
}

size_t mw_mesh_pairs(struct mw_mesh_cand *c, unsigned n, uint64_t *rng,
                     size_t (*mesh)(struct mw_mesh_cand *, struct mw_mesh_cand *, void *),
                     void *ctx) {
    shuffle(c, n, rng);
    unsigned half = n / 2, right = n - half;
    unsigned probes = right < MW_MESH_PROBES ? right : MW_MESH_PROBES;
    size_t released = 0;
    for (unsigned i = 0; i < half; i++)
        for (unsigned k = 0; k < probes && !c[i].paired; k++) {
            struct mw_mesh_cand *r = &c[half + (i + k) % right];
            if (r->paired || !disjoint(&c[i], r)) continue;
            c[i].paired = r->paired = true;
            size_t bytes = mesh(&c[i], r, ctx);
            if (bytes == MW_MESH_STOP) return released;
            released += bytes;
            break;
        }
    return released;
}
