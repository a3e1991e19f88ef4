/* compile_me.c — the C file the gcc check compiles: enough code (macros, structs, inline
 * functions, a switch, recursion) to make the compiler allocate, and a deterministic output
 * to compare once it runs. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N 200000
#define SWAP(T, a, b)                                                                              \
    do {                                                                                           \
        T t_ = (a);                                                                                \
        (a) = (b);                                                                                 \
        (b) = t_;                                                                                  \
    } while (0)

struct node {
    struct node *left, *right;
    uint32_t key;
};

static inline uint32_t next(uint32_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

static struct node *insert(struct node *root, struct node *n) {
    if (root == NULL) return n;
    if (n->key < root->key)
        root->left = insert(root->left, n);
    else
        root->right = insert(root->right, n);
    return root;
}

static uint64_t walk(const struct node *n, int depth, int *max_depth) {
    if (n == NULL) return 0;
    if (depth > *max_depth) *max_depth = depth;
    return n->key + 3 * walk(n->left, depth + 1, max_depth) + walk(n->right, depth + 1, max_depth);
}

static int cmp(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

int main(void) {
    char *sieve = calloc(N, 1);
    unsigned primes = 0;
    for (unsigned i = 2; i < N; i++) {
        if (sieve[i]) continue;
        primes++;
        for (unsigned j = 2 * i; j < N; j += i)
            sieve[j] = 1;
    }
    uint32_t seed = 12345, *v = malloc(N * sizeof *v);
    for (unsigned i = 0; i < N; i++)
        v[i] = next(&seed) % 1000000;
    qsort(v, N, sizeof *v, cmp);
    for (unsigned i = 0; i + 1 < N; i += 2)
        if (v[i] % 7 == 3) SWAP(uint32_t, v[i], v[i + 1]);
    struct node *root = NULL, *nodes = malloc(20000 * sizeof *nodes);
    for (unsigned i = 0; i < 20000; i++) {
        nodes[i] = (struct node){NULL, NULL, next(&seed)};
        root = insert(root, &nodes[i]);
    }
    int depth = 0;
    uint64_t tree = walk(root, 0, &depth);
    unsigned kinds[4] = {0};
    for (unsigned i = 0; i < N; i++) {
        switch (v[i] % 4) {
        case 0:
            kinds[0]++;
            break;
        case 1:
            kinds[1] += v[i] & 1;
            break;
        case 2:
            kinds[2]++;
            break;
        default:
            kinds[3]++;
        }
    }
    char buf[64];
    snprintf(buf, sizeof buf, "%u-%u", v[0], v[N - 1]);
    printf("primes %u median %u range %s\n", primes, v[N / 2], buf);
    printf("tree %llu depth %d kinds %u %u %u %u len %zu\n", (unsigned long long)tree, depth,
           kinds[0], kinds[1], kinds[2], kinds[3], strlen(buf));
    free(sieve);
    free(v);
    free(nodes);
    return 0;
}
