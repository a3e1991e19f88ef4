/* mesh/merge.c — meshing one pair: the kept span moves into the mesh file (once), its lists
 * grow to the released span's extent, the released span's live objects are copied to the
 * same offsets while it is read-only, its range is mapped onto the kept span's pages, and the kept
 * span's lists are rebuilt from the union of both live sets.
 *
 * The released span may be a kept span itself, with aliases (a *chain merge*): its live set
 * holds their objects too, they are read-only with it while the objects are copied, and
 * each of them is mapped onto the kept span's pages before it is, so that its chain joins
 * the kept span's. That gives back a physical span without a new mapping (an alias range
 * was a file range), which pairs of fresh spans cannot: meshing deeper than one partner
 * per kept span needs it (mesh/README.md). */
#include "mesh/merge.h"

#include "arena/arena.h"
#include "mesh/barrier.h"
#include "mesh/file.h"
#include "os.h"
#include "trace.h"
#if MW_HARDENED
#include "harden/canary.h"
#include "harden/harden.h"
#include "harden/record.h"
#endif

#include <string.h>

struct mw_mesh_ranges mw_mesh_ranges;

/* Copies the live objects of released to their offsets in kept; returns how many. */
static uint64_t copy_live(struct mw_span *kept, const struct mw_span *released,
                          const uint64_t live[MW_SPAN_BITMAP_WORDS]) {
    uint64_t moved = 0;
    for (unsigned w = 0; w < MW_SPAN_BITMAP_WORDS; w++)
        for (uint64_t bits = live[w]; bits; bits &= bits - 1) {
            size_t off = (size_t)(w * 64 + (unsigned)__builtin_ctzll(bits)) * kept->block_size;
            memcpy(kept->start + off, released->start + off, kept->block_size);
#if MW_HARDENED /* its history moves too; its canary is keyed by its new address */
            kept->records[off / kept->block_size] = released->records[off / kept->block_size];
            mw_canary_put(kept->start + off + kept->block_size - MW_CANARY_SIZE);
#endif
            moved++;
        }
    return moved;
}

/* The copies in kept are void (released could not be re-mapped): the hardened build wants
 * free slots as fresh ones read, production does not care. */
static void unwrite(struct mw_span *kept, const uint64_t copied[MW_SPAN_BITMAP_WORDS]) {
#if MW_HARDENED
    for (unsigned w = 0; w < MW_SPAN_BITMAP_WORDS; w++)
        for (uint64_t bits = copied[w]; bits; bits &= bits - 1)
            mw_hd_span_extend(kept, w * 64 + (unsigned)__builtin_ctzll(bits), 1);
#else
    (void)kept;
    (void)copied;
#endif
}

/* released becomes an alias of kept, at the head of kept's chain. */
static void chain(struct mw_span *kept, struct mw_span *released) {
    released->mesh_into = kept;
    released->free = released->local_free = NULL;
    atomic_store_explicit(&released->owner, NULL, memory_order_relaxed);
    mw_span_set_delay(released, MW_DELAY_NEVER, false);
    atomic_thread_fence(memory_order_release); /* mesh_into before built (span.h) */
    released->built = 0;
    released->state = MW_SPAN_MESHED;
    released->mesh_next = kept->mesh_next;
    kept->mesh_next = released;
    kept->mesh_count++;
}

/* released and its aliases: read-only while their objects are copied (freeze), or again
 * read-write (thaw). */
static void freeze_chain(struct mw_span *released) {
    for (struct mw_span *v = released; v; v = v->mesh_next)
        mw_mesh_file_freeze(v);
}
static void thaw_chain(struct mw_span *released) {
    for (struct mw_span *v = released; v; v = v->mesh_next)
        mw_mesh_file_thaw(v);
}

/* Maps released's aliases, then released, onto kept's pages. When the kernel refuses one,
 * those already mapped go back onto released's pages (released is in the file then); false,
 * and *torn when one of those could not go back either. */
static bool remap_chain(struct mw_span *released, const struct mw_span *kept, bool *torn) {
    struct mw_span *v;
    for (v = released->mesh_next; v; v = v->mesh_next)
        if (!mw_mesh_file_alias(v->start, mw_span_bytes(v), kept)) break;
    if (!v && mw_mesh_file_alias(released->start, mw_span_bytes(released), kept)) return true;
    for (struct mw_span *u = released->mesh_next; u != v; u = u->mesh_next)
        if (!mw_mesh_file_alias(u->start, mw_span_bytes(u), released)) *torn = true;
    return false;
}

/* A chain merge failed half-way: an alias of released still maps kept's pages, where the
 * copies of its objects live on. Neither span is ever un-meshed (their pages stay, as a
 * leak: mw_mesh_unmesh), and kept never hands out a slot that was live in released. */
static void pin(struct mw_span *kept, struct mw_span *released) {
    kept->pinned = released->pinned = 1;
}

/* released (its aliases too) becomes an alias of kept, at the head of kept's chain. */
static void join(struct mw_span *kept, struct mw_span *released) {
    struct mw_span *last = released;
    for (struct mw_span *a = released->mesh_next; a; a = a->mesh_next) {
        a->mesh_into = kept;
        last = a;
    }
    kept->mesh_count += released->mesh_count - 1;
    last->mesh_next = kept->mesh_next;
    kept->mesh_next = released->mesh_next;
    released->mesh_next = NULL;
    chain(kept, released);
}

size_t mw_mesh_merge(struct mw_span *kept, const uint64_t live_kept[MW_SPAN_BITMAP_WORDS],
                     struct mw_span *released, const uint64_t live_released[MW_SPAN_BITMAP_WORDS],
                     uint64_t *rng) {
    uint64_t t0 = mw_os_now_ns();
    if (!kept->in_file) {
        if (!mw_mesh_file_adopt(kept)) return 0;
        mw_mesh_ranges.files++;
    }
    while (kept->built < released->built) /* the copies must land in built slots */
        mw_span_extend(kept, rng);
    mw_mesh_barrier_begin();
    freeze_chain(released);
    uint64_t moved = copy_live(kept, released, live_released);
    bool torn = false, ok = remap_chain(released, kept, &torn);
    if (!ok) thaw_chain(released);
    mw_mesh_barrier_end();
    uint64_t live[MW_SPAN_BITMAP_WORDS];
    for (unsigned w = 0; w < MW_SPAN_BITMAP_WORDS; w++)
        live[w] = live_kept[w] | (ok || torn ? live_released[w] : 0);
    if (torn) pin(kept, released);
    if (!ok && !torn) unwrite(kept, live_released);
    mw_span_rebuild(kept, live, rng); /* the copies overwrote links of kept's lists */
    if (!ok) return 0;
    if (released->in_file) {
        mw_mesh_file_punch(released);
        released->in_file = 0;
        mw_mesh_ranges.files--;
    }
    mw_mesh_ranges.aliases++;
    kept->used += released->used;
    join(kept, released);
#if MW_HARDENED
    mw_rec_span_drop(released);
#endif
    mw_arena_note_meshed(released);
    size_t bytes = mw_span_bytes(released);
    MW_TRACE_MESH(kept->cls, kept->start, released->start, moved, bytes, mw_os_now_ns() - t0);
    return bytes;
}

/* ---- un-meshing an empty span -------------------------------------------------------- */

bool mw_mesh_unmesh(struct mw_span *s, void (*give_back)(struct mw_span *alias)) {
    if (s->pinned) return false;
    bool all = true;
    for (struct mw_span *a = s->mesh_next, *next; a; a = next) {
        next = a->mesh_next;
        a->mesh_next = NULL;
        if (!mw_mesh_file_unback(a->start, mw_span_bytes(a))) {
            all = false; /* it still maps s's pages: neither may be used again */
            continue;
        }
        a->mesh_into = NULL;
        mw_mesh_ranges.aliases--;
        give_back(a);
    }
    s->mesh_next = NULL;
    s->mesh_count = 1;
    if (!all || !s->in_file) return all;
    if (!mw_mesh_file_unback(s->start, mw_span_bytes(s))) return false;
    mw_mesh_file_punch(s);
    s->in_file = 0;
    mw_mesh_ranges.files--;
    return true;
}
