/* main.c — a program that uses meshward the way an outside project would: it includes
 * <meshward.h>, calls malloc and the mw_* API, and checks that its malloc is meshward's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <meshward.h>

#ifndef CONSUMER_VARIANT
#define CONSUMER_VARIANT "pkg-config"
#endif

int main(void) {
    char *p = malloc(1000);
    if (p == NULL || mw_usable_size(p) < 1000) {
        fprintf(stderr, "consumer (%s): malloc is not meshward's\n", CONSUMER_VARIANT);
        return 1;
    }
    memset(p, 'x', 1000);
    mw_heap_t *heap = mw_heap_new();
    void *q = heap != NULL ? mw_heap_malloc(heap, 64) : NULL;
    struct mw_stats stats;
    if (q == NULL || mw_stats_get(&stats) != 0 || stats.live_blocks < 2) {
        fprintf(stderr, "consumer (%s): the mw_* API does not work\n", CONSUMER_VARIANT);
        return 1;
    }
    mw_heap_destroy(heap);
    free(p);
    printf("consumer (%s): ok\n", CONSUMER_VARIANT);
    return 0;
}
