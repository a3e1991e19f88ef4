/* glibc_simple.c — the shape of glibc's own small-malloc microbenchmark
 * (benchtests/bench-malloc-simple.c): one thread allocates a fixed number of blocks of one
 * size in a loop (25, 100, 400 or 1600), writes every word of each, then frees them all in
 * allocation order, and repeats; sizes 16 to 256 B. As in glibc's, the whole set runs three
 * times: in a single-threaded process, in a second thread, and in the main thread again
 * once the process has had a thread (glibc takes a cheaper path until the first thread
 * exists; other allocators may too). Measures the bare malloc/free fast path of one size
 * class at a time, with LIFO reuse and a working set from 400 B to 400 KiB. Prints the
 * number of blocks allocated. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "wl.h"

#define MAX_COUNT 1600

static const size_t sizes[] = {16, 32, 64, 128, 256};
static const size_t counts[] = {25, 100, 400, MAX_COUNT};
#define NSIZES (sizeof sizes / sizeof sizes[0])
#define NCOUNTS (sizeof counts / sizeof counts[0])

static size_t blocks_per_run; /* per size and count, in each of the three phases */
static void *block[MAX_COUNT];

static uint64_t run(size_t size, size_t count, uint64_t *blocks) {
    size_t iters = blocks_per_run / count;
    if (iters == 0) iters = 1;
    uint64_t sum = 0;
    for (size_t it = 0; it < iters; it++) {
        for (size_t i = 0; i < count; i++) {
            uint32_t *w = wl_must(malloc(size), "block");
            for (size_t g = 0; g < size / sizeof *w; g++)
                w[g] = (uint32_t)g;
            wl_fill(w, size, it * count + i);
            block[i] = w;
        }
        for (size_t i = 0; i < count; i++) {
            sum += wl_check(block[i], size);
            free(block[i]);
        }
    }
    *blocks += iters * count;
    return sum;
}

struct phase {
    uint64_t sum, blocks;
};

static void *all_sizes(void *arg) {
    struct phase *ph = arg;
    for (size_t s = 0; s < NSIZES; s++)
        for (size_t c = 0; c < NCOUNTS; c++)
            ph->sum += run(sizes[s], counts[c], &ph->blocks);
    return NULL;
}

int main(int argc, char **argv) {
    blocks_per_run = wl_scaled(wl_scale(argc, argv), 250000);
    struct phase ph[3] = {{0, 0}, {0, 0}, {0, 0}};
    all_sizes(&ph[0]); /* single-threaded process */
    pthread_t tid;
    pthread_create(&tid, NULL, all_sizes, &ph[1]); /* a thread of its own */
    pthread_join(tid, NULL);
    all_sizes(&ph[2]); /* the main thread of a process that has had threads */
    printf("blocks=%llu\n", (unsigned long long)(ph[0].blocks + ph[1].blocks + ph[2].blocks));
    wl_report(ph[0].sum + ph[1].sum + ph[2].sum);
    return 0;
}
