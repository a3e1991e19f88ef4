// mismatched_free.cpp — a block released by the wrong family of deallocation.
//
//   new-array-delete  operator new[] released with operator delete
//   new-delete-array  operator new released with operator delete[]
//   new-free          operator new released with free
//   malloc-delete     malloc released with operator delete
// The operators are called by name: that is what `new`, `delete` and their array forms
// come down to for a trivially destructible type (less the size argument of sized
// deallocation), without letting the compiler see (and warn about) the mismatch.
#include "catalog.h"

#include <cstdlib>
#include <new>

static int new_array_delete(size_t n) {
    ::operator delete(catalog_opaque(victim_new_array(n)));
    return 0;
}

static int new_delete_array(size_t n) {
    ::operator delete[](catalog_opaque(victim_new(n)));
    return 0;
}

static int new_free(size_t n) {
    std::free(catalog_opaque(victim_new(n)));
    return 0;
}

static int malloc_delete(size_t n) {
    ::operator delete(catalog_opaque(victim_malloc(n)));
    return 0;
}

static const catalog_case_t cases[] = {{"new-array-delete", new_array_delete},
                                       {"new-delete-array", new_delete_array},
                                       {"new-free", new_free},
                                       {"malloc-delete", malloc_delete}};
CATALOG_MAIN(cases)
