/* meta.h — out-of-line metadata storage: fixed-size object pools (span descriptors, heaps)
 * carved from one reserved range that never holds user data. Objects are recycled through
 * per-pool free lists and never returned to the OS, so a stale metadata pointer always
 * points at mapped memory of the same type. Nothing here calls malloc. */
#ifndef MW_META_H
#define MW_META_H

#include "common.h"

struct mw_pool { /* guarded by the one metadata lock */
    size_t size; /* object size, a multiple of 64 (cache line) */
    void *free;  /* recycled objects, linked through their first word */
    uint64_t in_use;
};

#define MW_POOL_INIT(type)                                                                         \
    { (sizeof(type) + 63) & ~(size_t)63, NULL, 0 }

/* Returns a zeroed object, or NULL when the metadata range is exhausted. */
void *mw_pool_alloc(struct mw_pool *pool);
void mw_pool_free(struct mw_pool *pool, void *obj);
/* Bytes handed out from the metadata range (all pools). */
uint64_t mw_meta_bytes(void);
/* Raw bump allocation of zeroed, page-aligned metadata (for tables); NULL when exhausted. */
void *mw_meta_pages(size_t size);
void mw_meta_fork_prepare(void);
void mw_meta_fork_parent(void);
void mw_meta_fork_child(void);

#endif
