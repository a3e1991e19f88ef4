/* unwind_cfi.h — a call-stack walker for x86-64 that reads the DWARF call-frame information
 * of .eh_frame (found through each object's .eh_frame_hdr index) and keeps what it learns
 * about each return address in a cache the caller provides: the stacks of
 * `meshward trace --stacks` (trace_stacks.c) and the benchmark that compares unwinders
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

#endif
