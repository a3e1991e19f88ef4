/* harden/report.c — building and writing corruption reports (see report.h). */
#include "harden/report.h"

#include "harden/symbols.h"
#include "mw_valgrind.h"
#include "os.h"
#include "span.h"
#include "trace.h"
#include "stacks/gcc.h"

#include <meshward.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define FRAMES 24

static _Atomic uint64_t checks, corruptions;
__thread uint32_t mw_hd_checks_pending;

/* Each thread counts its checks in a thread-local word and adds them here in batches (at
 * the batch size, at thread exit and when the statistics are read). */
void mw_hd_checks_flush(void) {
    atomic_fetch_add_explicit(&checks, mw_hd_checks_pending, memory_order_relaxed);
    mw_hd_checks_pending = 0;
}
uint64_t mw_hd_checks(void) {
    mw_hd_checks_flush();
    return checks;
}
uint64_t mw_hd_corruptions(void) {
    return corruptions;
}

/* ---- the line builder -------------------------------------------------------------- */

void mw_line_str(struct mw_line *l, const char *s) {
    while (*s && l->len + 1 < sizeof l->buf)
        l->buf[l->len++] = *s++;
    l->buf[l->len] = '\0';
}

void mw_line_u64(struct mw_line *l, uint64_t v) {
    char tmp[24];
    mw_line_str(l, mw_fmt_u64(tmp, v));
}

void mw_line_hex(struct mw_line *l, uintptr_t v) {
    char tmp[19] = "0x";
    int n = 0;
    char digits[16];
    do {
        digits[n++] = "0123456789abcdef"[v & 15];
        v >>= 4;
    } while (v);
    for (int i = 0; i < n; i++)
        tmp[2 + i] = digits[n - 1 - i];
    tmp[2 + n] = '\0';
    mw_line_str(l, tmp);
}

void mw_line_block(struct mw_line *l, const struct mw_hd_block *b) {
    mw_line_u64(l, b->size);
    mw_line_str(l, "-byte block at ");
    mw_line_hex(l, (uintptr_t)b->p);
}

void mw_line_where(struct mw_line *l, const struct mw_hd_block *b) {
    switch (b->kind) {
    case MW_HD_SLAB:
        mw_line_str(l, " (slab class ");
        mw_line_u64(l, b->cap);
        mw_line_str(l, ", span ");
        mw_line_hex(l, (uintptr_t)b->span->start);
        mw_line_str(l, ")");
        break;
    case MW_HD_REGION:
        mw_line_str(l, " (region of ");
        mw_line_u64(l, b->cap >> 10);
        mw_line_str(l, " KiB)");
        break;
    case MW_HD_HUGE:
        mw_line_str(l, " (huge mapping of ");
        mw_line_u64(l, b->cap >> 10);
        mw_line_str(l, " KiB)");
        break;
    case MW_HD_LARGE:
        mw_line_str(l, " (arena span of ");
        mw_line_u64(l, b->cap >> 10);
        mw_line_str(l, " KiB)");
        break;
    case MW_HD_ZERO:
        mw_line_str(l, " (zero-size block)");
        break;
    case MW_HD_SAMPLE:
        mw_line_str(l, " (sampled guarded block)");
        break;
    }
}

/* ---- stack and history ------------------------------------------------------------- */

static void write_line(struct mw_line *l) {
    mw_line_str(l, "\n");
    mw_write_str(2, l->buf);
}

/* Frames inside meshward itself are left out: the report starts at the program's call. */
static void write_stack(void) {
    void *frames[FRAMES];
    int n = mw_gcc_backtrace(frames, FRAMES);
    unsigned shown = 0;
    mw_write_str(2, "meshward:   detected at:\n");
    for (int i = 0; i < n; i++) {
        if (mw_sym_is_self((uintptr_t)frames[i])) continue;
        struct mw_line l = {.len = 0};
        mw_line_str(&l, "meshward:     #");
        mw_line_u64(&l, shown++);
        mw_line_str(&l, " ");
        mw_sym_describe(&l, (uintptr_t)frames[i]);
        write_line(&l);
    }
}

static void write_event(const char *what, uint32_t tid, uintptr_t ip) {
    struct mw_line l = {.len = 0};
    mw_line_str(&l, "meshward:   block ");
    mw_line_str(&l, what);
    mw_line_str(&l, " by thread ");
    mw_line_u64(&l, tid);
    mw_line_str(&l, " at ");
    mw_sym_describe(&l, ip);
    write_line(&l);
}

static void write_history(const struct mw_hrec *r) {
    if (!r || !mw_rec_tid_of(r->alloc)) return;
    write_event("allocated", mw_rec_tid_of(r->alloc), mw_rec_ip(r->alloc));
    uint64_t st = atomic_load_explicit(&r->state, memory_order_acquire);
    if (mw_rec_state(st) >= MW_HS_QUARANTINED && mw_rec_tid_of(st))
        write_event("freed", mw_rec_tid_of(st), mw_rec_ip(st));
}

static bool report_mode(void) {
    const char *mode = mw_option_get_string(MW_OPTION_ON_CORRUPTION);
    return mode && strcmp(mode, "report") == 0;
}

void mw_hd_report(const char *kind, const void *ptr, struct mw_line *detail,
                  const struct mw_hd_block *b, bool fatal) {
    atomic_fetch_add_explicit(&corruptions, 1, memory_order_relaxed);
    /* Under memcheck, memcheck reports the bug (at the faulty access itself, or when the
     * block is handed to it); the hardened checks only keep the heap safe: the block is left
     * alone and the program goes on, as with memcheck's own malloc. */
    if (!fatal && mw_vg_active()) return;
    struct mw_line l = {.len = 0};
    mw_line_str(&l, "meshward: error: ");
    mw_line_str(&l, kind);
    mw_line_str(&l, ": ");
    mw_line_str(&l, detail->buf);
    write_line(&l);
    l.len = 0;
    mw_line_str(&l, "meshward:   thread ");
    mw_line_u64(&l, mw_rec_tid());
    write_line(&l);
    write_stack();
    write_history(b ? b->rec : NULL);
    MW_TRACE_CORRUPTION(kind, (uint64_t)(uintptr_t)ptr, detail->buf);
    if (fatal) return;
    if (!report_mode()) abort();
}
