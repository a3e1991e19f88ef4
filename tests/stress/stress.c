/* stress.c — threads allocate blocks of random sizes (8 B to 4 MiB, log-uniform, so every
 * size class, region class and the slab/region boundary get their share), fill each with a
 * pattern derived from a seed stored in the block, and exchange them through shared slots:
 * most blocks are freed by another thread than the one that allocated them. Every block is
 * verified before it is freed or reallocated; any mismatch fails the test with the block,
 * its size and the first bad offset.
 *
 * A block's first 8 bytes hold its header, (seed << 23) | size; the slot keeps a copy, so a
 * block overwritten by another block (two blocks handed out overlapping) is caught even
 * when the intruder's pattern is self-consistent. STRESS_OPS (per thread), STRESS_THREADS
 * (running at once), STRESS_GENERATIONS (threads started per running thread, each after the
 * previous one exited) and STRESS_MAX_LOG (blocks up to 2^N bytes, N from 4 to 22) override
 * the defaults: ctest also runs a small-block variant that hammers the slab free lists and
 * a thread-churn variant whose blocks outlive the threads that allocated them. */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "allocator.h"
#include "pattern.h"

#define SIZE_BITS 23 /* sizes up to 4 MiB = 1 << 22 */
#define MAX_SIZE ((size_t)4 << 20)
#define MIN_SIZE 8
#define SLOTS 256
#define MAX_THREADS 64

struct slot {
    pthread_mutex_t lock;
    void *block;
    uint64_t header;
};

static struct slot slots[SLOTS];
static atomic_ulong failures;
static long ops_per_thread = 3000;
static int n_threads = 4;
static long generations = 1;  /* threads started per running thread, one after the other */
static unsigned max_log = 22; /* largest blocks: up to 2^max_log * 2 - 1 bytes, capped */

/* [MIN_SIZE, 2^max_log), log-uniform. */
static size_t random_size(uint64_t *rng) {
    return random_log_size(rng, 3, max_log - 1);
}

static size_t header_size(uint64_t header) {
    return (size_t)(header & ((1u << SIZE_BITS) - 1));
}
static uint64_t header_seed(uint64_t header) {
    return header >> SIZE_BITS;
}

static void report(const void *p, uint64_t header, const char *what, size_t offset) {
    atomic_fetch_add(&failures, 1);
    fprintf(stderr, "stress: block %p of %zu bytes (seed %llu): %s at offset %zu\n", p,
            header_size(header), (unsigned long long)header_seed(header), what, offset);
}

static void fill(void *p, uint64_t header) {
    memcpy(p, &header, 8);
    pattern_fill((char *)p + 8, header_size(header) - 8, header_seed(header));
}

/* Checks the first `prefix` bytes of block p against the contents described by header. */
static void verify(const void *p, uint64_t header, size_t prefix) {
    uint64_t stored;
    memcpy(&stored, p, 8);
    if (stored != header) {
        report(p, header, "header overwritten", 0);
        return;
    }
    size_t bad = pattern_check((const char *)p + 8, prefix - 8, header_seed(header));
    if (bad != prefix - 8) report(p, header, "pattern differs", bad + 8);
}

/* A fresh block with every allocating call of the family in turn. */
static void *allocate(size_t size, uint64_t *rng) {
    switch (random_next(rng) % 8) {
    case 0: {
        unsigned char *p = calloc(1, size);
        if (p != NULL && (p[0] != 0 || p[size / 2] != 0 || p[size - 1] != 0))
            report(p, size, "calloc gave dirty memory", 0);
        return p;
    }
    case 1:
        return aligned_alloc((size_t)64 << (random_next(rng) % 7), size);
    default:
        return malloc(size);
    }
}

/* Puts block p with header into a random slot and verifies and frees what was there. */
static void exchange(void *p, uint64_t header, uint64_t *rng) {
    struct slot *s = &slots[random_next(rng) % SLOTS];
    pthread_mutex_lock(&s->lock);
    void *old = s->block;
    uint64_t old_header = s->header;
    s->block = p;
    s->header = header;
    pthread_mutex_unlock(&s->lock);
    if (old != NULL) {
        if (malloc_usable_size(old) < header_size(old_header))
            report(old, old_header, "usable size below requested", malloc_usable_size(old));
        verify(old, old_header, header_size(old_header));
        free(old);
    }
}

/* Takes a random slot's block, verifies it, reallocates it to a new size, checks what
 * realloc kept, refills it and puts it back. */
static void reallocate(uint64_t *rng, uint64_t seed) {
    struct slot *s = &slots[random_next(rng) % SLOTS];
    pthread_mutex_lock(&s->lock);
    void *p = s->block;
    uint64_t header = s->header;
    s->block = NULL;
    pthread_mutex_unlock(&s->lock);
    if (p == NULL) return;
    size_t old_size = header_size(header), size = random_size(rng);
    verify(p, header, old_size);
    void *q = realloc(p, size);
    if (q == NULL) {
        report(p, header, "realloc failed", size);
        free(p);
        return;
    }
    verify(q, header, old_size < size ? old_size : size);
    uint64_t new_header = seed << SIZE_BITS | size;
    fill(q, new_header);
    exchange(q, new_header, rng);
}

static void *worker(void *arg) {
    uint64_t id = (uint64_t)(uintptr_t)arg;
    uint64_t rng = 0x9e3779b97f4a7c15u * (id + 1);
    for (long i = 0; i < ops_per_thread; i++) {
        /* Unique seeds: one per operation of the whole run (2^41 of them). */
        uint64_t seed =
            (id * (uint64_t)ops_per_thread + (uint64_t)i) & ((UINT64_C(1) << (64 - SIZE_BITS)) - 1);
        if (random_next(&rng) % 8 == 0) {
            reallocate(&rng, seed);
            continue;
        }
        size_t size = random_size(&rng);
        void *p = allocate(size, &rng);
        if (p == NULL) {
            report(NULL, size, "allocation failed", 0);
            continue;
        }
        uint64_t header = seed << SIZE_BITS | size;
        fill(p, header);
        exchange(p, header, &rng);
    }
    return NULL;
}

static long env_long(const char *name, long fallback, long min, long max) {
    const char *v = getenv(name);
    long x = v != NULL ? strtol(v, NULL, 10) : fallback;
    return x >= min && x <= max ? x : fallback;
}

static void test_threads_exchange_blocks(void **state) {
    (void)state;
    ops_per_thread = env_long("STRESS_OPS", ops_per_thread, 1, 1L << 40);
    n_threads = (int)env_long("STRESS_THREADS", n_threads, 1, MAX_THREADS);
    max_log = (unsigned)env_long("STRESS_MAX_LOG", max_log, 4, 22);
    generations = env_long("STRESS_GENERATIONS", generations, 1, 1L << 20);
    for (int i = 0; i < SLOTS; i++)
        pthread_mutex_init(&slots[i].lock, NULL);
    /* n_threads run at any time; each that ends is replaced by a new one until every
     * generation ran, so threads exit while others keep freeing their blocks. */
    pthread_t threads[MAX_THREADS];
    for (long t = 0; t < n_threads * generations; t++) {
        pthread_t *th = &threads[t % n_threads];
        if (t >= n_threads) assert_int_equal(pthread_join(*th, NULL), 0);
        assert_int_equal(pthread_create(th, NULL, worker, (void *)(uintptr_t)t), 0);
    }
    for (int t = 0; t < n_threads; t++)
        assert_int_equal(pthread_join(threads[t], NULL), 0);
    for (int i = 0; i < SLOTS; i++) {
        if (slots[i].block != NULL) {
            verify(slots[i].block, slots[i].header, header_size(slots[i].header));
            free(slots[i].block);
        }
        pthread_mutex_destroy(&slots[i].lock);
    }
    unsigned long n = atomic_load(&failures);
    if (n != 0) fail_msg("%lu corrupted or failed blocks (see above)", n);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_threads_exchange_blocks)};
    return cmocka_run_group_tests_name(allocator_name, tests, allocator_group_setup, NULL);
}
