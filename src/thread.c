/* thread.c — the per-thread heap slot, its creation and its teardown at thread exit
 * (see thread.h). */
#include "thread.h"
#include "init.h"
#include "region/region.h"
#include "trace.h"
#include "harden/harden.h"

#include <pthread.h>

struct mw_heap mw_heap_empty = {.direct = {[0 ... MW_DIRECT_COUNT - 1] = &mw_empty_span},
                                .current = {[0 ... MW_CLASS_COUNT - 1] = &mw_empty_span}};
__thread struct mw_heap *mw_tls_heap = &mw_heap_empty;

static pthread_key_t heap_key;
static bool key_ready;

static void thread_exit(void *arg) {
    struct mw_heap *h = arg;
#if MW_HARDENED
    mw_hd_thread_exit(h); /* while the thread still has its heap */
#endif
    mw_tls_heap = &mw_heap_empty;
    unsigned abandoned = mw_heap_abandon(h);
    mw_region_thread_exit();
    MW_TRACE_THREAD_EXIT(h->id, abandoned);
    mw_heap_retire(h);
}

void mw_thread_init(void) {
    key_ready = pthread_key_create(&heap_key, thread_exit) == 0;
}

struct mw_heap *mw_thread_heap_init(void) {
    mw_init();
    struct mw_heap *h = mw_tls_heap;
    if (h != &mw_heap_empty) return h; /* init allocated on this thread meanwhile */
    h = mw_heap_create(true, 0);
    if (!h) return &mw_heap_empty;
    mw_tls_heap = h;
    MW_TRACE_HEAP_CREATE(h->id, 0);
    /* May allocate (pthread's second-level key table): served by h, already in place. */
    if (key_ready) pthread_setspecific(heap_key, h);
    return h;
}
