/* malloc_zero.c — access to the block malloc(0) returned (it holds no byte at all).
 *
 *   read   reads its first byte
 *   write  writes its first byte
 * These ignore the regime. The block is then freed.
 */
#include "catalog.h"

#include <stdlib.h>

static int read_zero(size_t n) {
    (void)n;
    void *p = victim_malloc(0);
    if (!p) return 0;
    catalog_peek(catalog_opaque(p));
    free(p);
    return 0;
}

static int write_zero(size_t n) {
    (void)n;
    void *p = victim_malloc(0);
    if (!p) return 0;
    catalog_poke(catalog_opaque(p), 'x');
    free(p);
    return 0;
}

static const catalog_case_t cases[] = {{"read", read_zero}, {"write", write_zero}};
CATALOG_MAIN(cases)
