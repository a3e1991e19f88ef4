/* sizeclass.h — the slab size classes and the span size of each class.
 *
 * Classes: 16, 32, 48, 64, then eight classes per doubling up to MW_SLAB_MAX (72, 80, ...,
 * 128, 144, ..., 16384): 68 classes. Above 64 B the worst-case internal waste of a class is
 * (step - 1) / class size < 12.5%. The classes 72, 88, 104 and 120 are 8-byte aligned (no
 * object of those sizes needs more); every other class is a multiple of 16.
 *
 * Span sizing: a span holds at most 256 objects in at most MW_SPAN_TARGET_PAGES pages
 * (classes up to 256 B), else 64 objects in up to MW_SPAN_GROW_PAGES (below), and at least
 * 8 objects (so classes above 4 KiB take more pages: 9 for 4608 B, 32 for 16 KiB). Small spans are
 * what let memory go back: a span is released, or can be meshed, only when its live objects are few
 * or disjoint from another's, and the chance of that falls exponentially with the objects per span
 * (Mesh keeps 8 to 256). Large spans are what keep refills rare: a span whose free list runs dry
 * sends allocation to the slow path. Measured with bench/run.py on churn (small-object malloc/free)
 * and fragmentation (90% of a large heap freed at random; heap RSS over live bytes at the end),
 * time as a ratio to mimalloc: 16 pages 1.12 and 10.5, 4 pages 1.23 and 8.3, 2 pages 1.40 and 6.6
 * (every peer: 10.6 to 11.3). 4 pages keeps churn well inside 1.5 times mimalloc and frees
 * a fifth more of a fragmented heap before any meshing. Classes above 256 B, which 4 pages
 * hold only 8 to 63 of, take the pages for MW_SPAN_TARGET_OBJECTS (64) objects, up to
 * MW_SPAN_GROW_PAGES (8): with 32 objects a span of 512 B blocks ran dry every few dozen
 * allocations, and the slow path served one malloc in thirteen on churn (sizes 8 to 512 B).
 * Measured (callgrind, 0.02 scale): churn 110.9 M -> 107.7 M instructions, larson (8 to
 * 1000 B) 104.7 M -> 91.3 M (87.3 M with up to 16 pages, for up to 0.8 MiB more peak RSS
 * on the threaded workloads). 32 and 16 objects (-DMW_SPAN_TARGET_OBJECTS) cost churn 3% and
 * 8% more instructions and larson 5% and 28%, for 5-18% less heap over live bytes with
 * meshing on blocks of 257-2048 B (bench/README.md, "Span sizes"). A new span is extended lazily,
 * one page's worth of slots (at least 8) at a time, so untouched pages cost nothing.
 */
#ifndef MW_SIZECLASS_H
#define MW_SIZECLASS_H

#include "common.h"

#define MW_CLASS_COUNT 68
#define MW_SPAN_MAX_OBJECTS 256
#define MW_SPAN_MIN_OBJECTS 8
#define MW_SPAN_TARGET_PAGES 4
#ifndef MW_SPAN_TARGET_OBJECTS /* -D for measuring other span sizes (bench/README.md) */
#define MW_SPAN_TARGET_OBJECTS 64
#endif
#define MW_SPAN_GROW_PAGES 8

/* The block size of class c, as a constant expression (the table below is built from it). */
#define MW_CLASS_SIZE(c) ((c) < 4 ? 16u * ((c) + 1u) : (9u + ((c)-4u) % 8u) << (3u + ((c)-4u) / 8u))

struct mw_class_info {
    uint32_t size;  /* block size in bytes */
    uint32_t pages; /* span size in pages */
    uint32_t count; /* blocks per span */
    uint32_t recip; /* offset * recip >> 32 == offset / size for offsets within a span */
};

MW_HIDDEN extern const struct mw_class_info mw_classes[MW_CLASS_COUNT];

/* The class of a request of size bytes, computed (0 < size <= MW_SLAB_MAX; 0 is 1). A
 * constant expression for constant sizes, which builds the lookup table below. */
#define MW_CLZ_(s) ((unsigned)__builtin_clzll(s))
#define MW_CLASS_OF_EXPR(size)                                                                     \
    ((size) <= 64 ? ((size) ? (unsigned)(((size)-1) >> 4) : 0u)                                    \
                  : 4u + (57u - MW_CLZ_((size)-1)) * 8u +                                          \
                        (unsigned)((((size)-1) >> (60u - MW_CLZ_((size)-1))) - 8u))

#define MW_CLASS_TABLE_MAX MW_SLAB_MAX
/* mw_class_table[(size + 7) >> 3] is the class of size, for size <= MW_CLASS_TABLE_MAX: every
 * slab size in one load (2 KiB of table; class sizes are multiples of 8, so rounding a size
 * up to 8 never changes its class). */
MW_HIDDEN extern const uint8_t mw_class_table[MW_CLASS_TABLE_MAX / 8 + 1];

mw_inline unsigned mw_class_of(size_t size) {
    if (mw_likely(size <= MW_CLASS_TABLE_MAX)) return mw_class_table[(size + 7) >> 3];
    return MW_CLASS_OF_EXPR(size);
}

/* Block index of offset off inside a span of class c (exact for off < span size). */
mw_inline uint32_t mw_class_index(unsigned c, size_t off) {
    return (uint32_t)(((uint64_t)off * mw_classes[c].recip) >> 32);
}

#endif
