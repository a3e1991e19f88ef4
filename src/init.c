/* init.c — the once-only start-up, the fork handlers and the exit-time report (see init.h).
 *
 * Order matters: options first (everything reads them), then the arena (allocation works
 * from here on), then the pthread key and fork handlers, which may allocate and re-enter
 * malloc on this thread; by then that is safe. Another thread arriving while this runs
 * waits for it. */
#include "init.h"
#include "alloc.h"
#include "arena/arena.h"
#include "heap_large.h"
#include "huge.h"
#include "mesh/mesh.h"
#include "meta.h"
#include "options.h"
#include "os.h"
#include "region/region.h"
#include "thread.h"
#include "harden/fault.h"
#include "harden/harden.h"
#include "harden/record.h"
#include "harden/sample.h"

#include <meshward.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <unistd.h>

_Atomic int mw_init_state;
static _Atomic int init_owner; /* tid of the thread running init */

static void fork_prepare(void) {
    mw_mesh_fork_prepare();
    mw_heap_fork_prepare();
    mw_heap_large_fork_prepare();
    mw_region_fork_prepare();
    mw_huge_fork_prepare();
    mw_arena_fork_prepare();
    mw_meta_fork_prepare();
    mw_mesh_fork_freeze();
}

static void fork_parent(void) {
    mw_mesh_fork_parent();
    mw_meta_fork_parent();
    mw_arena_fork_parent();
    mw_huge_fork_parent();
    mw_region_fork_parent();
    mw_heap_large_fork_parent();
    mw_heap_fork_parent();
}

static void fork_child(void) {
    mw_meta_fork_child();
    mw_arena_fork_child();
    mw_huge_fork_child();
    mw_region_fork_child();
    mw_heap_large_fork_child();
    mw_heap_fork_child();
    mw_rec_fork_child();
    mw_mesh_fork_child();
}

static void init_fail(const char *what) {
    mw_write_str(2, "meshward: error: cannot start: ");
    mw_write_str(2, what);
    mw_write_str(2, "\n");
    abort();
}

void mw_init_slow(void) {
    int expected = 0;
    int me = mw_os_tid();
    if (!atomic_compare_exchange_strong(&mw_init_state, &expected, 1)) {
        if (expected == 1 && init_owner == me) return; /* re-entered from our own init */
        while (mw_init_state != 2)
            sched_yield();
        return;
    }
    init_owner = me;
    mw_options_init();
    if (mw_os_page_size() != MW_PAGE_SIZE) init_fail("the page size is not 4096 bytes");
    if (!mw_arena_init() && mw_option_get(MW_OPTION_VERBOSE))
        mw_write_str(2, "meshward: notice: no address space for slabs; small allocations "
                        "will fail with ENOMEM\n");
    mw_arena_options_init();
#if MW_HARDENED
    mw_hd_init();
#endif
    mw_sample_init();
    if (mw_sample_rate) mw_fault_install();
    mw_alloc_settle_hooks();
    mw_thread_init();
    pthread_atfork(fork_prepare, fork_parent, fork_child);
    mw_init_state = 2;
    if (mw_option_get(MW_OPTION_VERBOSE)) mw_options_print(2);
}

/* At load, so that options (MESHWARD_STATS among them) and the hardened build's checks and
 * fault handler are in place even in a program that frees before it allocates, or never
 * allocates at all. */
__attribute__((constructor)) static void at_load(void) {
    mw_init();
}

__attribute__((destructor)) static void at_exit(void) {
    if (mw_init_state == 2 && mw_option_get(MW_OPTION_STATS)) mw_stats_print(2);
}
