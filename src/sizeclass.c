/* sizeclass.c — the table of slab size classes, computed at compile time (see sizeclass.h
 * for the rules). Each row's span page count minimises tail waste among the page counts
 * that hold 8..256 objects. */
#include "sizeclass.h"
#include "os.h"

#define PG MW_PAGE_SIZE
#define CSIZE(c) ((c) < 4 ? 16u * ((c) + 1u) : (9u + ((c)-4u) % 8u) << (3u + ((c)-4u) / 8u))
/* Smallest page count holding at least 8 objects. */
#define PMIN(s) (((8u * (s)) + PG - 1u) / PG)
#define WASTE(s, p) (((p)*PG) % (s))
#define FITS(s, p) (((p)*PG) / (s) <= MW_SPAN_MAX_OBJECTS)
/* Among PMIN..PMIN+3 pages, the first with less than 1/32 tail waste, else PMIN. */
#define OK(s, p) (FITS(s, p) && WASTE(s, p) * 32u < (p)*PG)
#define PAGES(s)                                                                              \
    (OK(s, PMIN(s))        ? PMIN(s)                                                          \
     : OK(s, PMIN(s) + 1u) ? PMIN(s) + 1u                                                     \
     : OK(s, PMIN(s) + 2u) ? PMIN(s) + 2u                                                     \
     : OK(s, PMIN(s) + 3u) ? PMIN(s) + 3u                                                     \
                           : PMIN(s))
#define RECIP(s) ((uint32_t)((0x100000000ull + (s)-1u) / (s)))
#define ROW(c)                                                                                \
    {CSIZE(c), PAGES(CSIZE(c)), (PAGES(CSIZE(c)) * PG) / CSIZE(c) > MW_SPAN_MAX_OBJECTS        \
                                    ? MW_SPAN_MAX_OBJECTS                                     \
                                    : (PAGES(CSIZE(c)) * PG) / CSIZE(c),                      \
     RECIP(CSIZE(c))}
#define ROW4(c) ROW(c), ROW(c + 1), ROW(c + 2), ROW(c + 3)

const struct mw_class_info mw_classes[MW_CLASS_COUNT] = {
    ROW4(0),  ROW4(4),  ROW4(8),  ROW4(12), ROW4(16), ROW4(20), ROW4(24), ROW4(28), ROW4(32),
    ROW4(36), ROW4(40), ROW4(44), ROW4(48), ROW4(52), ROW4(56), ROW4(60), ROW4(64),
};
