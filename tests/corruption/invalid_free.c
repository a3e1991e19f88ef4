/* invalid_free.c — free() of a pointer that is not the start of a live block.
 *
 *   interior   16 bytes into the block (4 into an 8-byte one)
 *   kib        3 KiB into the block (blocks of 4 KiB and more)
 *   past-end   just past its end (p + n)
 *   unaligned  p + 1
 *   stack, alloca, static, mmap, unmapped
 *              memory that never came from malloc: a local array, alloca, a static
 *              array, a page the program mapped itself, a page it unmapped (these
 *              ignore the regime)
 * The block itself is then freed correctly.
 */
#include "catalog.h"

#include <alloca.h>
#include <stdlib.h>
#include <sys/mman.h>

#define FOREIGN 64

static int free_at(size_t n, size_t offset) {
    unsigned char *p = victim_malloc(n);
    free((unsigned char *)catalog_opaque(p) + offset);
    free(p);
    return 0;
}

static int interior(size_t n) {
    return free_at(n, n < 32 ? n / 2 : 16);
}

static int kib(size_t n) {
    return n > 3072 ? free_at(n, 3072) : CATALOG_NOT_APPLICABLE;
}

static int past_end(size_t n) {
    return free_at(n, n);
}

static int unaligned(size_t n) {
    return free_at(n, 1);
}

static int stack(size_t n) {
    (void)n;
    char buf[FOREIGN];
    catalog_poke(buf, 1);
    free(catalog_opaque(buf));
    return 0;
}

static int on_alloca(size_t n) {
    (void)n;
    char *buf = alloca(FOREIGN);
    catalog_poke(buf, 1);
    free(catalog_opaque(buf));
    return 0;
}

static int on_static(size_t n) {
    (void)n;
    static char buf[FOREIGN];
    free(catalog_opaque(buf));
    return 0;
}

static int on_mmap(size_t n) {
    (void)n;
    void *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (page == MAP_FAILED) return 1;
    free(catalog_opaque(page));
    munmap(page, 4096);
    return 0;
}

static int unmapped(size_t n) {
    (void)n;
    void *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (page == MAP_FAILED) return 1;
    munmap(page, 4096);
    free(catalog_opaque(page));
    return 0;
}

static const catalog_case_t cases[] = {
    {"interior", interior},   {"kib", kib},      {"past-end", past_end},
    {"unaligned", unaligned}, {"stack", stack},  {"alloca", on_alloca},
    {"static", on_static},    {"mmap", on_mmap}, {"unmapped", unmapped}};
CATALOG_MAIN(cases)
