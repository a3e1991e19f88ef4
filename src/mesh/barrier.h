/* mesh/barrier.h — the write barrier. While a mesh copies objects (or a fork copies the
 * mesh file), the source pages are read-only; a thread that writes there faults, and the
 * SIGSEGV handler (harden/fault.c) asks mw_mesh_fault, which waits for the copy to end and
 * has the write retried through the new mapping. Reads never fault. A write by the kernel
 * on the program's behalf (read(2) into a block being meshed) fails with EFAULT instead:
 * a mesh keeps each span read-only for a few microseconds only. */
#ifndef MW_MESH_BARRIER_H
#define MW_MESH_BARRIER_H

#include "common.h"

/* Brackets every change of protections or mappings of live objects (calls may nest). */
void mw_mesh_barrier_begin(void);
void mw_mesh_barrier_end(void);
/* For the forked child: no copy is running there. */
void mw_mesh_barrier_reset(void);

#endif
