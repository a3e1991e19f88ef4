/* invalid_realloc.c — realloc of a pointer that is not a live block.
 *
 *   freed     realloc(p, 2n) after free(p)
 *   interior  realloc(p + 16, 2n) (p + 4 for an 8-byte block); the block is then freed
 */
#include "catalog.h"

#include <stdlib.h>

static int freed(size_t n) {
    void *p = victim_malloc(n);
    free(p);
    free(realloc(catalog_opaque(p), 2 * n));
    return 0;
}

static int interior(size_t n) {
    unsigned char *p = victim_malloc(n);
    free(realloc((unsigned char *)catalog_opaque(p) + (n < 32 ? n / 2 : 16), 2 * n));
    free(p);
    return 0;
}

static const catalog_case_t cases[] = {{"freed", freed}, {"interior", interior}};
CATALOG_MAIN(cases)
