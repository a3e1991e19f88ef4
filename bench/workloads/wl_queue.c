/* wl_queue.c — the message queue of wl_queue.h. */
#include "wl_queue.h"

#include <sched.h>
#include <stdlib.h>

#include "wl.h"

void wl_queue_init(struct wl_queue *q, size_t cap) {
    pthread_mutex_init(&q->lock, NULL);
    pthread_cond_init(&q->nonempty, NULL);
    pthread_cond_init(&q->nonfull, NULL);
    q->head = q->tail = NULL;
    q->len = 0;
    q->cap = cap;
    q->closed = 0;
}

/* Appends m; the caller holds the lock and has checked the capacity. */
static void append(struct wl_queue *q, struct wl_msg *m) {
    m->next = NULL;
    if (q->tail)
        q->tail->next = m;
    else
        q->head = m;
    q->tail = m;
    q->len++;
    pthread_cond_signal(&q->nonempty);
}

void wl_queue_push(struct wl_queue *q, struct wl_msg *m) {
    pthread_mutex_lock(&q->lock);
    while (q->cap && q->len >= q->cap)
        pthread_cond_wait(&q->nonfull, &q->lock);
    append(q, m);
    pthread_mutex_unlock(&q->lock);
}

int wl_queue_try_push(struct wl_queue *q, struct wl_msg *m) {
    pthread_mutex_lock(&q->lock);
    int room = !q->cap || q->len < q->cap;
    if (room) append(q, m);
    pthread_mutex_unlock(&q->lock);
    return room;
}

struct wl_msg *wl_queue_pop(struct wl_queue *q) {
    pthread_mutex_lock(&q->lock);
    while (!q->head && !q->closed)
        pthread_cond_wait(&q->nonempty, &q->lock);
    struct wl_msg *m = q->head;
    if (m) {
        q->head = m->next;
        if (!q->head) q->tail = NULL;
        q->len--;
        pthread_cond_signal(&q->nonfull);
    }
    pthread_mutex_unlock(&q->lock);
    return m;
}

struct wl_msg *wl_queue_take_all(struct wl_queue *q) {
    pthread_mutex_lock(&q->lock);
    struct wl_msg *m = q->head;
    q->head = q->tail = NULL;
    q->len = 0;
    pthread_cond_broadcast(&q->nonfull);
    pthread_mutex_unlock(&q->lock);
    return m;
}

void wl_queue_close(struct wl_queue *q) {
    pthread_mutex_lock(&q->lock);
    q->closed = 1;
    pthread_cond_broadcast(&q->nonempty);
    pthread_mutex_unlock(&q->lock);
}

struct wl_msg *wl_msg_new(size_t cap) {
    struct wl_msg *m = wl_must(malloc(sizeof *m + cap * sizeof m->items[0]), "message");
    m->next = NULL;
    m->count = 0;
    return m;
}

uint64_t wl_msg_free_list(struct wl_msg *m) {
    uint64_t sum = 0;
    while (m) {
        struct wl_msg *next = m->next;
        for (size_t i = 0; i < m->count; i++) {
            sum += wl_check(m->items[i].p, m->items[i].n);
            free(m->items[i].p);
        }
        free(m);
        m = next;
    }
    return sum;
}

uint64_t wl_send(struct wl_queue *to, struct wl_msg *m, struct wl_queue *own) {
    uint64_t sum = 0;
    while (!wl_queue_try_push(to, m)) {
        sum += wl_msg_free_list(wl_queue_take_all(own));
        sched_yield();
    }
    return sum;
}

uint64_t wl_finish(struct wl_queue *to, struct wl_queue *own) {
    wl_queue_close(to);
    uint64_t sum = 0;
    for (struct wl_msg *m; (m = wl_queue_pop(own));) {
        m->next = NULL;
        sum += wl_msg_free_list(m);
    }
    return sum;
}
