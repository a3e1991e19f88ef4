/* tp_threads.c — THREADS threads (8, or argv[1]) allocate, reallocate and free blocks, handing
 * half of them to the next thread through a mailbox, so that frees cross threads all the
 * time. Prints on stdout how many alloc, realloc and free calls its threads made, for
 * test_trace.py threads and discard. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

enum { MAX_THREADS = 8, ROUNDS = 20000, SLOTS = 64 };

struct mailbox {
    pthread_mutex_t lock;
    void *slot[SLOTS];
    unsigned count;
};

static unsigned threads = MAX_THREADS;
static struct mailbox box[MAX_THREADS];
static unsigned long allocs[MAX_THREADS], reallocs[MAX_THREADS], frees[MAX_THREADS];

static void post(unsigned to, void *p, unsigned self) {
    struct mailbox *m = &box[to];
    pthread_mutex_lock(&m->lock);
    if (m->count < SLOTS) {
        m->slot[m->count++] = p;
        p = NULL;
    }
    pthread_mutex_unlock(&m->lock);
    if (p) {
        free(p);
        frees[self]++;
    }
}

static void drain(unsigned self) {
    struct mailbox *m = &box[self];
    pthread_mutex_lock(&m->lock);
    while (m->count) {
        free(m->slot[--m->count]);
        frees[self]++;
    }
    pthread_mutex_unlock(&m->lock);
}

static void *worker(void *arg) {
    unsigned self = (unsigned)(uintptr_t)arg;
    uint64_t rng = 0x9E3779B97F4A7C15ull * (self + 1);
    for (unsigned i = 0; i < ROUNDS; i++) {
        rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
        size_t size = 8 + rng % 2000;
        char *p = malloc(size);
        allocs[self]++;
        p[0] = (char)i;
        if (rng & 0x100) {
            p = realloc(p, size * 2);
            reallocs[self]++;
        }
        if (rng & 1)
            post((self + 1) % threads, p, self);
        else {
            free(p);
            frees[self]++;
        }
        if (i % 16 == 0) drain(self);
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc > 1 && (threads = (unsigned)atoi(argv[1])) - 1 >= MAX_THREADS) return 2;
    pthread_t t[MAX_THREADS];
    for (unsigned i = 0; i < threads; i++)
        pthread_mutex_init(&box[i].lock, NULL);
    for (unsigned i = 0; i < threads; i++)
        if (pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)i) != 0) return 2;
    for (unsigned i = 0; i < threads; i++)
        pthread_join(t[i], NULL);
    unsigned long a = 0, r = 0, f = 0;
    for (unsigned i = 0; i < threads; i++) {
        drain(i);
        a += allocs[i], r += reallocs[i], f += frees[i];
    }
    printf("allocs %lu reallocs %lu frees %lu\n", a, r, f);
    return 0;
}
