/* large_server.c — a server pattern with large objects across two threads: each thread
 * keeps 32 live buffers of 64 KiB to 4 MiB (log-uniform), replaces one at random per
 * iteration and writes every page of the new one; half of the evicted buffers are freed
 * locally, the other half are sent to the other thread and freed there. Models servers
 * moving large payloads between an I/O thread and a worker: measures the large-object
 * path under cross-thread frees, its caching and its RSS. */
#include <pthread.h>
#include <stdlib.h>

#include "wl.h"
#include "wl_queue.h"

#define THREADS 2
#define SLOTS 32
#define BATCH 8
#define INBOX_CAP 2 /* messages: bounds the buffers in flight */

static size_t iterations;
static struct wl_queue inbox[THREADS];

struct worker {
    int id;
    uint64_t sum;
};

static void *work(void *arg) {
    struct worker *w = arg;
    struct wl_item slot[SLOTS] = {{0}};
    uint64_t rng = wl_seed((uint64_t)w->id + 300), sum = 0;
    struct wl_msg *out = wl_msg_new(BATCH);
    for (size_t i = 0; i < iterations; i++) {
        struct wl_item *s = &slot[wl_rand(&rng) % SLOTS];
        if (s->p) {
            if (wl_rand(&rng) & 1) {
                out->items[out->count++] = *s;
                if (out->count == BATCH) {
                    sum += wl_send(&inbox[1 - w->id], out, &inbox[w->id]);
                    out = wl_msg_new(BATCH);
                }
            } else {
                sum += wl_check(s->p, s->n);
                free(s->p);
            }
        }
        s->n = wl_logsize(&rng, 64 * 1024, 4 * 1024 * 1024);
        s->p = wl_must(malloc(s->n), "buffer");
        wl_fill(s->p, s->n, i);
        sum += wl_msg_free_list(wl_queue_take_all(&inbox[w->id]));
    }
    sum += wl_send(&inbox[1 - w->id], out, &inbox[w->id]);
    sum += wl_finish(&inbox[1 - w->id], &inbox[w->id]);
    for (size_t k = 0; k < SLOTS; k++) {
        if (slot[k].p) {
            sum += wl_check(slot[k].p, slot[k].n);
            free(slot[k].p);
        }
    }
    w->sum = sum;
    return NULL;
}

int main(int argc, char **argv) {
    iterations = wl_scaled(wl_scale(argc, argv), 40000);
    struct worker w[THREADS];
    pthread_t tid[THREADS];
    for (int i = 0; i < THREADS; i++) /* all before any thread can send */
        wl_queue_init(&inbox[i], INBOX_CAP);
    for (int i = 0; i < THREADS; i++) {
        w[i] = (struct worker){.id = i};
        pthread_create(&tid[i], NULL, work, &w[i]);
    }
    uint64_t sum = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(tid[i], NULL);
        sum += w[i].sum;
    }
    wl_report(sum);
    return 0;
}
