/* report/event.c — the names and fields of the events the report reads (report/event.h),
 * as trace/meshward_tp.h and LTTng-UST's statedump and dl providers define them. */
#include "event.h"

#include <string.h>

const struct rep_kind_desc rep_kinds[REP_NKINDS] = {
    [REP_ALLOC] = {"meshward:alloc", {"ptr", "size", "stack"}},
    [REP_HEAP_ALLOC] = {"meshward:heap_alloc", {"ptr", "size", "stack", "heap"}},
    [REP_FREE] = {"meshward:free", {"ptr", "stack"}},
    [REP_REALLOC] = {"meshward:realloc", {"old_ptr", "new_ptr", "size", "heap", "stack"}},
    [REP_ALLOC_BIG] = {"meshward:alloc_big", {"ptr", "size", "stack", "heap"}},
    [REP_REALLOC_BIG] = {"meshward:realloc_big", {"old_ptr", "new_ptr", "size", "heap", "stack"}},
    [REP_ALLOC_SLAB] = {"meshward:alloc_slab", {"granule", "size", "stack"}},
    [REP_FREE_SLAB] = {"meshward:free_slab", {"granule", "stack"}},
    [REP_ALIGNED] = {"meshward:aligned_alloc", {"ptr", "alignment", "size"}},
    [REP_HEAP_CREATE] = {"meshward:heap_create", {"heap"}},
    [REP_HEAP_DESTROY] = {"meshward:heap_destroy", {"heap"}},
    [REP_HEAP_RESET] = {"meshward:heap_reset", {"heap"}},
    [REP_HEAP_DELETE] = {"meshward:heap_delete", {"heap"}},
    [REP_REFILL] = {"meshward:refill", {"heap", "cls", "span", "slots"}},
    [REP_SPAN_RELEASE] = {"meshward:span_release", {"span", "cls", "bytes"}},
    [REP_REGION_REFILL] = {"meshward:region_refill", {"cls", "area_bytes"}},
    [REP_PURGE] = {"meshward:purge", {"bytes"}},
    [REP_THREAD_EXIT] = {"meshward:thread_exit", {"heap", "spans"}},
    [REP_MESH] = {"meshward:mesh", {"cls", "kept", "released", "moved", "bytes", "duration_ns"}},
    [REP_CORRUPTION] = {"meshward:corruption", {"$kind", "ptr", "$detail", "stack"}},
    [REP_STATS] = {"meshward:stats",
                   {"live_blocks", "live_bytes", "allocations", "frees", "at_exit"}},
    [REP_STACK] = {"meshward:stack", {"id", "@frames"}},
    [REP_THREAD] = {"meshward:thread", {"arena"}},
    [REP_BIN_INFO] = {"lttng_ust_statedump:bin_info", {"baddr", "memsz", "$path"}},
    [REP_DLOPEN] = {"lttng_ust_dl:dlopen", {"baddr", "memsz", "$path"}},
    [REP_DLMOPEN] = {"lttng_ust_dl:dlmopen", {"baddr", "memsz", "$path"}},
    [REP_DLCLOSE] = {"lttng_ust_dl:dlclose", {"baddr"}},
    [REP_PROCNAME] = {"lttng_ust_statedump:procname", {"$procname"}},
};

int rep_kind_by_name(const char *name) {
    for (int k = 0; k < REP_NKINDS; k++)
        if (strcmp(rep_kinds[k].name, name) == 0) return k;
    return -1;
}
