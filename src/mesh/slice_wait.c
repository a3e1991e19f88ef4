/* mesh/slice_wait.c — waiting for another thread's slice (see slice_wait.h). slice_seq is
 * the futex word: a waiter reads it before it finds the lock held, so an end that comes in
 * between changes it and the wait returns at once. */
#include "mesh/slice_wait.h"

#include "os.h"

#include <sched.h>
#include <stdatomic.h>

static _Atomic bool slicing;
static _Atomic uint32_t slice_seq;

void mw_mesh_slice_begin(void) {
    atomic_store_explicit(&slicing, true, memory_order_release);
}

void mw_mesh_slice_end(void) {
    atomic_store_explicit(&slicing, false, memory_order_release);
    atomic_fetch_add_explicit(&slice_seq, 1, memory_order_release);
    mw_os_wake_all(&slice_seq);
}

uint64_t mw_mesh_slice_wait(mw_lock_t *lock, uint64_t max_ns) {
    uint64_t t0 = mw_os_now_ns(), waited = 0;
    while (waited < max_ns) {
        uint32_t seq = atomic_load_explicit(&slice_seq, memory_order_acquire);
        if (mw_trylock(lock)) return waited;
        if (atomic_load_explicit(&slicing, memory_order_acquire))
            mw_os_wait(&slice_seq, seq, max_ns - waited);
        else
            sched_yield(); /* the holder is about to slice, or just did */
        waited = mw_os_now_ns() - t0;
    }
    return waited;
}
