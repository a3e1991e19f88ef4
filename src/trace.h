/* trace.h — the tracepoint call sites of the core, as macros. With MW_TRACE unset they
 * compile to nothing. With MW_TRACE=1 each expands to an LTTng-UST tracepoint of provider
 * `meshward` (trace/meshward_tp.h, documented in trace/README.md), compiled with dynamic
 * linkage: when libmeshward-tp.so is not loaded a call site costs one load and a branch, and
 * its arguments are not evaluated. Allocations made while a tracepoint runs (by liblttng-ust
 * itself) are served but not traced: a thread-local nesting guard.
 *
 * Ordering contract (so that a trace replays exactly): MW_TRACE_FREE runs before the block
 * can be handed to anyone else; MW_TRACE_ALLOC runs once the block is owned by the caller;
 * MW_TRACE_REALLOC runs after the new block is owned and before the old one is released.
 *
 * Arguments: ptr/old/new are pointers, sizes are size_t, cls is the slab size class
 * (or region class, or -1 for huge), heap is the heap id, kind is enum mw_kind. */
#ifndef MW_TRACE_H
#define MW_TRACE_H

#if defined(MW_TRACE) && MW_TRACE
#include "trace_sites.h"
#else
#define MW_TRACE_ALLOC(ptr, req, usable, cls, heap, kind) ((void)0)
#define MW_TRACE_FREE(ptr, usable, cls, heap, remote) ((void)0)
#define MW_TRACE_REALLOC(old, new, size, usable, cls, heap, moved) ((void)0)
#define MW_TRACE_ALIGNED(ptr, align, size) ((void)0)
#define MW_TRACE_HEAP_CREATE(heap) ((void)0)
#define MW_TRACE_HEAP_DESTROY(heap) ((void)0)
#define MW_TRACE_HEAP_RESET(heap) ((void)0)
#define MW_TRACE_REFILL(heap, cls, span, slots) ((void)0)
#define MW_TRACE_SPAN_RELEASE(span, cls, bytes) ((void)0)
#define MW_TRACE_REGION_REFILL(cls, area_bytes) ((void)0)
#define MW_TRACE_PURGE(bytes) ((void)0)
#define MW_TRACE_THREAD_EXIT(heap, spans) ((void)0)
#define MW_TRACE_MESH(cls, kept, released, moved, bytes, ns) ((void)0)
#define MW_TRACE_CORRUPTION(kind, ptr, detail) ((void)0)
#endif

#endif
