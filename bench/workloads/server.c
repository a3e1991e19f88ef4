/* server.c — a request-serving pattern across worker threads. Each request allocates a
 * handful of buffers of random size (16 B to 16 KiB, log-uniform) and updates a per-thread
 * table of long-lived session objects; half of the request's buffers are freed by the same
 * thread, the other half are handed to the next worker (a response sent on) and freed
 * there. Models servers whose objects die on another thread than the one that made them:
 * measures cross-thread frees and the remote-free path under a realistic size mix. */
#include <pthread.h>
#include <stdlib.h>

#include "wl.h"
#include "wl_queue.h"

#define SESSIONS 1024
#define MAX_BUFFERS 32
#define INBOX_CAP 64 /* messages: bounds the responses in flight */

static int nthreads;
static size_t requests_per_thread;
static struct wl_queue *inbox;

struct worker {
    int id;
    uint64_t sum;
};

static void *work(void *arg) {
    struct worker *w = arg;
    uint64_t rng = wl_seed((uint64_t)w->id + 100), sum = 0;
    void **session = wl_map(SESSIONS * sizeof *session);
    size_t *session_size = wl_map(SESSIONS * sizeof *session_size);
    struct wl_item local[MAX_BUFFERS];
    struct wl_queue *own = &inbox[w->id], *next = &inbox[(w->id + 1) % nthreads];
    for (size_t r = 0; r < requests_per_thread; r++) {
        size_t k = wl_uniform(&rng, 2, MAX_BUFFERS), nlocal = 0;
        struct wl_msg *out = wl_msg_new(k);
        for (size_t i = 0; i < k; i++) {
            size_t n = wl_logsize(&rng, 16, 16384);
            void *p = wl_must(malloc(n), "buffer");
            wl_fill(p, n, r * MAX_BUFFERS + i);
            if (i & 1)
                out->items[out->count++] = (struct wl_item){p, n};
            else
                local[nlocal++] = (struct wl_item){p, n};
        }
        size_t s = wl_rand(&rng) % SESSIONS;
        if (session[s]) {
            sum += wl_check(session[s], session_size[s]);
            free(session[s]);
        }
        session_size[s] = wl_logsize(&rng, 32, 4096);
        session[s] = wl_must(malloc(session_size[s]), "session");
        wl_fill(session[s], session_size[s], r);
        for (size_t i = 0; i < nlocal; i++) {
            sum += wl_check(local[i].p, local[i].n);
            free(local[i].p);
        }
        sum += wl_send(next, out, own);
        sum += wl_msg_free_list(wl_queue_take_all(own));
    }
    sum += wl_finish(next, own);
    for (size_t s = 0; s < SESSIONS; s++) {
        if (session[s]) {
            sum += wl_check(session[s], session_size[s]);
            free(session[s]);
        }
    }
    w->sum = sum;
    return NULL;
}

int main(int argc, char **argv) {
    nthreads = wl_threads();
    requests_per_thread = wl_scaled(wl_scale(argc, argv), 250000) / (size_t)nthreads;
    inbox = wl_map((size_t)nthreads * sizeof *inbox);
    struct worker *w = wl_map((size_t)nthreads * sizeof *w);
    pthread_t *tid = wl_map((size_t)nthreads * sizeof *tid);
    for (int i = 0; i < nthreads; i++) /* all before any thread can send */
        wl_queue_init(&inbox[i], INBOX_CAP);
    for (int i = 0; i < nthreads; i++) {
        w[i].id = i;
        pthread_create(&tid[i], NULL, work, &w[i]);
    }
    uint64_t sum = 0;
    for (int i = 0; i < nthreads; i++) {
        pthread_join(tid[i], NULL);
        sum += w[i].sum;
    }
    wl_report(sum);
    return 0;
}
