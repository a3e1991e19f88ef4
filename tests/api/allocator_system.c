/* allocator_system.c — allocator.h for a test built against the system allocator (glibc),
 * which validates the tests' expectations. free_sized and free_aligned_sized are weak so
 * the test links on a glibc that lacks them (before 2.43) and skips their checks there. */
#include "allocator.h"

#include <gnu/libc-version.h>
#include <malloc.h>
#include <stdio.h>

void free_sized(void *ptr, size_t size) __attribute__((weak));
void free_aligned_sized(void *ptr, size_t alignment, size_t size) __attribute__((weak));

const char *const allocator_name = "system";

bool allocator_owns(void *p) {
    return p != NULL;
}

void allocator_collect(void) {
    malloc_trim(0);
}

bool allocator_rejects_bad_alignment(void) {
    int major = 0, minor = 0;
    sscanf(gnu_get_libc_version(), "%d.%d", &major, &minor);
    return major > 2 || (major == 2 && minor >= 38);
}

free_sized_fn allocator_free_sized(void) {
    return free_sized;
}

free_aligned_sized_fn allocator_free_aligned_sized(void) {
    return free_aligned_sized;
}
