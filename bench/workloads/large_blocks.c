/* large_blocks.c — large blocks of 5 to 25 MiB (uniform), 20 live at a time, one replaced
 * at random per iteration, every page written. Models programs that allocate big
 * temporary buffers over and over (image and video frames, decompression buffers, query
 * results). An allocator that maps and unmaps each block, or returns it to the OS at once,
 * pays the page faults of the whole block on every iteration; one that keeps freed blocks
 * resident for reuse does not, at the price of RSS. */
#include <stdlib.h>

#include "wl.h"

#define SLOTS 20
#define MIB ((size_t)1 << 20)

int main(int argc, char **argv) {
    size_t iterations = wl_scaled(wl_scale(argc, argv), 2000);
    void *slot[SLOTS] = {0};
    size_t size[SLOTS] = {0};
    uint64_t rng = wl_seed(9), sum = 0;
    for (size_t i = 0; i < iterations; i++) {
        size_t j = wl_rand(&rng) % SLOTS;
        if (slot[j]) {
            sum += wl_check(slot[j], size[j]);
            free(slot[j]);
        }
        size[j] = wl_uniform(&rng, 5 * MIB, 25 * MIB);
        slot[j] = wl_must(malloc(size[j]), "block");
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
