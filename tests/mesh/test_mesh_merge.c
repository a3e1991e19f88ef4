/* test_mesh_merge.c — meshing one pair (mesh/merge.c), called directly on spans of the
 * calling thread's heap whose live slots the test chooses: four spans of 200 B blocks keep
 * the slots of one residue mod 8 each (span i keeps slots i, i + 8, ...), so any two are
 * disjoint. A and B mesh, C and D mesh, then the two kept spans mesh with each other (a
 * chain merge: C has an alias, D, which must follow it onto A's pages).
 *
 * The kernel is made to refuse mappings by this file's own mmap, which the static library's
 * calls resolve to: while armed, it fails the shared fixed mappings the test names. That
 * drives the chain merge that fails half-way (D already on A's pages, C refused, D refused
 * back onto C's): both kept spans must be pinned, or A's emptying punches D's objects out. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "arena/arena.h"
#include "heap.h"
#include "mesh/merge.h"
#include "thread.h"

#include <errno.h>
#include <meshward.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define SIZE 200 /* a class of spans with few slots (hardened: its canary included) */
#define FILL 128 /* the bytes of each block the test writes and checks */
#define SPANS 4
#define TRIES 12 /* spans' worth of blocks allocated to find SPANS wholly ours */
#define BLOCKS (TRIES * 128)

static unsigned char *block[BLOCKS];
static struct mw_span *span[SPANS];
static uint64_t rng = 42;

/* The shared fixed mappings mmap refuses while armed: onto refused_at, or onto the mesh
 * file's offset refused_off (-1: none). */
static char *refused_at;
static off_t refused_off = -1;

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off) {
    if ((flags & (MAP_SHARED | MAP_FIXED)) == (MAP_SHARED | MAP_FIXED) &&
        (addr == refused_at || off == refused_off)) {
        errno = ENOMEM;
        return MAP_FAILED;
    }
    return (void *)syscall(SYS_mmap, addr, len, prot, flags, fd, off);
}

static unsigned slot_of(const struct mw_span *s, const void *p) {
    return (unsigned)((size_t)((const char *)p - s->start) / s->block_size);
}

static unsigned char pattern(unsigned group, unsigned slot, size_t k) {
    return (unsigned char)(group * 61 + slot * 7 + k + 1);
}

static int group_of(const void *p) {
    if (!mw_arena_owns(p)) return -1; /* a sampled block (harden/sample.h) */
    for (int g = 0; g < SPANS; g++)
        if (mw_arena_span_of(p) == span[g]) return g;
    return -1;
}

/* Allocates blocks until SPANS spans, neither the first (it may hold older blocks) nor the
 * allocation span, hold only ours; each then keeps the slots of its residue. */
static void build(void) {
    memset(span, 0, sizeof span);
    unsigned n = TRIES * mw_classes[mw_arena_span_of(block[0] = malloc(SIZE))->cls].count;
    free(block[0]);
    for (unsigned i = 0; i < n; i++)
        assert_non_null(block[i] = malloc(SIZE));
    for (unsigned i = 0, found = 0; i < n && found < SPANS; i++) {
        if (!mw_arena_owns(block[i])) continue;
        struct mw_span *s = mw_arena_span_of(block[i]);
        if (s != mw_arena_span_of(block[0]) && s != mw_arena_span_of(block[n - 1]) &&
            group_of(block[i]) < 0)
            span[found++] = s;
    }
    for (unsigned i = 0; i < n; i++) {
        int g = group_of(block[i]);
        unsigned slot = g < 0 ? 0 : slot_of(span[g], block[i]);
        if (g < 0 || slot % 8 != (unsigned)g) {
            free(block[i]);
            block[i] = NULL;
        } else {
            for (size_t k = 0; k < FILL; k++)
                block[i][k] = pattern((unsigned)g, slot, k);
        }
    }
    free(malloc(3000)); /* the hardened quarantine lets go of our last block */
}

static void assert_intact(void) {
    for (unsigned i = 0; i < BLOCKS; i++) {
        if (!block[i]) continue;
        struct mw_span *s = mw_arena_span_of(block[i]);
        int g = group_of(block[i]);
        assert_true(g >= 0);
        unsigned slot = slot_of(s, block[i]);
        for (size_t k = 0; k < FILL; k++)
            assert_int_equal(block[i][k], pattern((unsigned)g, slot, k));
    }
}

/* Meshes released into kept as a pass would, and the heap forgets released. */
static size_t merge(struct mw_span *kept, struct mw_span *released) {
    uint64_t live_k[MW_SPAN_BITMAP_WORDS], live_r[MW_SPAN_BITMAP_WORDS];
    mw_span_collect(kept);
    mw_span_collect(released);
    mw_span_live_bitmap(kept, live_k);
    mw_span_live_bitmap(released, live_r);
    size_t bytes = mw_mesh_merge(kept, live_k, released, live_r, &rng);
    if (bytes) mw_heap_unlink_meshed(mw_tls_heap, released);
    return bytes;
}

static void kept_spans_mesh_with_their_aliases(void **state) {
    (void)state;
    if (mw_option_get(MW_OPTION_MESH) == 0) skip();
    mw_option_set(MW_OPTION_QUARANTINE, 0);
    build();
    struct mw_span *a = span[0], *b = span[1], *c = span[2], *d = span[3];
    uint32_t used = a->used + b->used + c->used + d->used;
    assert_true(merge(a, b) > 0);
    assert_true(merge(c, d) > 0);
    assert_true(merge(a, c) > 0); /* c is kept, with an alias: a chain merge */
    assert_int_equal(a->mesh_count, 4);
    assert_int_equal(a->used, used);
    for (int g = 1; g < SPANS; g++) {
        assert_int_equal(span[g]->state, MW_SPAN_MESHED);
        assert_ptr_equal(span[g]->mesh_into, a);
        assert_false(span[g]->in_file);
    }
    assert_intact();
    /* d's range maps a's pages now: a write through d shows at the same offset of a */
    for (unsigned i = 0; i < BLOCKS; i++)
        if (block[i] && group_of(block[i]) == 3) {
            block[i][0] ^= 0xff;
            assert_int_equal((unsigned char)a->start[(char *)block[i] - d->start], block[i][0]);
            block[i][0] ^= 0xff;
            break;
        }
    /* new blocks of a's lists overlap no survivor */
    void *fresh[64];
    for (int i = 0; i < 64; i++)
        memset(fresh[i] = malloc(SIZE), 0xee, SIZE);
    assert_intact();
    for (int i = 0; i < 64; i++)
        free(fresh[i]);
    for (unsigned i = 0; i < BLOCKS; i++)
        free(block[i]);
    free(malloc(3000));
    mw_collect(true);
    /* every span went back, the aliases with a, unless a serves allocations (empty); the
     * hardened build keeps a block freed through an alias in its quarantine (as it does
     * after a mesh of two fresh spans) */
    struct mw_stats st;
    assert_int_equal(mw_stats_get(&st), 0);
    assert_true(MW_HARDENED || st.meshed_spans == 0 ||
                (mw_tls_heap->current[a->cls] == a && a->used == 0));
}

/* Frees the blocks of span group g. */
static void free_group(int g) {
    for (unsigned i = 0; i < BLOCKS; i++)
        if (block[i] && group_of(block[i]) == g) {
            free(block[i]);
            block[i] = NULL;
        }
}

static void failed_chain_merge_pins_both_spans(void **state) {
    (void)state;
    if (mw_option_get(MW_OPTION_MESH) == 0) skip();
    mw_option_set(MW_OPTION_QUARANTINE, 0);
    struct mw_stats before, built, after;
    assert_int_equal(mw_stats_get(&before), 0);
    build();
    assert_int_equal(mw_stats_get(&built), 0);
    struct mw_span *a = span[0], *b = span[1], *c = span[2], *d = span[3];
    assert_true(merge(a, b) > 0);
    assert_true(merge(c, d) > 0);
    /* d goes onto a's pages; c may not follow, nor may d go back onto c's */
    refused_at = c->start;
    refused_off = c->start - mw_arena_base;
    assert_int_equal(merge(a, c), 0);
    refused_at = NULL;
    refused_off = -1;
    assert_true(a->pinned && c->pinned);
    assert_intact();
    for (unsigned i = 0; i < BLOCKS; i++) /* d's objects live on in a's pages */
        if (block[i] && group_of(block[i]) == 3) {
            block[i][0] ^= 0xff;
            assert_int_equal((unsigned char)a->start[(char *)block[i] - d->start], block[i][0]);
            block[i][0] ^= 0xff;
            break;
        }
    /* a empties (its own and b's objects freed): its pages must stay, d maps them */
    free_group(0);
    free_group(1);
    mw_collect(true);
    assert_intact();
    void *fresh[64]; /* nor does any span hand out a slot whose object lives */
    for (int i = 0; i < 64; i++)
        memset(fresh[i] = malloc(SIZE), 0xee, SIZE);
    assert_intact();
    for (int i = 0; i < 64; i++)
        free(fresh[i]);
    free_group(2);
    free_group(3);
    free(malloc(3000));
    mw_collect(true);
    /* every block went back, and no span stays in use but those that did once the test's
     * blocks were placed: the heap's current one, and the two pinned with their aliases */
    assert_int_equal(mw_stats_get(&after), 0);
    assert_int_equal(after.live_blocks, before.live_blocks);
    assert_int_equal(after.spans_in_use, built.spans_in_use);
    assert_true(a->pinned && c->pinned && b->state == MW_SPAN_MESHED && d->state == MW_SPAN_MESHED);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(kept_spans_mesh_with_their_aliases),
        cmocka_unit_test(failed_chain_merge_pins_both_spans),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
