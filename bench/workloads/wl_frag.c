/* wl_frag.c — the fragmentation pattern (see wl_frag.h). */
#include "wl_frag.h"

#include <stdio.h>
#include <stdlib.h>

#include "wl.h"

/* The size range: 16-256 B, or MWB_FRAG_SIZES's. */
static void size_range(struct wl_frag *f) {
    const char *env = getenv("MWB_FRAG_SIZES");
    f->lo = 16;
    f->hi = 256;
    if (env && (sscanf(env, "%zu-%zu", &f->lo, &f->hi) != 2 || f->lo == 0 || f->lo > f->hi ||
                f->hi > 65535)) {
        fprintf(stderr, "MWB_FRAG_SIZES: want LO-HI, 0 < LO <= HI <= 65535\n");
        exit(2);
    }
}

void wl_frag_init(struct wl_frag *f, size_t count, uint64_t seed) {
    size_range(f);
    f->count = count;
    f->keep = count / 10;
    f->obj = wl_map(count * sizeof *f->obj);
    f->size = wl_map(count * sizeof *f->size);
    for (size_t i = 0; i < count; i++) {
        f->obj[i] = NULL;
        f->size[i] = 0;
    }
    f->rng = wl_seed(seed);
    f->sum = 0;
}

static void allocate(struct wl_frag *f) {
    for (size_t i = 0; i < f->count; i++) {
        f->size[i] = (unsigned short)wl_logsize(&f->rng, f->lo, f->hi);
        f->obj[i] = wl_must(malloc(f->size[i]), "object");
        wl_fill(f->obj[i], f->size[i], i);
    }
}

/* Frees a random 90%: shuffles the table (Fisher-Yates) and frees all but its head. */
static void thin(struct wl_frag *f) {
    for (size_t i = f->count - 1; i > 0; i--) {
        size_t j = wl_rand(&f->rng) % (i + 1);
        void *p = f->obj[i];
        unsigned short n = f->size[i];
        f->obj[i] = f->obj[j];
        f->size[i] = f->size[j];
        f->obj[j] = p;
        f->size[j] = n;
    }
    for (size_t i = f->keep; i < f->count; i++) {
        f->sum += wl_check(f->obj[i], f->size[i]);
        free(f->obj[i]);
    }
}

/* Keeps running: replaces random survivors by new objects of the same size. */
static void replace(struct wl_frag *f) {
    for (size_t i = 0, after = f->count / 5; i < after; i++) {
        size_t j = wl_rand(&f->rng) % f->keep;
        f->sum += wl_check(f->obj[j], f->size[j]);
        free(f->obj[j]);
        f->obj[j] = wl_must(malloc(f->size[j]), "object");
        wl_fill(f->obj[j], f->size[j], f->count + i);
    }
}

size_t wl_frag_build(struct wl_frag *f) {
    allocate(f);
    thin(f);
    replace(f);
    size_t live = 0;
    for (size_t i = 0; i < f->keep; i++)
        live += f->size[i];
    return live;
}

void wl_frag_free(struct wl_frag *f) {
    for (size_t i = 0; i < f->keep; i++) {
        f->sum += wl_check(f->obj[i], f->size[i]);
        free(f->obj[i]);
    }
}
