/* tp_known.c — makes exactly known allocations for the trace test (test_trace.py known):
 * every kind (slab, region, huge), calloc, a realloc that moves and one in place, aligned
 * allocations, a free from another thread and a first-class heap destroyed with live
 * blocks. It writes the events it expects, one per line, to the file named by argv[1]:
 *   alloc PTR SIZE USABLE KIND | free PTR USABLE REMOTE | realloc OLD NEW SIZE USABLE MOVED
 *   aligned_alloc PTR ALIGN SIZE | heap_alloc PTR SIZE USABLE | heap_destroy
 * The first-class heap API is looked up at run time: the program runs with libmeshward
 * preloaded, and links only libc. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static FILE *out;

static void *must(void *p, const char *what) {
    if (!p) {
        fprintf(stderr, "tp_known: %s failed\n", what);
        exit(2);
    }
    return p;
}

static void expect_alloc(void *p, size_t size, const char *kind) {
    fprintf(out, "alloc %p %zu %zu %s\n", p, size, malloc_usable_size(p), kind);
}

static void expect_free(void *p, int remote) {
    fprintf(out, "free %p %zu %d\n", p, malloc_usable_size(p), remote);
}

static void *free_remotely(void *p) {
    free(p);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 2 || !(out = fopen(argv[1], "w"))) return 2;
    setvbuf(out, NULL, _IOFBF, 1 << 16); /* one allocation, before any expected event */
    fprintf(out, "start\n");

    char *a = must(malloc(1000), "malloc");
    expect_alloc(a, 1000, "slab");
    char *b = must(calloc(10, 300), "calloc");
    expect_alloc(b, 3000, "slab");
    char *c = must(malloc(100000), "malloc region");
    expect_alloc(c, 100000, "region");
    char *d = must(malloc((size_t)80 << 20), "malloc huge");
    expect_alloc(d, (size_t)80 << 20, "huge");

    /* Addresses kept as integers: the old pointer must not be used after realloc. */
    uintptr_t old = (uintptr_t)a;
    char *r = must(realloc(a, 3000), "realloc grow");
    fprintf(out, "realloc %#lx %p %zu %zu 1\n", (unsigned long)old, (void *)r, (size_t)3000,
            malloc_usable_size(r));
    old = (uintptr_t)r;
    char *r2 = must(realloc(r, 2900), "realloc shrink");
    fprintf(out, "realloc %#lx %p %zu %zu %d\n", (unsigned long)old, (void *)r2, (size_t)2900,
            malloc_usable_size(r2), (uintptr_t)r2 != old);

    void *e = must(aligned_alloc(256, 512), "aligned_alloc");
    expect_alloc(e, 512, "slab");
    fprintf(out, "aligned_alloc %p 256 512\n", e);
    void *f = NULL;
    if (posix_memalign(&f, 4096, 100) != 0) return 2;
    expect_alloc(f, 100, "slab");
    fprintf(out, "aligned_alloc %p 4096 100\n", f);

    expect_free(b, 1);
    pthread_t t;
    if (pthread_create(&t, NULL, free_remotely, b) != 0 || pthread_join(t, NULL) != 0) return 2;
    expect_free(c, 0);
    free(c);
    expect_free(d, 0);
    free(d);
    expect_free(r2, 0);
    free(r2);
    expect_free(e, 0);
    free(e);
    expect_free(f, 0);
    free(f);

    void *(*heap_new)(void) = (void *(*)(void))dlsym(RTLD_DEFAULT, "mw_heap_new");
    void *(*heap_malloc)(void *, size_t) =
        (void *(*)(void *, size_t))dlsym(RTLD_DEFAULT, "mw_heap_malloc");
    void (*heap_destroy)(void *) = (void (*)(void *))dlsym(RTLD_DEFAULT, "mw_heap_destroy");
    if (!heap_new || !heap_malloc || !heap_destroy) {
        fprintf(stderr, "tp_known: libmeshward does not export mw_heap_new/malloc/destroy\n");
        return 3;
    }
    void *h = must(heap_new(), "mw_heap_new");
    void *x = must(heap_malloc(h, 48), "mw_heap_malloc");
    fprintf(out, "heap_alloc %p 48 %zu\n", x, malloc_usable_size(x));
    void *y = must(heap_malloc(h, 64), "mw_heap_malloc");
    fprintf(out, "heap_alloc %p 64 %zu\n", y, malloc_usable_size(y));
    fprintf(out, "heap_destroy\n");
    heap_destroy(h);
    fprintf(out, "end\n");
    return fclose(out) == 0 ? 0 : 2;
}
