/* trace_stacks.h — the call stacks of a trace: each traced allocation, free, realloc and
 * corruption names its stack by an id, and the `stack` event that says what an id holds is
 * recorded once per process, the first time that stack is seen (trace_stacks.c). */
#ifndef MW_TRACE_STACKS_H
#define MW_TRACE_STACKS_H

#include <stdint.h>

/* The id of the stack of the event being recorded at ip (the return address of the
 * allocator's entry point): with MESHWARD_TRACE_STACKS=DEPTH the program's whole stack up to
 * DEPTH frames from ip outwards, otherwise ip alone. Records the `stack` event when the
 * stack is new to this process. 0: no id (the `stack` event is not enabled, or the
 * dictionary is full). Called only by the emitters, inside their nesting guard. */
uint32_t mw_trace_stack(void *ip);

#endif
