/* sizeclass.c — the table of slab size classes, computed at compile time (see sizeclass.h
 * for the rules). */
#include "sizeclass.h"
#include "os.h"

#define PG MW_PAGE_SIZE
#define CSIZE(c) MW_CLASS_SIZE(c)
/* Classes up to 256 B: pages for up to 256 objects, at most MW_SPAN_TARGET_PAGES. Above:
 * the pages for MW_SPAN_TARGET_OBJECTS objects, at most MW_SPAN_GROW_PAGES, unless 8
 * objects need more. */
#define P256(s) ((256u * (s)) / PG > 0u ? (256u * (s)) / PG : 1u) /* at most 256 objects */
#define PN(n, s) (((n) * (s) + PG - 1u) / PG)
#define PTARGET(s)                                                                                 \
    (PN(MW_SPAN_TARGET_OBJECTS, s) > MW_SPAN_GROW_PAGES ? MW_SPAN_GROW_PAGES                       \
                                                        : PN(MW_SPAN_TARGET_OBJECTS, s))
#define PAGES(s)                                                                                   \
    ((s) <= 256u ? (P256(s) <= MW_SPAN_TARGET_PAGES ? P256(s) : MW_SPAN_TARGET_PAGES)              \
     : PN(8u, s) > MW_SPAN_GROW_PAGES ? PN(8u, s)                                                  \
                                      : PTARGET(s))
#define COUNT(s)                                                                                   \
    ((PAGES(s) * PG) / (s) > MW_SPAN_MAX_OBJECTS ? MW_SPAN_MAX_OBJECTS : (PAGES(s) * PG) / (s))
#define RECIP(s) ((uint32_t)((0x100000000ull + (s)-1u) / (s)))
#define ROW(c)                                                                                     \
    { CSIZE(c), PAGES(CSIZE(c)), COUNT(CSIZE(c)), RECIP(CSIZE(c)) }
#define ROW4(c) ROW(c), ROW(c + 1), ROW(c + 2), ROW(c + 3)

const struct mw_class_info mw_classes[MW_CLASS_COUNT] = {
    ROW4(0),  ROW4(4),  ROW4(8),  ROW4(12), ROW4(16), ROW4(20), ROW4(24), ROW4(28), ROW4(32),
    ROW4(36), ROW4(40), ROW4(44), ROW4(48), ROW4(52), ROW4(56), ROW4(60), ROW4(64),
};

#define T(i) MW_CLASS_OF_EXPR((size_t)(i)*8u)
#define T4(i) T(i), T(i + 1), T(i + 2), T(i + 3)
#define T16(i) T4(i), T4(i + 4), T4(i + 8), T4(i + 12)
#define T128(i)                                                                                    \
    T16(i), T16(i + 16), T16(i + 32), T16(i + 48), T16(i + 64), T16(i + 80), T16(i + 96),          \
        T16(i + 112)
const uint8_t mw_class_table[MW_CLASS_TABLE_MAX / 8 + 1] = {
    T128(0),    T128(128),  T128(256),  T128(384),  T128(512),  T128(640),
    T128(768),  T128(896),  T128(1024), T128(1152), T128(1280), T128(1408),
    T128(1536), T128(1664), T128(1792), T128(1920), T(2048),
};
