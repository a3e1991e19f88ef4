/* arena/pages.c — the kind of pages a reserved arena gets (see arena.h): hugetlb pages
 * mapped over its part of the range, transparent huge pages advised, or every page
 * populated at once.
 *
 * Invariant: the range stays one reservation with one page map, so a hugetlb arena is
 * mapped with MAP_FIXED over its (aligned) part. A MAP_FIXED map that fails may leave a
 * hole, so the pages are asked for once elsewhere first: a failure then costs nothing, and
 * the rare failure that remains (another process took the pages meanwhile) puts ordinary
 * reserved memory back without replacing anything (MAP_FIXED_NOREPLACE); if even that
 * fails, the part is lost to the arenas (something else may be mapped there now). */
#include "arena/arena.h"
#include "mw_valgrind.h"
#include "os.h"

#include <errno.h>
#include <linux/mman.h>
#include <sys/mman.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

#define LARGE_PAGE ((size_t)2 << 20)
#define HUGE_1G_PAGE ((size_t)1 << 30)

size_t mw_arena_pages_align(unsigned flags) {
    bool giant = (flags & MW_ARENA_HUGE_PAGES) && (flags & MW_ARENA_HUGE_1G);
    return giant ? HUGE_1G_PAGE : LARGE_PAGE;
}

static int hugetlb_flags(unsigned flags) {
    return MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB |
           (mw_arena_pages_align(flags) == HUGE_1G_PAGE ? MAP_HUGE_1GB : MAP_HUGE_2MB);
}

/* True when the system can give size bytes of hugetlb pages now (mapped and dropped). */
static bool hugetlb_available(size_t size, unsigned flags) {
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, hugetlb_flags(flags), -1, 0);
    if (p == MAP_FAILED) return false;
    munmap(p, size);
    return true;
}

static int map_hugetlb(char *start, size_t size, unsigned flags, bool *lost) {
    if (!hugetlb_available(size, flags)) return ENOMEM;
    int populate = flags & MW_ARENA_COMMIT ? MAP_POPULATE : 0;
    void *p = mmap(start, size, PROT_READ | PROT_WRITE, hugetlb_flags(flags) | MAP_FIXED | populate,
                   -1, 0);
    if (p != MAP_FAILED) return 0;
    p = mmap(start, size, PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
    *lost = p != start && errno != EEXIST; /* EEXIST: the old mapping is still there */
    return ENOMEM;
}

/* Touches every page of [start, start + size) now: MADV_POPULATE_WRITE (Linux 5.14), or
 * one write per page where the kernel does not know it. */
static void populate(char *start, size_t size) {
    if (madvise(start, size, MADV_POPULATE_WRITE) == 0) return;
    for (size_t off = 0; off < size; off += MW_PAGE_SIZE)
        ((volatile char *)start)[off] = 0;
}

int mw_arena_pages_setup(char *start, size_t size, unsigned flags, bool *lost) {
    int saved = errno, err = 0;
    *lost = false;
    if (flags & MW_ARENA_HUGE_PAGES) {
        err = map_hugetlb(start, size, flags, lost);
    } else {
        if (flags & MW_ARENA_LARGE_PAGES) madvise(start, size, MADV_HUGEPAGE);
        if (flags & MW_ARENA_COMMIT) populate(start, size);
    }
    if (!err) mw_vg_noaccess(start, size); /* as the rest of the range: no block yet */
    errno = saved;
    return err;
}
