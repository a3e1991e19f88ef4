/* write_after_free.c — a write to a block after it was freed.
 *
 *   then-alloc  writes byte 8 of the freed block (byte 4 of an 8-byte one), then
 *               allocates blocks of its size (up to 4096 of them or 64 MiB, at least
 *               one) so that its slot is handed out again
 *   then-exit   the same write, then the program exits: the slot is never reused
 *   realloc     realloc moves the block to twice its size, byte 8 of the old address is
 *               written, then blocks of its size are allocated as in then-alloc (does not
 *               apply when the block grew in place)
 */
#include "catalog.h"

#include <stdlib.h>

#define AGAIN_MAX 4096
#define AGAIN_BYTES (64u << 20)

static void *write_freed(size_t n) {
    unsigned char *p = victim_malloc(n);
    free(p);
    catalog_poke((unsigned char *)catalog_opaque(p) + (n < 16 ? n / 2 : 8), 'x');
    return p;
}

/* Allocates blocks of n bytes (up to AGAIN_MAX or AGAIN_BYTES, at least one), then frees
 * them: a freed slot of that size is handed out again. */
static void reuse(size_t n) {
    static void *blocks[AGAIN_MAX];
    size_t count = AGAIN_BYTES / n < AGAIN_MAX ? AGAIN_BYTES / n : AGAIN_MAX;
    if (count == 0) count = 1;
    for (size_t i = 0; i < count; i++)
        blocks[i] = malloc(n);
    for (size_t i = 0; i < count; i++)
        free(blocks[i]);
}

static int then_alloc(size_t n) {
    write_freed(n);
    reuse(n);
    return 0;
}

static int after_realloc(size_t n) {
    unsigned char *p = victim_malloc(n);
    void *next = malloc(n); /* likely where p would grow into: p moves */
    unsigned char *q = victim_realloc(p, 2 * n);
    free(next);
    if (q == p) {
        free(q);
        return CATALOG_NOT_APPLICABLE;
    }
    catalog_poke((unsigned char *)catalog_opaque(p) + (n < 16 ? n / 2 : 8), 'x');
    reuse(n);
    free(q);
    return 0;
}

static int then_exit(size_t n) {
    write_freed(n);
    return 0;
}

static const catalog_case_t cases[] = {
    {"then-alloc", then_alloc}, {"then-exit", then_exit}, {"realloc", after_realloc}};
CATALOG_MAIN(cases)
