/* allocator.h — what a test needs to know about the allocator it was linked with.
 *
 * Every API, stress and fork test is built once per meshward variant (allocator_ours.c)
 * and once against the system allocator (allocator_system.c). The system build checks the
 * tests themselves: an expectation that glibc does not meet is a broken test, not a bug.
 * The meshward builds first prove that the malloc they call really is meshward's. */
#ifndef MW_TEST_ALLOCATOR_H
#define MW_TEST_ALLOCATOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

/* "meshward" or "system". */
extern const char *const allocator_name;

/* Whether p (from malloc) belongs to the allocator under test, as opposed to some other
 * malloc that won the symbol resolution. */
bool allocator_owns(void *p);

/* Hands unused memory back: mw_collect(true) for meshward, malloc_trim(0) otherwise. */
void allocator_collect(void);

/* Whether aligned_alloc rejects an alignment that is not a power of two with EINVAL:
 * meshward does, as glibc does since 2.38 (older glibc rounds the alignment up). */
bool allocator_rejects_bad_alignment(void);

/* free_sized and free_aligned_sized (C23), or NULL where the system has none. */
typedef void (*free_sized_fn)(void *ptr, size_t size);
typedef void (*free_aligned_sized_fn)(void *ptr, size_t alignment, size_t size);
free_sized_fn allocator_free_sized(void);
free_aligned_sized_fn allocator_free_aligned_sized(void);

/* A CMocka group setup: refuses to run a group when malloc is not the allocator under test
 * (a static link that picked the C library's malloc would otherwise pass vacuously). */
static inline int allocator_group_setup(void **state) {
    (void)state;
    void *p = malloc(100);
    bool ours = allocator_owns(p);
    free(p);
    if (!ours) fprintf(stderr, "malloc is not the %s allocator\n", allocator_name);
    return ours ? 0 : -1;
}

#endif
