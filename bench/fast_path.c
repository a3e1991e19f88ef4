/* fast_path.c — the allocator's fast paths, for counting their instructions under callgrind
 * (fast_path.sh); not a workload (run.py does not run it).
 *
 *   fast_path local N   N malloc/free pairs of 16-72 byte blocks with 64 live, each block
 *                       freed by the thread that allocated it (mimalloc's fast paths and
 *                       ours: no refill is needed once the ring is full)
 *   fast_path remote N  N blocks of 16-72 bytes allocated by the main thread in batches of
 *                       4096 and freed by another thread: every free is remote
 *
 * Both write one byte of each block, so that the blocks are really handed out. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIVE 64
#define BATCH 4096

static size_t size_of(size_t i) {
    return 16 + (i % 8) * 8;
}

static void local(size_t n) {
    void *ring[LIVE] = {0};
    for (size_t i = 0; i < n; i++) {
        free(ring[i % LIVE]);
        ring[i % LIVE] = malloc(size_of(i));
        *(volatile char *)ring[i % LIVE] = 1;
    }
    for (size_t i = 0; i < LIVE; i++)
        free(ring[i]);
}

static void *free_batch(void *arg) {
    void **batch = arg;
    for (size_t i = 0; i < BATCH; i++)
        free(batch[i]);
    return NULL;
}

static void remote(size_t n) {
    static void *batch[BATCH];
    for (size_t done = 0; done < n; done += BATCH) {
        for (size_t i = 0; i < BATCH; i++) {
            batch[i] = malloc(size_of(i));
            *(volatile char *)batch[i] = 1;
        }
        pthread_t t;
        if (pthread_create(&t, NULL, free_batch, batch) != 0 || pthread_join(t, NULL) != 0) {
            fputs("fast_path: cannot start the freeing thread\n", stderr);
            exit(1);
        }
    }
}

int main(int argc, char **argv) {
    size_t n = argc > 2 ? strtoul(argv[2], NULL, 10) : 1000000;
    if (argc > 1 && strcmp(argv[1], "local") == 0) {
        local(n);
    } else if (argc > 1 && strcmp(argv[1], "remote") == 0) {
        remote(n);
    } else {
        fputs("usage: fast_path local|remote [N]\n", stderr);
        return 2;
    }
    return 0;
}
