/* catalog.h — what every program of the corruption catalog shares.
 *
 * Each program holds the cases of one bug class; `PROG CASE REGIME` runs one case with a
 * block of the regime's size (8 = 8 B, 4k = 4 KiB, 256k = 256 KiB, 80m = 80 MiB; the
 * first two are slabs, 256k a region, 80m a huge object). A case commits its one bug and
 * otherwise behaves as a correct program: when nothing stops it, it prints
 * "catalog: ran to the end" and main returns 0. Exit status 2 means bad arguments,
 * 77 that the case does not apply (to this regime, or to an allocator lacking free_sized).
 *
 * Blocks under test come from the victim_* functions: noinline, never tail calls, so that
 * the return address an allocator records for the block's history lies inside them and a
 * report names them.
 */
#ifndef MW_CATALOG_H
#define MW_CATALOG_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CATALOG_NOT_APPLICABLE 77

typedef struct catalog_case {
    const char *name;
    /* Runs the case on a block of n bytes; returns 0, or CATALOG_NOT_APPLICABLE. */
    int (*run)(size_t n);
} catalog_case_t;

/* Parses `CASE REGIME`, runs the case, prints the end marker; returns the exit status. */
int catalog_main(int argc, char **argv, const catalog_case_t *cases, size_t count);

/* The allocating functions whose names the reports' history lines must show. */
void *victim_malloc(size_t n);
void *victim_realloc(void *p, size_t n);
void *victim_new(size_t n);       /* ::operator new(n) (C++ programs only) */
void *victim_new_array(size_t n); /* ::operator new[](n) (C++ programs only) */

/* Returns p unchanged, through a call the compiler cannot see into: it keeps the compiler
 * from reasoning about (warning about, folding or dropping) the bug that follows. */
void *catalog_opaque(void *p);
/* The same for a size or an offset. */
size_t catalog_opaque_size(size_t n);

/* Writes one byte through a volatile access (the write is never optimised away). */
void catalog_poke(void *p, unsigned char value);
/* Reads one byte through a volatile access. */
unsigned char catalog_peek(const void *p);
/* A linear overflow running far past the end of the n-byte block p, as a runaway memset
 * would: one byte per page, up to 16 MiB past it (a guard page stops it first). */
void catalog_overrun(void *p, size_t n);

#ifdef __cplusplus
}
#endif

#define CATALOG_MAIN(cases)                                                                        \
    int main(int argc, char **argv) {                                                              \
        return catalog_main(argc, argv, cases, sizeof(cases) / sizeof(cases[0]));                  \
    }

#endif
