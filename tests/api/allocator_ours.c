/* allocator_ours.c — allocator.h for a test linked statically with a meshward variant.
 * Ownership is checked through mw_usable_size, which answers 0 for any pointer meshward
 * did not hand out, against malloc_usable_size, which the test's malloc family answers. */
#include "allocator.h"

#include <malloc.h>
#include <stdlib.h>

#include "meshward.h"

/* The C23 declarations, for a C library whose headers predate them. */
void free_sized(void *ptr, size_t size);
void free_aligned_sized(void *ptr, size_t alignment, size_t size);

const char *const allocator_name = "meshward";

bool allocator_owns(void *p) {
    size_t ours = mw_usable_size(p);
    return ours != 0 && ours == malloc_usable_size(p);
}

void allocator_collect(void) {
    mw_collect(true);
}

bool allocator_rejects_bad_alignment(void) {
    return true;
}

free_sized_fn allocator_free_sized(void) {
    return free_sized;
}

free_aligned_sized_fn allocator_free_aligned_sized(void) {
    return free_aligned_sized;
}
