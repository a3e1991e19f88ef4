/* harden/verdict.c — the free-time identity checks and their reports (see verdict.h). */
#include "harden/verdict.h"

static const char *const op_names[] = {"free", "delete", "delete[]", "realloc",
                                       "malloc_usable_size"};
static const char *const how_names[] = {"malloc", "new", "new[]"};

static const char *bad_pointer_kind(enum mw_op op) {
    return op == MW_OP_REALLOC ? "invalid realloc" : "invalid free";
}

/* "OP(0x...): " prefix for calls other than free, whose pointer is then the subject. */
static void start(struct mw_line *l, const void *p, enum mw_op op) {
    if (op == MW_OP_FREE) return;
    mw_line_str(l, op_names[op]);
    mw_line_str(l, "(");
    mw_line_hex(l, (uintptr_t)p);
    mw_line_str(l, "): ");
}

static void report_not_a_block(const void *p, bool found, const struct mw_hd_block *b,
                               enum mw_op op) {
    struct mw_line l = {.len = 0};
    start(&l, p, op);
    mw_line_hex(&l, (uintptr_t)p);
    if (!found) {
        mw_line_str(&l, " is not a block of meshward's (stack, static, foreign or unmapped "
                        "memory)");
        mw_hd_report(bad_pointer_kind(op), p, &l, NULL, false);
        return;
    }
    size_t off = (size_t)((const char *)p - b->p);
    if (off < b->size || (off == 0 && b->size == 0)) {
        mw_line_str(&l, " is ");
        mw_line_u64(&l, off);
        mw_line_str(&l, " bytes into a ");
    } else {
        mw_line_str(&l, " is ");
        mw_line_u64(&l, off - b->size);
        mw_line_str(&l, " bytes past the end of a ");
    }
    if (b->rec && mw_rec_state(b->rec->state) != MW_HS_LIVE) mw_line_str(&l, "freed ");
    mw_line_block(&l, b);
    mw_line_where(&l, b);
    mw_hd_report(bad_pointer_kind(op), p, &l, b, false);
}

static void report_state(const void *p, const struct mw_hd_block *b, enum mw_op op,
                         enum mw_hstate st) {
    struct mw_line l = {.len = 0};
    start(&l, p, op);
    mw_line_hex(&l, (uintptr_t)p);
    if (st == MW_HS_NEVER) {
        mw_line_str(&l, " is not a block handed out by meshward");
        mw_line_where(&l, b);
        mw_hd_report(bad_pointer_kind(op), p, &l, b, false);
        return;
    }
    mw_line_str(&l, " is a ");
    mw_line_u64(&l, b->size);
    mw_line_str(&l, "-byte block already freed");
    mw_line_where(&l, b);
    mw_hd_report(op == MW_OP_FREE || op == MW_OP_DELETE || op == MW_OP_DELETE_ARRAY
                     ? "double free"
                     : bad_pointer_kind(op),
                 p, &l, b, false);
}

static void report_mismatch(const void *p, const struct mw_hd_block *b, enum mw_op op,
                            unsigned how) {
    struct mw_line l = {.len = 0};
    mw_line_block(&l, b);
    mw_line_str(&l, " allocated with ");
    mw_line_str(&l, how_names[how < 3 ? how : 0]);
    mw_line_str(&l, " and released with ");
    mw_line_str(&l, op_names[op]);
    mw_line_where(&l, b);
    mw_hd_report("mismatched free", p, &l, b, false);
}

bool mw_hd_check_live_exact(const void *p, bool found, const struct mw_hd_block *b, enum mw_op op,
                            uint64_t *seen) {
    mw_hd_count_check();
    if (!found || !b->rec || !mw_hd_starts(b, p)) {
        report_not_a_block(p, found, b, op);
        return false;
    }
    *seen = atomic_load_explicit(&b->rec->state, memory_order_acquire);
    enum mw_hstate st = mw_rec_state(*seen);
    if (st != MW_HS_LIVE) {
        report_state(p, b, op, st);
        return false;
    }
    unsigned want = mw_op_how(op), how = mw_rec_how(*seen);
    if (want != MW_HOW_ANY && how != want) {
        report_mismatch(p, b, op, how);
        return false;
    }
    return true;
}

void mw_hd_report_race(const void *p, const struct mw_hd_block *b, enum mw_op op) {
    report_state(p, b, op, MW_HS_FREED);
}

void mw_hd_report_overflow(const struct mw_hd_block *b, size_t after, size_t before) {
    struct mw_line l = {.len = 0};
    mw_line_u64(&l, after ? after : before);
    mw_line_str(&l, (after ? after : before) == 1 ? " byte " : " bytes ");
    mw_line_str(&l, after ? "past the end of a " : "before the start of a ");
    mw_line_block(&l, b);
    mw_line_where(&l, b);
    mw_hd_report("heap overflow", b->p, &l, b, false);
}

void mw_hd_report_written(const struct mw_hd_block *b, size_t at) {
    struct mw_line l = {.len = 0};
    mw_line_str(&l, "byte ");
    mw_line_u64(&l, at);
    mw_line_str(&l, " of a freed ");
    mw_line_block(&l, b);
    mw_line_str(&l, " was changed");
    mw_line_where(&l, b);
    mw_hd_report("write after free", b->p, &l, b, false);
}
