/* fragmentation_threads.c — fragmentation.c's heap built by THREADS threads, each its own
 * part (wl_frag.h) of a quarter of the objects, in its own thread heap; the threads then
 * stay alive, idle, while the main thread measures, and free their survivors afterwards.
 * Models a multi-threaded server after a load peak whose workers each keep a sparse heap:
 * meshing pairs spans of one thread's heap, and spans of different heaps only once a heap's
 * pass gave up those it could not pair (donation, src/mesh/README.md).
 * Prints the live bytes and the heap's resident memory, as fragmentation does. */
#include <pthread.h>
#include <stdio.h>

#include "wl.h"
#include "wl_frag.h"

#define THREADS 4

static struct wl_frag parts[THREADS];
static size_t live[THREADS];
static pthread_barrier_t go, built, measured;

static void *worker(void *arg) {
    struct wl_frag *f = arg;
    pthread_barrier_wait(&go);
    live[f - parts] = wl_frag_build(f);
    pthread_barrier_wait(&built);
    pthread_barrier_wait(&measured);
    wl_frag_free(f);
    return NULL;
}

int main(int argc, char **argv) {
    size_t count = wl_scaled(wl_scale(argc, argv), 3000000) / THREADS;
    pthread_t t[THREADS];
    pthread_barrier_init(&go, NULL, THREADS + 1);
    pthread_barrier_init(&built, NULL, THREADS + 1);
    pthread_barrier_init(&measured, NULL, THREADS + 1);
    for (int i = 0; i < THREADS; i++) {
        wl_frag_init(&parts[i], count, 8 + (uint64_t)i);
        if (pthread_create(&t[i], NULL, worker, &parts[i]) != 0) return 2;
    }
    size_t baseline = wl_rss(); /* the threads' stacks included */
    pthread_barrier_wait(&go);
    pthread_barrier_wait(&built);
    size_t heap_rss = wl_rss() - baseline, bytes = 0;
    uint64_t sum = 0;
    for (int i = 0; i < THREADS; i++)
        bytes += live[i];
    printf("live_bytes=%zu\nheap_rss_bytes=%zu\n", bytes, heap_rss);
    pthread_barrier_wait(&measured);
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        sum += parts[i].sum;
    }
    wl_report(sum);
    return 0;
}
