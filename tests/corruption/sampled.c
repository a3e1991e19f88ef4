/* sampled.c — bugs that only a guarded page catches at the faulting instruction, so a
 * sampling allocator catches them in a share of runs (the runner counts the share):
 *
 *   read-after-free  reads the first byte of a block after freeing it
 *   read-overflow    reads the 32 bytes past the end of a block, then frees it
 * Reads change no byte, so no canary or zero check can see them afterwards.
 */
#include "catalog.h"

#include <stdlib.h>

#define READ_PAST 32

static int read_after_free(size_t n) {
    unsigned char *p = victim_malloc(n);
    free(p);
    catalog_peek(catalog_opaque(p));
    return 0;
}

static int read_overflow(size_t n) {
    unsigned char *p = victim_malloc(n);
    unsigned char *end = (unsigned char *)catalog_opaque(p) + n;
    for (size_t i = 0; i < READ_PAST; i++)
        catalog_peek(end + i);
    free(p);
    return 0;
}

static const catalog_case_t cases[] = {{"read-after-free", read_after_free},
                                       {"read-overflow", read_overflow}};
CATALOG_MAIN(cases)
