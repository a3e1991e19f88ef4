/* trace.h — the tracepoint call sites of the core, as macros. With MW_TRACE unset they
 * compile to nothing. With MW_TRACE=1 each expands to an LTTng-UST tracepoint of provider
 * `meshward` (trace/meshward_tp.h, documented in trace/README.md), compiled with dynamic
 * linkage: when libmeshward-tp.so is not loaded a call site costs one load and a branch, and
 * its arguments are not evaluated. Allocations made while a tracepoint runs (by liblttng-ust
 * itself) are served but not traced: a thread-local nesting guard.
 *
 * Ordering contract (so that a trace replays exactly): the FREE event is recorded before the
 * block can be handed to anyone else; ALLOC once the block is owned by the caller; REALLOC
 * after the new block is owned and before the old one is released. These API events use the
 * _AT forms (an ip taken in the exported entry point); the others take their own caller.
 *
 * Arguments: ptr/old/new are pointers, sizes are size_t, cls is the slab size class
 * (or -log2 of a region's size, or -1 for huge), heap is the heap id. ALLOC and HEAP_ALLOC
 * record sizes up to UINT32_MAX: a larger one takes ALLOC_BIG (MW_TRACE_BIG says which);
 * REALLOC chooses its `_big` event itself.
 * ALLOC_SLAB and FREE_SLAB are ALLOC and FREE of a block of the slab range (the first 32 GiB
 * of the span range), named by its granule (mw_arena_granule): 4 bytes less per event; the
 * `thread` event says where the granules count from.
 *
 * What trace/README.md promises readers, and so what call sites must do:
 * - ALLOC is an allocation from the calling thread's own heap, HEAP_ALLOC one from a
 *   first-class heap (the only allocation event that names its heap). Both are tested for
 *   with MW_TRACE_ON(alloc): a session that records heap allocations enables both.
 * - one public call, one event: REALLOC is the only event of a realloc (no ALLOC or FREE
 *   for its inner steps); ALIGNED follows the ALLOC of the same block; HEAP_DESTROY and
 *   HEAP_RESET stand for the FREE of every live block of the heap (no per-block FREE) and
 *   run before any of them can be reused; mw_heap_delete fires HEAP_DELETE instead (its
 *   blocks stay live). ALLOC of NULL, FREE of NULL
 *   and FREE of a pointer that is no live block (usable 0) record nothing. Heap ids are never
 * reused within a process.
 * - ALLOC, FREE, REALLOC, ALIGNED and the HEAP_* events record as ip the program's call
 *   site: __builtin_return_address(0) of the function holding them, which must then be the
 *   exported entry point (or code always inlined into it), or, with the _AT forms, an ip
 *   taken there with MW_TRACE_CALLER and passed down.
 * - Cost when not tracing: a call site's arguments are evaluated only when its event is
 *   enabled, but code that computes them (calls, values kept across them) still shapes the
 *   function around it. Keep hot paths as they are untraced by testing MW_TRACE_ON(event)
 *   once at entry and taking a separate noinline traced path:
 *     void *mw_malloc(size_t n) {
 *         if (MW_TRACE_ON(alloc)) return traced_malloc(n, MW_TRACE_CALLER);
 *         return heap_alloc(mw_tls_heap, n);
 *     }
 * - no call site holds a lock or leaves the thread's heap inconsistent: recording an event
 *   may allocate (served, not traced) on the same thread.
 * MW_TRACE unset: the arguments are named in sizeof only (no warning, never evaluated). */
#ifndef MW_TRACE_H
#define MW_TRACE_H

#if defined(MW_TRACE) && MW_TRACE
#include "trace_sites.h"
#else
#define MW_TRACE_ON(event) 0
#define MW_TRACE_CALLER ((void *)0)
#define MW_TRACE_OFF1(a) ((void)sizeof(a))
#define MW_TRACE_OFF2(a, b) ((void)(sizeof(a) + sizeof(b)))
#define MW_TRACE_OFF3(a, b, c) ((void)(sizeof(a) + sizeof(b) + sizeof(c)))
#define MW_TRACE_OFF6(a, b, c, d, e, f)                                                            \
    ((void)(sizeof(a) + sizeof(b) + sizeof(c) + sizeof(d) + sizeof(e) + sizeof(f)))
#define MW_TRACE_ALLOC_AT(ip, ptr, req) MW_TRACE_OFF3(ip, ptr, req)
#define MW_TRACE_HEAP_ALLOC_AT(ip, ptr, req, heap)                                                 \
    (MW_TRACE_OFF1(ip), MW_TRACE_OFF3(ptr, req, heap))
#define MW_TRACE_FREE_AT(ip, ptr, usable) MW_TRACE_OFF3(ip, ptr, usable)
#define MW_TRACE_ALLOC_SLAB_AT(ip, granule, req) MW_TRACE_OFF3(ip, granule, req)
#define MW_TRACE_FREE_SLAB_AT(ip, granule, usable) MW_TRACE_OFF3(ip, granule, usable)
#define MW_TRACE_ALLOC_BIG_AT(ip, ptr, req, heap) (MW_TRACE_OFF1(ip), MW_TRACE_OFF3(ptr, req, heap))
#define MW_TRACE_BIG(size) ((void)sizeof(size), 0)
#define MW_TRACE_REALLOC_AT(ip, old, new, size, heap)                                              \
    (MW_TRACE_OFF2(ip, old), MW_TRACE_OFF3(new, size, heap))
#define MW_TRACE_ALIGNED_AT(ip, ptr, align, size)                                                  \
    (MW_TRACE_OFF1(ip), MW_TRACE_OFF3(ptr, align, size))
#define MW_TRACE_HEAP_CREATE_AT(ip, heap, arena) MW_TRACE_OFF3(ip, heap, arena)
#define MW_TRACE_HEAP_DESTROY_AT(ip, heap) MW_TRACE_OFF2(ip, heap)
#define MW_TRACE_HEAP_RESET_AT(ip, heap) MW_TRACE_OFF2(ip, heap)
#define MW_TRACE_HEAP_DELETE_AT(ip, heap) MW_TRACE_OFF2(ip, heap)
#define MW_TRACE_HEAP_CREATE(heap, arena) MW_TRACE_OFF2(heap, arena)
#define MW_TRACE_REFILL(heap, cls, span, slots) MW_TRACE_OFF6(heap, cls, span, slots, 0, 0)
#define MW_TRACE_SPAN_RELEASE(span, cls, bytes) MW_TRACE_OFF3(span, cls, bytes)
#define MW_TRACE_REGION_REFILL(cls, area_bytes) MW_TRACE_OFF2(cls, area_bytes)
#define MW_TRACE_PURGE(bytes) MW_TRACE_OFF1(bytes)
#define MW_TRACE_THREAD_EXIT(heap, spans) MW_TRACE_OFF2(heap, spans)
#define MW_TRACE_MESH(cls, kept, released, moved, bytes, ns)                                       \
    MW_TRACE_OFF6(cls, kept, released, moved, bytes, ns)
#define MW_TRACE_CORRUPTION(kind, ptr, detail) MW_TRACE_OFF3(kind, ptr, detail)
#endif

#endif
