/* memfd_copy.c — what copying a mesh file costs, by method: a 1 GiB memfd holds RUNS runs
 * of 32 KiB written through a shared mapping, 128 KiB apart (about the layout of kept spans
 * at fork); each method copies every run into a new memfd at the same offset, and the runs
 * of the mapping are then mapped onto the copy one by one (what a forked child does). Prints
 * the milliseconds of the copy and of the mapping.
 *
 * usage: mwb-memfd-copy METHOD   (copy_file_range | pwrite | memcpy | populate) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define ARENA ((size_t)1 << 30)
#define RUN ((size_t)32 << 10)
#define STEP (RUN + ((size_t)128 << 10))

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int new_file(void) {
    int fd = memfd_create("copy", 0);
    if (fd < 0 || ftruncate(fd, (off_t)ARENA) != 0) exit(1);
    return fd;
}

/* Copies run at off of from (mapped at base) into to (mapped at dst, or NULL). */
static void copy_run(const char *method, int from, int to, char *base, char *dst, size_t off) {
    if (strcmp(method, "copy_file_range") == 0) {
        loff_t in = (loff_t)off, out = (loff_t)off;
        for (size_t left = RUN; left;) {
            ssize_t n = copy_file_range(from, &in, to, &out, left, 0);
            if (n <= 0) exit(1);
            left -= (size_t)n;
        }
    } else if (strcmp(method, "pwrite") == 0) {
        if (pwrite(to, base + off, RUN, (off_t)off) != (ssize_t)RUN) exit(1);
    } else {
        if (strcmp(method, "populate") == 0) madvise(dst + off, RUN, MADV_POPULATE_WRITE);
        memcpy(dst + off, base + off, RUN);
    }
}

int main(int argc, char **argv) {
    const char *method = argc > 1 ? argv[1] : "";
    if (strcmp(method, "copy_file_range") && strcmp(method, "pwrite") && strcmp(method, "memcpy") &&
        strcmp(method, "populate")) {
        fprintf(stderr, "usage: mwb-memfd-copy copy_file_range|pwrite|memcpy|populate\n");
        return 2;
    }
    int from = new_file();
    char *base = mmap(NULL, ARENA, PROT_READ | PROT_WRITE, MAP_SHARED, from, 0);
    if (base == MAP_FAILED) return 1;
    size_t runs = 0;
    for (size_t off = 0; off + RUN <= ARENA; off += STEP, runs++)
        memset(base + off, (int)(off >> 12), RUN);
    double t0 = now_ms();
    int to = new_file();
    char *dst = NULL;
    if (strcmp(method, "memcpy") == 0 || strcmp(method, "populate") == 0) {
        dst = mmap(NULL, ARENA, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, to, 0);
        if (dst == MAP_FAILED) return 1;
    }
    for (size_t off = 0; off + RUN <= ARENA; off += STEP)
        copy_run(method, from, to, base, dst, off);
    if (dst) munmap(dst, ARENA);
    double t1 = now_ms();
    for (size_t off = 0; off + RUN <= ARENA; off += STEP)
        if (mmap(base + off, RUN, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, to, (off_t)off) !=
            base + off)
            return 1;
    double t2 = now_ms();
    printf("%s: %zu runs (%zu MiB): copy %.1f ms, mapping %.1f ms\n", method, runs,
           runs * RUN >> 20, t1 - t0, t2 - t1);
    return 0;
}
