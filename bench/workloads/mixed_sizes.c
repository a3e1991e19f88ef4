/* mixed_sizes.c — one thread replacing random objects of a live table whose sizes are
 * log-uniform from 16 B to 1 MiB, so every size regime (small classes, medium, the large
 * path) is exercised in the same heap. Every page of each object is touched. Models
 * general-purpose programs (interpreters, compilers) whose size mix has a long tail, and
 * shows how an allocator holds up when small and large objects interleave. */
#include <stdlib.h>

#include "wl.h"

#define SLOTS 1024

int main(int argc, char **argv) {
    size_t ops = wl_scaled(wl_scale(argc, argv), 600000);
    void **slot = wl_map(SLOTS * sizeof *slot);
    size_t *size = wl_map(SLOTS * sizeof *size);
    uint64_t rng = wl_seed(6), sum = 0;
    for (size_t i = 0; i < ops; i++) {
        size_t j = wl_rand(&rng) % SLOTS;
        if (slot[j]) {
            sum += wl_check(slot[j], size[j]);
            free(slot[j]);
        }
        size[j] = wl_logsize(&rng, 16, 1024 * 1024);
        slot[j] = wl_must(malloc(size[j]), "object");
        wl_fill(slot[j], size[j], i);
    }
    for (size_t j = 0; j < SLOTS; j++) {
        if (slot[j]) {
            sum += wl_check(slot[j], size[j]);
            free(slot[j]);
        }
    }
    wl_report(sum);
    return 0;
}
