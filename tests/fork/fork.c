/* fork.c — fork() and the allocator.
 *
 * After a fork, parent and child never share heap memory: each writes to the same blocks
 * (slab, region and huge, plus sparse slabs left behind by a collection, which is where
 * meshing moves spans into shared file memory) and neither sees the other's writes.
 * A child forked while other threads allocate, free and collect can allocate, free, start a
 * thread and exit: the atfork handlers leave no allocator lock held.
 *
 * Every wait is bounded by alarm(): a hang fails the test instead of stalling the suite. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "allocator.h"
#include "common.h"
#include "checks.h"

#define TEST_TIMEOUT_S 240
#define CHILD_TIMEOUT_S 60
#define EXIT_TIMED_OUT 99

static void on_alarm(int sig) {
    (void)sig;
    static const char msg[] = "fork: timed out: a process hangs after fork\n";
    ssize_t written = write(2, msg, sizeof msg - 1); /* nothing to do if it fails */
    (void)written;
    _exit(EXIT_TIMED_OUT);
}

static void arm_alarm(unsigned seconds) {
    signal(SIGALRM, on_alarm);
    alarm(seconds);
}

/* ---- parent and child see only their own writes --------------------------------------- */

enum { SPARSE = 4096, MAX_BLOCKS = 64 + SPARSE };
enum seed { BEFORE_FORK = 1, CHILD = 2, PARENT_AFTER = 3 };
enum child_status { CHILD_OK = 0, CHILD_LOST_BLOCKS = 10, CHILD_SAW_PARENT = 11, CHILD_ALLOC = 12 };

struct blocks {
    void *p[MAX_BLOCKS];
    size_t size[MAX_BLOCKS];
    size_t n;
};

static bool blocks_add(struct blocks *b, void *p, size_t size) {
    if (p == NULL) return false;
    b->p[b->n] = p;
    b->size[b->n++] = size;
    return true;
}

/* Blocks of every regime, and the 10% survivors of a slab freed at random and collected.
 * No CMocka assertions here: the child runs this too. */
static bool blocks_make(struct blocks *b) {
    static const size_t sizes[] = {
        24, 48, 1000, MW_SLAB_MAX, 100 * KiB, 3 * MiB, MW_REGION_MAX + 1};
    b->n = 0;
    bool ok = true;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        ok &= blocks_add(b, malloc(sizes[i]), sizes[i]);
    static void *sparse[SPARSE];
    for (int i = 0; i < SPARSE; i++)
        sparse[i] = malloc(64);
    for (int i = 0; i < SPARSE; i++) {
        if ((uint64_t)i * 0x9e3779b97f4a7c15u % 10 == 0)
            ok &= blocks_add(b, sparse[i], 64);
        else
            free(sparse[i]);
    }
    allocator_collect();
    return ok;
}

static void blocks_fill(struct blocks *b, uint64_t seed) {
    for (size_t i = 0; i < b->n; i++)
        pattern_fill(b->p[i], b->size[i], seed + i);
}

/* Returns the index of the first block that does not hold its pattern, or b->n. */
static size_t blocks_check(const struct blocks *b, uint64_t seed) {
    for (size_t i = 0; i < b->n; i++)
        if (pattern_check(b->p[i], b->size[i], seed + i) != b->size[i]) return i;
    return b->n;
}

static void blocks_free(struct blocks *b) {
    for (size_t i = 0; i < b->n; i++)
        free(b->p[i]);
    b->n = 0;
}

static void wait_byte(int fd) {
    char c;
    while (read(fd, &c, 1) < 0 && errno == EINTR)
        continue;
}

static void send_byte(int fd) {
    if (write(fd, "x", 1) != 1) _exit(CHILD_ALLOC);
}

static int child_side(struct blocks *b, int from_parent, int to_parent) {
    arm_alarm(CHILD_TIMEOUT_S);
    if (blocks_check(b, BEFORE_FORK) != b->n) return CHILD_LOST_BLOCKS;
    blocks_fill(b, CHILD);
    send_byte(to_parent);
    wait_byte(from_parent);
    size_t bad = blocks_check(b, CHILD);
    if (bad != b->n) {
        fprintf(stderr, "child: block %zu (%zu bytes) changed after the parent wrote to it\n", bad,
                b->size[bad]);
        return CHILD_SAW_PARENT;
    }
    /* The child owns the inherited blocks: it frees them and allocates anew. */
    blocks_free(b);
    if (!blocks_make(b)) return CHILD_ALLOC;
    blocks_fill(b, CHILD);
    if (blocks_check(b, CHILD) != b->n) return CHILD_ALLOC;
    blocks_free(b);
    return CHILD_OK;
}

static void test_parent_and_child_do_not_share(void **state) {
    (void)state;
    static struct blocks b;
    arm_alarm(TEST_TIMEOUT_S);
    assert_true(blocks_make(&b));
    blocks_fill(&b, BEFORE_FORK);
    int to_child[2], to_parent[2];
    assert_int_equal(pipe(to_child), 0);
    assert_int_equal(pipe(to_parent), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) exit(child_side(&b, to_child[0], to_parent[1]));

    wait_byte(to_parent[0]);
    size_t bad = blocks_check(&b, BEFORE_FORK);
    if (bad != b.n) {
        kill(pid, SIGKILL);
        fail_msg("block %zu (%zu bytes) changed in the parent when the child wrote to it", bad,
                 b.size[bad]);
    }
    blocks_fill(&b, PARENT_AFTER);
    send_byte(to_child[1]);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != CHILD_OK)
        fail_msg("child failed: %s %d (statuses: %d lost blocks, %d saw the parent's writes, "
                 "%d could not allocate, %d timed out)",
                 WIFEXITED(status) ? "exit" : "signal",
                 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), CHILD_LOST_BLOCKS,
                 CHILD_SAW_PARENT, CHILD_ALLOC, EXIT_TIMED_OUT);
    bad = blocks_check(&b, PARENT_AFTER);
    if (bad != b.n) fail_msg("block %zu changed in the parent after the child exited", bad);
    blocks_free(&b);
    for (int i = 0; i < 2; i++) {
        close(to_child[i]);
        close(to_parent[i]);
    }
    alarm(0);
}

/* ---- forks while threads allocate ----------------------------------------------------- */

enum { FORKS = 200, CHURN_THREADS = 2, RING = 64 };

static atomic_bool stop;

/* Allocates and frees continuously, keeping a ring of live blocks; thread 0 also collects
 * now and then so that forks land during collections too. */
static void *churn(void *arg) {
    uintptr_t id = (uintptr_t)arg;
    uint64_t rng = 0x2545f4914f6cdd1du * (id + 1);
    void *ring[RING] = {0};
    for (unsigned long i = 0; !atomic_load_explicit(&stop, memory_order_relaxed); i++) {
        void **slot = &ring[i % RING];
        free(*slot);
        size_t size = random_log_size(&rng, 4, 21);
        unsigned char *p = malloc(size);
        if (p != NULL) p[0] = p[size - 1] = (unsigned char)i;
        *slot = p;
        if (id == 0 && i % 512 == 0) allocator_collect();
    }
    for (int i = 0; i < RING; i++)
        free(ring[i]);
    return NULL;
}

static void *child_thread(void *arg) {
    uint64_t rng = (uint64_t)(uintptr_t)arg | 1;
    for (int i = 0; i < 200; i++) {
        size_t size = random_log_size(&rng, 4, 16);
        void *p = malloc(size);
        if (p == NULL) return (void *)1;
        pattern_fill(p, size, size);
        if (pattern_check(p, size, size) != size) return (void *)1;
        free(p);
    }
    return NULL;
}

/* What each child does: allocate, check and free blocks of every regime (slabs and small
 * regions, one large region, a huge block in every twentieth child; from a new thread too
 * in every tenth), then exit through exit() so that atexit work runs. Small enough that
 * 200 children stay quick on a busy machine. */
static int forked_child(int n) {
    arm_alarm(CHILD_TIMEOUT_S);
    uint64_t rng = 0x9e3779b97f4a7c15u * (uint64_t)(n + 1);
    enum { N = 24 };
    void *blocks[N];
    size_t sizes[N];
    for (int i = 0; i < N; i++) {
        sizes[i] = i < N - 1     ? random_log_size(&rng, 4, 16)
                   : n % 20 == 0 ? MW_REGION_MAX + 1
                                 : 3 * MiB;
        blocks[i] = malloc(sizes[i]);
        if (blocks[i] == NULL) return 1;
        pattern_fill(blocks[i], sizes[i], (uint64_t)i);
    }
    for (int i = 0; i < N; i++) {
        if (pattern_check(blocks[i], sizes[i], (uint64_t)i) != sizes[i]) return 2;
        free(blocks[i]);
    }
    if (n % 10 == 0) {
        pthread_t t;
        void *result;
        if (pthread_create(&t, NULL, child_thread, (void *)(uintptr_t)n) != 0) return 3;
        if (pthread_join(t, &result) != 0 || result != NULL) return 4;
    }
    return 0;
}

static void test_forks_while_threads_allocate(void **state) {
    (void)state;
    arm_alarm(TEST_TIMEOUT_S);
    atomic_store(&stop, false);
    pthread_t threads[CHURN_THREADS];
    for (uintptr_t t = 0; t < CHURN_THREADS; t++)
        assert_int_equal(pthread_create(&threads[t], NULL, churn, (void *)t), 0);
    int failed = 0;
    for (int n = 0; n < FORKS; n++) {
        fflush(NULL);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) exit(forked_child(n));
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            fprintf(stderr, "fork %d: child %s %d\n", n, WIFEXITED(status) ? "exited" : "killed by",
                    WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
            failed++;
        }
    }
    atomic_store(&stop, true);
    for (int t = 0; t < CHURN_THREADS; t++)
        assert_int_equal(pthread_join(threads[t], NULL), 0);
    alarm(0);
    if (failed != 0)
        fail_msg("%d of %d children failed (exit %d: timed out)", failed, FORKS, EXIT_TIMED_OUT);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parent_and_child_do_not_share),
        cmocka_unit_test(test_forks_while_threads_allocate),
    };
    return cmocka_run_group_tests_name(allocator_name, tests, allocator_group_setup, NULL);
}
