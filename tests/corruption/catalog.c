/* catalog.c — the shared driver of the corruption catalog: argument parsing, the regimes,
 * the victim allocator of C programs and the helpers that hide a bug from the compiler.
 * Invariant: nothing here has a heap bug; victim_malloc and victim_realloc are the only
 * call sites of malloc and realloc whose blocks a case corrupts.
 */
#include "catalog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *name;
    size_t size;
} regimes[] = {{"8", 8}, {"4k", 4096}, {"256k", 256 * 1024}, {"80m", 80u << 20}};

__attribute__((noinline)) void *victim_malloc(size_t n) {
    void *p = malloc(n);
    /* The empty asm uses p after the call, so the call cannot become a tail jump that
     * would leave victim_malloc out of the recorded return address. */
    __asm__ volatile("" : "+r"(p)::"memory");
    return p;
}

__attribute__((noinline)) void *victim_realloc(void *p, size_t n) {
    void *q = realloc(p, n);
    __asm__ volatile("" : "+r"(q)::"memory"); /* as in victim_malloc */
    return q;
}

__attribute__((noinline)) void *catalog_opaque(void *p) {
    __asm__ volatile("" : "+r"(p)::"memory");
    return p;
}

__attribute__((noinline)) size_t catalog_opaque_size(size_t n) {
    __asm__ volatile("" : "+r"(n)::"memory");
    return n;
}

void catalog_poke(void *p, unsigned char value) {
    *(volatile unsigned char *)p = value;
}

unsigned char catalog_peek(const void *p) {
    return *(const volatile unsigned char *)p;
}

void catalog_overrun(void *p, size_t n) {
    unsigned char *end = (unsigned char *)catalog_opaque(p) + n;
    for (size_t i = 0; i < ((size_t)16 << 20); i += 4096)
        catalog_poke(end + i, 'x');
}

static int usage(const char *prog, const catalog_case_t *cases, size_t count) {
    fprintf(stderr, "usage: %s CASE REGIME\ncases:", prog);
    for (size_t i = 0; i < count; i++)
        fprintf(stderr, " %s", cases[i].name);
    fprintf(stderr, "\nregimes:");
    for (size_t i = 0; i < sizeof(regimes) / sizeof(regimes[0]); i++)
        fprintf(stderr, " %s", regimes[i].name);
    fprintf(stderr, "\n");
    return 2;
}

int catalog_main(int argc, char **argv, const catalog_case_t *cases, size_t count) {
    if (argc != 3) return usage(argv[0], cases, count);
    const catalog_case_t *c = NULL;
    for (size_t i = 0; i < count && !c; i++)
        if (!strcmp(cases[i].name, argv[1])) c = &cases[i];
    size_t n = 0;
    for (size_t i = 0; i < sizeof(regimes) / sizeof(regimes[0]) && !n; i++)
        if (!strcmp(regimes[i].name, argv[2])) n = regimes[i].size;
    if (!c || !n) return usage(argv[0], cases, count);
    /* Unbuffered, so the marker is not lost to an abort and stdio allocates nothing. */
    setvbuf(stdout, NULL, _IONBF, 0);
    int status = c->run(n);
    if (status == 0) printf("catalog: ran to the end\n");
    return status;
}
