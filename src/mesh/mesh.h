/* mesh/mesh.h — what the rest of the core calls of the mesh layer (see mesh/README.md). */
#ifndef MW_MESH_H
#define MW_MESH_H

#include "common.h"

#include <meshward.h>

struct mw_heap;
struct mw_span;

/* From the allocation slow path of h, every h->mesh_skip + 1 calls: runs a slice of a pass
 * when one is due (MESHWARD_MESH_PERIOD_MS since the last, longer while passes release
 * little, or at once when a heap shrank), and looks whether h shrank. While h owes a pass
 * (it shrank and the pass has yet to mesh what it gave, pass.c), it sets h->mesh_skip to 0:
 * h's thread then asks at every slow path, so that it waits for the slices its shrink asked
 * for however few slow paths it runs. */
void mw_mesh_ask(struct mw_heap *h);
/* Runs a whole pass now (no time limit: the program asked) over h's spans (h may be NULL)
 * and the abandoned ones; returns the bytes of physical memory released. 0 when meshing is
 * off or another pass is running. */
size_t mw_mesh_pass(struct mw_heap *h);
/* The SIGSEGV handler asks: is this fault a write that raced a mesh (true: it waited for the
 * mesh to end, and the access should simply be retried)? */
bool mw_mesh_fault(const void *addr);

/* The arena gives back an empty span s that is in the mesh file or has aliases: s and every
 * alias become private anonymous memory again, s's pages leave the file. The aliases are
 * handed to give_back (they are free spans now). False when the kernel refused a mapping:
 * s (and any alias not given back) must then never be used again. */
bool mw_mesh_unmesh(struct mw_span *s, void (*give_back)(struct mw_span *alias));

void mw_mesh_fork_prepare(void); /* first of the prepare handlers */
void mw_mesh_fork_freeze(void);  /* last of them (the arena lock is held) */
void mw_mesh_fork_parent(void);  /* first of the parent handlers (arena lock still held) */
void mw_mesh_fork_child(void);
void mw_mesh_stats(struct mw_stats *st);

#endif
