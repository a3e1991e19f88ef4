/* realloc_growth.c — many growing buffers, string-builder style: at each step a random
 * one of 64 buffers grows by 1 to 256 bytes with realloc to the exact new length (as naive
 * code does); a buffer that reaches its target length (256 B to 256 KiB, log-uniform) is
 * checked, freed and restarted. Measures in-place growth within a size class, moves across
 * classes and into the large-object path, and the copy cost of each move. */
#include <stdlib.h>
#include <string.h>

#include "wl.h"

#define BUFFERS 64

struct buffer {
    unsigned char *p;
    size_t len, target;
};

int main(int argc, char **argv) {
    size_t steps = wl_scaled(wl_scale(argc, argv), 6000000);
    struct buffer b[BUFFERS] = {{0}};
    uint64_t rng = wl_seed(5), sum = 0;
    for (size_t i = 0; i < steps; i++) {
        struct buffer *x = &b[wl_rand(&rng) % BUFFERS];
        if (!x->p) x->target = wl_logsize(&rng, 256, 256 * 1024);
        size_t grow = wl_uniform(&rng, 1, 256);
        x->p = wl_must(realloc(x->p, x->len + grow), "buffer");
        memset(x->p + x->len, (int)(i & 0xff), grow);
        x->len += grow;
        if (x->len >= x->target) {
            sum += wl_check(x->p, x->len);
            free(x->p);
            *x = (struct buffer){0};
        }
    }
    for (size_t k = 0; k < BUFFERS; k++) {
        if (b[k].p) {
            sum += wl_check(b[k].p, b[k].len);
            free(b[k].p);
        }
    }
    wl_report(sum);
    return 0;
}
