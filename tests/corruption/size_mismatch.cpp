// size_mismatch.cpp — a block released with a size other than the one it was allocated
// with, 2n + 64 bytes (always another size class).
//
//   free-sized    free_sized(p, wrong) of a malloc'd block; free_sized (C23) is looked up
//                 at run time: without it (glibc 2.36) the case does not apply (77)
//   sized-delete  operator delete(p, wrong) of an operator new block
#include "catalog.h"

#include <dlfcn.h>
#include <new>

static size_t wrong_size(size_t n) {
    return catalog_opaque_size(2 * n + 64);
}

static int free_sized(size_t n) {
    auto fn = reinterpret_cast<void (*)(void *, size_t)>(dlsym(RTLD_DEFAULT, "free_sized"));
    if (!fn) return CATALOG_NOT_APPLICABLE;
    fn(victim_malloc(n), wrong_size(n));
    return 0;
}

static int sized_delete(size_t n) {
    ::operator delete(victim_new(n), wrong_size(n));
    return 0;
}

static const catalog_case_t cases[] = {{"free-sized", free_sized}, {"sized-delete", sized_delete}};
CATALOG_MAIN(cases)
