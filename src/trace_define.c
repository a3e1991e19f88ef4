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
 * never recurses. The guard is initial-exec TLS: reaching it never allocates. */
#if defined(MW_TRACE) && MW_TRACE
#define LTTNG_UST_TRACEPOINT_DEFINE
#define LTTNG_UST_TRACEPOINT_PROBE_DYNAMIC_LINKAGE
#include "trace_sites.h"

#include <stdatomic.h>

static __thread unsigned recording __attribute__((tls_model("initial-exec")));

#define MW_TRACE_ARGS(...) __VA_ARGS__
#define MW_TRACE_DEFINE_EMITTER(name, params, args, keep)                                          \
    void mw_trace_emit_##name params {                                                             \
        if (recording || !(keep)) return;                                                          \
        recording = 1;                                                                             \
        lttng_ust_do_tracepoint(meshward, name, MW_TRACE_ARGS args);                               \
        recording = 0;                                                                             \
    }
MW_TRACE_EVENTS(MW_TRACE_DEFINE_EMITTER)

static _Atomic int attached;

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
