/* heap_large.h — the large blocks (regions and huge maps) of first-class heaps, so that
 * mw_heap_destroy and mw_heap_reset can free them too: slab blocks belong to their heap's
 * spans, but large blocks come from shared pools that know nothing of heaps.
 *
 * A global hash set maps each such block's address to its heap id. Thread heaps never
 * register anything, so programs that use no first-class heap pay one relaxed load per
 * large free (mw_heap_large_any). Nothing here calls malloc: the table lives in metadata. */
#ifndef MW_HEAP_LARGE_H
#define MW_HEAP_LARGE_H

#include "common.h"

#include <stdatomic.h>

MW_HIDDEN extern _Atomic size_t mw_heap_large_count; /* blocks registered now */

mw_inline bool mw_heap_large_any(void) {
    return atomic_load_explicit(&mw_heap_large_count, memory_order_relaxed) != 0;
}
/* Registers p as a block of heap heap_id; false when the table cannot grow (the block then
 * stays valid but mw_heap_destroy will not free it). */
bool mw_heap_large_add(uint32_t heap_id, const void *p);
/* Forgets p; returns its heap id, or 0 when p was not registered. */
uint32_t mw_heap_large_remove(const void *p);
/* Block p moved to q (mremap): a heap's registration of it follows it. */
void mw_heap_large_moved(const void *p, const void *q);
/* Removes up to max blocks of heap_id into out; returns how many. */
size_t mw_heap_large_take(uint32_t heap_id, void **out, size_t max);
void mw_heap_large_fork_prepare(void);
void mw_heap_large_fork_parent(void);
void mw_heap_large_fork_child(void);

#endif
