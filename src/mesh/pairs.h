/* mesh/pairs.h — finding meshable pairs among the candidate spans of one class: Mesh's
 * SplitMesher. The candidates are shuffled and split in two halves; each span of the first
 * half probes at most MW_MESH_PROBES spans of the second, at consecutive offsets, and pairs
 * with the first whose live set is disjoint from its own. Linear in the candidates. */
#ifndef MW_MESH_PAIRS_H
#define MW_MESH_PAIRS_H

#include "span.h"

#define MW_MESH_PROBES 64

struct mw_mesh_cand {
    struct mw_span *span;
    uint64_t live[MW_SPAN_BITMAP_WORDS]; /* its live set, once known */
    bool known;                          /* live is computed (on first use: it costs a walk) */
    bool ours;                           /* in the pass's heap (else taken from abandoned) */
    bool paired;
};

#define MW_MESH_STOP ((size_t)-1)

/* The live set of c (its span owned by the caller), computed on first use. */
const uint64_t *mw_mesh_live(struct mw_mesh_cand *c);
/* Calls mesh(a, b, ctx) for each disjoint pair found among the candidates not marked paired
 * (a and b are marked paired first);
 * mesh decides which span is kept and returns the bytes it released, or MW_MESH_STOP to end
 * the search. Returns the sum of the bytes. */
size_t mw_mesh_pairs(struct mw_mesh_cand *c, unsigned n, uint64_t *rng,
                     size_t (*mesh)(struct mw_mesh_cand *, struct mw_mesh_cand *, void *),
                     void *ctx);

#endif
