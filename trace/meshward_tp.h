/* meshward_tp.h — the LTTng-UST provider `meshward`: every event the allocator emits and the
 * fields each one records (trace/README.md documents them for trace readers).
 *
 * Read three ways: by the core (src/trace_sites.h: call sites only), by src/trace_define.c
 * (LTTNG_UST_TRACEPOINT_DEFINE with dynamic linkage: the tracepoint structures) and by
 * trace/meshward_tp.c (LTTNG_UST_TRACEPOINT_CREATE_PROBES: the probes of libmeshward-tp.so).
 *
 * Invariants: every event's last argument is `ip`, the return address of the allocator's
 * public entry point, which the probes record as the `ip` context when a session adds it
 * (see meshward_tp.c); pointers travel as uint64_t so that a call site may pass a pointer
 * or an address; every byte and every field of the hottest events counts (LTTng writes
 * each field with a call of its own, about 64 instructions): `cls` is recorded in 16 bits,
 * `heap` and `stack` in 32, an allocation's `size` in 32 (a block of 4 GiB or more records
 * the `_big` event with a 64-bit size instead), and nothing a reader can derive or replay
 * does without is
 * recorded (an allocation's heap is its thread's unless it is a `heap_alloc`; a block's kind
 * and usable size are not needed to replay; whether a realloc moved the block follows from
 * its two pointers; everything about a freed block but its address from its allocation;
 * what a realloc's new block is from its size, as for `alloc`);
 * event and field names are an interface (the report tool and users' scripts read them):
 * add fields at the end, never rename; a field removed is a format change that
 * trace/README.md and the readers in tools/ follow. */
#undef LTTNG_UST_TRACEPOINT_PROVIDER
#define LTTNG_UST_TRACEPOINT_PROVIDER meshward

#undef LTTNG_UST_TRACEPOINT_INCLUDE
#define LTTNG_UST_TRACEPOINT_INCLUDE "meshward_tp.h"

#if !defined(MESHWARD_TP_H) || defined(LTTNG_UST_TRACEPOINT_HEADER_MULTI_READ)
#define MESHWARD_TP_H

#include <lttng/tracepoint.h>
#include <stdint.h>

/* The LTTng event DSL reads best one field per line: */
/* clang-format off */

/* A block of the calling thread's own heap was handed to the program (malloc, calloc,
 * aligned allocations). Its class follows from its size (and alignment), its heap from the
 * thread: neither is recorded. A block of the slab range is `alloc_slab` instead. */
LTTNG_UST_TRACEPOINT_EVENT(meshward, alloc,
    LTTNG_UST_TP_ARGS(uint64_t, ptr, uint32_t, size, uint32_t, stack, void *, ip),
    LTTNG_UST_TP_FIELDS(
        lttng_ust_field_integer_hex(uint64_t, ptr, ptr)
        lttng_ust_field_integer(uint32_t, size, size)
        lttng_ust_field_integer(uint32_t, stack, stack)))

/* A block came back (a block of the slab range: `free_slab` instead). */
LTTNG_UST_TRACEPOINT_EVENT(meshward, free,
    LTTNG_UST_TP_ARGS(uint64_t, ptr, uint32_t, stack, void *, ip),
    LTTNG_UST_TP_FIELDS(
        lttng_ust_field_integer_hex(uint64_t, ptr, ptr)
        lttng_ust_field_integer(uint32_t, stack, stack)))

/* `alloc` and `free` of a block of the slab range (the first 32 GiB of the span range, where
 * arena 0 carves its slab spans; every block starts at an 8-byte boundary), recorded instead
 * of them with the block as a 32-bit `granule`: ptr = arena + 8 * granule, `arena` from the
 * process's `thread` events. 4 bytes less than the full-pointer events, on nearly every
 * event of a trace. */
LTTNG_UST_TRACEPOINT_EVENT(meshward, alloc_slab,
    LTTNG_UST_TP_ARGS(uint32_t, granule, uint32_t, size, uint32_t, stack, void *, ip),
    LTTNG_UST_TP_FIELDS(
        lttng_ust_field_integer_hex(uint32_t, granule, granule)
        lttng_ust_field_integer(uint32_t, size, size)
        lttng_ust_field_integer(uint32_t, stack, stack)))
LTTNG_UST_TRACEPOINT_EVENT(meshward, free_slab,
    LTTNG_UST_TP_ARGS(uint32_t, granule, uint32_t, stack, void *, ip),
    LTTNG_UST_TP_FIELDS(
        lttng_ust_field_integer_hex(uint32_t, granule, granule)
        lttng_ust_field_integer(uint32_t, stack, stack)))

/* A block of first-class heap `heap` (mw_heap_malloc and friends) was handed to the
 * program: `alloc` with the heap named. */
LTTNG_UST_TRACEPOINT_EVENT(meshward, heap_alloc,
    LTTNG_UST_TP_ARGS(uint64_t, ptr, uint32_t, size, uint64_t, heap, uint32_t, stack,
                      void *, ip),
    LTTNG_UST_TP_FIELDS(
        lttng_ust_field_integer_hex(uint64_t, ptr, ptr)
        lttng_ust_field_integer(uint32_t, size, size)
        lttng_ust_field_integer(uint32_t, heap, heap)
        lttng_ust_field_integer(uint32_t, stack, stack)))

/* One realloc call, the only event it records: when new_ptr != old_ptr, new_ptr was
 * allocated and old_ptr is freed; in place, the block now has `size`. */
LTTNG_UST_TRACEPOINT_EVENT(meshward, realloc,
    LTTNG_UST_TP_ARGS(uint64_t, old_ptr, uint64_t, new_ptr, uint32_t, size, uint64_t, heap,
                      uint32_t, stack, void *, ip),
    LTTNG_UST_TP_FIELDS(
        lttng_ust_field_integer_hex(uint64_t, old_ptr, old_ptr)
        lttng_ust_field_integer_hex(uint64_t, new_ptr, new_ptr)
        lttng_ust_field_integer(uint32_t, size, size)
        lttng_ust_field_integer(uint32_t, heap, heap)
        lttng_ust_field_integer(uint32_t, stack, stack)))

/* `alloc` or `heap_alloc` of a block of 4 GiB or more (a size above UINT32_MAX), recorded
 * instead of them: heap_alloc's fields with a 64-bit size; `heap` is the heap that served
 * it (the thread's own heap's id, which no event destroys, for an `alloc`). */
LTTNG_UST_TRACEPOINT_EVENT(meshward, alloc_big,
    LTTNG_UST_TP_ARGS(uint64_t, ptr, uint64_t, size, uint64_t, heap, uint32_t, stack,
                      void *, ip),
    LTTNG_UST_TP_FIELDS(
        lttng_ust_field_integer_hex(uint64_t, ptr, ptr)
        lttng_ust_field_integer(uint64_t, size, size)
        lttng_ust_field_integer(uint32_t, heap, heap)
        lttng_ust_field_integer(uint32_t, stack, stack)))

/* `realloc` to 4 GiB or more, recorded instead of it: its fields with a 64-bit size. */
LTTNG_UST_TRACEPOINT_EVENT(meshward, realloc_big,
    LTTNG_UST_TP_ARGS(uint64_t, old_ptr, uint64_t, new_ptr, uint64_t, size, uint64_t, heap,
                      uint32_t, stack, void *, ip),
    LTTNG_UST_TP_FIELDS(
        lttng_ust_field_integer_hex(uint64_t, old_ptr, old_ptr)
        lttng_ust_field_integer_hex(uint64_t, new_ptr, new_ptr)
        lttng_ust_field_integer(uint64_t, size, size)
        lttng_ust_field_integer(uint32_t, heap, heap)
        lttng_ust_field_integer(uint32_t, stack, stack)))

/* The thread recording it (its vtid context) belongs to the process of its vpid context:
 * recorded by each thread before its first other event (and again in a forked child), so
 * that the allocation events can go without the vpid context (`meshward trace` records them
 * in a channel of their own, with vtid only). `arena`: the start of the process's span
 * range, which the granules of `alloc_slab` and `free_slab` count from. */
LTTNG_UST_TRACEPOINT_EVENT(meshward, thread,
    LTTNG_UST_TP_ARGS(uint64_t, arena, void *, ip),
    LTTNG_UST_TP_FIELDS(
        lttng_ust_field_integer_hex(uint64_t, arena, arena)))

/* What stack id `id` of this process holds: return addresses, innermost (the program's
 * call into the allocator) first. Recorded once per id, before any event carrying it. */
LTTNG_UST_TRACEPOINT_EVENT(meshward, stack,
    LTTNG_UST_TP_ARGS(uint32_t, id, const uint64_t *, frames, uint8_t, depth, void *, ip),
    LTTNG_UST_TP_FIELDS(
        lttng_ust_field_integer(uint32_t, id, id)
        lttng_ust_field_sequence_hex(uint64_t, frames, frames, uint8_t, depth)))

/* The alignment asked for the block whose `alloc` event this one follows. */
LTTNG_UST_TRACEPOINT_EVENT(meshward, aligned_alloc,
    LTTNG_UST_TP_ARGS(uint64_t, ptr, uint64_t, alignment, uint64_t, size, void *, ip),
    LTTNG_UST_TP_FIELDS(
        lttng_ust_field_integer_hex(uint64_t, ptr, ptr)
        lttng_ust_field_integer(uint64_t, alignment, alignment)
        lttng_ust_field_integer(uint64_t, size, size)))

/* Heap life cycle: create (in arena `arena`, 0 the default one); destroy (every live block
 * of the heap is freed with it); reset (the same, and the heap stays usable); delete (the
 * heap goes, its blocks stay live). */
LTTNG_UST_TRACEPOINT_EVENT(meshward, heap_create,
    LTTNG_UST_TP_ARGS(uint64_t, heap, int32_t, arena, void *, ip),
    LTTNG_UST_TP_FIELDS(
        lttng_ust_field_integer(uint32_t, heap, heap)
        lttng_ust_field_integer(int32_t, arena, arena)))
LTTNG_UST_TRACEPOINT_EVENT_CLASS(meshward, heap_event,
    LTTNG_UST_TP_ARGS(uint64_t, heap, void *, ip),
    LTTNG_UST_TP_FIELDS(
        lttng_ust_field_integer(uint32_t, heap, heap)))
LTTNG_UST_TRACEPOINT_EVENT_INSTANCE(meshward, heap_event, meshward, heap_destroy,
    LTTNG_UST_TP_ARGS(uint64_t, heap, void *, ip))
LTTNG_UST_TRACEPOINT_EVENT_INSTANCE(meshward, heap_event, meshward, heap_reset,
    LTTNG_UST_TP_ARGS(uint64_t, heap, void *, ip))
LTTNG_UST_TRACEPOINT_EVENT_INSTANCE(meshward, heap_event, meshward, heap_delete,
    LTTNG_UST_TP_ARGS(uint64_t, heap, void *, ip))

/* A span was attached to a heap for a size class, bringing `slots` free slots. */
LTTNG_UST_TRACEPOINT_EVENT(meshward, refill,
    LTTNG_UST_TP_ARGS(uint64_t, heap, int32_t, cls, uint64_t, span, uint64_t, slots,
                      void *, ip),
    LTTNG_UST_TP_FIELDS(
        lttng_ust_field_integer(uint32_t, heap, heap)
        lttng_ust_field_integer(int16_t, cls, cls)
        lttng_ust_field_integer_hex(uint64_t, span, span)
        lttng_ust_field_integer(uint64_t, slots, slots)))

/* An empty span went back to the arena. */
LTTNG_UST_TRACEPOINT_EVENT(meshward, span_release,
    LTTNG_UST_TP_ARGS(uint64_t, span, int32_t, cls, uint64_t, bytes, void *, ip),
    LTTNG_UST_TP_FIELDS(
        lttng_ust_field_integer_hex(uint64_t, span, span)
        lttng_ust_field_integer(int16_t, cls, cls)
        lttng_ust_field_integer(uint64_t, bytes, bytes)))

/* A new area was carved for a region class. */
LTTNG_UST_TRACEPOINT_EVENT(meshward, region_refill,
    LTTNG_UST_TP_ARGS(int32_t, cls, uint64_t, area_bytes, void *, ip),
    LTTNG_UST_TP_FIELDS(
        lttng_ust_field_integer(int16_t, cls, cls)
        lttng_ust_field_integer(uint64_t, area_bytes, area_bytes)))

/* Memory given back to the OS. */
LTTNG_UST_TRACEPOINT_EVENT(meshward, purge,
    LTTNG_UST_TP_ARGS(uint64_t, bytes, void *, ip),
    LTTNG_UST_TP_FIELDS(
        lttng_ust_field_integer(uint64_t, bytes, bytes)))

/* A thread exited; its heap abandoned `spans` spans that still hold live blocks. */
LTTNG_UST_TRACEPOINT_EVENT(meshward, thread_exit,
    LTTNG_UST_TP_ARGS(uint64_t, heap, uint64_t, spans, void *, ip),
    LTTNG_UST_TP_FIELDS(
        lttng_ust_field_integer(uint32_t, heap, heap)
        lttng_ust_field_integer(uint64_t, spans, spans)))

/* Two spans were meshed: `released`'s objects now live in `kept`'s physical pages. */
LTTNG_UST_TRACEPOINT_EVENT(meshward, mesh,
    LTTNG_UST_TP_ARGS(int32_t, cls, uint64_t, kept, uint64_t, released, uint64_t, moved,
                      uint64_t, bytes, uint64_t, duration_ns, void *, ip),
    LTTNG_UST_TP_FIELDS(
        lttng_ust_field_integer(int16_t, cls, cls)
        lttng_ust_field_integer_hex(uint64_t, kept, kept)
        lttng_ust_field_integer_hex(uint64_t, released, released)
        lttng_ust_field_integer(uint64_t, moved, moved)
        lttng_ust_field_integer(uint64_t, bytes, bytes)
        lttng_ust_field_integer(uint64_t, duration_ns, duration_ns)))

/* The hardened build detected heap corruption (recorded just before it aborts). */
LTTNG_UST_TRACEPOINT_EVENT(meshward, corruption,
    LTTNG_UST_TP_ARGS(const char *, kind, uint64_t, ptr, const char *, detail, uint32_t, stack,
                      void *, ip),
    LTTNG_UST_TP_FIELDS(
        lttng_ust_field_string(kind, kind)
        lttng_ust_field_integer_hex(uint64_t, ptr, ptr)
        lttng_ust_field_string(detail, detail)
        lttng_ust_field_integer(uint32_t, stack, stack)))

/* The allocator's counters (mw_stats_get) when the probe provider was loaded (at_exit = 0:
 * the heap as it stood when tracing began) and when it is unloaded (at_exit = 1). Events
 * recorded before the first one are already counted in it. */
LTTNG_UST_TRACEPOINT_EVENT(meshward, stats,
    LTTNG_UST_TP_ARGS(uint64_t, live_blocks, uint64_t, live_bytes, uint64_t, allocations,
                      uint64_t, frees, uint8_t, at_exit, void *, ip),
    LTTNG_UST_TP_FIELDS(
        lttng_ust_field_integer(uint64_t, live_blocks, live_blocks)
        lttng_ust_field_integer(uint64_t, live_bytes, live_bytes)
        lttng_ust_field_integer(uint64_t, allocations, allocations)
        lttng_ust_field_integer(uint64_t, frees, frees)
        lttng_ust_field_integer(uint8_t, at_exit, at_exit)))

/* clang-format on */

#endif /* MESHWARD_TP_H */

#include <lttng/tracepoint-event.h>
