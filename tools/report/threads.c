/* report/threads.c — the process of each event: `meshward trace` records the allocation
 * events without the vpid context (trace/README.md, "Contexts"); every other event carries
 * both vtid and vpid, and each thread records a `thread` event before its first allocation
 * event. A sink in front of the report's own gives every event that lacks a vpid the vpid
 * of the latest event of its vtid that had one. (A trace recorded without threads has
 * per-process buffers: the readers give its events their trace's vpid, and they pass.)
 *
 * Invariants: an event that carries its vpid is passed on as it is; a thread never seen
 * with a vpid (its `thread` event lost: discarded, or recorded while LTTng was still
 * registering a forked child) is taken for its process's main thread, whose tid is the
 * pid. */
#include "event.h"

/* The vpid of thread vtid: the latest seen, else the main thread's (vtid itself). */
static int32_t pid_of(struct rep_threads *t, int32_t vtid) {
    if (vtid != t->last_tid || t->last_pid == 0) {
        int64_t pid = rep_map_get(&t->pid_of, (uint32_t)vtid);
        t->last_tid = vtid;
        t->last_pid = pid >= 0 ? (int32_t)pid : vtid;
    }
    return t->last_pid;
}

bool rep_threads_sink(void *arg, const struct rep_event *ev) {
    struct rep_threads *t = arg;
    if (ev->vpid != 0) {
        if (ev->vtid != 0 && (ev->vtid != t->last_tid || ev->vpid != t->last_pid)) {
            rep_map_put(&t->pid_of, (uint32_t)ev->vtid, (uint32_t)ev->vpid);
            t->last_tid = ev->vtid;
            t->last_pid = ev->vpid;
        }
        return t->sink(t->arg, ev);
    }
    struct rep_event e = *ev;
    e.vpid = pid_of(t, ev->vtid);
    return t->sink(t->arg, &e);
}
