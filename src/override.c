/* override.c — the libc malloc family under its standard names, so that preloading
 * libmeshward.so or linking libmeshward.a replaces the system allocator. Each function
 * forwards to the mw_* implementation, except malloc and free, which inline its body
 * (api_fast.h); glibc's extensions report meshward's numbers. */
#include "api_fast.h"
#include "init.h"

#include <errno.h>
#include <malloc.h>
#include <meshward.h>
#include <stdlib.h>

#define PAGE 4096

MW_API void *malloc(size_t size) {
    return mw_malloc_inline(mw_tls_heap, size);
}
MW_API void free(void *p) {
    mw_free_inline(p);
}
MW_API void *calloc(size_t n, size_t size) {
    return mw_calloc(n, size);
}
MW_API void *realloc(void *p, size_t size) {
    return mw_realloc(p, size);
}
MW_API void *reallocarray(void *p, size_t n, size_t size) {
    return mw_reallocarray(p, n, size);
}
MW_API void *memalign(size_t align, size_t size) {
    return mw_memalign(align, size);
}
MW_API void *aligned_alloc(size_t align, size_t size) {
    return mw_aligned_alloc(align, size);
}
MW_API int posix_memalign(void **out, size_t align, size_t size) {
    return mw_posix_memalign(out, align, size);
}
MW_API void *valloc(size_t size) {
    return mw_memalign(PAGE, size);
}
MW_API void *pvalloc(size_t size) {
    size_t rounded = size ? (size + PAGE - 1) & ~(size_t)(PAGE - 1) : PAGE;
    if (rounded < size) {
        errno = ENOMEM;
        return NULL;
    }
    return mw_memalign(PAGE, rounded);
}
MW_API size_t malloc_usable_size(void *p) {
    return mw_usable_size(p);
}
MW_API void free_sized(void *p, size_t size) {
    mw_free_sized(p, size);
}
MW_API void free_aligned_sized(void *p, size_t align, size_t size) {
    (void)align;
    mw_free_sized(p, size);
}

MW_API int malloc_trim(size_t pad) {
    (void)pad;
    struct mw_stats before, after;
    mw_stats_get(&before);
    mw_collect(true);
    mw_stats_get(&after);
    return after.rss_bytes < before.rss_bytes;
}

/* Every glibc tunable is accepted; none applies to meshward's design. */
MW_API int mallopt(int param, int value) {
    (void)param;
    (void)value;
    return 1;
}

MW_API struct mallinfo2 mallinfo2(void) {
    struct mw_stats st;
    mw_stats_get(&st);
    struct mallinfo2 mi = {0};
    mi.arena = st.arena_committed;
    mi.hblks = st.huge_blocks;
    mi.hblkhd = st.huge_bytes;
    mi.uordblks = st.live_bytes - st.huge_bytes; /* as glibc: mapped blocks are in hblkhd */
    mi.fordblks = st.arena_committed > st.live_bytes ? st.arena_committed - st.live_bytes : 0;
    mi.keepcost = 0;
    return mi;
}

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
MW_API struct mallinfo mallinfo(void) {
    struct mallinfo2 m2 = mallinfo2();
    struct mallinfo mi = {0};
    mi.arena = (int)m2.arena;
    mi.hblks = (int)m2.hblks;
    mi.hblkhd = (int)m2.hblkhd;
    mi.uordblks = (int)m2.uordblks;
    mi.fordblks = (int)m2.fordblks;
    return mi;
}
#pragma GCC diagnostic pop

MW_API void malloc_stats(void) {
    mw_stats_print(2);
}
