/* heap_api.c — first-class heaps (mw_heap_new, mw_heap_new_in, delete, destroy, reset) and
 * mw_collect.
 * Deleting gives the heap's spans up for adoption, so live blocks stay valid; destroying
 * and resetting release its spans at once and free its large blocks one by one; memcheck is
 * told of each live block freed (FREELIKE, so that a later use names the destroy). */
#include "alloc.h"
#include "arena/arena.h"
#include "heap_large.h"
#include "init.h"
#include "mesh/mesh.h"
#include "mw_valgrind.h"
#include "region/region.h"
#include "thread.h"
#include "trace.h"
#include "harden/harden.h"

#include <errno.h>
#include <meshward.h>

/* A first-class heap of arena id (valid), created at ip. */
static mw_heap_t *heap_new(mw_arena_id_t id, void *ip) {
    struct mw_heap *h = mw_heap_create(false, id);
    if (!h)
        errno = ENOMEM;
    else
        MW_TRACE_HEAP_CREATE_AT(ip, h->id, id);
    return h;
}

mw_heap_t *mw_heap_new(void) {
    mw_init();
    return heap_new(0, MW_TRACE_CALLER);
}

mw_heap_t *mw_heap_new_in(mw_arena_id_t id) {
    mw_init();
    if (!mw_arena_valid(id)) {
        errno = EINVAL;
        return NULL;
    }
    return heap_new(id, MW_TRACE_CALLER);
}

void mw_heap_delete(mw_heap_t *h) {
    if (!h) return;
    MW_TRACE_HEAP_DELETE_AT(MW_TRACE_CALLER, h->id);
    mw_heap_abandon(h);
    mw_heap_retire(h);
}

static void free_all_blocks(struct mw_heap *h) {
    mw_heap_release_all(h);
    void *batch[64];
    size_t n;
    while ((n = mw_heap_large_take(h->id, batch, 64)) > 0)
        for (size_t i = 0; i < n; i++) {
            mw_vg_free(batch[i]);
#if MW_HARDENED
            mw_hd_release_large(batch[i]);
#else
            mw_free_untraced(batch[i]);
#endif
        }
}

void mw_heap_destroy(mw_heap_t *h) {
    if (!h) return;
    MW_TRACE_HEAP_DESTROY_AT(MW_TRACE_CALLER, h->id);
    free_all_blocks(h);
    mw_heap_retire(h);
}

void mw_heap_reset(mw_heap_t *h) {
    if (!h) return;
    MW_TRACE_HEAP_RESET_AT(MW_TRACE_CALLER, h->id);
    free_all_blocks(h);
}

void mw_collect(bool force) {
    if (mw_init_state != 2) return;
    struct mw_heap *h = mw_tls_heap;
    if (h && h->alive) mw_heap_collect(h);
    if (force) {
        mw_arena_collect_abandoned();
        mw_mesh_pass(h);
    }
    mw_region_purge(force);
    mw_arena_purge(force);
}
