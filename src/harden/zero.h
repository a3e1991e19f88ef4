/* harden/zero.h — zero-size blocks (hardened build): malloc(0) returns a distinct address
 * inside one PROT_NONE range, so every read or write through it faults. A bitmap (out of
 * line) says which addresses are live; their records live in the large-block table. */
#ifndef MW_HARDEN_ZERO_H
#define MW_HARDEN_ZERO_H

#include "common.h"

bool mw_zero_owns(const void *p); /* by address range alone; false before the first use */
void *mw_zero_alloc(void);        /* NULL when the range is exhausted or cannot be reserved */
void mw_zero_free(void *p);       /* p is a live zero-size block */

#endif
