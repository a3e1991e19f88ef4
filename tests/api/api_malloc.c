/* api_malloc.c — the malloc family behaves as glibc's does, since meshward is a drop-in:
 * zero sizes, impossible sizes, overflow, alignment from 8 B to 2 MiB (and beyond the
 * largest region), realloc across every size regime (slab, region, huge) with contents
 * checked, zeroing by calloc of reused memory, usable sizes, and the glibc extensions
 * (mallopt, mallinfo2, ...). After each test nothing it freed may still count as in use.
 *
 * The same file runs against both meshward variants and against glibc (see allocator.h);
 * a check that depends on something glibc leaves open accepts every answer glibc's own
 * documentation allows. Compiled with -fno-builtin so the compiler keeps every call. */
#include <errno.h>
#include <malloc.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "allocator.h"
#include "common.h"
#include "checks.h"

/* Sizes the allocator can never serve: beyond PTRDIFF_MAX, beyond the address space, or
 * close enough to SIZE_MAX that rounding up for alignment or a header overflows. */
static const size_t impossible_sizes[] = {
    (size_t)PTRDIFF_MAX + 1, SIZE_MAX,           SIZE_MAX - 15,
    SIZE_MAX - 4095,         SIZE_MAX - 2 * MiB, (size_t)1 << 62,
};
#define N_IMPOSSIBLE (sizeof impossible_sizes / sizeof impossible_sizes[0])

/* One or more sizes from every regime and every boundary between them: tiny, slab classes
 * up to MW_SLAB_MAX, regions up to MW_REGION_MAX, huge beyond. */
static const size_t regime_sizes[] = {
    1,
    8,
    16,
    24,
    100,
    1000,
    4096,
    MW_SLAB_MAX - 1,
    MW_SLAB_MAX,
    MW_SLAB_MAX + 1,
    100 * KiB,
    MiB + 1,
    8 * MiB,
    MW_REGION_MAX - 1,
    MW_REGION_MAX,
    MW_REGION_MAX + 1,
    80 * MiB,
};
#define N_REGIMES (sizeof regime_sizes / sizeof regime_sizes[0])

/* Hides from the compiler that a block handed to a failing realloc is the one used after
 * it, which it would otherwise warn about (-Wuse-after-free). */
static void *opaque_ptr(void *p) {
    void *volatile v = p;
    return v;
}

static bool all_zero(const unsigned char *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (p[i] != 0) return false;
    return true;
}

static void assert_aligned(const void *p, size_t alignment) {
    assert_non_null(p);
    assert_int_equal((uintptr_t)p % alignment, 0);
}

/* Bytes in use by the program's blocks, as mallinfo2 reports them (test_mallinfo2 checks
 * that it follows allocations); a block that realloc or free failed to release shows here. */
static size_t in_use(struct mallinfo2 m) {
    return m.uordblks + m.hblkhd;
}

static void assert_released(size_t in_use_before, size_t a, size_t b) {
    size_t now = in_use(mallinfo2());
    if (now > in_use_before + MiB)
        fail_msg("a block of %zu bytes reallocated to %zu and freed left %zu bytes in use", a, b,
                 now - in_use_before);
}

/* Every test is wrapped by these two: whatever it allocated and freed must no longer count
 * as in use when it ends (a leak in any path of the family shows here). */
static size_t in_use_at_start;

static int record_in_use(void **state) {
    (void)state;
    in_use_at_start = in_use(mallinfo2());
    return 0;
}

static int check_released(void **state) {
    (void)state;
    size_t now = in_use(mallinfo2());
    if (now <= in_use_at_start + MiB) return 0;
    print_error("the test left %zu bytes in use after freeing all its blocks\n",
                now - in_use_at_start);
    return -1;
}

/* A block allocated by the earliest constructor, before the allocator's own constructors
 * can have run: the allocator must initialise itself on first use. */
static unsigned char *early_block;

__attribute__((constructor(101))) static void allocate_before_constructors(void) {
    early_block = malloc(100);
    if (early_block != NULL) pattern_fill(early_block, 100, 101);
}

static void test_allocation_before_constructors(void **state) {
    (void)state;
    assert_non_null(early_block);
    assert_true(allocator_owns(early_block));
    assert_pattern(early_block, 100, 101);
    early_block = realloc(early_block, 1000);
    assert_non_null(early_block);
    assert_pattern(early_block, 100, 101);
    free(early_block);
}

static void test_zero_sizes(void **state) {
    (void)state;
    enum { N = 64 };
    void *p[N];
    for (int i = 0; i < N; i++) {
        /* Every allocating call, in turn, for zero bytes. */
        switch (i % 5) {
        case 0:
            p[i] = malloc(opaque(0));
            break;
        case 1:
            p[i] = memalign(64, opaque(0));
            break;
        case 2:
            p[i] = aligned_alloc(4096, opaque(0));
            break;
        case 3:
            assert_int_equal(posix_memalign(&p[i], 256, opaque(0)), 0);
            break;
        default:
            p[i] = valloc(opaque(0));
            break;
        }
        assert_non_null(p[i]);
        for (int j = 0; j < i; j++)
            assert_ptr_not_equal(p[i], p[j]);
    }
    assert_aligned(p[1], 64);
    assert_aligned(p[2], 4096);
    assert_aligned(p[3], 256);
    for (int i = 0; i < N; i++)
        free(p[i]);

    void *c = calloc(0, opaque(0)), *c2 = calloc(opaque(0), opaque(SIZE_MAX)),
         *r = realloc(NULL, 0);
    assert_non_null(c);
    assert_non_null(c2);
    assert_non_null(r);
    assert_ptr_not_equal(c, c2);
    free(c);
    free(c2);
    free(r);
    free(NULL);
}

static void test_impossible_sizes(void **state) {
    (void)state;
    void *block = malloc(64);
    assert_non_null(block);
    for (size_t i = 0; i < N_IMPOSSIBLE; i++) {
        size_t n = opaque(impossible_sizes[i]);
        errno = 0;
        assert_null(malloc(n));
        assert_int_equal(errno, ENOMEM);
        errno = 0;
        assert_null(calloc(1, n));
        assert_int_equal(errno, ENOMEM);
        errno = 0;
        assert_null(realloc(NULL, n));
        assert_int_equal(errno, ENOMEM);
        errno = 0;
        assert_null(memalign(64, n));
        assert_int_equal(errno, ENOMEM);
        errno = 0;
        assert_null(aligned_alloc(4096, n));
        assert_int_equal(errno, ENOMEM);
        errno = 0;
        assert_null(valloc(n));
        assert_int_equal(errno, ENOMEM);
        errno = 0;
        assert_null(pvalloc(n));
        assert_int_equal(errno, ENOMEM);
        void *out = block;
        assert_int_equal(posix_memalign(&out, 2 * MiB, n), ENOMEM);
        assert_ptr_equal(out, block);
    }
    free(block);
}

static void test_calloc_overflow(void **state) {
    (void)state;
    static const size_t pairs[][2] = {
        {SIZE_MAX / 2 + 1, 2},   {(size_t)1 << 32, (size_t)1 << 32},
        {SIZE_MAX, SIZE_MAX},    {3, SIZE_MAX / 3 + 1},
        {SIZE_MAX / 16 + 1, 16},
    };
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        errno = 0;
        assert_null(calloc(opaque(pairs[i][0]), opaque(pairs[i][1])));
        assert_int_equal(errno, ENOMEM);
    }
}

/* A block just freed is the likeliest one calloc hands out next; it must come back zeroed
 * in every regime, including regions reused dirty from a pool. */
static void test_calloc_zeroes_reused_memory(void **state) {
    (void)state;
    for (size_t i = 0; i < N_REGIMES; i++) {
        size_t n = regime_sizes[i];
        for (int round = 0; round < 3; round++) {
            unsigned char *p = malloc(n);
            assert_non_null(p);
            memset(p, 0xa5, malloc_usable_size(p));
            free(p);
            unsigned char *q = round % 2 ? calloc(n, 1) : calloc(1, n);
            assert_non_null(q);
            if (!all_zero(q, n)) fail_msg("calloc(%zu) after free returned dirty memory", n);
            free(q);
        }
    }
    /* Many small blocks at once: a whole span dirtied, freed and handed out again. */
    enum { N = 4096, SIZE = 48 };
    static unsigned char *blocks[N];
    for (int i = 0; i < N; i++) {
        blocks[i] = malloc(SIZE);
        assert_non_null(blocks[i]);
        memset(blocks[i], 0x5a, SIZE);
    }
    for (int i = 0; i < N; i++)
        free(blocks[i]);
    for (int i = 0; i < N; i++) {
        blocks[i] = calloc(SIZE / 8, 8);
        assert_non_null(blocks[i]);
        assert_true(all_zero(blocks[i], SIZE));
    }
    for (int i = 0; i < N; i++)
        free(blocks[i]);
}

static void test_realloc_null_and_zero(void **state) {
    (void)state;
    unsigned char *p = realloc(NULL, opaque(100));
    assert_non_null(p);
    assert_true(malloc_usable_size(p) >= 100);
    memset(p, 1, 100);
    /* glibc: realloc(p, 0) frees p and returns NULL. */
    assert_null(realloc(p, opaque(0)));
}

static void test_failed_realloc_keeps_block(void **state) {
    (void)state;
    static const size_t sizes[] = {100, MW_SLAB_MAX + 1, 2 * MiB, MW_REGION_MAX + 1};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        size_t n = sizes[s];
        void *p = malloc(n);
        assert_non_null(p);
        pattern_fill(p, n, n);
        for (size_t i = 0; i < N_IMPOSSIBLE; i++) {
            errno = 0;
            assert_null(realloc(opaque_ptr(p), opaque(impossible_sizes[i])));
            assert_int_equal(errno, ENOMEM);
            errno = 0;
            assert_null(reallocarray(opaque_ptr(p), opaque(impossible_sizes[i]), 1));
            assert_int_equal(errno, ENOMEM);
        }
        assert_pattern(p, n, n);
        assert_true(malloc_usable_size(p) >= n);
        free(p);
    }
}

static void test_reallocarray(void **state) {
    (void)state;
    unsigned char *p = reallocarray(NULL, opaque(10), 10);
    assert_non_null(p);
    pattern_fill(p, 100, 7);
    errno = 0;
    assert_null(reallocarray(opaque_ptr(p), opaque(SIZE_MAX / 2), 3));
    assert_int_equal(errno, ENOMEM);
    errno = 0;
    assert_null(reallocarray(opaque_ptr(p), opaque((size_t)1 << 33), (size_t)1 << 31));
    assert_int_equal(errno, ENOMEM);
    assert_pattern(p, 100, 7);
    p = reallocarray(p, opaque(1000), 8);
    assert_non_null(p);
    assert_pattern(p, 100, 7);
    assert_true(malloc_usable_size(p) >= 8000);
    free(p);
}

/* Moves one block from size a to size b and checks what realloc must keep. */
static void *realloc_checked(void *p, size_t a, size_t b, uint64_t seed) {
    void *q = realloc(p, b);
    if (q == NULL) fail_msg("realloc from %zu to %zu bytes failed", a, b);
    size_t kept = a < b ? a : b;
    size_t bad = pattern_check(q, kept, seed);
    if (bad != kept)
        fail_msg("realloc from %zu to %zu bytes lost the contents at offset %zu", a, b, bad);
    if (malloc_usable_size(q) < b)
        fail_msg("realloc to %zu gave only %zu", b, malloc_usable_size(q));
    pattern_fill(q, b, seed);
    return q;
}

/* Grows one block step by step through every regime, then shrinks it back. */
static void test_realloc_sweep(void **state) {
    (void)state;
    size_t sizes[128], n = 0;
    for (size_t s = 1; s <= 128 * MiB; s = s < 64 ? s + 7 : s + s / 3)
        sizes[n++] = s;
    uint64_t seed = 42;
    size_t cur = sizes[0];
    void *p = malloc(cur);
    assert_non_null(p);
    pattern_fill(p, cur, seed);
    for (size_t i = 1; i < n; i++) {
        p = realloc_checked(p, cur, sizes[i], seed);
        cur = sizes[i];
    }
    for (size_t i = n - 1; i-- > 0;) {
        p = realloc_checked(p, cur, sizes[i], seed);
        cur = sizes[i];
    }
    free(p);
}

/* Every pair of regimes, in both directions, starting from a fresh block each time: one
 * size inside each regime and the sizes on both sides of each boundary. Once freed, the
 * block must no longer count as in use. */
static void test_realloc_regime_pairs(void **state) {
    (void)state;
    static const size_t sizes[] = {1,       100,           MW_SLAB_MAX,      MW_SLAB_MAX + 1,
                                   MiB + 1, MW_REGION_MAX, MW_REGION_MAX + 1};
    enum { N = sizeof sizes / sizeof sizes[0] };
    for (size_t i = 0; i < N; i++) {
        for (size_t j = 0; j < N; j++) {
            size_t a = sizes[i], b = sizes[j];
            size_t before = in_use(mallinfo2());
            void *p = malloc(a);
            assert_non_null(p);
            pattern_fill(p, a, i * 31 + j);
            free(realloc_checked(p, a, b, i * 31 + j));
            assert_released(before, a, b);
        }
    }
}

static void check_aligned_block(void *p, size_t alignment, size_t size) {
    assert_aligned(p, alignment);
    assert_true(malloc_usable_size(p) >= size);
    pattern_fill(p, size, size ^ alignment);
    assert_pattern(p, size, size ^ alignment);
}

static void test_alignment_8_to_2mib(void **state) {
    (void)state;
    for (size_t a = 8; a <= 2 * MiB; a *= 2) {
        const size_t sizes[] = {1, a - 1, a, 3 * a + 5, 100 * KiB, a * 3 / 2};
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
            size_t n = sizes[s];
            void *p = memalign(a, n);
            check_aligned_block(p, a, n);
            free(p);
            p = aligned_alloc(a, n);
            check_aligned_block(p, a, n);
            free(p);
            p = NULL;
            assert_int_equal(posix_memalign(&p, a, n), 0);
            check_aligned_block(p, a, n);
            free(p);
        }
    }
    /* Aligned huge blocks and small alignments that memalign accepts as malloc. */
    void *p = aligned_alloc(2 * MiB, MW_REGION_MAX + 3 * MiB);
    check_aligned_block(p, 2 * MiB, MW_REGION_MAX + 3 * MiB);
    free(p);
    for (size_t a = 1; a < 8; a *= 2) {
        p = memalign(a, 10);
        check_aligned_block(p, a, 10);
        free(p);
        p = aligned_alloc(a, 10);
        check_aligned_block(p, a, 10);
        free(p);
    }
}

/* glibc serves any power-of-two alignment the address space allows, not only those up to
 * the largest region: a program asking for 128 MiB alignment gets it. */
static void test_alignment_beyond_regions(void **state) {
    (void)state;
    for (size_t a = 2 * MW_REGION_MAX; a <= 4 * MW_REGION_MAX; a *= 2) {
        void *p = memalign(a, 10);
        if (p == NULL) fail_msg("memalign(%zu, 10) failed, errno %d", a, errno);
        check_aligned_block(p, a, 10);
        free(p);
        p = aligned_alloc(a, 3 * MiB + 1);
        if (p == NULL) fail_msg("aligned_alloc(%zu, 3 MiB + 1) failed, errno %d", a, errno);
        check_aligned_block(p, a, 3 * MiB + 1);
        free(p);
        p = NULL;
        assert_int_equal(posix_memalign(&p, a, 4096), 0);
        check_aligned_block(p, a, 4096);
        free(p);
    }
}

/* An aligned block is an ordinary block to realloc, free_sized and malloc_usable_size,
 * whatever trick gave it its alignment (a class that divides it, an offset into a region
 * or a map): it grows and shrinks with its contents kept. */
static void test_realloc_aligned_blocks(void **state) {
    (void)state;
    static const size_t sizes[] = {1, 100, MW_SLAB_MAX + 1, 3 * MiB};
    for (size_t a = 16; a <= 2 * MW_REGION_MAX; a *= 8) {
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            for (size_t j = 0; j < sizeof sizes / sizeof sizes[0]; j++) {
                size_t n = sizes[i];
                void *p = aligned_alloc(a, n);
                check_aligned_block(p, a, n);
                pattern_fill(p, n, a + n);
                free(realloc_checked(p, n, sizes[j], a + n));
            }
        }
    }
}

static void test_bad_alignment(void **state) {
    (void)state;
    /* posix_memalign: a power of two multiple of sizeof(void *), or EINVAL with *out kept. */
    static const size_t bad_posix[] = {0, 1, 2, 4, 12, 24, 48, 100, 4096 + 8, SIZE_MAX};
    void *sentinel = &sentinel;
    for (size_t i = 0; i < sizeof bad_posix / sizeof bad_posix[0]; i++) {
        void *out = sentinel;
        if (posix_memalign(&out, opaque(bad_posix[i]), 64) != EINVAL)
            fail_msg("posix_memalign accepted alignment %zu", bad_posix[i]);
        assert_ptr_equal(out, sentinel);
    }
    /* Beyond half the address space no alignment can be honoured: EINVAL (glibc). */
    errno = 0;
    assert_null(memalign(opaque(SIZE_MAX / 2 + 2), 1));
    assert_int_equal(errno, EINVAL);
    errno = 0;
    assert_null(aligned_alloc(opaque(SIZE_MAX / 2 + 2), 1));
    assert_int_equal(errno, EINVAL);
    if (allocator_rejects_bad_alignment()) {
        static const size_t bad[] = {0, 3, 24, 48, 100, 4096 + 8};
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            errno = 0;
            void *p = aligned_alloc(opaque(bad[i]), 64);
            if (p != NULL || errno != EINVAL)
                fail_msg("aligned_alloc(%zu, 64) gave %p, errno %d", bad[i], p, errno);
        }
    }
    /* memalign may round a non-power-of-two alignment up (glibc) or refuse it. */
    errno = 0;
    void *p = memalign(opaque(24), 100);
    if (p == NULL)
        assert_int_equal(errno, EINVAL);
    else
        check_aligned_block(p, 32, 100);
    free(p);
}

static void test_valloc_pvalloc(void **state) {
    (void)state;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    const size_t sizes[] = {1, page - 1, page, page + 1, MiB + 7};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        void *p = valloc(sizes[i]);
        check_aligned_block(p, page, sizes[i]);
        free(p);
        p = pvalloc(sizes[i]);
        size_t rounded = (sizes[i] + page - 1) / page * page;
        check_aligned_block(p, page, rounded);
        free(p);
    }
    void *p = pvalloc(0); /* rounds 0 to 0 pages: a unique page-aligned pointer */
    assert_aligned(p, page);
    free(p);
}

/* The whole usable size is the caller's to write, and small blocks keep the fundamental
 * alignment an object of their size can need: 16 when the size is a multiple of 16. */
static void check_usable(size_t n) {
    unsigned char *p = malloc(n);
    if (p == NULL) fail_msg("malloc(%zu) failed", n);
    size_t usable = malloc_usable_size(p);
    if (usable < n) fail_msg("malloc_usable_size(malloc(%zu)) = %zu", n, usable);
    size_t need = n % 16 == 0 ? 16 : 8;
    if (n >= need && (uintptr_t)p % need != 0) fail_msg("malloc(%zu) = %p is misaligned", n, p);
    memset(p, 0x3c, usable);
    free(p);
}

static void test_usable_size(void **state) {
    (void)state;
    assert_int_equal(malloc_usable_size(NULL), 0);
    for (size_t n = 0; n <= 2 * MW_SLAB_MAX + 64; n++)
        check_usable(n);
    for (size_t n = 2 * MW_SLAB_MAX; n <= 80 * MiB; n += n / 5 + 1)
        check_usable(n);
    check_usable(MW_REGION_MAX);
    check_usable(MW_REGION_MAX + 1);
}

static void test_free_sized(void **state) {
    (void)state;
    free_sized_fn fs = allocator_free_sized();
    free_aligned_sized_fn fas = allocator_free_aligned_sized();
    if (fs == NULL || fas == NULL) skip(); /* a C library without them */
    for (size_t i = 0; i < N_REGIMES; i++) {
        size_t n = regime_sizes[i];
        void *p = malloc(n);
        assert_non_null(p);
        fs(p, n);
        p = calloc(n, 1);
        assert_non_null(p);
        fs(p, n);
        for (size_t a = 16; a <= 2 * MiB; a *= 32) {
            size_t m = (n + a - 1) / a * a;
            p = aligned_alloc(a, m);
            assert_aligned(p, a);
            fas(p, a, m);
        }
    }
    fs(NULL, 0);
    fas(NULL, 64, 0);
}

static void test_trim_and_mallopt(void **state) {
    (void)state;
    enum { N = 1024 };
    static void *blocks[N];
    for (int i = 0; i < N; i++)
        blocks[i] = malloc(32 * KiB);
    for (int i = 0; i < N; i++)
        free(blocks[i]);
    int r = malloc_trim(0);
    assert_true(r == 0 || r == 1);
    r = malloc_trim(opaque(MiB));
    assert_true(r == 0 || r == 1);

    assert_int_equal(mallopt(M_TRIM_THRESHOLD, 128 * 1024), 1);
    assert_int_equal(mallopt(M_TOP_PAD, 0), 1);
    assert_int_equal(mallopt(M_MMAP_THRESHOLD, 128 * 1024), 1);
    assert_int_equal(mallopt(M_MMAP_MAX, 65536), 1);
    assert_int_equal(mallopt(M_ARENA_MAX, 8), 1);
    assert_int_equal(mallopt(M_ARENA_TEST, 8), 1);
    assert_int_equal(mallopt(M_PERTURB, 0), 1);
    assert_int_equal(mallopt(M_MXFAST, 64), 1);
    void *p = malloc(100);
    assert_non_null(p);
    free(p);
}

static void test_mallinfo2(void **state) {
    (void)state;
    enum { N = 4096, SIZE = 1024 };
    static void *blocks[N];
    struct mallinfo2 before = mallinfo2();
    for (int i = 0; i < N; i++) {
        blocks[i] = malloc(SIZE);
        assert_non_null(blocks[i]);
    }
    struct mallinfo2 live = mallinfo2();
    for (int i = 0; i < N; i++)
        free(blocks[i]);
    struct mallinfo2 after = mallinfo2();
    if (in_use(live) < in_use(before) + (size_t)N * SIZE * 3 / 4)
        fail_msg("mallinfo2 in use %zu -> %zu after allocating %d bytes", in_use(before),
                 in_use(live), N * SIZE);
    if (in_use(after) + (size_t)N * SIZE * 3 / 4 > in_use(live))
        fail_msg("mallinfo2 in use %zu -> %zu after freeing %d bytes", in_use(live), in_use(after),
                 N * SIZE);
    assert_true(live.uordblks <= live.arena + live.hblkhd);
}

/* malloc_stats writes a report to stderr; capture it to see that it wrote something. */
static void test_malloc_stats(void **state) {
    (void)state;
    void *p = malloc(1000);
    FILE *tmp = tmpfile();
    assert_non_null(tmp);
    fflush(stderr);
    int saved = dup(2);
    assert_true(saved >= 0);
    assert_int_equal(dup2(fileno(tmp), 2), 2);
    malloc_stats();
    fflush(stderr);
    assert_int_equal(dup2(saved, 2), 2);
    close(saved);
    long written = lseek(fileno(tmp), 0, SEEK_END);
    fclose(tmp);
    free(p);
    assert_true(written > 0);
}

#define LEAK_CHECKED(test) cmocka_unit_test_setup_teardown(test, record_in_use, check_released)

int main(void) {
    const struct CMUnitTest tests[] = {
        LEAK_CHECKED(test_allocation_before_constructors),
        LEAK_CHECKED(test_zero_sizes),
        LEAK_CHECKED(test_impossible_sizes),
        LEAK_CHECKED(test_calloc_overflow),
        LEAK_CHECKED(test_calloc_zeroes_reused_memory),
        LEAK_CHECKED(test_realloc_null_and_zero),
        LEAK_CHECKED(test_failed_realloc_keeps_block),
        LEAK_CHECKED(test_reallocarray),
        LEAK_CHECKED(test_realloc_sweep),
        LEAK_CHECKED(test_realloc_regime_pairs),
        LEAK_CHECKED(test_alignment_8_to_2mib),
        LEAK_CHECKED(test_alignment_beyond_regions),
        LEAK_CHECKED(test_realloc_aligned_blocks),
        LEAK_CHECKED(test_bad_alignment),
        LEAK_CHECKED(test_valloc_pvalloc),
        LEAK_CHECKED(test_usable_size),
        LEAK_CHECKED(test_free_sized),
        LEAK_CHECKED(test_trim_and_mallopt),
        LEAK_CHECKED(test_mallinfo2),
        LEAK_CHECKED(test_malloc_stats),
    };
    return cmocka_run_group_tests_name(allocator_name, tests, allocator_group_setup, NULL);
}
