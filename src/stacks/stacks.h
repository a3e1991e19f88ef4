/* stacks/stacks.h — the call stacks of a trace: each traced allocation, free, realloc and
 * corruption names its stack by an id, and the `stack` event that says what an id holds is
 * recorded once per process, the first time that stack is seen (stacks/stacks.c). */
#ifndef MW_TRACE_STACKS_H
#define MW_TRACE_STACKS_H

#include "common.h"
#include <stdint.h>

/* Without MESHWARD_TRACE_STACKS a stack is its call site alone, and each thread keeps the
 * ids of its latest call sites here, indexed by mw_trace_site_slot(ip) (initial-exec TLS: no
 * allocation), so that a repeated site costs one compare and no call. Filled by
 * stacks/stacks.c only while the `stack` event is enabled and stacks are call sites (an id
 * stays valid for the process: a cached one is given even once `stack` is disabled). */
enum { MW_TRACE_SITE_CACHE = 16 }; /* a power of two */
struct mw_trace_site {
    void *ip;
    uint32_t id;
};
MW_HIDDEN extern __thread struct mw_trace_site mw_trace_sites[MW_TRACE_SITE_CACHE]
    __attribute__((tls_model("initial-exec")));

mw_inline struct mw_trace_site *mw_trace_site_slot(void *ip) {
    return &mw_trace_sites[((uintptr_t)ip >> 2) & (MW_TRACE_SITE_CACHE - 1)];
}

/* The id of the stack of the event being recorded at ip (the return address of the
 * allocator's entry point): with MESHWARD_TRACE_STACKS=DEPTH the program's whole stack up to
 * DEPTH frames from ip outwards, otherwise ip alone. Records the `stack` event when the
 * stack is new to this process. 0: no id (the `stack` event is not enabled, or the
 * dictionary is full). Called only by the emitters, inside their nesting guard. */
uint32_t mw_trace_stack(void *ip);

/* mw_trace_stack(ip), through this thread's cache of call sites first. */
mw_inline uint32_t mw_trace_stack_id(void *ip) {
    struct mw_trace_site *c = mw_trace_site_slot(ip);
    return mw_likely(c->ip == ip) ? c->id : mw_trace_stack(ip);
}

#endif
