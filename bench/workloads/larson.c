/* larson.c — the server simulation of Larson and Krishnan ("Memory allocation for
 * long-running server applications", ISMM'98), with a fixed amount of work instead of a
 * fixed duration, so that time is what is measured. Each of N lanes (N = the CPUs) owns a
 * table of 5000 blocks of 8 B to 1000 B (uniform), first allocated by the main thread; the
 * lane's thread repeatedly frees a random slot and allocates a new block of random size in
 * it, and after 50 000 such steps starts a new thread, hands it the table and exits. The
 * new thread goes on with the blocks of its predecessor, so most blocks it frees in its
 * first steps were allocated by a thread that no longer exists. Models a server whose
 * connections are served by short-lived threads passing state along: measures the
 * small-object fast path with a share of frees of other (dead) threads' blocks, and the
 * heaps that thread exit abandons. */
#include <pthread.h>
#include <stdlib.h>

#include "wl.h"

#define TABLE 5000
#define STEPS_PER_THREAD 50000
#define MIN_SIZE 8
#define MAX_SIZE 1000

struct lane {
    int id;
    size_t generation, generations;
    void *p[TABLE];
    uint16_t n[TABLE];
    uint64_t sum;
    /* first: written by main only; last: by each thread creating its successor. */
    pthread_t first, prev, last;
};

static pthread_mutex_t done_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t done_cond = PTHREAD_COND_INITIALIZER;
static int lanes_done;

static void *work(void *arg) {
    struct lane *l = arg;
    /* Reap the predecessor: its exit (and whatever the allocator does at thread exit) is
     * over before its blocks are touched. It wrote l->last before returning. */
    if (l->generation > 0) pthread_join(l->prev, NULL);
    uint64_t rng = wl_seed(((uint64_t)l->id << 32) + l->generation), sum = 0;
    for (size_t i = 0; i < STEPS_PER_THREAD; i++) {
        size_t j = wl_rand(&rng) % TABLE;
        sum += wl_check(l->p[j], l->n[j]);
        free(l->p[j]);
        size_t n = wl_uniform(&rng, MIN_SIZE, MAX_SIZE);
        l->p[j] = wl_must(malloc(n), "block");
        l->n[j] = (uint16_t)n;
        wl_fill(l->p[j], n, (l->generation + 1) * STEPS_PER_THREAD + i);
    }
    l->sum += sum;
    if (++l->generation < l->generations) {
        /* The successor owns *l from here on: nothing of it is touched after this call but
         * l->last, which the successor reads only after joining this thread. */
        l->prev = pthread_self();
        pthread_create(&l->last, NULL, work, l);
    } else {
        pthread_mutex_lock(&done_lock);
        lanes_done++;
        pthread_cond_signal(&done_cond);
        pthread_mutex_unlock(&done_lock);
    }
    return NULL;
}

int main(int argc, char **argv) {
    int nlanes = wl_threads();
    size_t steps = wl_scaled(wl_scale(argc, argv), 20000000);
    size_t generations = steps / ((size_t)nlanes * STEPS_PER_THREAD);
    if (generations == 0) generations = 1;
    struct lane *lane = wl_map((size_t)nlanes * sizeof *lane);
    uint64_t rng = wl_seed(9);
    for (int i = 0; i < nlanes; i++) {
        lane[i].id = i;
        lane[i].generations = generations;
        for (size_t j = 0; j < TABLE; j++) {
            size_t n = wl_uniform(&rng, MIN_SIZE, MAX_SIZE);
            lane[i].p[j] = wl_must(malloc(n), "block");
            lane[i].n[j] = (uint16_t)n;
            wl_fill(lane[i].p[j], n, j);
        }
    }
    for (int i = 0; i < nlanes; i++)
        pthread_create(&lane[i].first, NULL, work, &lane[i]);
    pthread_mutex_lock(&done_lock);
    while (lanes_done < nlanes)
        pthread_cond_wait(&done_cond, &done_lock);
    pthread_mutex_unlock(&done_lock);
    uint64_t sum = 0;
    for (int i = 0; i < nlanes; i++) {
        pthread_join(generations > 1 ? lane[i].last : lane[i].first, NULL);
        for (size_t j = 0; j < TABLE; j++) {
            sum += wl_check(lane[i].p[j], lane[i].n[j]);
            free(lane[i].p[j]);
        }
        sum += lane[i].sum;
    }
    wl_report(sum);
    return 0;
}
