/* large_realloc.c — one buffer grown with realloc from 4 KiB to 256 MiB by steps of 25%
 * (as a reader appending to a buffer of unknown final size does), each new page written
 * and every page checked at the end; repeated a few rounds. An allocator that can grow a
 * large block in place or move it with mremap pays no copy; one that copies moves about
 * four times the final size per round. */
#include <stdlib.h>

#include "wl.h"

#define START ((size_t)4096)
#define LIMIT ((size_t)256 << 20)

int main(int argc, char **argv) {
    size_t rounds = wl_scaled(wl_scale(argc, argv), 4);
    uint64_t sum = 0;
    for (size_t r = 0; r < rounds; r++) {
        unsigned char *p = NULL;
        size_t len = 0;
        while (len < LIMIT) {
            size_t next = len < START ? START : len + len / 4;
            next = next > LIMIT ? LIMIT : (next + WL_PAGE - 1) & ~(size_t)(WL_PAGE - 1);
            p = wl_must(realloc(p, next), "buffer");
            for (size_t off = len; off < next; off += WL_PAGE)
                p[off] = (unsigned char)(off / WL_PAGE + r);
            len = next;
        }
        for (size_t off = 0; off < len; off += WL_PAGE)
            sum += p[off];
        free(p);
    }
    wl_report(sum);
    return 0;
}
