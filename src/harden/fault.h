/* harden/fault.h — the SIGSEGV handler that turns faults on meshward's protected memory
 * into reports (both builds; installed by the hardened build, and by production when
 * sampling is on). The program keeps its own SIGSEGV handling: sigaction() and signal() for
 * SIGSEGV are interposed, so the program's handler is recorded and called for every fault
 * that is not ours, and sigaction() returns it as the current one. A fault of ours is
 * reported (allocation and free history included), then SIGSEGV's default action is
 * restored and the faulting access retried, so the process dies of SIGSEGV. */
#ifndef MW_HARDEN_FAULT_H
#define MW_HARDEN_FAULT_H

#include "common.h"

void mw_fault_install(void);

#endif
