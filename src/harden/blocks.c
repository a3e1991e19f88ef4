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

/* Bytes from the end of the block to the last damaged byte of [size, limit), whose last 8
 * bytes are a canary and the rest zero; 0 when intact. */
static size_t damage_after(const char *p, size_t size, size_t limit) {
    size_t canary = limit - MW_CANARY_SIZE, hit = mw_canary_damage(p + canary);
    return hit ? canary + hit - size : mw_nonzero_extent(p + size, canary - size);
}

/* Under memcheck these checks stand aside (reading those bytes would need brackets that
 * other threads' brackets can undo between two instructions). */
static bool memcheck_watches(void) {
    return mw_vg_active();
}

bool mw_hd_canaries_exact(const struct mw_hd_block *b) {
    if (memcheck_watches()) return true;
    size_t after = 0, before = 0;
    switch (b->kind) {
    case MW_HD_SLAB:
        after = damage_after(b->p, b->size, b->cap);
        if (!after) before = mw_canary_reach_back(b->p - MW_CANARY_SIZE);
        break;
    case MW_HD_REGION:
    case MW_HD_HUGE:
    case MW_HD_LARGE:
        after = mw_canary_damage(b->p + b->size);
        break;
    default:
        break;
    }
    if (!after && !before) return true;
    mw_hd_report_overflow(b, after, before);
    return false;
}

/* Regions and large spans of at least this many bytes are protected while they are freed
 * instead of read back: measured here, an mprotect pair costs about what reading 256 KiB does (8 us
 * for 32 KiB, 37 us for 1 MiB; a read of 1 MiB, 50-110 us). Not under memcheck, which watches freed
 * blocks itself. */
#define PROTECT_MIN ((size_t)256 << 10)
static bool protected_while_freed(const struct mw_hd_block *b) {
    bool like_region = b->kind == MW_HD_REGION || b->kind == MW_HD_LARGE;
    return b->kind == MW_HD_HUGE || (like_region && b->cap >= PROTECT_MIN && !memcheck_watches());
}

/* Bytes of a freed block the program could have written: a slab slot up to its canary, a
 * region's or large span's block and its canary (the rest stays zero); none of a zero-size
 * block. */
static size_t written_extent(const struct mw_hd_block *b) {
    switch (b->kind) {
    case MW_HD_SLAB:
        return b->cap - MW_CANARY_SIZE;
    case MW_HD_REGION:
    case MW_HD_LARGE:
        return b->size + MW_CANARY_SIZE;
    default:
        return 0;
    }
}

/* A freed block: zero from `from` on, and a slab slot's canary intact. Under memcheck: not
 * checked, but zeroed again (a new block must read as zero). */
static bool zero_from(const struct mw_hd_block *b, size_t from) {
    mw_hd_count_check();
    size_t n = written_extent(b);
    if (n <= from) return true;
    if (memcheck_watches()) {
        mw_vg_undefined(b->p + from, n - from);
        memset(b->p + from, 0, n - from);
        mw_vg_noaccess(b->p + from, n - from);
        return true;
    }
    bool canary = b->kind != MW_HD_SLAB || mw_canary_ok(b->p + n);
    if (canary && mw_bytes_zero(b->p + from, n - from)) return true;
    size_t at = from + mw_first_nonzero(b->p + from, n - from);
    mw_hd_report_written(b, at);
    return false;
}

bool mw_hd_still_clean(const struct mw_hd_block *b) {
    return protected_while_freed(b) || zero_from(b, 0); /* protected: nothing wrote */
}

bool mw_hd_region_reopen(const struct mw_hd_block *b) {
    if (!protected_while_freed(b)) return zero_from(b, 0);
    mprotect(b->p, b->cap - MW_PAGE_SIZE, PROT_READ | PROT_WRITE);
    return true;
}

bool mw_hd_link_word_exact(const struct mw_hd_block *b) {
    if (b->kind != MW_HD_SLAB || memcheck_watches()) return mw_hd_still_clean(b);
    mw_hd_count_check();
    uint64_t w;
    memcpy(&w, b->p, sizeof w);
    if (!w) return true;
    mw_hd_report_written(b, (size_t)__builtin_ctzll(w) / 8);
    return false;
}

bool mw_hd_slot_fresh_exact(const struct mw_hd_block *b) {
    return zero_from(b, sizeof(void *));
}

void mw_hd_scrub_exact(const struct mw_hd_block *b) {
    switch (b->kind) {
    case MW_HD_SLAB:
        mw_vg_undefined(b->p, b->size);
        memset(b->p, 0, b->size);
        mw_vg_noaccess(b->p, b->size);
        break;
    case MW_HD_REGION: /* the rest of the region is zero already, its last page a guard */
    case MW_HD_LARGE:
        mw_vg_undefined(b->p, b->size + MW_CANARY_SIZE);
        memset(b->p, 0, b->size + MW_CANARY_SIZE);
        mw_vg_noaccess(b->p, b->size + MW_CANARY_SIZE);
        if (protected_while_freed(b)) mprotect(b->p, b->cap - MW_PAGE_SIZE, PROT_NONE);
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
    if (b->kind == MW_HD_ZERO) return mw_zero_free(b->p);
    if (b->kind == MW_HD_LARGE) /* its arena's runs hold no protected page (arena/runs.c) */
        mprotect(b->p, b->cap, PROT_READ | PROT_WRITE);
    mw_free_untraced(b->p);
}

#endif
