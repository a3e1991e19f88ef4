/* os.h — the only layer that talks to the kernel about memory: reserving address space,
 * giving pages back, memfd, randomness, clocks and thread ids. Every function is a thin,
 * allocation-free wrapper; failures are reported as NULL/false, never by aborting. */
#ifndef MW_OS_H
#define MW_OS_H

#include "common.h"

#include <stdatomic.h>

#define MW_PAGE_SIZE 4096 /* checked against the kernel's page size at start-up */
#define MW_PAGE_SHIFT 12

/* Reserves size bytes of read-write, never-committed anonymous memory aligned to align
 * (a power of two >= the page size). Pages cost nothing until touched. NULL on failure. */
void *mw_os_reserve(size_t size, size_t align);
/* A range reserved on first use, by whichever thread asks first (others wait for it). */
struct mw_os_lazy {
    _Atomic int state; /* 0: not yet, 1: being reserved, 2: at holds it, 3: could not be */
    void *at;
};
/* Reserves r's range of size bytes (page-aligned) unless done; true when it exists. */
bool mw_os_reserve_once(struct mw_os_lazy *r, size_t size);
/* As mw_os_reserve, but settles for less: asks for no more than mw_os_reserve_share()
 * (rounded down to align), then halves *size (not below min) until the OS (or valgrind's
 * address-space manager, which refuses very large maps) agrees. */
void *mw_os_reserve_upto(size_t *size, size_t min, size_t align);
/* The most a range reserved now should take: under an address-space limit (ulimit -v),
 * half of what the process has left, so that ranges reserved later still find room (the
 * arena and metadata, reserved first, take a fraction of it); SIZE_MAX without a limit. */
size_t mw_os_reserve_share(void);
/* Virtual size of the process, in bytes, from /proc/self/status (0 if unknown). */
uint64_t mw_os_vm_size(void);
/* Threads of the process, from /proc/self/status (0 if unknown). */
unsigned mw_os_threads(void);
/* Gives the pages of [p, p+size) back to the OS; they read as zero when touched again. */
void mw_os_decommit(void *p, size_t size);
void mw_os_unmap(void *p, size_t size);
/* The kernel's page size (0 if it cannot be read). */
size_t mw_os_page_size(void);
/* Fills buf with random bytes (getrandom, falling back to a clock-seeded mix). */
void mw_os_random(void *buf, size_t len);
uint64_t mw_os_now_ns(void);        /* CLOCK_MONOTONIC */
uint64_t mw_os_coarse_ns(void);     /* CLOCK_MONOTONIC_COARSE: cheaper, a few ms coarse */
uint64_t mw_os_thread_cpu_ns(void); /* CPU time of the calling thread */
int mw_os_tid(void);
/* Sleeps while *word still holds seen, at most timeout_ns (spurious wake-ups allowed);
 * wakes every thread sleeping on word. Private futexes: one process. */
void mw_os_wait(_Atomic uint32_t *word, uint32_t seen, uint64_t timeout_ns);
void mw_os_wake_all(_Atomic uint32_t *word);
/* Resident set size and its peak, in bytes, read from /proc/self/status (0 if unknown). */
void mw_os_rss(uint64_t *rss, uint64_t *peak);

#endif
