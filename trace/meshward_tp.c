/* meshward_tp.c — the probe provider libmeshward-tp.so: the only object linked to liblttng-ust.
 * Loading it (meshward trace preloads it) registers the `meshward` probes, and the
 * tracepoints compiled into libmeshward with dynamic linkage start firing when a session
 * enables them; a process that never loads it never loads liblttng-ust.
 *
 * LTTNG_UST_TP_IP_PARAM makes the `ip` context the `ip` argument of each event — the
 * return address of the allocator's public entry point, i.e. the program's call site —
 * instead of the probe's own return address, which would always point into the allocator.
 *
 * It also records the `stats` event at load and unload: blocks allocated before tracing
 * began are in no `alloc` event, and a reader needs their number to account for the heap.
 * mw_stats_get is looked up at run time so that one probe serves both libmeshward variants
 * (and does nothing in a process without meshward); so is mw_trace_attach, which makes the
 * allocator register its call sites with LTTng. */
#define LTTNG_UST_TRACEPOINT_CREATE_PROBES
#define LTTNG_UST_TRACEPOINT_DEFINE
#define LTTNG_UST_TRACEPOINT_HIDDEN_DEFINITION
#define LTTNG_UST_TRACEPOINT_PROVIDER_HIDDEN_DEFINITION
#define LTTNG_UST_TP_IP_PARAM ip
#include "meshward_tp.h"

#include <dlfcn.h>
#include <meshward.h>

static void record_stats(uint8_t at_exit) {
    int (*get)(struct mw_stats *) = (int (*)(struct mw_stats *))dlsym(RTLD_DEFAULT, "mw_stats_get");
    struct mw_stats st;
    if (get && get(&st) == 0)
        lttng_ust_tracepoint(meshward, stats, st.live_blocks, st.live_bytes, st.allocations,
                             st.frees, at_exit, NULL);
}

/* The allocator registers its call sites with LTTng only when asked (src/trace_define.c),
 * so that a process without this library maps no LTTng library. */
static void attach_allocator(void) {
    void (*attach)(void) = (void (*)(void))dlsym(RTLD_DEFAULT, "mw_trace_attach");
    if (attach) attach();
}

/* Defined after the provider's own constructor (in meshward_tp.h's expansion), so it runs
 * once the probes are registered and the session's events enabled. */
__attribute__((constructor)) static void stats_at_load(void) {
    attach_allocator();
    record_stats(0);
}
__attribute__((destructor)) static void stats_at_unload(void) {
    record_stats(1);
}
