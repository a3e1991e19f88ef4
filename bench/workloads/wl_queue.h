/* wl_queue.h — a mutex-protected FIFO of messages, each carrying a batch of blocks from the
 * thread that allocated them to the thread that frees them. Messages are themselves
 * malloc'd (and freed by the receiver), as in a real program that hands work between
 * threads.
 *
 * Invariants: a message belongs to the queue from push until pop/take; with cap > 0,
 * push blocks (and try_push fails) while cap messages are queued; pop returns NULL only
 * once the queue is closed and empty.
 *
 * Threads that send to each other in a ring must not block on a full queue (each could be
 * waiting for the other): they use wl_send, which drains the sender's own inbox while it
 * waits, and at the end close the queue they send to and drain their own until closed. */
#ifndef WL_QUEUE_H
#define WL_QUEUE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

struct wl_item {
    void *p;
    size_t n;
};

struct wl_msg {
    struct wl_msg *next;
    size_t count;
    struct wl_item items[];
};

struct wl_queue {
    pthread_mutex_t lock;
    pthread_cond_t nonempty, nonfull;
    struct wl_msg *head, *tail;
    size_t len, cap; /* cap 0: unbounded */
    int closed;
};

void wl_queue_init(struct wl_queue *q, size_t cap);
void wl_queue_push(struct wl_queue *q, struct wl_msg *m);
/* Pushes unless the queue is full; returns whether it pushed. */
int wl_queue_try_push(struct wl_queue *q, struct wl_msg *m);
/* Blocks until a message is available; NULL once closed and drained. */
struct wl_msg *wl_queue_pop(struct wl_queue *q);
/* Detaches every queued message without blocking (NULL if none), as a list via next. */
struct wl_msg *wl_queue_take_all(struct wl_queue *q);
void wl_queue_close(struct wl_queue *q);

/* A message with room for cap items (count starts at 0). */
struct wl_msg *wl_msg_new(size_t cap);
/* Checks (wl_check) and frees every item of every message in the list, then the messages;
 * returns the sum of the checks. */
uint64_t wl_msg_free_list(struct wl_msg *m);
/* Pushes m to `to`; while `to` is full, frees what is queued in `own` (the sender's inbox)
 * and yields. Returns the checksum of what it freed. */
uint64_t wl_send(struct wl_queue *to, struct wl_msg *m, struct wl_queue *own);
/* Closes `to`, then frees everything arriving in `own` until it is closed and empty;
 * returns the checksum of what it freed. */
uint64_t wl_finish(struct wl_queue *to, struct wl_queue *own);

#endif
