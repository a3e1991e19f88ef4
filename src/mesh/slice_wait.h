/* mesh/slice_wait.h — waiting for the slice of a pass another thread runs (pass.c): the
 * slicer brackets each slice (begin with the pass lock held, end once it dropped it), and a
 * thread whose heap owes the pass sleeps on a futex while a slice runs, until it can take
 * the pass lock itself. So a program whose threads freed much gives meshing the share of
 * its time a single-threaded program does (threads that ran on would end their work before
 * the pass could mesh what they gave, and their writes during the copies make each mesh
 * dearer), and no call waits longer than it is told. */
#ifndef MW_MESH_SLICE_WAIT_H
#define MW_MESH_SLICE_WAIT_H

#include "common.h"
#include "lock.h"

/* With lock held: a slice starts (waiters sleep from now). */
void mw_mesh_slice_begin(void);
/* After lock was dropped: the slice ended; the waiters wake to a free lock. */
void mw_mesh_slice_end(void);
/* Takes lock, sleeping while slices run (yielding while its holder is between slices), for
 * at most max_ns; returns the time waited: below max_ns with lock held, else without it. */
uint64_t mw_mesh_slice_wait(mw_lock_t *lock, uint64_t max_ns);

#endif
