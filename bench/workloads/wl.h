/* wl.h — helpers shared by the benchmark workloads: the scale argument, a deterministic
 * PRNG, the fill/check pair that touches every block and feeds the checksum, bookkeeping
 * memory that bypasses the allocator, and the report line.
 *
 * Invariants: the checksum a workload prints depends only on its scale and seeds, never on
 * addresses, thread interleaving or the allocator, so every allocator must print the same
 * one (the runner compares them); wl_fill touches every page of a block, so first-touch
 * page faults are paid as in a real program. */
#ifndef WL_H
#define WL_H

#include <stddef.h>
#include <stdint.h>

#define WL_PAGE 4096

/* The scale factor from argv[1] (default 1.0); the workload multiplies its iteration
 * count by it. Exits with a usage message on a malformed argument. */
double wl_scale(int argc, char **argv);
/* Iteration count base * scale, at least 1. */
size_t wl_scaled(double scale, size_t base);
/* Worker threads for the multi-threaded workloads: the online CPUs, clamped to [2, 8]. */
int wl_threads(void);

/* xorshift64*: fast, deterministic per seed, good enough to pick sizes and slots. */
static inline uint64_t wl_rand(uint64_t *state) {
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545F4914F6CDD1DULL;
}
static inline uint64_t wl_seed(uint64_t n) {
    return (n + 1) * 0x9E3779B97F4A7C15ULL;
}
/* Uniform in [lo, hi]. */
static inline size_t wl_uniform(uint64_t *state, size_t lo, size_t hi) {
    return lo + (size_t)(wl_rand(state) % (hi - lo + 1));
}
/* Log-uniform in [lo, hi] (each power-of-two band equally likely, uniform inside it):
 * the usual shape of allocation sizes, many small and a long tail of large ones. */
size_t wl_logsize(uint64_t *state, size_t lo, size_t hi);

/* Writes a tag derived pattern into the first 8 bytes, one byte of every 4 KiB and the
 * last byte of [p, p+n); wl_check reads the same bytes back into a sum. */
void wl_fill(void *p, size_t n, uint64_t tag);
uint64_t wl_check(const void *p, size_t n);

/* Bookkeeping arrays (slot tables, permutations) come from mmap, not malloc, so they
 * neither perturb the allocator under test nor count as its heap. Exits on failure. */
void *wl_map(size_t bytes);
void wl_unmap(void *p, size_t bytes);
/* Exits with a message when an allocation the workload needs fails. */
void *wl_must(void *p, const char *what);

/* Resident memory in bytes, as the proportional set size (wl.c says why). */
size_t wl_rss(void);

/* Prints the final "checksum=N" line. Workloads print any other result as "key=value"
 * lines before it; the runner parses every such line. */
void wl_report(uint64_t checksum);

#endif
