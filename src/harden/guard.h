/* harden/guard.h — guard pages (hardened build) and what a fault on protected memory means
 * (both builds: sampled blocks fault too).
 *
 * Slabs: the last page of every 64-page group of each arena is PROT_NONE and spans are
 * carved so that none crosses one (address space is skipped, not memory), so a linear
 * overflow of a slab block meets a guard within 256 KiB; a guard costs two mappings for
 * every 256 KiB of slabs carved (vm.max_map_count). A large span carved across a guard
 * opens it again: the span ends with a guard page of its own while its block is live.
 * Regions: the last page of every region (protected when a region is first handed out at that
 * address and class, kept across reuse; the last page of every area is protected when the area is
 * taken). Huge objects: a guard page after the block inside its mapping, and the PROT_NONE
 * reservation around it. */
#ifndef MW_HARDEN_GUARD_H
#define MW_HARDEN_GUARD_H

#include "harden/report.h"

#define MW_GUARD_GROUP_PAGES 64

struct mw_arena;
/* Moves arena a's bump to where a span of `pages` pages may be carved, protecting the
 * guard page of the group it lands in; the span ends before the next guard. Groups count
 * from the arena's start (2 MiB aligned, so from the range's base too). */
void mw_guard_carve(struct mw_arena *a, unsigned pages);
/* [from, to) of arena a was carved at its bump for a large span or a run (arena/runs.c):
 * the slab guard it covers, if protected, is opened again (a large block has a guard page
 * of its own, and a run holds no protected page). */
void mw_guard_open(struct mw_arena *a, char *from, char *to);
/* Protects the last page of [start, start + size): the guard that ends a region or a huge
 * block's mapping. */
void mw_guard_tail(char *start, size_t size);
/* A region area was taken for a class / released for reuse by another class. */
void mw_guard_area_taken(char *area, size_t size);
void mw_guard_area_released(char *area, size_t size);

/* Explains a fault at addr: returns the report kind and fills detail and b when addr is
 * protected memory of meshward's (a guard page, a zero-size or sampled block, a freed huge
 * object); NULL when it is not ours. */
const char *mw_guard_explain(const void *addr, bool write, struct mw_line *detail,
                             struct mw_hd_block *b);

#endif
