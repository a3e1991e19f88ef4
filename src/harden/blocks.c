/* harden/blocks.c — memory checks per kind of block (see blocks.h). */
#include "harden/blocks.h"

#include "alloc.h"
#include "harden/canary.h"
#include "harden/verdict.h"
#include "harden/zero.h"
#include "mw_valgrind.h"
#include "os.h"

#include <string.h>
#include <sys/mman.h>

#if MW_HARDENED

/* Bytes from the end of the block to the last damaged byte of [end, limit), whose last 8
 * bytes are a canary and the rest zero; 0 when intact. */
static size_t damage_after(const char *p, size_t size, size_t limit) {
    size_t canary = limit - MW_CANARY_SIZE, hit = mw_canary_damage(p + canary);
    if (hit) return canary + hit - size;
    for (size_t i = canary; i > size; i--)
        if (p[i - 1]) return i - size;
    return 0;
}

/* Memcheck sees canaries as redzones: they are read between these brackets. */
static void vg_open(const char *p, size_t n) {
    mw_vg_defined(p, n);
}
static void vg_close(const char *p, size_t n) {
    mw_vg_noaccess(p, n);
}

static size_t slab_after(const struct mw_hd_block *b) {
    vg_open(b->p + b->size, b->cap - b->size);
    size_t after = damage_after(b->p, b->size, b->cap);
    vg_close(b->p + b->size, b->cap - b->size);
    return after;
}

static size_t slab_before(const struct mw_hd_block *b) {
    vg_open(b->p - MW_CANARY_SIZE, MW_CANARY_SIZE);
    size_t before = mw_canary_reach_back(b->p - MW_CANARY_SIZE);
    vg_close(b->p - MW_CANARY_SIZE, MW_CANARY_SIZE);
    return before;
}

static size_t large_after(const struct mw_hd_block *b) {
    vg_open(b->p + b->size, MW_CANARY_SIZE);
    size_t after = mw_canary_damage(b->p + b->size);
    vg_close(b->p + b->size, MW_CANARY_SIZE);
    return after;
}

bool mw_hd_canaries_ok(const struct mw_hd_block *b) {
    mw_hd_count_check();
    size_t after = 0, before = 0;
    switch (b->kind) {
    case MW_HD_SLAB:
        after = slab_after(b);
        if (!after) before = slab_before(b);
        break;
    case MW_HD_REGION:
    case MW_HD_HUGE:
        after = large_after(b);
        break;
    default:
        break;
    }
    if (!after && !before) return true;
    mw_hd_report_overflow(b, after, before);
    return false;
}

/* Bytes of the block the program may have written after freeing it. */
static size_t written_extent(const struct mw_hd_block *b) {
    switch (b->kind) {
    case MW_HD_SLAB:
        return b->cap - MW_CANARY_SIZE;
    case MW_HD_REGION:
    case MW_HD_HUGE:
        return b->size + MW_CANARY_SIZE;
    default:
        return 0;
    }
}

/* The block is not the program's (freed, or not yet handed out): memcheck is told to let
 * these reads through, and the bytes go back to unaddressable after. */
static bool zero_from(const struct mw_hd_block *b, size_t from) {
    mw_hd_count_check();
    size_t n = written_extent(b), span = n + (b->kind == MW_HD_SLAB ? MW_CANARY_SIZE : 0);
    vg_open(b->p, span);
    size_t at = from < n ? from + mw_first_nonzero(b->p + from, n - from) : n;
    bool canary = b->kind != MW_HD_SLAB || mw_canary_ok(b->p + n);
    vg_close(b->p, span);
    if (at == n && canary) return true;
    mw_hd_report_written(b, at);
    return false;
}

bool mw_hd_still_clean(const struct mw_hd_block *b) {
    if (b->kind == MW_HD_HUGE) return true; /* protected while it waits: nothing wrote */
    return zero_from(b, 0);
}

bool mw_hd_slot_fresh(const struct mw_hd_block *b) {
    return zero_from(b, sizeof(void *));
}

void mw_hd_scrub(const struct mw_hd_block *b) {
    switch (b->kind) {
    case MW_HD_SLAB:
        mw_vg_undefined(b->p, b->size);
        memset(b->p, 0, b->size);
        vg_close(b->p, b->size);
        break;
    case MW_HD_REGION:
        mw_vg_undefined(b->p, b->size + MW_CANARY_SIZE);
        memset(b->p, 0, b->size + MW_CANARY_SIZE);
        vg_close(b->p, b->size + MW_CANARY_SIZE);
        break;
    case MW_HD_HUGE: /* page-aligned: the pages go back and any use faults until unmapped */
        madvise(b->p, mw_align_up(b->size + MW_CANARY_SIZE, MW_PAGE_SIZE), MADV_DONTNEED);
        mprotect(b->p, b->cap, PROT_NONE);
        break;
    default:
        break;
    }
}

void mw_hd_give_back(const struct mw_hd_block *b) {
    if (b->kind == MW_HD_ZERO)
        mw_zero_free(b->p);
    else
        mw_free_untraced(b->p);
}

#endif
