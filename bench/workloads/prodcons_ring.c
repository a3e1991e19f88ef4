/* prodcons_ring.c — a tight producer/consumer pipeline: two producer threads each allocate
 * batches of 4096 small blocks (16 B to 128 B, uniform), write them and hand each whole
 * batch to its own consumer thread through a lock-free single-producer/single-consumer ring;
 * the consumer reads and frees every block of the batch. Nothing but the ring synchronises
 * the pair, so the allocator's cost dominates: every block is freed by a thread that did
 * not allocate it, thousands at a time, while its owner keeps allocating. Measures the
 * remote-free path in bulk and whether freed memory returns to the producer's heap rather
 * than piling up on the consumer's side (peak RSS). The threads are two pairs whatever the
 * number of CPUs (the shape of the benchmark), and wait by yielding the CPU, so the
 * pipeline also works with more threads than cores. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "wl.h"

#define PAIRS 2
#define BATCH 4096
#define RING 8   /* batches in flight per pair */
#define POLLS 64 /* failed polls of the ring before yielding the CPU */

/* A batch lives in the ring slot itself (mapped memory, not the heap under test): the
 * blocks and their sizes. */
struct batch {
    void *p[BATCH];
    uint16_t n[BATCH];
};

/* head: batches the producer has published; tail: batches the consumer has freed. Each
 * side writes only its own counter (release) and reads the other's (acquire), so a slot is
 * owned by exactly one thread at a time. */
struct ring {
    _Alignas(64) _Atomic size_t head;
    _Alignas(64) _Atomic size_t tail;
    _Alignas(64) struct batch *slot;
    int id;
    uint64_t sum;
};

static size_t batches_per_pair;

static void wait_a_little(unsigned *polls) {
    if (++*polls >= POLLS) {
        *polls = 0;
        sched_yield();
    }
}

static void *produce(void *arg) {
    struct ring *r = arg;
    uint64_t rng = wl_seed((uint64_t)r->id + 700);
    for (size_t b = 0; b < batches_per_pair; b++) {
        unsigned polls = 0;
        while (b - atomic_load_explicit(&r->tail, memory_order_acquire) >= RING)
            wait_a_little(&polls);
        struct batch *s = &r->slot[b % RING];
        for (size_t i = 0; i < BATCH; i++) {
            size_t n = wl_uniform(&rng, 16, 128);
            void *p = wl_must(malloc(n), "block");
            wl_fill(p, n, ((uint64_t)r->id << 48) + b * BATCH + i);
            s->p[i] = p;
            s->n[i] = (uint16_t)n;
        }
        atomic_store_explicit(&r->head, b + 1, memory_order_release);
    }
    return NULL;
}

static void *consume(void *arg) {
    struct ring *r = arg;
    uint64_t sum = 0;
    for (size_t b = 0; b < batches_per_pair; b++) {
        unsigned polls = 0;
        while (atomic_load_explicit(&r->head, memory_order_acquire) <= b)
            wait_a_little(&polls);
        struct batch *s = &r->slot[b % RING];
        for (size_t i = 0; i < BATCH; i++) {
            sum += wl_check(s->p[i], s->n[i]);
            free(s->p[i]);
        }
        atomic_store_explicit(&r->tail, b + 1, memory_order_release);
    }
    r->sum = sum;
    return NULL;
}

int main(int argc, char **argv) {
    batches_per_pair = wl_scaled(wl_scale(argc, argv), 2000) / PAIRS;
    struct ring *ring = wl_map(PAIRS * sizeof *ring);
    pthread_t tid[2 * PAIRS];
    for (int i = 0; i < PAIRS; i++) {
        ring[i].id = i;
        ring[i].slot = wl_map(RING * sizeof *ring[i].slot);
    }
    for (int i = 0; i < PAIRS; i++) {
        pthread_create(&tid[2 * i], NULL, consume, &ring[i]);
        pthread_create(&tid[2 * i + 1], NULL, produce, &ring[i]);
    }
    uint64_t sum = 0;
    for (int i = 0; i < 2 * PAIRS; i++)
        pthread_join(tid[i], NULL);
    for (int i = 0; i < PAIRS; i++)
        sum += ring[i].sum;
    wl_report(sum);
    return 0;
}
