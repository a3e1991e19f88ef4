/* harden/zero.c — the range of zero-size blocks (see zero.h). Addresses are 16 bytes apart;
 * a rotating cursor hands out the next free one, so a freed address is reused late. */
#include "harden/zero.h"

#include "os.h"

#include <stdatomic.h>
#include <sys/mman.h>

#if MW_HARDENED

#define RANGE ((size_t)64 << 20)
#define SLOTS (RANGE / MW_MIN_ALIGN)

static uintptr_t base;
static _Atomic uint64_t *live; /* one bit per address */
static _Atomic size_t cursor;
static _Atomic int state; /* 0: not reserved, 1: reserving, 2: ready, 3: failed */

static bool ready(void) {
    int st = atomic_load_explicit(&state, memory_order_acquire);
    if (mw_likely(st == 2)) return true;
    if (st == 0 && atomic_compare_exchange_strong(&state, &st, 1)) {
        void *r = mmap(NULL, RANGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        live = r == MAP_FAILED ? NULL : mw_os_reserve(SLOTS / 8, MW_PAGE_SIZE);
        if (live) base = (uintptr_t)r;
        atomic_store_explicit(&state, live ? 2 : 3, memory_order_release);
        return live != NULL;
    }
    while ((st = atomic_load_explicit(&state, memory_order_acquire)) == 1) {
    }
    return st == 2;
}

bool mw_zero_owns(const void *p) {
    return base && (uintptr_t)p - base < RANGE;
}

void *mw_zero_alloc(void) {
    if (!ready()) return NULL;
    for (size_t tries = 0; tries < SLOTS; tries++) {
        size_t i = atomic_fetch_add_explicit(&cursor, 1, memory_order_relaxed) % SLOTS;
        uint64_t bit = (uint64_t)1 << (i % 64);
        if (!(atomic_fetch_or_explicit(&live[i / 64], bit, memory_order_acq_rel) & bit))
            return (void *)(base + i * MW_MIN_ALIGN);
    }
    return NULL;
}

void mw_zero_free(void *p) {
    size_t i = ((uintptr_t)p - base) / MW_MIN_ALIGN;
    atomic_fetch_and_explicit(&live[i / 64], ~((uint64_t)1 << (i % 64)), memory_order_acq_rel);
}

#endif
