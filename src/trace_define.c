/* trace_define.c — the one file of the core that defines the `meshward` tracepoints
 * (LTTNG_UST_TRACEPOINT_DEFINE) and their out-of-line emitters (see trace_sites.h).
 *
 * Dynamic linkage (LTTNG_UST_TRACEPOINT_PROBE_DYNAMIC_LINKAGE): the library needs only libdl.
 * LTTng's own constructors are disarmed (trace_sites.h): the probe library, libmeshward-tp.so,
 * calls mw_trace_attach when it is loaded, which dlopens liblttng-ust-tracepoint.so.1 (already
 * mapped by then: the probe library links it) and registers the call sites; the events fire
 * once a session enables them. A process that never loads the probe library maps no LTTng
 * library at all.
 *
 * Invariant: an emitter never records while this thread is already recording — an allocation
 * made by liblttng-ust inside a probe is served by the allocator and not traced, so tracing
 * never recurses. The guard is initial-exec TLS: reaching it never allocates.
 *
 * Invariant: a thread records the `thread` event (its vtid and vpid contexts, and the start
 * of the span range) before any other event of this process, so that a reader finds the
 * process of an event recorded without the vpid context and the address of a `_slab` event's
 * granule (trace/README.md); a forked child's thread records it again. */
#if defined(MW_TRACE) && MW_TRACE
#define LTTNG_UST_TRACEPOINT_DEFINE
#define LTTNG_UST_TRACEPOINT_PROBE_DYNAMIC_LINKAGE
#include "trace_sites.h"
#include "arena/arena.h"
#include "init.h"

#include <pthread.h>
#include <stdatomic.h>

static __thread unsigned recording __attribute__((tls_model("initial-exec")));
static __thread bool announced __attribute__((tls_model("initial-exec")));

/* Records the `thread` event once per thread and process (while it is enabled), with the
 * start of the span range, which the `_slab` events' granules count from (set once, by
 * initialization: made sure of here, so a thread's first event names the final one). */
static mw_noinline void announce(void *ip) {
    if (!lttng_ust_tracepoint_enabled(meshward, thread)) return;
    mw_init();
    lttng_ust_do_tracepoint(meshward, thread, MW_TP_U64(mw_arena_base), ip);
    announced = true;
}

#define MW_TRACE_ARGS(...) __VA_ARGS__
#define MW_TRACE_DEFINE_EMITTER(name, params, args, keep)                                          \
    void mw_trace_emit_##name params {                                                             \
        if (recording || !(keep)) return;                                                          \
        recording = 1;                                                                             \
        if (mw_unlikely(!announced)) announce(ip);                                                 \
        lttng_ust_do_tracepoint(meshward, name, MW_TRACE_ARGS args);                               \
        recording = 0;                                                                             \
    }
MW_TRACE_EVENTS(MW_TRACE_DEFINE_EMITTER)

static _Atomic int attached;

static void forget_thread(void) {
    announced = false; /* the child's only thread is in another process */
}

__attribute__((constructor)) static void arm_fork(void) {
    pthread_atfork(NULL, NULL, forget_thread);
}

/* Registers the call sites with LTTng (what LTTng's constructors would have done at start);
 * called by the probe library's constructor, once per process. */
__attribute__((visibility("default"))) void mw_trace_attach(void) {
    if (atomic_exchange(&attached, 1)) return;
    lttng_ust__tracepoints__init();
    lttng_ust__tracepoints__ptrs_init();
}

__attribute__((destructor)) static void detach(void) {
    if (!atomic_load(&attached)) return;
    lttng_ust__tracepoints__ptrs_destroy();
    lttng_ust__tracepoints__destroy();
}
#endif
