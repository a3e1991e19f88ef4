/* churn.c — single-thread small-object churn: a table of live objects (8 B to 512 B,
 * log-uniform) in which a random slot is freed and reallocated at every step. Models the
 * steady state of most programs: many small short-lived objects, a working set that fits
 * in cache. Measures the bare malloc/free fast path. */
#include <stdlib.h>

#include "wl.h"

#define SLOTS 4096

int main(int argc, char **argv) {
    size_t ops = wl_scaled(wl_scale(argc, argv), 25000000);
    void **slot = wl_map(SLOTS * sizeof *slot);
    size_t *size = wl_map(SLOTS * sizeof *size);
    uint64_t rng = wl_seed(1), sum = 0;
    for (size_t i = 0; i < ops; i++) {
        size_t j = wl_rand(&rng) % SLOTS;
        if (slot[j]) {
            sum += wl_check(slot[j], size[j]);
            free(slot[j]);
        }
        size[j] = wl_logsize(&rng, 8, 512);
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
