/* fragmentation.c — a large heap of small objects (16 B to 256 B, log-uniform) of which
 * 90% are freed in random order, leaving every page sparsely occupied; the program then
 * keeps running for a while, replacing some survivors with new objects of the same sizes.
 * Models a long-running process after a load peak (a cache that shrank, a parsed document
 * that was mostly released). Prints the live bytes and the heap's resident memory (RSS
 * minus the RSS before the first allocation); the runner reports their ratio. Without
 * meshing, the freed memory stays resident because almost no page becomes empty. */
#include <stdio.h>
#include <stdlib.h>

#include "wl.h"

int main(int argc, char **argv) {
    size_t count = wl_scaled(wl_scale(argc, argv), 3000000);
    size_t keep = count / 10, after = count / 5;
    void **obj = wl_map(count * sizeof *obj);
    unsigned short *size = wl_map(count * sizeof *size);
    /* Fault the bookkeeping tables in first so that the baseline includes them. */
    for (size_t i = 0; i < count; i++) {
        obj[i] = NULL;
        size[i] = 0;
    }
    size_t baseline = wl_rss();
    uint64_t rng = wl_seed(8), sum = 0;
    for (size_t i = 0; i < count; i++) {
        size[i] = (unsigned short)wl_logsize(&rng, 16, 256);
        obj[i] = wl_must(malloc(size[i]), "object");
        wl_fill(obj[i], size[i], i);
    }
    /* Free a random 90%: shuffle the table (Fisher-Yates) and free all but its head. */
    for (size_t i = count - 1; i > 0; i--) {
        size_t j = wl_rand(&rng) % (i + 1);
        void *p = obj[i];
        unsigned short n = size[i];
        obj[i] = obj[j];
        size[i] = size[j];
        obj[j] = p;
        size[j] = n;
    }
    for (size_t i = keep; i < count; i++) {
        sum += wl_check(obj[i], size[i]);
        free(obj[i]);
    }
    /* Keep running: replace random survivors by new objects of the same size. */
    for (size_t i = 0; i < after; i++) {
        size_t j = wl_rand(&rng) % keep;
        sum += wl_check(obj[j], size[j]);
        free(obj[j]);
        obj[j] = wl_must(malloc(size[j]), "object");
        wl_fill(obj[j], size[j], count + i);
    }
    size_t live = 0;
    for (size_t i = 0; i < keep; i++)
        live += size[i];
    size_t heap_rss = wl_rss() - baseline;
    printf("live_bytes=%zu\nheap_rss_bytes=%zu\n", live, heap_rss);
    for (size_t i = 0; i < keep; i++) {
        sum += wl_check(obj[i], size[i]);
        free(obj[i]);
    }
    wl_report(sum);
    return 0;
}
