/* usable_size.c — malloc_usable_size of a pointer that is not a live block.
 *
 *   freed     malloc_usable_size(p) after free(p)
 *   interior  malloc_usable_size(p + 16) (p + 4 for an 8-byte block); the block is then
 *             freed
 * The result is printed, so the call cannot be dropped.
 */
#include "catalog.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>

static int freed(size_t n) {
    void *p = victim_malloc(n);
    free(p);
    printf("usable size %zu\n", malloc_usable_size(catalog_opaque(p)));
    return 0;
}

static int interior(size_t n) {
    unsigned char *p = victim_malloc(n);
    printf("usable size %zu\n",
           malloc_usable_size((unsigned char *)catalog_opaque(p) + (n < 32 ? n / 2 : 16)));
    free(p);
    return 0;
}

static const catalog_case_t cases[] = {{"freed", freed}, {"interior", interior}};
CATALOG_MAIN(cases)
