/* mstress.c — a multi-size threaded stress test in the shape of mimalloc-bench's mstress
 * (mimalloc's test/test-stress.c) and xmalloc-test. In each of 20 rounds, N threads (N =
 * the CPUs) are started; each keeps a table of 1024 blocks of 8 B to 2 KiB (log-uniform:
 * every small size class) and at each step frees a random slot and allocates a new block in
 * it; one step in four then swaps that slot, with an atomic exchange, against a random slot
 * of an array shared by all threads and all rounds. A block can so travel through several
 * threads, and rounds, before one frees it; the rest die on the thread that made them. At
 * the end of its round a thread frees its table, and the main thread frees what is left in
 * the shared array. Measures allocation across size classes mixed with cross-thread frees
 * of unpredictable origin, and thread start and exit between rounds.
 *
 * Every block carries its own size in the tag written into its first 8 bytes, so whoever
 * frees it can check it; each thread's allocations depend only on its seed, so the sum of
 * the checks does not depend on who frees what. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "wl.h"

#define ROUNDS 20
#define SLOTS 1024
#define SHARED 4096
#define SWAP_ONE_IN 4

static _Atomic(void *) shared[SHARED];
static size_t steps_per_thread;

struct job {
    uint64_t seed, sum;
};

/* Checks and frees a block whose first 8 bytes are its tag: (sequence << 16) | size. */
static uint64_t release(void *p) {
    uint64_t tag;
    memcpy(&tag, p, sizeof tag);
    uint64_t sum = wl_check(p, (size_t)(tag & 0xffff));
    free(p);
    return sum;
}

static void *work(void *arg) {
    struct job *j = arg;
    uint64_t rng = wl_seed(j->seed), sum = 0;
    void *slot[SLOTS] = {0};
    for (size_t i = 0; i < steps_per_thread; i++) {
        size_t k = wl_rand(&rng) % SLOTS;
        if (slot[k]) sum += release(slot[k]);
        size_t n = wl_logsize(&rng, 8, 2048);
        slot[k] = wl_must(malloc(n), "block");
        wl_fill(slot[k], n, ((j->seed * steps_per_thread + i) << 16) | n);
        if (wl_rand(&rng) % SWAP_ONE_IN == 0)
            slot[k] = atomic_exchange(&shared[wl_rand(&rng) % SHARED], slot[k]);
    }
    for (size_t k = 0; k < SLOTS; k++)
        if (slot[k]) sum += release(slot[k]);
    j->sum = sum;
    return NULL;
}

int main(int argc, char **argv) {
    int n = wl_threads();
    steps_per_thread = wl_scaled(wl_scale(argc, argv), 12000000) / ((size_t)n * ROUNDS);
    struct job *job = wl_map((size_t)n * sizeof *job);
    pthread_t *tid = wl_map((size_t)n * sizeof *tid);
    uint64_t sum = 0;
    for (int r = 0; r < ROUNDS; r++) {
        for (int i = 0; i < n; i++) {
            job[i] = (struct job){.seed = (uint64_t)r * (uint64_t)n + (uint64_t)i + 1};
            pthread_create(&tid[i], NULL, work, &job[i]);
        }
        for (int i = 0; i < n; i++) {
            pthread_join(tid[i], NULL);
            sum += job[i].sum;
        }
    }
    for (size_t k = 0; k < SHARED; k++) {
        void *p = atomic_load(&shared[k]);
        if (p) sum += release(p);
    }
    wl_report(sum);
    return 0;
}
