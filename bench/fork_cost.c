/* fork_cost.c — what fork() costs with a large heap: builds a heap of SIZE-byte objects
 * (1 GiB in all, every byte written), then times fork + the child writing one byte and
 * exiting + waitpid, several times, and prints the best and the median in milliseconds.
 * The kernel copies page tables at fork and the child faults in the page it writes: an
 * allocator whose heap is private anonymous memory costs what glibc's does; one whose heap
 * is a shared file mapping makes the child re-back it.
 *
 * With `sparse`, 90% of the objects are then freed at random and malloc_trim(0) is called
 * before the forks: meshward meshes the sparse heap there (its meshed spans live in a shared
 * memory file, which fork copies); compare with MESHWARD_MESH=0. After each fork the parent
 * then writes one byte of each of its objects, timed apart (`then`): what the fork left it
 * to fault in again.
 *
 * usage: mwb-fork-cost [OBJECT_SIZE [RUNS [sparse]]]   (defaults: 64, 7, dense) */
#include <malloc.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    size_t size = argc > 1 ? strtoul(argv[1], NULL, 10) : 64;
    int runs = argc > 2 ? atoi(argv[2]) : 7;
    if (size == 0 || runs < 1 || runs > 100) {
        fprintf(stderr, "usage: mwb-fork-cost [OBJECT_SIZE [RUNS [sparse]]]\n");
        return 2;
    }
    size_t n = ((size_t)1 << 30) / size;
    char **objects = malloc(n * sizeof *objects);
    if (!objects) return 1;
    for (size_t i = 0; i < n; i++) {
        if (!(objects[i] = malloc(size))) return 1;
        memset(objects[i], (int)i, size);
    }
    bool sparse = argc > 3 && strcmp(argv[3], "sparse") == 0;
    if (sparse) {
        uint64_t rng = 0x9e3779b97f4a7c15ull;
        for (size_t i = 0; i < n; i++) {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            if (rng % 10 && i >= (size_t)runs) { /* the first objects stay: the child writes one */
                free(objects[i]);
                objects[i] = NULL;
            }
        }
        malloc_trim(0);
    }
    double ms[100], then[100];
    for (int r = 0; r < runs; r++) {
        double t0 = now_ms();
        pid_t pid = fork();
        if (pid == 0) {
            objects[r][0] = 1; /* the child writes: one copy-on-write fault */
            _exit(0);
        }
        if (pid < 0 || waitpid(pid, NULL, 0) != pid) return 1;
        ms[r] = now_ms() - t0;
        t0 = now_ms();
        for (size_t i = 0; i < n; i++)
            if (objects[i]) objects[i][1]++;
        then[r] = now_ms() - t0;
    }
    qsort(ms, (size_t)runs, sizeof ms[0], by_value);
    qsort(then, (size_t)runs, sizeof then[0], by_value);
    printf("fork with %zu objects of %zu B (1 GiB%s): best %.1f ms, median %.1f ms; then %.1f ms\n",
           n, size, sparse ? ", 90% then freed" : "", ms[0], ms[runs / 2], then[runs / 2]);
    return 0;
}
