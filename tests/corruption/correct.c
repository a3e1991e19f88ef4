/* correct.c — a correct program, for the no-false-positive check: every allocation call
 * of the malloc family on blocks of the regime's size and of a spread of small sizes,
 * every byte malloc_usable_size grants written, blocks freed by other threads, slots
 * recycled many times over (past any quarantine), and mw_heap_check() when the
 * allocator has it. Any report, or any failed check here (exit 1), is a false positive.
 *
 *   mixed  the program above
 */
#include "catalog.h"

#include <dlfcn.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SMALL_ROUNDS 20000
#define SLOTS 64
#define BIG (1u << 20)

/* Writes every usable byte (the whole block for blocks up to 1 MiB, else both ends). */
static void fill(unsigned char *p, size_t n) {
    if (n <= BIG) {
        memset(p, 0xa5, n);
        return;
    }
    memset(p, 0xa5, 4096);
    memset(p + n - 4096, 0xa5, 4096);
}

static int is_zero(const unsigned char *p, size_t n) {
    for (size_t i = 0; i < n && i < BIG; i++)
        if (p[i]) return 0;
    return 1;
}

static int family(size_t n) {
    unsigned char *p = victim_malloc(n);
    fill(p, malloc_usable_size(p));
    p = realloc(p, 2 * n);
    if (!p || p[n - 1] != 0xa5) return 1;
    fill(p, malloc_usable_size(p));
    p = realloc(p, n + n / 2); /* shrinks within its kind (a huge block: in place) */
    if (!p || p[0] != 0xa5) return 1;
    p = realloc(p, n / 2 + 1);
    free(p);
    unsigned char *z = calloc(1, n);
    if (!z || !is_zero(z, n)) return 1;
    free(z);
    void *a = NULL;
    if (posix_memalign(&a, 64, n) || (uintptr_t)a % 64) return 1;
    fill(a, n);
    free(a);
    /* C11 wants the size a multiple of the alignment (Scudo enforces it). */
    a = aligned_alloc(4096, (n + 4095) & ~(size_t)4095);
    if (!a || (uintptr_t)a % 4096) return 1;
    free(a);
    free(victim_malloc(0));
    free(NULL);
    return 0;
}

/* Blocks of 1 to 512 bytes in a table of SLOTS, replaced at random many times. */
static int recycle(void) {
    unsigned char *slots[SLOTS] = {0};
    unsigned seed = 1;
    for (size_t i = 0; i < SMALL_ROUNDS; i++) {
        seed = seed * 1103515245u + 12345u;
        size_t s = (seed >> 8) % SLOTS, size = 1 + (seed >> 16) % 512;
        free(slots[s]);
        slots[s] = malloc(size);
        if (!slots[s]) return 1;
        memset(slots[s], (int)s, size);
    }
    for (size_t s = 0; s < SLOTS; s++)
        free(slots[s]);
    return 0;
}

static void *free_there(void *p) {
    free(p);
    return NULL;
}

static int remote_free(size_t n) {
    pthread_t t;
    void *p = victim_malloc(n);
    fill(p, n);
    if (pthread_create(&t, NULL, free_there, p)) return 1;
    return pthread_join(t, NULL) ? 1 : 0;
}

static int heap_check(void) {
    int (*check)(void) = (int (*)(void))dlsym(RTLD_DEFAULT, "mw_heap_check");
    return check ? check() != 0 : 0;
}

static int mixed(size_t n) {
    if (family(n) || recycle() || remote_free(n) || heap_check()) return 1;
    printf("catalog: correct program done\n");
    return 0;
}

static const catalog_case_t cases[] = {{"mixed", mixed}};
CATALOG_MAIN(cases)
