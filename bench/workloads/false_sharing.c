/* false_sharing.c — false sharing of small objects between threads (the cache-scratch
 * pattern of the Hoard benchmarks). The main thread allocates small objects for the
 * workers, interleaved (consecutive allocations go to different workers), and hands them
 * over; each worker frees its objects and then, round after round, allocates as many
 * objects of the same size, writes to each repeatedly and frees them. An allocator that
 * gives a worker back the blocks the main thread allocated (or carves objects of different
 * threads from one cache line) makes the workers fight over cache lines; one that serves
 * each thread from its own pages does not. Wall time is dominated by the writes, so a
 * large ratio here means cache-line ping-pong, not slow allocator code. */
#include <pthread.h>
#include <stdlib.h>

#include "wl.h"

#define OBJECT_SIZE 24
#define OBJECTS 16 /* per worker and round */
#define WRITES 32  /* per object and round */

static size_t rounds;

struct worker {
    void *handed[OBJECTS];
    uint64_t sum;
};

static void *work(void *arg) {
    struct worker *w = arg;
    for (int k = 0; k < OBJECTS; k++)
        free(w->handed[k]);
    volatile unsigned char *p[OBJECTS];
    uint64_t sum = 0;
    for (size_t r = 0; r < rounds; r++) {
        for (int k = 0; k < OBJECTS; k++) {
            p[k] = wl_must(malloc(OBJECT_SIZE), "object");
            for (int b = 0; b < OBJECT_SIZE; b++)
                p[k][b] = (unsigned char)b;
        }
        for (int i = 0; i < WRITES; i++)
            for (int k = 0; k < OBJECTS; k++)
                p[k][i % OBJECT_SIZE] = (unsigned char)(p[k][(i + 1) % OBJECT_SIZE] + i);
        for (int k = 0; k < OBJECTS; k++) {
            sum += p[k][0];
            free((void *)p[k]);
        }
    }
    w->sum = sum;
    return NULL;
}

int main(int argc, char **argv) {
    int n = wl_threads();
    rounds = wl_scaled(wl_scale(argc, argv), 1000000);
    struct worker *w = wl_map((size_t)n * sizeof *w);
    pthread_t *tid = wl_map((size_t)n * sizeof *tid);
    for (int k = 0; k < OBJECTS; k++)
        for (int i = 0; i < n; i++)
            w[i].handed[k] = wl_must(malloc(OBJECT_SIZE), "object");
    for (int i = 0; i < n; i++)
        pthread_create(&tid[i], NULL, work, &w[i]);
    uint64_t sum = 0;
    for (int i = 0; i < n; i++) {
        pthread_join(tid[i], NULL);
        sum += w[i].sum;
    }
    wl_report(sum);
    return 0;
}
