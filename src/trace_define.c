/* trace_define.c — the one file of the core that defines the `meshward` tracepoints
 * (LTTNG_UST_TRACEPOINT_DEFINE) and their out-of-line emitters (see trace_sites.h).
 *
 * Dynamic linkage (LTTNG_UST_TRACEPOINT_PROBE_DYNAMIC_LINKAGE): the library needs only libdl;
 * LTTng's constructor dlopens liblttng-ust-tracepoint.so.1 (a small registry, no threads) and
 * the events fire only once libmeshward-tp.so has registered its probes and a session has
 * enabled them. The constructor's dlopen allocates through us before any event can be
 * enabled, so it is never traced.
 *
 * Invariant: an emitter never records while this thread is already recording — an allocation
 * made by liblttng-ust inside a probe is served by the allocator and not traced, so tracing
 * never recurses. The guard is initial-exec TLS: reaching it never allocates. */
#if defined(MW_TRACE) && MW_TRACE
#define LTTNG_UST_TRACEPOINT_DEFINE
#define LTTNG_UST_TRACEPOINT_PROBE_DYNAMIC_LINKAGE
#include "trace_sites.h"

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
#endif
