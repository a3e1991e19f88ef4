/* meshward_tp.c — the probe provider libmeshward-tp.so: the only object linked to liblttng-ust.
 * Loading it (meshward trace preloads it) registers the `meshward` probes, and the
 * tracepoints compiled into libmeshward with dynamic linkage start firing when a session
 * enables them; a process that never loads it never loads liblttng-ust.
 *
 * LTTNG_UST_TP_IP_PARAM makes the `ip` context the `ip` argument of each event — the
 * return address of the allocator's public entry point, i.e. the program's call site —
 * instead of the probe's own return address, which would always point into the allocator. */
#define LTTNG_UST_TRACEPOINT_CREATE_PROBES
#define LTTNG_UST_TP_IP_PARAM ip
#include "meshward_tp.h"
