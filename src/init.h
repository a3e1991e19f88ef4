/* init.h — process start-up and fork: the once-only initialization (options, arena,
 * thread key, fork handlers), safe to call from any allocation, including the first one
 * made by the dynamic loader or libc before constructors run, and re-entrant from the
 * thread doing it (pthread functions it calls may allocate). */
#ifndef MW_INIT_H
#define MW_INIT_H

#include "common.h"

MW_HIDDEN extern _Atomic int mw_init_state; /* 0 not started, 1 running, 2 done */

void mw_init_slow(void);
mw_inline void mw_init(void) {
    if (mw_unlikely(mw_init_state != 2)) mw_init_slow();
}

#endif
