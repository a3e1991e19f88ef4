// size_mismatch.cpp — a block released with a size other than the one it was allocated
// with, 2n + 64 bytes (always another size class).
//
//   free-sized    free_sized(p, wrong) of a malloc'd block; free_sized (C23) is a weak
//                 reference, bound to whatever the process has: without it (glibc 2.36)
//                 the case does not apply (77)
//   sized-delete  operator delete(p, wrong) of an operator new block
#include "catalog.h"

#include <new>

extern "C" void free_sized(void *p, size_t size) __attribute__((weak));

static size_t wrong_size(size_t n) {
    return catalog_opaque_size(2 * n + 64);
}

static int wrong_free_sized(size_t n) {
    if (!free_sized) return CATALOG_NOT_APPLICABLE;
    free_sized(victim_malloc(n), wrong_size(n));
    return 0;
}

static int sized_delete(size_t n) {
    ::operator delete(victim_new(n), wrong_size(n));
    return 0;
}

static const catalog_case_t cases[] = {{"free-sized", wrong_free_sized},
                                       {"sized-delete", sized_delete}};
CATALOG_MAIN(cases)
