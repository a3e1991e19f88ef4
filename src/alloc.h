/* alloc.h — the allocation entry points shared by the public API (alloc.c) and the libc
 * overrides (override.c, override_cxx.c): size dispatch to slabs, regions and huge
 * mappings, with malloc-family semantics and errno. */
#ifndef MW_ALLOC_H
#define MW_ALLOC_H

#include "common.h"

/* Classifies p by address alone. */
enum mw_kind mw_kind_of(const void *p);
/* memalign semantics: alignment rounded up to a power of two; NULL+ENOMEM on failure. */
void *mw_memalign(size_t alignment, size_t size);
/* Usable size of a live block, 0 when p is NULL or not ours. */
size_t mw_block_usable(const void *p);
/* Counts a free of a pointer meshward does not own (production ignores it). */
void mw_foreign_free(const void *p, const char *what);
uint64_t mw_alloc_foreign_frees(void);

#endif
