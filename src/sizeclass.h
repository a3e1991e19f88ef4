/* sizeclass.h — the slab size classes and the span size of each class.
 *
 * Classes: 16, 32, 48, 64, then eight classes per doubling up to MW_SLAB_MAX (72, 80, ...,
 * 128, 144, ..., 16384): 68 classes. Above 64 B the worst-case internal waste of a class is
 * (step - 1) / class size < 12.5%. The classes 72, 88, 104 and 120 are 8-byte aligned (no
 * object of those sizes needs more); every other class is a multiple of 16.
 *
 * Span sizing: a span of class c holds between 8 and 256 objects (Mesh's range: the chance
 * that two spans of n objects at occupancy f have disjoint slots falls like (1-f)^(f*n),
 * so spans stay small) and spans as few pages as that allows, picking the page count with
 * the least tail waste. Small classes thus get one-page spans (256 x 16 B, 28 x 144 B, ...)
 * and the largest 32 pages (8 x 16 KiB). Refills stay rare enough because a heap reuses its
 * partially free spans before taking new ones, and a new span is extended lazily, one
 * page's worth of slots at a time. */
#ifndef MW_SIZECLASS_H
#define MW_SIZECLASS_H

#include "common.h"

#define MW_CLASS_COUNT 68
#define MW_SPAN_MAX_OBJECTS 256
#define MW_SPAN_MIN_OBJECTS 8
#define MW_SPAN_TARGET_PAGES 16

struct mw_class_info {
    uint32_t size;  /* block size in bytes */
    uint32_t pages; /* span size in pages */
    uint32_t count; /* blocks per span */
    uint32_t recip; /* offset * recip >> 32 == offset / size for offsets within a span */
};

extern const struct mw_class_info mw_classes[MW_CLASS_COUNT];

/* The class of a request of size bytes, computed (0 < size <= MW_SLAB_MAX; 0 is 1). A
 * constant expression for constant sizes, which builds the lookup table below. */
#define MW_CLZ_(s) ((unsigned)__builtin_clzll(s))
#define MW_CLASS_OF_EXPR(size)                                                                     \
    ((size) <= 64 ? ((size) ? (unsigned)(((size)-1) >> 4) : 0u)                                    \
                  : 4u + (57u - MW_CLZ_((size)-1)) * 8u +                                          \
                        (unsigned)((((size)-1) >> (60u - MW_CLZ_((size)-1))) - 8u))

#define MW_CLASS_TABLE_MAX 1024
/* mw_class_table[(size + 7) >> 3] is the class of size, for size <= MW_CLASS_TABLE_MAX. */
extern const uint8_t mw_class_table[MW_CLASS_TABLE_MAX / 8 + 1];

mw_inline unsigned mw_class_of(size_t size) {
    if (mw_likely(size <= MW_CLASS_TABLE_MAX)) return mw_class_table[(size + 7) >> 3];
    return MW_CLASS_OF_EXPR(size);
}

/* Block index of offset off inside a span of class c (exact for off < span size). */
mw_inline uint32_t mw_class_index(unsigned c, size_t off) {
    return (uint32_t)(((uint64_t)off * mw_classes[c].recip) >> 32);
}

#endif
