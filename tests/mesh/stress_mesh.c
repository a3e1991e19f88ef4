/* stress_mesh.c — meshing under load, in the production build (the hardened one meshes only
 * single-threaded processes): THREADS threads, ROUNDS rounds each. A round allocates BLOCKS
 * blocks of 16 to 512 bytes, each filled with a pattern of its owner, round and index; frees
 * 90% of them, a third of those through the next thread (a remote free, racing that
 * thread's meshes), and meshes its own heap (mw_mesh_now) while the other threads write
 * their survivors; then checks every survivor it still holds. Exits 0 when nothing was
 * lost, 1 with a message otherwise, 77 when nothing was ever meshed (nothing tested). */
#include <meshward.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define THREADS 3
#define ROUNDS 20
#define BLOCKS 30000
#define MAILBOX 4096

struct block {
    unsigned char *p;
    uint32_t size, seed;
};

struct mailbox { /* blocks handed to a thread for freeing: a locked stack */
    pthread_mutex_t lock;
    unsigned char *p[MAILBOX];
    unsigned n;
};

static struct mailbox boxes[THREADS];
static atomic_int failures;

static uint64_t next_random(uint64_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void fill(const struct block *b) {
    for (uint32_t k = 0; k < b->size; k++)
        b->p[k] = (unsigned char)(b->seed * 31 + k);
}

static bool intact(const struct block *b) {
    for (uint32_t k = 0; k < b->size; k++)
        if (b->p[k] != (unsigned char)(b->seed * 31 + k)) return false;
    return true;
}

/* Frees what other threads handed to t. */
static void drain(unsigned t) {
    struct mailbox *m = &boxes[t];
    pthread_mutex_lock(&m->lock);
    while (m->n)
        free(m->p[--m->n]);
    pthread_mutex_unlock(&m->lock);
}

/* Hands p to thread t to free; frees it here when t's box is full. */
static void post(unsigned t, unsigned char *p) {
    struct mailbox *m = &boxes[t];
    pthread_mutex_lock(&m->lock);
    bool room = m->n < MAILBOX;
    if (room) m->p[m->n++] = p;
    pthread_mutex_unlock(&m->lock);
    if (!room) free(p);
}

static void round_of(unsigned t, unsigned r, struct block *b, uint64_t *rng) {
    for (unsigned i = 0; i < BLOCKS; i++) {
        b[i].size = 16 + (uint32_t)(next_random(rng) % 497);
        b[i].seed = t * 1000003u + r * 7919u + i;
        b[i].p = malloc(b[i].size);
        if (!b[i].p) abort();
        fill(&b[i]);
    }
    for (unsigned i = 0; i < BLOCKS; i++) {
        uint64_t x = next_random(rng) % 30;
        if (x < 3) continue; /* a survivor */
        if (x < 12)
            post((t + 1) % THREADS, b[i].p);
        else
            free(b[i].p);
        b[i].p = NULL;
    }
    drain(t);
    mw_mesh_now();
    for (unsigned i = 0; i < BLOCKS; i++)
        if (b[i].p) fill(&b[i]); /* writes racing the other threads' meshes */
    for (unsigned i = 0; i < BLOCKS; i++)
        if (b[i].p && !intact(&b[i])) {
            fprintf(stderr, "stress_mesh: thread %u round %u block %u damaged\n", t, r, i);
            atomic_fetch_add(&failures, 1);
            return;
        }
    for (unsigned i = 0; i < BLOCKS; i++)
        free(b[i].p);
}

static void *worker(void *arg) {
    unsigned t = (unsigned)(uintptr_t)arg;
    uint64_t rng = 0x9e3779b97f4a7c15ull * (t + 1);
    struct block *b = calloc(BLOCKS, sizeof *b);
    if (!b) abort();
    for (unsigned r = 0; r < ROUNDS; r++)
        round_of(t, r, b, &rng);
    free(b);
    return NULL;
}

int main(void) {
    pthread_t th[THREADS];
    for (unsigned t = 0; t < THREADS; t++)
        pthread_mutex_init(&boxes[t].lock, NULL);
    for (unsigned t = 0; t < THREADS; t++)
        if (pthread_create(&th[t], NULL, worker, (void *)(uintptr_t)t) != 0) return 2;
    for (unsigned t = 0; t < THREADS; t++)
        pthread_join(th[t], NULL);
    for (unsigned t = 0; t < THREADS; t++)
        drain(t);
    struct mw_stats st;
    mw_stats_get(&st);
    if (failures) return 1;
    if (st.meshes == 0) {
        fprintf(stderr, "stress_mesh: nothing was meshed\n");
        return 77;
    }
    printf("stress_mesh: %llu meshes, %llu passes\n", (unsigned long long)st.meshes,
           (unsigned long long)st.mesh_passes);
    return 0;
}
