/* meta.c — the metadata range and its object pools (see meta.h). The range is reserved
 * lazily on first use; objects are bump-allocated with a global lock, which only slow paths
 * take (a new span descriptor, a new heap). */
#include "meta.h"
#include "lock.h"
#include "mw_valgrind.h"
#include "os.h"

#include <string.h>

#define META_RESERVE_MAX ((size_t)16 << 30)

static mw_lock_t meta_lock;
static char *meta_base, *meta_next;
static size_t meta_size = META_RESERVE_MAX; /* settles for less, down to 16 MiB */

/* Called with meta_lock held. Fresh pages of the range read as zero. */
static void *meta_bump_locked(size_t size, size_t align) {
    if (!meta_base) {
        size_t share = mw_os_reserve_share() / 8; /* descriptors are small next to spans */
        if (meta_size > share) meta_size = share;
        meta_base = meta_next = mw_os_reserve_upto(&meta_size, (size_t)16 << 20, MW_PAGE_SIZE);
        if (meta_base) mw_vg_noaccess(meta_base, meta_size); /* memcheck's leak check skips it */
    }
    if (!meta_base) return NULL;
    char *start = (char *)mw_align_up((uintptr_t)meta_next, align);
    if (start + size > meta_base + meta_size) return NULL;
    meta_next = start + size;
    mw_vg_defined(start, size); /* fresh pages read as zero */
    return start;
}

void *mw_meta_pages(size_t size) {
    mw_lock(&meta_lock);
    void *p = meta_bump_locked(mw_align_up(size, MW_PAGE_SIZE), MW_PAGE_SIZE);
    mw_unlock(&meta_lock);
    return p;
}

void *mw_pool_alloc(struct mw_pool *pool) {
    mw_lock(&meta_lock);
    void *obj = pool->free;
    if (obj) {
        pool->free = *(void **)obj;
        memset(obj, 0, pool->size);
    } else {
        obj = meta_bump_locked(pool->size, 64);
    }
    if (obj) pool->in_use++;
    mw_unlock(&meta_lock);
    return obj;
}

void mw_pool_free(struct mw_pool *pool, void *obj) {
    mw_lock(&meta_lock);
    *(void **)obj = pool->free;
    pool->free = obj;
    pool->in_use--;
    mw_unlock(&meta_lock);
}

uint64_t mw_meta_bytes(void) {
    return (uint64_t)(meta_next - meta_base);
}

void mw_meta_fork_prepare(void) {
    mw_lock(&meta_lock);
}
void mw_meta_fork_parent(void) {
    mw_unlock(&meta_lock);
}
void mw_meta_fork_child(void) {
    mw_lock_reset(&meta_lock);
}
