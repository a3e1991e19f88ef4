/* mesh/barrier.c — the write barrier (see barrier.h) and its half of the SIGSEGV handler.
 *
 * A fault is ours when it lies in the arena and a copy is running (busy), or when one ended
 * between the fault and the handler's look: a thread retries a given address once without a
 * running copy, and a second fault there is the program's own (a guard page, say), which the
 * handler passes on. */
#include "mesh/barrier.h"

#include "arena/arena.h"
#include "harden/fault.h"
#include "mesh/mesh.h"

#include <sched.h>
#include <stdatomic.h>

static atomic_uint busy;
static atomic_bool armed;                 /* the handler is installed and meshes happen */
static __thread const void *retried_once; /* the address this thread last retried idle */

void mw_mesh_barrier_begin(void) {
    if (!atomic_load_explicit(&armed, memory_order_relaxed)) {
        mw_fault_install();
        atomic_store(&armed, true);
    }
    atomic_fetch_add(&busy, 1);
}

void mw_mesh_barrier_end(void) {
    atomic_fetch_sub(&busy, 1);
}

void mw_mesh_barrier_reset(void) {
    atomic_store(&busy, 0);
}

bool mw_mesh_fault(const void *addr) {
    if (!atomic_load_explicit(&armed, memory_order_relaxed) || !mw_arena_owns(addr)) return false;
    if (atomic_load(&busy)) {
        while (atomic_load(&busy))
            sched_yield();
        retried_once = addr;
        return true;
    }
    if (retried_once != addr) {
        retried_once = addr;
        return true;
    }
    retried_once = NULL;
    return false;
}
