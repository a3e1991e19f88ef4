/* wl.c — implementation of the shared workload helpers (see wl.h). Nothing here calls
 * malloc except stdio in wl_report, which runs after the measured work. */
#include "wl.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

double wl_scale(int argc, char **argv) {
    if (argc < 2) return 1.0;
    char *end;
    double s = strtod(argv[1], &end);
    if (*end != '\0' || !(s > 0.0)) {
        fprintf(stderr, "usage: %s [SCALE]   (SCALE: a positive factor on the work, default 1)\n",
                argv[0]);
        exit(2);
    }
    return s;
}

size_t wl_scaled(double scale, size_t base) {
    double n = scale * (double)base;
    return n < 1.0 ? 1 : (size_t)n;
}

int wl_threads(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 2 ? 2 : n > 8 ? 8 : (int)n;
}

size_t wl_logsize(uint64_t *state, size_t lo, size_t hi) {
    int lo_bits = 63 - __builtin_clzll(lo), hi_bits = 63 - __builtin_clzll(hi);
    int bits = lo_bits + (int)(wl_rand(state) % (uint64_t)(hi_bits - lo_bits + 1));
    size_t band = (size_t)1 << bits;
    size_t n = band + (size_t)(wl_rand(state) % band);
    return n < lo ? lo : n > hi ? hi : n;
}

void wl_fill(void *p, size_t n, uint64_t tag) {
    unsigned char *b = p;
    memcpy(b, &tag, n < 8 ? n : 8);
    for (size_t off = WL_PAGE; off < n; off += WL_PAGE)
        b[off] = (unsigned char)(tag + off / WL_PAGE);
    b[n - 1] = (unsigned char)(tag >> 8);
}

uint64_t wl_check(const void *p, size_t n) {
    const unsigned char *b = p;
    uint64_t sum = 0;
    memcpy(&sum, b, n < 8 ? n : 8);
    for (size_t off = WL_PAGE; off < n; off += WL_PAGE)
        sum += b[off];
    return sum + b[n - 1];
}

void *wl_map(size_t bytes) {
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        perror("mmap");
        exit(1);
    }
    return p;
}

void wl_unmap(void *p, size_t bytes) {
    munmap(p, bytes);
}

void *wl_must(void *p, const char *what) {
    if (!p) {
        fprintf(stderr, "allocation failed: %s\n", what);
        exit(1);
    }
    return p;
}

/* Proportional set size (Pss in /proc/self/smaps_rollup): resident memory with each page
 * divided among the mappings that share it. For private memory it equals the resident set
 * size; a page an allocator maps at two addresses (meshing) counts once, where the kernel's
 * RSS counts it at each. */
size_t wl_rss(void) {
    char buf[1024];
    int fd = open("/proc/self/smaps_rollup", O_RDONLY);
    if (fd < 0) return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return 0;
    buf[n] = '\0';
    const char *pss = strstr(buf, "\nPss:");
    unsigned long kib;
    if (!pss || sscanf(pss, "\nPss: %lu", &kib) != 1) return 0;
    return kib * 1024;
}

void wl_report(uint64_t checksum) {
    printf("checksum=%llu\n", (unsigned long long)checksum);
    fflush(stdout);
}
