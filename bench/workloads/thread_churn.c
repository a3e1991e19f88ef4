/* thread_churn.c — short-lived threads with migrating objects. Waves of threads are
 * started and joined; each thread allocates a few thousand objects (16 B to 2 KiB), frees
 * half of them itself and leaves the rest behind for a thread of the next wave, which
 * frees them after their owner has exited. Models thread pools that grow and shrink and
 * request threads whose results outlive them: measures heap set-up and tear-down per
 * thread, and the handling of memory owned by dead threads (abandoned and adopted spans). */
#include <pthread.h>
#include <stdlib.h>

#include "wl.h"

#define OBJECTS 4000

struct leftovers {
    void *p[OBJECTS / 2];
    size_t n[OBJECTS / 2];
    size_t count;
};

struct job {
    uint64_t seed, sum;
    struct leftovers *inherit, *bequeath;
};

static void *work(void *arg) {
    struct job *j = arg;
    uint64_t rng = wl_seed(j->seed), sum = 0;
    for (size_t i = 0; i < j->inherit->count; i++) {
        sum += wl_check(j->inherit->p[i], j->inherit->n[i]);
        free(j->inherit->p[i]);
    }
    j->inherit->count = 0;
    void *p[OBJECTS];
    size_t n[OBJECTS];
    for (size_t i = 0; i < OBJECTS; i++) {
        n[i] = wl_logsize(&rng, 16, 2048);
        p[i] = wl_must(malloc(n[i]), "object");
        wl_fill(p[i], n[i], j->seed * OBJECTS + i);
    }
    /* Keep a random half: objects left behind are scattered over the thread's spans. */
    struct leftovers *out = j->bequeath;
    out->count = 0;
    for (size_t i = 0; i < OBJECTS; i++) {
        if (out->count < OBJECTS / 2 && (wl_rand(&rng) & 1)) {
            out->p[out->count] = p[i];
            out->n[out->count++] = n[i];
        } else {
            sum += wl_check(p[i], n[i]);
            free(p[i]);
        }
    }
    j->sum = sum;
    return NULL;
}

int main(int argc, char **argv) {
    int n = wl_threads();
    size_t waves = wl_scaled(wl_scale(argc, argv), 3000);
    /* Two generations of leftovers per thread slot: a wave inherits from the previous
     * wave's neighbouring slot and bequeaths into the other generation. */
    struct leftovers *gen[2] = {wl_map((size_t)n * sizeof(struct leftovers)),
                                wl_map((size_t)n * sizeof(struct leftovers))};
    struct job *job = wl_map((size_t)n * sizeof *job);
    pthread_t *tid = wl_map((size_t)n * sizeof *tid);
    uint64_t sum = 0;
    for (size_t w = 0; w < waves; w++) {
        for (int i = 0; i < n; i++) {
            job[i] = (struct job){.seed = w * (uint64_t)n + (uint64_t)i,
                                  .inherit = &gen[w & 1][(i + 1) % n],
                                  .bequeath = &gen[(w + 1) & 1][i]};
            pthread_create(&tid[i], NULL, work, &job[i]);
        }
        for (int i = 0; i < n; i++) {
            pthread_join(tid[i], NULL);
            sum += job[i].sum;
        }
    }
    struct leftovers *last = gen[waves & 1];
    for (int i = 0; i < n; i++) {
        for (size_t k = 0; k < last[i].count; k++) {
            sum += wl_check(last[i].p[k], last[i].n[k]);
            free(last[i].p[k]);
        }
    }
    wl_report(sum);
    return 0;
}
