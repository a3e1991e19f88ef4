/* span_queue.h — a doubly linked list of spans with both ends known (through the spans'
 * next and prev): a heap's queue per class and its full list (heap.h), the arena's
 * abandoned lists (arena.h). A span is in at most one list at a time; the list's owner
 * guards it (the heap's thread, or the arena lock). */
#ifndef MW_SPAN_QUEUE_H
#define MW_SPAN_QUEUE_H

#include "span.h"

struct mw_span_queue {
    struct mw_span *first, *last;
};

mw_inline void mw_queue_remove(struct mw_span_queue *q, struct mw_span *s) {
    if (s->prev)
        s->prev->next = s->next;
    else
        q->first = s->next;
    if (s->next)
        s->next->prev = s->prev;
    else
        q->last = s->prev;
    s->next = s->prev = NULL;
}

mw_inline void mw_queue_push_front(struct mw_span_queue *q, struct mw_span *s) {
    s->prev = NULL;
    s->next = q->first;
    if (q->first)
        q->first->prev = s;
    else
        q->last = s;
    q->first = s;
}

mw_inline void mw_queue_push_back(struct mw_span_queue *q, struct mw_span *s) {
    s->prev = q->last;
    s->next = NULL;
    if (q->last)
        q->last->next = s;
    else
        q->first = s;
    q->last = s;
}

/* The first span, taken out of q; NULL when q is empty. */
mw_inline struct mw_span *mw_queue_pop_front(struct mw_span_queue *q) {
    struct mw_span *s = q->first;
    if (s) mw_queue_remove(q, s);
    return s;
}

#endif
