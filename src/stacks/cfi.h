/* stacks/cfi.h — a call-stack walker for x86-64 that reads the DWARF call-frame information
 * of .eh_frame (found through each object's .eh_frame_hdr index) and keeps what it learns
 * about each return address in a cache the caller provides: the stacks of
 * `meshward trace --stacks` (stacks/stacks.c) and the benchmark that compares unwinders
 * (bench/unwind_cost.c). Standalone: it needs no allocator state, so both can use it.
 *
 * What it knows is what compilers emit at call sites: a canonical frame address (CFA) that
 * is rsp or rbp plus a constant, the return address at CFA-8, and rbp either kept or saved
 * at CFA plus a constant. Per return address that is one 64-bit rule, so a walk costs one
 * cache probe and one or two loads per frame. A frame it cannot describe so (a signal frame,
 * a CFA computed by a DWARF expression, a 32-bit .eh_frame index) makes the whole walk give
 * up with -1, and the caller takes the stack with a general unwinder instead; a frame of
 * code with no unwind information at all (JIT code, stripped objects) ends the walk, as does
 * the outermost frame (its return address is undefined).
 *
 * Invariants: it never allocates, takes no lock on a cache hit (a miss calls
 * dl_iterate_phdr, which takes the dynamic loader's lock, as libgcc's unwinder does), and is
 * safe to run on several threads at once over one cache (slots are published with release
 * stores; a racing reader that finds a slot half-written computes the rule itself). Rules
 * are facts about loaded code: an object unloaded and another loaded at its address would
 * need the cache cleared, which nothing does (neither does libunwind's trace cache). */
#ifndef MW_UNWIND_CFI_H
#define MW_UNWIND_CFI_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct mw_cfi_slot {
    _Atomic uint64_t ip;   /* 0: free */
    _Atomic uint64_t rule; /* 0: being written */
};

/* The rule cache: `mask + 1` slots (a power of two), zeroed before first use. */
struct mw_cfi_cache {
    struct mw_cfi_slot *slots;
    uint32_t mask;
};

/* Writes the return addresses of the calling thread's stack, innermost first (the first is
 * the caller's own), into out (at most max). Returns how many, or -1 when a frame needs a
 * general unwinder. */
int mw_cfi_backtrace(const struct mw_cfi_cache *cache, void **out, int max);

/* The registers a walk starts from: mw_cfi_capture stores its caller's at the call (the
 * return address, rsp after the return, rbp). A walk from them is valid while that caller's
 * frame is live: it describes the caller's frame, then its callers'. */
struct mw_cfi_regs {
    uintptr_t ip, sp, bp;
};
void mw_cfi_capture(struct mw_cfi_regs *r) __asm__("mw_cfi_capture")
    __attribute__((visibility("hidden")));

/* What a walk read: the stack words its frames depend on (return addresses, saved rbp), as
 * offsets from the sp it started from, and whether it used the rbp it started from. A walk
 * is a function of its registers, the rules of the code (fixed while the code stays loaded)
 * and those words: another walk from the same registers over the same words gives the same
 * frames, which mw_cfi_retrace checks in one load and compare per word. */
enum { MW_CFI_TRAIL_WORDS = 48 };
struct mw_cfi_trail {
    uintptr_t ip, sp, bp; /* where the walk started (bp: only when used) */
    bool valid;           /* false: no trail (the walk gave up, or read too many words) */
    bool uses_bp;
    uint32_t words;
    uint32_t off[MW_CFI_TRAIL_WORDS];
    uintptr_t val[MW_CFI_TRAIL_WORDS];
};

/* mw_cfi_backtrace from r (the first frame is r's function's caller's return address), and,
 * when trail is not NULL, what it read. */
int mw_cfi_walk(const struct mw_cfi_cache *cache, const struct mw_cfi_regs *r, void **out, int max,
                struct mw_cfi_trail *trail);

/* Whether a walk from r would read the words t recorded, and so give t's walk's frames. */
bool mw_cfi_retrace(const struct mw_cfi_trail *t, const struct mw_cfi_regs *r);

#endif
