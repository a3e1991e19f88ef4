/* overflow.c — heap overflow and underflow: writes just outside a block, then frees it.
 *
 *   small      writes the 3 bytes past the end of the block
 *   underflow  writes the byte before its start (p[-1])
 *   grown      the same past the end of a block realloc grew by an eighth (a huge
 *              block grows by mremap: its canary and guard page must move with it)
 *   far        a linear overflow running far past the end: one byte per page, up to
 *              16 MiB past the block, as a runaway memset would (a guard page stops it)
 */
#include "catalog.h"

#include <stdlib.h>

static int small(size_t n) {
    unsigned char *p = victim_malloc(n);
    size_t end = catalog_opaque_size(n);
    for (size_t i = 0; i < 3; i++)
        catalog_poke(p + end + i, 'x');
    free(p);
    return 0;
}

static int grown(size_t n) {
    unsigned char *p = victim_realloc(victim_malloc(n - n / 8), n);
    size_t end = catalog_opaque_size(n);
    for (size_t i = 0; i < 3; i++)
        catalog_poke(p + end + i, 'x');
    free(p);
    return 0;
}

static int underflow(size_t n) {
    unsigned char *p = victim_malloc(n);
    catalog_poke((unsigned char *)catalog_opaque(p) - 1, 'x');
    free(p);
    return 0;
}

static int far(size_t n) {
    unsigned char *p = victim_malloc(n);
    catalog_overrun(p, n);
    free(p);
    return 0;
}

static const catalog_case_t cases[] = {
    {"small", small}, {"grown", grown}, {"underflow", underflow}, {"far", far}};
CATALOG_MAIN(cases)
