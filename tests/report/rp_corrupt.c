/* rp_corrupt.c — records a `meshward:corruption` event through meshward's own provider (as
 * the hardened build does before it aborts) about a block with a known history: allocated
 * at first_alloc, moved by a realloc at move_block, freed at release. For test_report.py
 * corruption, which checks that the report's history of the block names those sites.
 * Its own tracepoint call site (dynamic linkage) reaches the probe libmeshward-tp.so that
 * `meshward trace` preloads. Prints the lines of the three calls and the block. */
#define LTTNG_UST_TRACEPOINT_DEFINE
#define LTTNG_UST_TRACEPOINT_PROBE_DYNAMIC_LINKAGE
#include "meshward_tp.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define NOINLINE __attribute__((noinline))
/* The call, with its line stored in var (one line: __LINE__ is the call's). */
#define AT(var, call) ((var) = __LINE__, call)
static int line_first, line_move, line_release;

NOINLINE static void *first_alloc(void) {
    return AT(line_first, malloc(48));
}
NOINLINE static void *move_block(void *p) {
    return AT(line_move, realloc(p, 20000));
}
NOINLINE static void release(void *p) {
    AT(line_release, free(p));
}

int main(void) {
    void *p = move_block(first_alloc());
    uintptr_t addr = (uintptr_t)p;
    release(p);
    lttng_ust_tracepoint(meshward, corruption, "double free", addr,
                         "free of a block that is not live", __builtin_return_address(0));
    printf("first_alloc %d\nmove_block %d\nrelease %d\nblock %#lx\n", line_first, line_move,
           line_release, (unsigned long)addr);
    return 0;
}
