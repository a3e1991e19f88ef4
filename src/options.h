/* options.h — MESHWARD_* options: one table (name, default, range, meaning) read from the
 * environment at start-up, then readable and settable with mw_option_get/set. Values are
 * plain words read without locks; a change takes effect at the next use of the option. */
#ifndef MW_OPTIONS_H
#define MW_OPTIONS_H

#include "common.h"

void mw_options_init(void);    /* reads the environment; getenv does not allocate */
void mw_options_print(int fd); /* one line per option, without allocating */

#include <meshward.h>

/* A numeric option's value on a hot path: one load (valid once mw_options_init ran, which
 * mw_init does before any heap exists). */
MW_HIDDEN extern long mw_option_values[MW_OPTION_COUNT];
mw_inline long mw_option_now(mw_option_t o) {
    return mw_option_values[o];
}

#endif
