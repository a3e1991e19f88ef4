/* harden/sites.h — the short names a block's history is kept under (record.h), so that a
 * record is 16 bytes: a call site (a return address) as a 32-bit id, a thread as a 16-bit
 * number (both builds: sampled blocks have records).
 *
 * Sites: a process-wide open-addressing table of 65536 return addresses in reserved memory,
 * touched where used, whose entries are never removed; an address's id is its slot + 1 (0
 * once the table is full: the history then lacks that call site).
 * Each thread remembers its latest sites in a small direct-mapped cache, with the history
 * word they make with its own number (record.h), so a call site seen before costs a compare
 * and a load; a forked child empties its thread's cache (the number changes). Threads: each thread
 * gets the next number the first time it records (number 0 is none; after 65535 threads, later ones
 * share 65535's, and their reports name the last of them), and a table gives each number's tid. A
 * forked child's thread takes a new number, as it has a new tid. Nothing here calls malloc. */
#ifndef MW_HARDEN_SITES_H
#define MW_HARDEN_SITES_H

#include "common.h"

#define MW_SITE_CACHE 16

struct mw_site_slot {
    uintptr_t ip;
    uint64_t history; /* the site's id | the thread's number << 32 */
};
MW_HIDDEN extern __thread struct mw_site_slot mw_site_cache[MW_SITE_CACHE];

/* The calling thread's cache entry for the call site at ip. */
mw_inline struct mw_site_slot *mw_site_cached(uintptr_t ip) {
    return &mw_site_cache[(ip ^ (ip >> 6)) & (MW_SITE_CACHE - 1)];
}
/* The history word of a call at ip by the calling thread: the site's id (0 for none, or
 * when the table is full) and the thread's number << 32. */
uint64_t mw_site_history_slow(uintptr_t ip);
mw_inline uint64_t mw_site_history(void *ip) {
    const struct mw_site_slot *c = mw_site_cached((uintptr_t)ip);
    if (mw_likely(c->ip == (uintptr_t)ip)) return c->history;
    return mw_site_history_slow((uintptr_t)ip);
}
/* The return address site id names (0: none). */
uintptr_t mw_site_ip(uint32_t id);

/* The calling thread's id, cached (gettid is a system call), and its number. */
MW_HIDDEN extern __thread uint32_t mw_rec_tls_tid;
MW_HIDDEN extern __thread uint16_t mw_rec_tls_number;
uint32_t mw_rec_tid_slow(void);
/* Whether a second thread has run in this process (set by its first record; reset in a fork
 * child). */
MW_HIDDEN extern _Atomic bool mw_rec_threaded;
mw_inline uint32_t mw_rec_tid(void) {
    uint32_t t = mw_rec_tls_tid;
    return mw_likely(t != 0) ? t : mw_rec_tid_slow();
}
mw_inline uint16_t mw_rec_thread(void) {
    uint16_t n = mw_rec_tls_number;
    if (mw_likely(n != 0)) return n;
    mw_rec_tid_slow();
    return mw_rec_tls_number;
}
/* The tid of thread number n (0: none). */
uint32_t mw_rec_thread_tid(uint16_t n);

#endif
