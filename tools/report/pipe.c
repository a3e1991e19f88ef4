/* report/pipe.c — runs a trace reader on a thread of its own, handing its events to the
 * caller's sink in batches, so that decoding and replaying use two CPUs.
 *
 * The reader's events are copied into a ring of batches (their strings and frames too: a
 * reader's are valid only during its sink call); the caller's thread takes full batches in
 * order and calls the sink for each event, so the sink sees exactly the sequence the
 * reader delivered. A sink that returns false stops the reader at its next event. */
#include "event.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

enum { BATCH = 4096, RING = 4 };

struct slot {
    struct rep_event ev;
    char procname[24];
};

struct batch {
    struct slot e[BATCH];
    size_t n;
};

struct pipe {
    rep_reader read;
    const char *dir;
    bool progress;
    struct batch ring[RING];
    size_t head, tail; /* batches handed over (head) and given back (tail), counted */
    bool done, stop;
    int status;
    pthread_mutex_t lock;
    pthread_cond_t changed;
};

static inline char *copy(const char *s) {
    if (!s || !*s) return NULL;
    char *d = strdup(s);
    if (!d) abort();
    return d;
}

/* The reader's thread: hands the current batch over when full, waits for a free one. */
static void hand_over(struct pipe *p) {
    pthread_mutex_lock(&p->lock);
    p->head++;
    pthread_cond_broadcast(&p->changed);
    while (p->head - p->tail == RING && !p->stop)
        pthread_cond_wait(&p->changed, &p->lock);
    pthread_mutex_unlock(&p->lock);
}

static bool collect(void *arg, const struct rep_event *ev) {
    struct pipe *p = arg;
    if (__atomic_load_n(&p->stop, __ATOMIC_RELAXED)) return false;
    struct batch *b = &p->ring[p->head % RING];
    struct slot *s = &b->e[b->n++];
    s->ev = *ev;
    size_t len = strnlen(ev->procname, sizeof s->procname - 1);
    memcpy(s->procname, ev->procname, len);
    s->procname[len] = '\0';
    for (int i = 0; i < REP_MAX_STRINGS; i++)
        s->ev.s[i] = copy(ev->s[i]);
    if (ev->n_frames) {
        void *frames = malloc(ev->n_frames * 8ul);
        if (!frames) abort();
        s->ev.frames = memcpy(frames, ev->frames, ev->n_frames * 8ul);
    }
    if (b->n == BATCH) hand_over(p);
    return true;
}

static void *reader_main(void *arg) {
    struct pipe *p = arg;
    p->status = p->read(p->dir, collect, p, p->progress);
    pthread_mutex_lock(&p->lock);
    if (!p->stop && p->ring[p->head % RING].n) p->head++; /* the last, partial batch */
    p->done = true;
    pthread_cond_broadcast(&p->changed);
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

/* Calls the sink for a batch's events (none once it said stop); frees their strings. */
static bool drain(struct batch *b, rep_sink sink, void *arg, bool go) {
    for (size_t i = 0; i < b->n; i++) {
        struct slot *s = &b->e[i];
        const char *strings[REP_MAX_STRINGS];
        memcpy(strings, s->ev.s, sizeof strings);
        for (int k = 0; k < REP_MAX_STRINGS; k++)
            s->ev.s[k] = strings[k] ? strings[k] : "";
        s->ev.procname = s->procname;
        go = go && sink(arg, &s->ev);
        for (int k = 0; k < REP_MAX_STRINGS; k++)
            if (strings[k]) free((char *)strings[k]);
        if (s->ev.n_frames) free((void *)s->ev.frames);
    }
    b->n = 0;
    return go;
}

int rep_read_piped(rep_reader read, const char *dir, rep_sink sink, void *arg, bool progress) {
    struct pipe *p = calloc(1, sizeof *p);
    if (!p) abort();
    *p = (struct pipe){.read = read, .dir = dir, .progress = progress};
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->changed, NULL);
    pthread_t t;
    if (pthread_create(&t, NULL, reader_main, p) != 0) abort();
    bool go = true;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (p->tail == p->head && !p->done)
            pthread_cond_wait(&p->changed, &p->lock);
        if (p->tail == p->head) break;
        struct batch *b = &p->ring[p->tail % RING];
        pthread_mutex_unlock(&p->lock);
        go = drain(b, sink, arg, go);
        pthread_mutex_lock(&p->lock);
        p->tail++;
        if (!go) __atomic_store_n(&p->stop, true, __ATOMIC_RELAXED);
        pthread_cond_broadcast(&p->changed);
    }
    pthread_mutex_unlock(&p->lock);
    pthread_join(t, NULL);
    int status = p->status;
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->changed);
    free(p);
    return status;
}
