/* fragmentation.c — a large heap of small objects (16 B to 256 B, log-uniform) of which
 * 90% are freed in random order, leaving every page sparsely occupied; the program then
 * keeps running for a while, replacing some survivors with new objects of the same sizes
 * (wl_frag.h). Models a long-running process after a load peak (a cache that shrank, a
 * parsed document that was mostly released). Prints the live bytes and the heap's resident
 * memory (RSS minus the RSS before the first allocation); the runner reports their ratio.
 * Without meshing, the freed memory stays resident because almost no page becomes empty.
 * With MWB_KEEP_HEAP set, the survivors are not freed at the end (for a census of the heap
 * at exit, bench/mesh_census.c; the checksum then differs). */
#include <stdio.h>
#include <stdlib.h>

#include "wl.h"
#include "wl_frag.h"

int main(int argc, char **argv) {
    struct wl_frag f;
    wl_frag_init(&f, wl_scaled(wl_scale(argc, argv), 3000000), 8);
    size_t baseline = wl_rss();
    size_t live = wl_frag_build(&f);
    size_t heap_rss = wl_rss() - baseline;
    printf("live_bytes=%zu\nheap_rss_bytes=%zu\n", live, heap_rss);
    if (!getenv("MWB_KEEP_HEAP")) wl_frag_free(&f);
    wl_report(f.sum);
    return 0;
}
