/* mesh/merge.h — meshing one pair of spans (see mesh/README.md for the invariants). */
#ifndef MW_MESH_MERGE_H
#define MW_MESH_MERGE_H

#include "span.h"

#include <stdatomic.h>

#define MW_MESH_SHARE_MAX 64 /* virtual spans sharing one physical span, at most */

/* Meshed ranges mapped now: aliases, and kept spans in the mesh file. */
MW_HIDDEN extern struct mw_mesh_ranges { _Atomic long aliases, files; } mw_mesh_ranges;

/* Meshes released into kept: both of one class and size, owned by the caller (their lists
 * are the caller's), their live sets (mw_span_live_bitmap: uncollected remote frees count as
 * live) disjoint, together at most MW_MESH_SHARE_MAX virtual spans. released may have
 * aliases (merge.c): they become kept's. Afterwards released is an alias of kept, whose
 * lists hold the free slots of both. Returns the bytes of physical memory given back, 0 when
 * a system call failed (nothing changed then, unless the kernel also refused to undo a
 * mapping: then both spans are pinned, merge.c). */
size_t mw_mesh_merge(struct mw_span *kept, const uint64_t live_kept[MW_SPAN_BITMAP_WORDS],
                     struct mw_span *released, const uint64_t live_released[MW_SPAN_BITMAP_WORDS],
                     uint64_t *rng);

#endif
