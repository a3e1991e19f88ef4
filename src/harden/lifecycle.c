/* harden/lifecycle.c — the hardened build's part of start-up, span carving, thread exit,
 * fork and exit: secrets and keys, the records and canaries of new slots, the quarantine
 * of an exiting thread, and the check of the main thread's heap at exit. */
#include "harden/harden.h"

#include "harden/canary.h"
#include "harden/fault.h"
#include "harden/quarantine.h"
#include "harden/report.h"
#include "harden/record.h"
#include "heap.h"
#include "mw_valgrind.h"
#include "span.h"

#include <meshward.h>
#include <stdatomic.h>
#include <string.h>

#if MW_HARDENED

static _Atomic uint64_t key_counter;

static uint64_t mix(uint64_t x) {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

void mw_hd_span_init(struct mw_span *s) {
    uint64_t n = atomic_fetch_add_explicit(&key_counter, 1, memory_order_relaxed);
    s->key[0] = mix(mw_canary_secret ^ (uint64_t)(uintptr_t)s->start ^ n);
    s->key[1] = mix(s->key[0] + 0x9e3779b97f4a7c15ull) | 1;
    mw_rec_span_init(s);
}

void mw_hd_span_extend(struct mw_span *s, uint32_t from, uint32_t n) {
    size_t size = s->block_size;
    for (uint32_t i = from; i < from + n; i++) {
        char *slot = s->start + (size_t)i * size;
        mw_vg_undefined(slot, size); /* not a block yet: written between brackets */
        memset(slot, 0, size - MW_CANARY_SIZE);
        mw_canary_put(slot + size - MW_CANARY_SIZE);
        mw_vg_noaccess(slot, size);
    }
}

void mw_hd_thread_exit(struct mw_heap *h) {
    mw_quarantine_flush(h);
    mw_hd_checks_flush();
}

void mw_hd_init(void) {
    mw_canary_init();
    mw_fault_install();
}

/* A write to a freed block that is never reused is still found. */
__attribute__((destructor(200))) static void check_at_exit(void) {
    if (mw_canary_secret) mw_heap_check();
}

#endif
