/* region.h — the large-object layer: objects above MW_SLAB_MAX up to MW_REGION_MAX live in
 * power-of-two regions carved from areas inside one reserved virtual range (lgalloc-style),
 * pooled per class in per-thread caches, a global dirty pool and a global clean pool.
 *
 * Contract with alloc.c: alloc.c calls mw_region_alloc (or mw_region_calloc) for sizes in
 * (MW_SLAB_MAX, MW_REGION_MAX] and alignments up to MW_REGION_MAX (a small block with a
 * large alignment gets the region class of its alignment); mw_region_owns decides by
 * address range alone, so any pointer may be passed to it. Regions come from one reserved
 * range, lazily initialised by the first allocation. Nothing here calls malloc. */
#ifndef MW_REGION_H
#define MW_REGION_H

#include "common.h"
#include <meshward.h>

/* Returns a region of at least size bytes aligned to align (a power of two, up to
 * MW_REGION_MAX), or NULL (the caller sets errno). Its contents are unspecified. */
void *mw_region_alloc(size_t size, size_t align);
/* As mw_region_alloc, with the first size bytes zero. Clean and never-used regions already
 * read as zero, so only a recycled dirty region is cleared (calloc of a large block does
 * not touch its pages). */
void *mw_region_calloc(size_t size, size_t align);
/* p is the start of a region the caller found live (mw_region_is_live). Returns false, and
 * does nothing, when another free of p won the race: a double free. */
bool mw_region_free(void *p);
/* True when p lies in the region range (live or not); O(1), trusts no metadata. */
bool mw_region_owns(const void *p);
/* True when [p, p + size) shares a byte with the region range (once it is reserved). */
bool mw_region_overlaps(const void *p, size_t size);
/* True when p is the start of a region handed out and not freed: the check for free(). */
bool mw_region_is_live(const void *p);
/* The start of the region (live or not) holding p, or NULL outside taken areas. */
void *mw_region_start_of(const void *p);
/* The class size of the live region p. */
size_t mw_region_usable_size(const void *p);
/* Empties the calling thread's cache into the dirty pools and purges the dirty regions older
 * than the purge delay; with force, empties every thread's cache and purges everything. */
void mw_region_purge(bool force);
/* The calling thread is exiting: its cache goes back to the global pools. */
void mw_region_thread_exit(void);
/* Fork handlers: prepare takes every lock, parent and child release them; the child also
 * re-backs whatever the parent has mapped shared, so the two never share memory. */
void mw_region_fork_prepare(void);
void mw_region_fork_parent(void);
void mw_region_fork_child(void);
/* Adds the region classes' metrics and live blocks/bytes to *st. */
void mw_region_stats(struct mw_stats *st);

#endif
