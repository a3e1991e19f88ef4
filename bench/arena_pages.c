/* arena_pages.c — what the kind of pages under an arena buys: a heap made in an arena of
 * ordinary pages, of transparent huge pages (MW_ARENA_LARGE_PAGES) and of hugetlb pages
 * (MW_ARENA_HUGE_PAGES, when the system has them: /proc/sys/vm/nr_hugepages), each holding
 * 1 GiB of 64-byte nodes linked in random order; then a walk of STEPS links. A node per
 * step on a random page is a TLB miss per step with 4 KiB pages, and one per 512 nodes'
 * worth of pages (or none) with huge ones. Prints, per kind, the time to build the list,
 * nanoseconds per step, and the minor page faults of each phase.
 *
 * usage: mwb-arena-pages [STEPS]   (default 20000000; links libmeshward itself) */
#include <errno.h>
#include <meshward.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#define NODES ((size_t)1 << 24) /* 16 M nodes of 64 B: 1 GiB */

struct node {
    struct node *next;
    char pad[56];
};

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static long minor_faults(void) {
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return u.ru_minflt;
}

static uint64_t next_random(uint64_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Builds the list in heap h (false when the arena ran out), its nodes in random order. */
static struct node *build(mw_heap_t *h, struct node **nodes) {
    uint64_t rng = 0x2545f4914f6cdd1dull;
    for (size_t i = 0; i < NODES; i++)
        if (!(nodes[i] = mw_heap_malloc(h, sizeof(struct node)))) return NULL;
    for (size_t i = NODES - 1; i > 0; i--) {
        size_t j = next_random(&rng) % (i + 1);
        struct node *t = nodes[i];
        nodes[i] = nodes[j];
        nodes[j] = t;
    }
    for (size_t i = 0; i < NODES; i++)
        nodes[i]->next = nodes[(i + 1) % NODES];
    return nodes[0];
}

static void measure(const char *name, unsigned flags, long steps, struct node **nodes) {
    mw_arena_id_t id;
    int e = mw_arena_reserve(NODES * sizeof(struct node) + ((size_t)128 << 20), flags, &id);
    mw_heap_t *h = e ? NULL : mw_heap_new_in(id);
    if (!h) {
        printf("| %s | unavailable (%s) | | | |\n", name, strerror(e ? e : ENOMEM));
        return;
    }
    long f0 = minor_faults();
    double t0 = now_ms();
    struct node *p = build(h, nodes);
    double t1 = now_ms();
    long f1 = minor_faults();
    if (!p) {
        printf("| %s | arena too small | | | |\n", name);
        mw_heap_destroy(h);
        return;
    }
    for (long s = 0; s < steps; s++)
        p = p->next;
    double t2 = now_ms();
    long f2 = minor_faults();
    printf("| %s | %.0f | %.1f | %ld | %ld |\n", name, t1 - t0, (t2 - t1) * 1e6 / (double)steps,
           f1 - f0, f2 - f1);
    if (!p) abort(); /* the walk's result is used: it cannot be optimised away */
    mw_heap_destroy(h);
}

int main(int argc, char **argv) {
    long steps = argc > 1 ? atol(argv[1]) : 20000000;
    struct node **nodes = malloc(NODES * sizeof *nodes);
    if (!nodes || steps < 1) return 2;
    printf("| arena pages | build ms | ns per step | faults building | faults walking |\n");
    printf("|---|---:|---:|---:|---:|\n");
    measure("4 KiB", 0, steps, nodes);
    measure("transparent huge (MW_ARENA_LARGE_PAGES)", MW_ARENA_LARGE_PAGES, steps, nodes);
    measure("hugetlb 2 MiB (MW_ARENA_HUGE_PAGES)", MW_ARENA_HUGE_PAGES, steps, nodes);
    free(nodes);
    return 0;
}
