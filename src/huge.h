/* huge.h — objects above MW_REGION_MAX: each has its own mapping inside a reserved huge
 * range (so its kind is known from its address), unmapped on free, grown or shrunk with
 * mremap on realloc. Nothing here calls malloc. */
#ifndef MW_HUGE_H
#define MW_HUGE_H

#include "common.h"
#include <meshward.h>

void *mw_huge_alloc(size_t size, size_t align); /* NULL on failure; caller sets errno */
void mw_huge_free(void *p);
bool mw_huge_owns(const void *p);                  /* by address range alone */
bool mw_huge_overlaps(const void *p, size_t size); /* [p, p + size) meets the huge range */
bool mw_huge_is_live(const void *p);               /* p is the start of a live huge object */
size_t mw_huge_usable_size(const void *p);
/* The start of the live huge object whose granules hold p, or NULL (hardened reports). */
void *mw_huge_start_of(const void *p);
/* Resizes the live huge object p to size (> MW_REGION_MAX) without copying (mremap);
 * returns the new address or NULL, leaving p intact. */
void *mw_huge_realloc(void *p, size_t size);
void mw_huge_fork_prepare(void);
void mw_huge_fork_parent(void);
void mw_huge_fork_child(void);
void mw_huge_stats(struct mw_stats *st);

#endif
