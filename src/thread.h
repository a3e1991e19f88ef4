/* thread.h — binding heaps to threads: the calling thread's heap in an initial-exec TLS
 * slot (no allocation on first touch), created on first allocation and abandoned at
 * thread exit through a pthread key destructor. Until then the slot holds the empty heap,
 * whose allocation spans are all the empty sentinel, so the fast path needs no NULL test
 * and no span is ever owned by it. */
#ifndef MW_THREAD_H
#define MW_THREAD_H

#include "heap.h"

MW_HIDDEN extern struct mw_heap mw_heap_empty;
MW_HIDDEN extern __thread struct mw_heap *mw_tls_heap;

/* The calling thread's heap, created if needed; the empty heap when creation fails. */
struct mw_heap *mw_thread_heap_init(void);
/* Registers the thread-exit key; called once by init. */
void mw_thread_init(void);

mw_inline struct mw_heap *mw_thread_heap(void) {
    struct mw_heap *h = mw_tls_heap;
    return mw_likely(h != &mw_heap_empty) ? h : mw_thread_heap_init();
}

#endif
