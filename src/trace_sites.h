/* trace_sites.h — what trace.h's call sites expand to when MW_TRACE=1: a test of the
 * tracepoint's state word and, only when a session enabled the event, a call to its
 * out-of-line emitter (trace_define.c), so that a disabled call site is one load and one
 * not-taken branch, its arguments are never evaluated, and the fast path keeps no call
 * (and no register spills) inline.
 *
 * Each emitter checks an initial-exec thread-local nesting guard: an allocation made while an
 * event is being recorded (by liblttng-ust itself) is served but not traced, so tracing never
 * recurses. `ip` is __builtin_return_address(0) of the function holding the call site: the
 * program's call site when that function is the exported entry point (or inlined into it).
 *
 * MW_TRACE_EVENTS is the one list of emitters: name, parameters, arguments to the event. */
#ifndef MW_TRACE_SITES_H
#define MW_TRACE_SITES_H

#include "common.h"
#include "stacks/stacks.h"
#include <stdint.h>

/* The tracepoint structures live in this library only: hidden, reached without the GOT. */
#define LTTNG_UST_TRACEPOINT_HIDDEN_DEFINITION
/* LTTng's header gives every file that includes it a constructor that dlopens
 * liblttng-ust-tracepoint (and, through it, liblttng-ust-common) at start-up, traced or
 * not. Its constructors and destructors are made plain unused functions here: the library
 * registers its call sites only when the probe library asks (mw_trace_attach in
 * trace_define.c), so an untraced process maps no LTTng library. The system headers it
 * needs come first, outside the renaming. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#pragma push_macro("constructor")
#pragma push_macro("destructor")
#define constructor unused
#define destructor unused
#include "meshward_tp.h"
#pragma pop_macro("destructor")
#pragma pop_macro("constructor")

/* clang-format off */
/* X(name, parameters, arguments to the event, whether to record it): an allocation that
 * failed (NULL), free(NULL) and the free of a pointer that is not a live block of ours
 * (usable 0: foreign, or already freed) hand no block over, so they record nothing. The
 * events that name a site carry the id of its stack (stacks/stacks.h), taken inside the
 * emitter's nesting guard. */
#define MW_TRACE_EVENTS(X)                                                                   \
    X(alloc, (uint64_t ptr, uint32_t size, void *ip),                                        \
      (ptr, size, mw_trace_stack_id(ip), ip), ptr != 0)                                      \
    X(heap_alloc, (uint64_t ptr, uint32_t size, uint64_t heap, void *ip),                    \
      (ptr, size, heap, mw_trace_stack_id(ip), ip), ptr != 0)                                \
    X(alloc_big, (uint64_t ptr, uint64_t size, uint64_t heap, void *ip),                     \
      (ptr, size, heap, mw_trace_stack_id(ip), ip), ptr != 0)                                \
    X(free, (uint64_t ptr, uint64_t usable, void *ip), (ptr, mw_trace_stack_id(ip), ip),     \
      usable != 0)                                                                           \
    X(alloc_slab, (uint32_t granule, uint32_t size, void *ip),                               \
      (granule, size, mw_trace_stack_id(ip), ip), 1)                                         \
    X(free_slab, (uint32_t granule, uint64_t usable, void *ip),                              \
      (granule, mw_trace_stack_id(ip), ip), usable != 0)                                     \
    X(realloc, (uint64_t old_ptr, uint64_t new_ptr, uint32_t size, uint64_t heap, void *ip), \
      (old_ptr, new_ptr, size, heap, mw_trace_stack_id(ip), ip), 1)                          \
    X(realloc_big, (uint64_t old_ptr, uint64_t new_ptr, uint64_t size, uint64_t heap,        \
                    void *ip), (old_ptr, new_ptr, size, heap, mw_trace_stack_id(ip), ip), 1) \
    X(aligned_alloc, (uint64_t ptr, uint64_t alignment, uint64_t size, void *ip),            \
      (ptr, alignment, size, ip), ptr != 0)                                                  \
    X(heap_create, (uint64_t heap, int32_t arena, void *ip), (heap, arena, ip), 1)           \
    X(heap_destroy, (uint64_t heap, void *ip), (heap, ip), 1)                                \
    X(heap_reset, (uint64_t heap, void *ip), (heap, ip), 1)                                  \
    X(heap_delete, (uint64_t heap, void *ip), (heap, ip), 1)                                 \
    X(refill, (uint64_t heap, int32_t cls, uint64_t span, uint64_t slots, void *ip),         \
      (heap, cls, span, slots, ip), 1)                                                       \
    X(span_release, (uint64_t span, int32_t cls, uint64_t bytes, void *ip),                  \
      (span, cls, bytes, ip), 1)                                                             \
    X(region_refill, (int32_t cls, uint64_t area_bytes, void *ip), (cls, area_bytes, ip), 1) \
    X(purge, (uint64_t bytes, void *ip), (bytes, ip), 1)                                     \
    X(thread_exit, (uint64_t heap, uint64_t spans, void *ip), (heap, spans, ip), 1)          \
    X(mesh, (int32_t cls, uint64_t kept, uint64_t released, uint64_t moved, uint64_t bytes,  \
             uint64_t duration_ns, void *ip), (cls, kept, released, moved, bytes,            \
                                               duration_ns, ip), 1)                          \
    X(corruption, (const char *kind, uint64_t ptr, const char *detail, void *ip),            \
      (kind, ptr, detail, mw_trace_stack_id(ip), ip), 1)
/* clang-format on */

#define MW_TRACE_DECLARE_EMITTER(name, params, args, keep) mw_cold void mw_trace_emit_##name params;
MW_TRACE_EVENTS(MW_TRACE_DECLARE_EMITTER)
#undef MW_TRACE_DECLARE_EMITTER

/* A pointer, an address or an id, as the uint64_t the events record. */
#define MW_TP_U64(x) ((uint64_t)(uintptr_t)(x))
#define MW_TRACE_CALLER __builtin_return_address(0)
/* Whether event `name` is enabled, for hot paths that test it once per call and take a
 * separate traced path when it is: on x86-64 one compare of the state word in memory and
 * one branch (compilers otherwise load, test and branch: one instruction more per call). */
#if defined(__x86_64__)
mw_inline bool mw_trace_on(const int *state) {
    __asm__ goto("cmpl $0, %0\n\tjne %l[on]" : : "m"(*state) : "cc" : on);
    return false;
on:
    return true;
}
#define MW_TRACE_ON(name) mw_unlikely(mw_trace_on(&lttng_ust_tracepoint_meshward___##name.state))
#else
#define MW_TRACE_ON(name) mw_unlikely(lttng_ust_tracepoint_meshward___##name.state != 0)
#endif
#define MW_TP_AT(ip, name, ...)                                                                    \
    (lttng_ust_tracepoint_enabled(meshward, name) ? mw_trace_emit_##name(__VA_ARGS__, (ip))        \
                                                  : (void)0)
#define MW_TP(name, ...) MW_TP_AT(MW_TRACE_CALLER, name, __VA_ARGS__)

/* Whether a size needs the `_big` form of its event (the others record 32 bits). */
#define MW_TRACE_BIG(size) mw_unlikely((uint64_t)(size) > UINT32_MAX)
#define MW_TRACE_ALLOC_AT(ip, ptr, req) MW_TP_AT(ip, alloc, MW_TP_U64(ptr), (uint32_t)(req))
#define MW_TRACE_HEAP_ALLOC_AT(ip, ptr, req, heap)                                                 \
    MW_TP_AT(ip, heap_alloc, MW_TP_U64(ptr), (uint32_t)(req), MW_TP_U64(heap))
#define MW_TRACE_ALLOC_BIG_AT(ip, ptr, req, heap)                                                  \
    MW_TP_AT(ip, alloc_big, MW_TP_U64(ptr), (req), MW_TP_U64(heap))
#define MW_TRACE_FREE_AT(ip, ptr, usable) MW_TP_AT(ip, free, MW_TP_U64(ptr), (usable))
/* ALLOC and FREE of a block of the slab range, by its granule (arena.h, mw_arena_granule),
 * for call sites that tested MW_TRACE_ON(alloc_slab) (or free_slab) and fall back on ALLOC
 * and FREE when the session does not record these events: the emitter is called at once. */
#define MW_TRACE_ALLOC_SLAB_AT(ip, granule, req)                                                   \
    mw_trace_emit_alloc_slab((uint32_t)(granule), (uint32_t)(req), (ip))
#define MW_TRACE_FREE_SLAB_AT(ip, granule, usable)                                                 \
    mw_trace_emit_free_slab((uint32_t)(granule), (usable), (ip))
#define MW_TRACE_REALLOC_AT(ip, old, new, size, heap)                                              \
    (MW_TRACE_BIG(size)                                                                            \
         ? MW_TP_AT(ip, realloc_big, MW_TP_U64(old), MW_TP_U64(new), (size), MW_TP_U64(heap))      \
         : MW_TP_AT(ip, realloc, MW_TP_U64(old), MW_TP_U64(new), (uint32_t)(size),                 \
                    MW_TP_U64(heap)))
#define MW_TRACE_ALIGNED_AT(ip, ptr, align, size)                                                  \
    MW_TP_AT(ip, aligned_alloc, MW_TP_U64(ptr), (align), (size))
#define MW_TRACE_HEAP_CREATE_AT(ip, heap, arena)                                                   \
    MW_TP_AT(ip, heap_create, MW_TP_U64(heap), (int32_t)(arena))
#define MW_TRACE_HEAP_DESTROY_AT(ip, heap) MW_TP_AT(ip, heap_destroy, MW_TP_U64(heap))
#define MW_TRACE_HEAP_RESET_AT(ip, heap) MW_TP_AT(ip, heap_reset, MW_TP_U64(heap))
#define MW_TRACE_HEAP_DELETE_AT(ip, heap) MW_TP_AT(ip, heap_delete, MW_TP_U64(heap))

#define MW_TRACE_HEAP_CREATE(heap, arena) MW_TRACE_HEAP_CREATE_AT(MW_TRACE_CALLER, heap, arena)
#define MW_TRACE_REFILL(heap, cls, span, slots)                                                    \
    MW_TP(refill, MW_TP_U64(heap), (int32_t)(cls), MW_TP_U64(span), (slots))
#define MW_TRACE_SPAN_RELEASE(span, cls, bytes)                                                    \
    MW_TP(span_release, MW_TP_U64(span), (int32_t)(cls), (bytes))
#define MW_TRACE_REGION_REFILL(cls, area_bytes) MW_TP(region_refill, (int32_t)(cls), (area_bytes))
#define MW_TRACE_PURGE(bytes) MW_TP(purge, (bytes))
#define MW_TRACE_THREAD_EXIT(heap, spans) MW_TP(thread_exit, MW_TP_U64(heap), (spans))
#define MW_TRACE_MESH(cls, kept, released, moved, bytes, ns)                                       \
    MW_TP(mesh, (int32_t)(cls), MW_TP_U64(kept), MW_TP_U64(released), (moved), (bytes), (ns))
#define MW_TRACE_CORRUPTION(kind, ptr, detail) MW_TP(corruption, (kind), MW_TP_U64(ptr), (detail))

#endif
