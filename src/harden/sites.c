/* harden/sites.c — call-site ids and thread numbers of block histories, and whether a
 * second thread has run (see sites.h). */
#include "harden/sites.h"

#include "os.h"

#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

/* Sites land on pages at random: a small table keeps a program with thousands of call sites
 * to a few hundred KiB (512 KiB at most). */
#define SITE_BITS 16
#define SITES ((size_t)1 << SITE_BITS)
#define NUMBERS ((size_t)1 << 16)

__thread struct mw_site_slot mw_site_cache[MW_SITE_CACHE];
__thread uint32_t mw_rec_tls_tid;
__thread uint16_t mw_rec_tls_number;
_Atomic bool mw_rec_threaded;

static struct mw_os_lazy range; /* the table of sites */
static _Atomic uint32_t numbers_given;
static _Atomic uint32_t tids[NUMBERS];

/* The slot holding ip in the table, claimed if new; SITES when the table is full. */
static size_t slot_of(uintptr_t ip) {
    _Atomic uintptr_t *sites = range.at;
    uint64_t x = (uint64_t)ip * 0x9e3779b97f4a7c15ull;
    for (size_t i = (size_t)(x >> (64 - SITE_BITS)), n = 0; n < SITES;
         i = (i + 1) & (SITES - 1), n++) {
        uintptr_t k = atomic_load_explicit(&sites[i], memory_order_acquire);
        if (k == ip) return i;
        if (k == 0 && (atomic_compare_exchange_strong(&sites[i], &k, ip) || k == ip)) return i;
    }
    return SITES;
}

static uint32_t site_id(uintptr_t ip) {
    if (!ip || !mw_os_reserve_once(&range, SITES * sizeof(uintptr_t))) return 0;
    size_t i = slot_of(ip);
    return i < SITES ? (uint32_t)i + 1 : 0;
}

uint64_t mw_site_history_slow(uintptr_t ip) {
    uint64_t history = site_id(ip) | (uint64_t)mw_rec_thread() << 32;
    if (ip) { /* 0 is the empty entry's */
        struct mw_site_slot *c = mw_site_cached(ip);
        c->ip = ip;
        c->history = history;
    }
    return history;
}

uintptr_t mw_site_ip(uint32_t id) { /* an id was given from the table: it exists */
    if (!id || id > SITES) return 0;
    return atomic_load_explicit((_Atomic uintptr_t *)range.at + id - 1, memory_order_relaxed);
}

uint32_t mw_rec_tid_slow(void) {
    mw_rec_tls_tid = (uint32_t)mw_os_tid();
    if (mw_rec_tls_tid != (uint32_t)getpid()) atomic_store(&mw_rec_threaded, true);
    uint32_t n = atomic_fetch_add(&numbers_given, 1) + 1;
    mw_rec_tls_number = (uint16_t)(n < NUMBERS ? n : NUMBERS - 1);
    atomic_store_explicit(&tids[mw_rec_tls_number], mw_rec_tls_tid, memory_order_relaxed);
    return mw_rec_tls_tid;
}

uint32_t mw_rec_thread_tid(uint16_t n) {
    return n ? atomic_load_explicit(&tids[n], memory_order_relaxed) : 0;
}

void mw_rec_fork_child(void) { /* the child runs the forking thread alone */
    mw_rec_tls_tid = 0;
    mw_rec_tls_number = 0;
    memset(mw_site_cache, 0, sizeof mw_site_cache); /* its histories name the old number */
    atomic_store(&mw_rec_threaded, false);
}
