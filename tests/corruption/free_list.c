/* free_list.c — a corrupted free list: after freeing two blocks, a then p (so that, in a
 * LIFO list, p's link leads somewhere), the program overwrites the first word of p (where
 * many allocators keep the free-list link) with the address of a static array, as a heap
 * exploit does to have malloc return memory of its choosing, then allocates 8 blocks of the
 * same size, writing the first byte of each.
 *
 *   link  the case above (slab regimes, 8 and 4k, only: a region or huge block holds no
 *         in-block link in the allocators compared)
 */
#include "catalog.h"

#include <stdint.h>
#include <stdlib.h>

#define AFTER 8

static int corrupt_link(size_t n) {
    static unsigned char target[64];
    void *blocks[AFTER];
    if (n > 4096) return CATALOG_NOT_APPLICABLE;
    void *a = victim_malloc(n);
    uintptr_t *p = victim_malloc(n);
    free(a);
    free(p);
    *(volatile uintptr_t *)catalog_opaque(p) = (uintptr_t)target;
    for (size_t i = 0; i < AFTER; i++) {
        blocks[i] = malloc(n);
        catalog_poke(blocks[i], 'x');
    }
    for (size_t i = 0; i < AFTER; i++)
        free(blocks[i]);
    return 0;
}

static const catalog_case_t cases[] = {{"link", corrupt_link}};
CATALOG_MAIN(cases)
