/* harden/report.h — corruption reports: the contract of DESIGN.md. A first line
 * `meshward: error: <kind>: <detail>`, the thread, the stack of the detecting call, the
 * block's history (allocation and free: thread and call site), all symbolized from the ELF
 * symbol tables; then abort(), or, with MESHWARD_ON_CORRUPTION=report, a count and a
 * return (the caller leaks the block and goes on). Written with write(2) into fixed
 * buffers: nothing here allocates, and nothing trusts the heap. */
#ifndef MW_HARDEN_REPORT_H
#define MW_HARDEN_REPORT_H

#include "common.h"
#include "harden/harden.h"

/* A line being built in a fixed buffer (silently truncated when full). */
struct mw_line {
    char buf[480];
    size_t len;
};
void mw_line_str(struct mw_line *l, const char *s);
void mw_line_u64(struct mw_line *l, uint64_t v);
void mw_line_hex(struct mw_line *l, uintptr_t v);
/* "N-byte block at 0x..." */
void mw_line_block(struct mw_line *l, const struct mw_hd_block *b);
/* " (slab class 48, span 0x...)" and the like */
void mw_line_where(struct mw_line *l, const struct mw_hd_block *b);

/* Reports a corruption of kind (one of DESIGN.md's kinds) with detail; b is the block
 * involved or NULL. fatal: never returns (faults: the caller re-raises). Otherwise returns
 * only in report mode. */
void mw_hd_report(const char *kind, const void *ptr, struct mw_line *detail,
                  const struct mw_hd_block *b, bool fatal);
/* Counters printed with the statistics. Checks are counted per thread and summed in
 * batches: a thread's last batch is added when it exits or reads the statistics. */
MW_HIDDEN extern __thread uint32_t mw_hd_checks_pending;
void mw_hd_checks_flush(void);
mw_inline void mw_hd_count_checks(uint32_t n) {
    if (mw_unlikely((mw_hd_checks_pending += n) >= 4096)) mw_hd_checks_flush();
}
mw_inline void mw_hd_count_check(void) {
    mw_hd_count_checks(1);
}
uint64_t mw_hd_checks(void);
uint64_t mw_hd_corruptions(void);

#endif
