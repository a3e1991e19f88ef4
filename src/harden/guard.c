/* harden/guard.c — placing guard pages and explaining faults on them (see guard.h). */
#include "harden/guard.h"

#include "arena/arena.h"
#include "harden/sample.h"
#include "harden/zero.h"
#include "huge.h"
#include "os.h"
#include "region/region.h"

#include <sys/mman.h>

/* "read at 0x..., " then how addr relates to b */
static void describe(struct mw_line *l, const void *addr, bool write, const struct mw_hd_block *b) {
    mw_line_str(l, write ? "write at " : "read at ");
    mw_line_hex(l, (uintptr_t)addr);
    mw_line_str(l, ", ");
    const char *a = addr;
    bool freed = b->rec && mw_rec_state(b->rec->state) >= MW_HS_QUARANTINED;
    if (a < b->p) {
        mw_line_u64(l, (uint64_t)(b->p - a));
        mw_line_str(l, " bytes before the start of a ");
    } else if ((size_t)(a - b->p) < b->size || b->size == 0) {
        mw_line_u64(l, (uint64_t)(a - b->p));
        mw_line_str(l, " bytes into a ");
    } else {
        mw_line_u64(l, (uint64_t)(a - b->p) - b->size);
        mw_line_str(l, " bytes past the end of a ");
    }
    if (freed) mw_line_str(l, "freed ");
    mw_line_block(l, b);
    mw_line_where(l, b);
}

/* Fills detail for a fault on block b; a write into a freed block is a write after free. */
static const char *explain_block(const void *addr, bool write, struct mw_line *detail,
                                 const struct mw_hd_block *b) {
    describe(detail, addr, write, b);
    bool freed = b->rec && mw_rec_state(b->rec->state) >= MW_HS_QUARANTINED;
    bool inside = (const char *)addr >= b->p && (size_t)((const char *)addr - b->p) < b->cap;
    return freed && write && inside ? "write after free" : "guard page hit";
}

/* The block a fault concerns: a sampled block's page or guard page (both builds), else a
 * guard page or zero-size block of the hardened build. */
static bool locate_fault(const void *addr, struct mw_hd_block *b) {
    if (mw_sample_locate(addr, b)) return true;
#if MW_HARDENED
    return mw_hd_locate_fault(addr, b);
#else
    return false;
#endif
}

const char *mw_guard_explain(const void *addr, bool write, struct mw_line *detail,
                             struct mw_hd_block *b) {
    return locate_fault(addr, b) ? explain_block(addr, write, detail, b) : NULL;
}

#if MW_HARDENED

/* Protects the guard page ending the group of a that holds page `at`, once. */
static void guard_group_of(struct mw_arena *a, char *at) {
    size_t group = (size_t)(at - a->start) / ((size_t)MW_GUARD_GROUP_PAGES << MW_PAGE_SHIFT);
    char *guard = a->start + ((group + 1) * MW_GUARD_GROUP_PAGES - 1) * MW_PAGE_SIZE;
    if (guard <= a->last_guard || guard + MW_PAGE_SIZE > a->end) return;
    mprotect(guard, MW_PAGE_SIZE, PROT_NONE);
    a->last_guard = guard;
}

void mw_guard_carve(struct mw_arena *a, unsigned pages) {
    size_t in_group = ((size_t)(a->bump - a->start) >> MW_PAGE_SHIFT) % MW_GUARD_GROUP_PAGES;
    if (in_group + pages >= MW_GUARD_GROUP_PAGES) /* would cross the guard: next group */
        a->bump += (MW_GUARD_GROUP_PAGES - in_group) << MW_PAGE_SHIFT;
    guard_group_of(a, a->bump);
}

/* Only the last guard protected can lie at or above the bump: every earlier one lies below
 * the spans carved after it. */
void mw_guard_open(struct mw_arena *a, char *from, char *to) {
    if (a->last_guard && a->last_guard >= from && a->last_guard < to)
        mprotect(a->last_guard, MW_PAGE_SIZE, PROT_READ | PROT_WRITE);
}

void mw_guard_tail(char *start, size_t size) {
    mprotect(start + size - MW_PAGE_SIZE, MW_PAGE_SIZE, PROT_NONE);
}

void mw_guard_area_taken(char *area, size_t size) {
    mw_guard_tail(area, size);
    if (mw_region_owns(area - 1)) mw_guard_tail(area - MW_PAGE_SIZE, MW_PAGE_SIZE);
}

void mw_guard_area_released(char *area, size_t size) {
    mprotect(area, size, PROT_READ | PROT_WRITE);
}

#endif
