/* prodcons.c — producer/consumer threads: producers allocate batches of small messages
 * (16 B to 1 KiB) and pass them through a bounded queue; consumers read and free them.
 * Every block is freed by a thread that did not allocate it, in a steady stream, which is
 * the worst case for allocators that hand remote frees back through a lock or that let
 * memory pile up on the consumer side (a pipeline, a logger thread, a work queue). */
#include <pthread.h>
#include <stdlib.h>

#include "wl.h"
#include "wl_queue.h"

#define BATCH 64
#define QUEUE_CAP 64

static struct wl_queue queue;
static size_t batches_per_producer;
static int producers_left;
static pthread_mutex_t producers_lock = PTHREAD_MUTEX_INITIALIZER;

struct role {
    int id;
    uint64_t sum;
};

static void *produce(void *arg) {
    struct role *r = arg;
    uint64_t rng = wl_seed((uint64_t)r->id + 200);
    for (size_t b = 0; b < batches_per_producer; b++) {
        struct wl_msg *m = wl_msg_new(BATCH);
        for (size_t i = 0; i < BATCH; i++) {
            size_t n = wl_logsize(&rng, 16, 1024);
            void *p = wl_must(malloc(n), "message");
            wl_fill(p, n, b * BATCH + i);
            m->items[m->count++] = (struct wl_item){p, n};
        }
        wl_queue_push(&queue, m);
    }
    pthread_mutex_lock(&producers_lock);
    if (--producers_left == 0) wl_queue_close(&queue);
    pthread_mutex_unlock(&producers_lock);
    return NULL;
}

static void *consume(void *arg) {
    struct role *r = arg;
    for (struct wl_msg *m; (m = wl_queue_pop(&queue));) {
        m->next = NULL;
        r->sum += wl_msg_free_list(m);
    }
    return NULL;
}

int main(int argc, char **argv) {
    int n = wl_threads(), nprod = n / 2;
    batches_per_producer = wl_scaled(wl_scale(argc, argv), 200000) / (size_t)nprod;
    producers_left = nprod;
    wl_queue_init(&queue, QUEUE_CAP);
    struct role *role = wl_map((size_t)n * sizeof *role);
    pthread_t *tid = wl_map((size_t)n * sizeof *tid);
    for (int i = 0; i < n; i++) {
        role[i].id = i;
        pthread_create(&tid[i], NULL, i < nprod ? produce : consume, &role[i]);
    }
    uint64_t sum = 0;
    for (int i = 0; i < n; i++) {
        pthread_join(tid[i], NULL);
        sum += role[i].sum;
    }
    wl_report(sum);
    return 0;
}
