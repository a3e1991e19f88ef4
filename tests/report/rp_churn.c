/* rp_churn.c — two threads allocating and freeing as fast as they can (N rounds each, argv[1],
 * default 300000): enough events to overflow a tiny channel, for test_report.py discard. */
#include <pthread.h>
#include <stdlib.h>

static long rounds = 300000;

static void *churn(void *arg) {
    void *slots[64] = {0};
    for (long i = 0; i < rounds; i++) {
        unsigned k = (unsigned)(i * 2654435761u) % 64;
        free(slots[k]);
        slots[k] = malloc(16 + (size_t)(i % 200));
    }
    for (int k = 0; k < 64; k++)
        free(slots[k]);
    return arg;
}

int main(int argc, char **argv) {
    if (argc > 1) rounds = atol(argv[1]);
    pthread_t t;
    if (pthread_create(&t, NULL, churn, NULL) != 0) return 2;
    churn(NULL);
    return pthread_join(t, NULL) == 0 ? 0 : 2;
}
