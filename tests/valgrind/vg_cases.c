/* vg_cases.c — the programs run_valgrind.py runs under memcheck with meshward preloaded:
 * `vg-cases CASE`. Each buggy case commits exactly one heap bug in a function named after
 * the case (never inlined, so memcheck's stacks name it); each clean case exercises one part
 * of the allocator correctly and must give memcheck nothing to say. Pointers go through
 * `volatile` so that the compiler keeps every access. Linked with libmeshward.so for the
 * mw_heap_* API; the preloaded library (production or hardened) serves everything. */
#include <meshward.h>

#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define SMALL 20                      /* a slab class of 24 bytes: 4 bytes of slack */
#define REGION 100000                 /* a 128 KiB region */
#define HUGE (((size_t)70 << 20) + 3) /* its own mapping: the slack ends its last page */
#define ARENA_LARGE 20000             /* in an arena's heap: a large span of 5 pages */
#define NOINLINE __attribute__((noinline))

typedef volatile char *vptr;

static void fail(const char *what) {
    fprintf(stderr, "vg-cases: %s\n", what);
    exit(2);
}

static vptr get(size_t n) {
    vptr p = malloc(n);
    if (!p) fail("out of memory");
    return p;
}

/* A heap of a new arena: its large blocks are spans of their own in the arena. */
static mw_heap_t *arena_heap(void) {
    mw_arena_id_t id;
    if (mw_arena_reserve((size_t)64 << 20, MW_ARENA_EXCLUSIVE, &id)) fail("mw_arena_reserve");
    mw_heap_t *h = mw_heap_new_in(id);
    if (!h) fail("mw_heap_new_in");
    return h;
}

static vptr get_in(mw_heap_t *h, size_t n) {
    vptr p = mw_heap_malloc(h, n);
    if (!p) fail("out of memory in the arena");
    return p;
}

/* ---- buggy: one error each ------------------------------------------------------------- */

NOINLINE static void overflow_small(void) {
    vptr p = get(SMALL);
    p[SMALL] = 1;
    free((void *)p);
}
NOINLINE static void overflow_region(void) {
    vptr p = get(REGION);
    p[REGION] = 1;
    free((void *)p);
}
NOINLINE static void overflow_huge(void) {
    vptr p = get(HUGE);
    p[HUGE] = 1;
    free((void *)p);
}

NOINLINE static void overflow_arena(void) {
    vptr p = get_in(arena_heap(), ARENA_LARGE);
    p[ARENA_LARGE] = 1;
    mw_free((void *)p);
}

NOINLINE static void read_after_free(size_t n) {
    vptr p = get(n);
    p[3] = 7;
    free((void *)p);
    if (p[3] == 7) puts("stale");
}
NOINLINE static void uaf_read_small(void) {
    read_after_free(SMALL);
}
NOINLINE static void uaf_read_region(void) {
    read_after_free(REGION);
}
NOINLINE static void uaf_read_huge(void) {
    read_after_free(HUGE);
}

NOINLINE static void write_after_free(size_t n) {
    vptr p = get(n);
    free((void *)p);
    p[3] = 7;
}
NOINLINE static void uaf_write_small(void) {
    write_after_free(SMALL);
}
NOINLINE static void uaf_write_region(void) {
    write_after_free(REGION);
}
NOINLINE static void uaf_write_huge(void) {
    write_after_free(HUGE);
}

NOINLINE static void uaf_read_arena(void) {
    vptr p = get_in(arena_heap(), ARENA_LARGE);
    p[3] = 7;
    mw_free((void *)p);
    if (p[3] == 7) puts("stale");
}

NOINLINE static void double_free(void) {
    vptr p = get(SMALL);
    free((void *)p);
    free((void *)p);
}

static char not_ours[64];
NOINLINE static void foreign_free(void) {
    free(not_ours + 16);
}

NOINLINE static void uninit(void) {
    volatile int *p = malloc(4 * sizeof(int));
    if (!p) fail("out of memory");
    if (p[2] > 3) puts("big");
    free((void *)p);
}

/* 5 small blocks of 100 bytes and 2 regions of 40000: 80,500 bytes in 7 blocks. The first
 * region allocation starts the purge thread, whose registers start as a copy of ours (and
 * may hold an address the allocator computed): warm up first so that no leaked block is
 * seen from there. */
NOINLINE static void leak(void) {
    free((void *)get(REGION));
    for (int i = 0; i < 5; i++)
        get(100)[0] = 1;
    for (int i = 0; i < 2; i++)
        get(40000)[0] = 1;
}

NOINLINE static void heap_destroy_uaf(void) {
    mw_heap_t *h = mw_heap_new();
    if (!h) fail("mw_heap_new");
    volatile char *small = mw_heap_malloc(h, 64);
    volatile char *large = mw_heap_malloc(h, REGION);
    if (!small || !large) fail("mw_heap_malloc");
    small[0] = large[0] = 1;
    mw_heap_destroy(h);
    if (small[1] == 0) puts("zero");
    large[1] = 2;
}

/* ---- clean: nothing to report ------------------------------------------------------------ */

static void fill(vptr p, size_t n, char c) {
    memset((void *)p, c, n);
}
/* Every 97th byte and the last of the first n. */
static void expect(vptr p, size_t n, char c) {
    for (size_t i = 0; i < n; i += 97)
        if (p[i] != c) fail("content lost");
    if (n && p[n - 1] != c) fail("content lost at the end");
}

/* Up through every regime and back down, in place or not, the kept prefix intact. */
NOINLINE static void realloc_regimes(void) {
    static const size_t sizes[] = {8,      24,      100,      1000,      16384,    16385, 20000,
                                   100000, 1 << 20, 70 << 20, 100 << 20, 70 << 20, 65000, (1 << 20),
                                   16385,  16000,   9000,     100,       24,       1};
    size_t n = sizeof sizes / sizeof *sizes, have = 0;
    vptr p = NULL;
    for (size_t i = 0; i < n; i++) {
        p = realloc((void *)p, sizes[i]);
        if (!p) fail("realloc");
        expect(p, have < sizes[i] ? have : sizes[i], 'r');
        fill(p, sizes[i], 'r');
        have = sizes[i];
        if (malloc_usable_size((void *)p) < have) fail("usable size below the request");
    }
    free((void *)p);
    free(realloc(NULL, 10));
    if (realloc(malloc(10), 0)) fail("realloc to 0 returned a block");
}

NOINLINE static void heaps_api(void) {
    for (int round = 0; round < 3; round++) {
        mw_heap_t *h = mw_heap_new();
        if (!h) fail("mw_heap_new");
        void *live[200];
        size_t nlive = 0;
        for (int i = 0; i < 200; i++) {
            size_t n = (size_t)(i * 97 % 30000) + 1;
            vptr p = i % 3 ? mw_heap_malloc(h, n) : mw_heap_calloc(h, 1, n);
            if (!p) fail("mw_heap_malloc");
            fill(p, n, 'h');
            p = mw_heap_realloc(h, (void *)p, n + 50);
            if (!p) fail("mw_heap_realloc");
            if (i % 5 == 0)
                mw_free((void *)p);
            else
                live[nlive++] = (void *)p;
        }
        vptr a = mw_heap_aligned(h, 4096, 5000);
        if (!a || (uintptr_t)a % 4096) fail("mw_heap_aligned");
        fill(a, 5000, 'a');
        if (round == 0) mw_heap_reset(h); /* frees every block; the heap stays */
        if (round < 2) mw_heap_destroy(h);
        if (round == 2) {
            mw_heap_delete(h); /* its live blocks stay valid until freed */
            live[nlive++] = (void *)a;
            for (size_t i = 0; i < nlive; i++) {
                expect(live[i], 1, i + 1 == nlive ? 'a' : 'h');
                mw_free(live[i]);
            }
        }
    }
}

/* Large blocks of an arena's heap: every size, zeroed, resized, aligned, freed, destroyed. */
NOINLINE static void arena_large(void) {
    mw_heap_t *h = arena_heap();
    static const size_t sizes[] = {16385, ARENA_LARGE, 300000, (size_t)5 << 20};
    for (int round = 0; round < 2; round++)
        for (int i = 0; i < 4; i++) {
            vptr p = get_in(h, sizes[i]), z = mw_heap_calloc(h, 1, sizes[i]);
            if (!z) fail("mw_heap_calloc");
            expect(z, sizes[i], 0);
            fill(p, sizes[i], 'l');
            p = mw_heap_realloc(h, (void *)p, sizes[i] * 2);
            if (!p) fail("mw_heap_realloc");
            expect(p, sizes[i], 'l');
            p = mw_heap_realloc(h, (void *)p, sizes[i] / 3);
            if (!p) fail("mw_heap_realloc");
            expect(p, sizes[i] / 3, 'l');
            mw_free((void *)p);
            mw_free((void *)z);
        }
    vptr a = mw_heap_aligned(h, (size_t)1 << 20, 5000);
    if (!a || (uintptr_t)a % ((size_t)1 << 20)) fail("mw_heap_aligned");
    fill(a, 5000, 'a');
    fill(get_in(h, 300000), 300000, 'k'); /* live until the heap is destroyed */
    mw_heap_destroy(h);
}

NOINLINE static void aligned(void) {
    for (size_t align = 8; align <= ((size_t)2 << 20); align *= 2) {
        size_t sizes[] = {1, align / 2 + 1, align + 24, 3 * align};
        for (int i = 0; i < 4; i++) {
            void *p[3] = {NULL, NULL, NULL};
            if (posix_memalign(&p[0], align, sizes[i])) fail("posix_memalign");
            p[1] = aligned_alloc(align, sizes[i]);
            p[2] = memalign(align, sizes[i]);
            for (int k = 0; k < 3; k++) {
                if (!p[k] || (uintptr_t)p[k] % align) fail("misaligned");
                fill(p[k], sizes[i], 'g');
                free(p[k]);
            }
        }
    }
}

NOINLINE static void forked(void) {
    vptr before = get(REGION);
    fill(before, REGION, 'f');
    pid_t pid = fork();
    if (pid < 0) fail("fork");
    if (pid == 0) {
        expect(before, REGION, 'f');
        free((void *)before);
        for (int i = 0; i < 100; i++)
            free((void *)get((size_t)i * 40));
        _exit(0);
    }
    int status;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status))
        fail("child failed");
    expect(before, REGION, 'f');
    free((void *)before);
}

struct vg_case {
    const char *name;
    void (*fn)(void);
};

static const struct vg_case cases[] = {
    {"overflow_small", overflow_small},
    {"overflow_region", overflow_region},
    {"overflow_huge", overflow_huge},
    {"overflow_arena", overflow_arena},
    {"uaf_read_arena", uaf_read_arena},
    {"uaf_read_small", uaf_read_small},
    {"uaf_read_region", uaf_read_region},
    {"uaf_read_huge", uaf_read_huge},
    {"uaf_write_small", uaf_write_small},
    {"uaf_write_region", uaf_write_region},
    {"uaf_write_huge", uaf_write_huge},
    {"double_free", double_free},
    {"foreign_free", foreign_free},
    {"uninit", uninit},
    {"leak", leak},
    {"heap_destroy_uaf", heap_destroy_uaf},
    {"realloc_regimes", realloc_regimes},
    {"heaps_api", heaps_api},
    {"aligned", aligned},
    {"arena_large", arena_large},
    {"forked", forked},
};

int main(int argc, char **argv) {
    for (size_t i = 0; argc == 2 && i < sizeof cases / sizeof *cases; i++) {
        if (strcmp(argv[1], cases[i].name) == 0) {
            cases[i].fn();
            return 0;
        }
    }
    fprintf(stderr, "usage: vg-cases CASE\n");
    return 2;
}
