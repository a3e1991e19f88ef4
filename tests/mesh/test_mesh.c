/* test_mesh.c — meshing, end to end through the public API (see CMakeLists.txt). Every test
 * builds a sparse heap the same way: many blocks of one size, 90% of them freed at random,
 * each survivor filled with a pattern derived from its index. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <meshward.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#define COUNT 60000
#define SIZE 64

struct sparse {
    unsigned char *block[COUNT]; /* NULL once freed */
    size_t live;
};

static uint64_t rng_state = 0x2545f4914f6cdd1dull;
static uint64_t next_random(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static unsigned char pattern(size_t i, size_t k) {
    return (unsigned char)(i * 131 + k * 7 + 1);
}

static void fill(unsigned char *p, size_t i) {
    for (size_t k = 0; k < SIZE; k++)
        p[k] = pattern(i, k);
}

static bool intact(const unsigned char *p, size_t i) {
    for (size_t k = 0; k < SIZE; k++)
        if (p[k] != pattern(i, k)) return false;
    return true;
}

static void make_sparse(struct sparse *h) {
    for (size_t i = 0; i < COUNT; i++) {
        h->block[i] = malloc(SIZE);
        assert_non_null(h->block[i]);
        fill(h->block[i], i);
    }
    h->live = 0;
    for (size_t i = 0; i < COUNT; i++) {
        if (next_random() % 10) {
            free(h->block[i]);
            h->block[i] = NULL;
        } else {
            h->live++;
        }
    }
}

static size_t count_held(const struct sparse *h) {
    size_t n = 0;
    for (size_t i = 0; i < COUNT; i++)
        n += h->block[i] != NULL;
    return n;
}

static size_t count_intact(const struct sparse *h) {
    size_t n = 0;
    for (size_t i = 0; i < COUNT; i++)
        n += h->block[i] && intact(h->block[i], i);
    return n;
}

static void free_all(struct sparse *h) {
    for (size_t i = 0; i < COUNT; i++) {
        free(h->block[i]);
        h->block[i] = NULL;
    }
}

/* Frees everything with the hardened quarantine off, so that every block goes back to its
 * span now (the quarantine always holds the latest block: one of another class takes its
 * place), and collects. */
static void free_all_now(struct sparse *h) {
    mw_option_set(MW_OPTION_QUARANTINE, 0);
    free_all(h);
    free(malloc(3000));
    mw_collect(true);
    mw_option_set(MW_OPTION_QUARANTINE, 256 << 10);
}

static struct mw_stats stats(void) {
    struct mw_stats st;
    assert_int_equal(mw_stats_get(&st), 0);
    return st;
}

/* The physical frame of the page holding p, or 0 when the kernel hides frames (not root). */
static uint64_t frame_of(const void *p) {
    FILE *f = fopen("/proc/self/pagemap", "rb");
    if (!f) return 0;
    uint64_t entry = 0;
    long page = (long)((uintptr_t)p / 4096);
    if (fseek(f, page * 8, SEEK_SET) != 0 || fread(&entry, 8, 1, f) != 1) entry = 0;
    fclose(f);
    return (entry >> 63) ? entry & ((1ull << 55) - 1) : 0;
}

static size_t pss_bytes(void) {
    FILE *f = fopen("/proc/self/smaps_rollup", "r");
    assert_non_null(f);
    char line[256];
    size_t kib = 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "Pss: %zu kB", &kib) == 1) break;
    fclose(f);
    return kib * 1024;
}

/* ---- contents ------------------------------------------------------------------------ */

static struct sparse heap_a;

static void test_contents_survive(void **state) {
    (void)state;
    make_sparse(&heap_a);
    size_t released = mw_mesh_now();
    struct mw_stats st = stats();
    assert_true(released > 0);
    assert_true(st.meshes > 0);
    assert_true(st.meshed_spans > 0);
    assert_int_equal(st.mesh_released_bytes >= released, true);
    assert_int_equal(count_intact(&heap_a), heap_a.live);
    /* writes through any address stay where they were made */
    for (size_t i = 0; i < COUNT; i++)
        if (heap_a.block[i]) fill(heap_a.block[i], i + 1);
    for (size_t i = 0; i < COUNT; i++)
        if (heap_a.block[i]) assert_true(intact(heap_a.block[i], i + 1));
    for (size_t i = 0; i < COUNT; i++)
        if (heap_a.block[i]) fill(heap_a.block[i], i);
}

/* Two survivors on different virtual pages of one physical page: each reads the other's
 * bytes at its own offset through the other page. */
static void test_shared_page(void **state) {
    (void)state;
    if (!frame_of(&heap_a)) skip(); /* the kernel hides frames from this user */
    for (size_t i = 0; i < COUNT; i++) {
        unsigned char *p = heap_a.block[i];
        if (!p) continue;
        uint64_t f = frame_of(p);
        for (size_t j = i + 1; j < COUNT; j++) {
            unsigned char *q = heap_a.block[j];
            if (!q || frame_of(q) != f || ((uintptr_t)p >> 12) == ((uintptr_t)q >> 12)) continue;
            unsigned char *p_via_q =
                (unsigned char *)(((uintptr_t)q & ~(uintptr_t)4095) | ((uintptr_t)p & 4095));
            assert_memory_equal(p_via_q, p, SIZE);
            return;
        }
    }
    fail_msg("no two live blocks share a physical page after meshing");
}

static void test_malloc_after_mesh(void **state) {
    (void)state;
    /* new blocks come from the kept spans' merged free lists: none may overlap a survivor */
    unsigned char *fresh[COUNT / 2];
    for (size_t n = 0; n < COUNT / 2; n++) {
        fresh[n] = malloc(SIZE);
        assert_non_null(fresh[n]);
        memset(fresh[n], 0xee, SIZE);
    }
    assert_int_equal(count_intact(&heap_a), heap_a.live);
    for (size_t n = 0; n < COUNT / 2; n++)
        free(fresh[n]);
    assert_int_equal(mw_usable_size(heap_a.block[COUNT - 1] ? heap_a.block[COUNT - 1] : NULL),
                     heap_a.block[COUNT - 1] ? 64 : 0);
}

static void test_free_everything_returns_spans(void **state) {
    (void)state;
    free_all_now(&heap_a);
    struct mw_stats st = stats();
    assert_int_equal(st.meshed_spans, 0);
    assert_true(st.spans_in_use < 40);
}

/* ---- memory -------------------------------------------------------------------------- */

static void test_pss_falls_by_released(void **state) {
    (void)state;
    static struct sparse h;
    make_sparse(&h);
    size_t before = pss_bytes();
    size_t released = mw_mesh_now();
    size_t after = pss_bytes();
    assert_true(released > (size_t)1 << 20);
    /* at least 3/4 of the claim is gone from the process (the rest: page tables, noise) */
    assert_true(before > after && before - after >= released / 4 * 3);
    assert_int_equal(count_intact(&h), h.live);
    free_all(&h);
}

static void test_off_means_off(void **state) {
    (void)state;
    static struct sparse h;
    make_sparse(&h);
    assert_int_equal(mw_option_set(MW_OPTION_MESH, 0), 0);
    assert_int_equal(mw_mesh_now(), 0);
    assert_int_equal(mw_option_set(MW_OPTION_MESH, 1), 0);
    assert_true(mw_mesh_now() > 0);
    free_all(&h);
}

/* ---- races ----------------------------------------------------------------------------- */

/* What a pass run while other threads may exist gave back: something, except in the
 * hardened build, which meshes only while the process has one thread (mesh/pass.c says
 * why): nothing then, unless the other thread is already gone. */
static void assert_meshed_with_threads(size_t released) {
    if (!MW_HARDENED) assert_true(released > 0);
}

#define WRITERS 2

struct writer {
    pthread_t thread;
    struct sparse *heap;
    unsigned index;
    _Atomic bool *stop;
    uint64_t rounds;
};

/* Each writer owns the survivors i with i % WRITERS == index: it rewrites them whole, over
 * and over, with its round number in the pattern, so that a lost write shows. */
static void *writer_main(void *arg) {
    struct writer *w = arg;
    while (!*w->stop) {
        w->rounds++;
        for (size_t i = w->index; i < COUNT; i += WRITERS)
            if (w->heap->block[i]) fill(w->heap->block[i], i + w->rounds);
    }
    return NULL;
}

static void test_writers_during_mesh(void **state) {
    (void)state;
    static struct sparse h;
    make_sparse(&h);
    _Atomic bool stop = false;
    struct writer w[WRITERS];
    for (unsigned t = 0; t < WRITERS; t++) {
        w[t] = (struct writer){.heap = &h, .index = t, .stop = &stop};
        assert_int_equal(pthread_create(&w[t].thread, NULL, writer_main, &w[t]), 0);
    }
    size_t released = 0;
    for (int round = 0; round < 3; round++)
        released += mw_mesh_now();
    stop = true;
    for (unsigned t = 0; t < WRITERS; t++)
        pthread_join(w[t].thread, NULL);
    assert_meshed_with_threads(released);
    for (size_t i = 0; i < COUNT; i++)
        if (h.block[i]) assert_true(intact(h.block[i], i + w[i % WRITERS].rounds));
    free_all(&h);
}

struct freer {
    struct sparse *heap;
    size_t from, to;
};

static void *freer_main(void *arg) {
    struct freer *f = arg;
    for (size_t i = f->from; i < f->to; i++) {
        free(f->heap->block[i]);
        f->heap->block[i] = NULL;
    }
    return NULL;
}

static void test_remote_frees_during_mesh(void **state) {
    (void)state;
    static struct sparse h;
    make_sparse(&h);
    pthread_t t;
    struct freer f = {.heap = &h, .from = 0, .to = COUNT / 2};
    assert_int_equal(pthread_create(&t, NULL, freer_main, &f), 0);
    assert_meshed_with_threads(mw_mesh_now());
    pthread_join(t, NULL);
    assert_int_equal(count_intact(&h), count_held(&h));
    free_all_now(&h);
    if (!MW_HARDENED) assert_int_equal(stats().meshed_spans, 0); /* all remote frees collected */
}

/* ---- the program's own SIGSEGV handler ------------------------------------------------- */

static sigjmp_buf own_jump;
static volatile sig_atomic_t own_faults;

static void own_handler(int sig) {
    (void)sig;
    own_faults++;
    siglongjmp(own_jump, 1);
}

static void test_own_segv_handler(void **state) {
    (void)state;
    struct sigaction act, old, now;
    memset(&act, 0, sizeof act);
    act.sa_handler = own_handler;
    assert_int_equal(sigaction(SIGSEGV, &act, &old), 0);
    static struct sparse h;
    make_sparse(&h);
    _Atomic bool stop = false;
    struct writer w = {.heap = &h, .index = 0, .stop = &stop};
    assert_int_equal(pthread_create(&w.thread, NULL, writer_main, &w), 0);
    assert_meshed_with_threads(mw_mesh_now()); /* the writer's barrier faults are ours */
    stop = true;
    pthread_join(w.thread, NULL);
    assert_int_equal(own_faults, 0);
    static volatile int *volatile nowhere; /* NULL: a fault that is the program's own */
    if (sigsetjmp(own_jump, 1) == 0) *nowhere = 1;
    assert_int_equal(own_faults, 1);
    assert_int_equal(sigaction(SIGSEGV, NULL, &now), 0);
    assert_ptr_equal(now.sa_handler, own_handler);
    sigaction(SIGSEGV, &old, NULL);
    free_all(&h);
}

/* ---- fork ---------------------------------------------------------------------------- */

static void test_fork_after_mesh(void **state) {
    (void)state;
    static struct sparse h;
    make_sparse(&h);
    assert_meshed_with_threads(mw_mesh_now());
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* the child sees the parent's blocks, writes its own, and meshes further */
        int ok = count_intact(&h) == h.live;
        for (size_t i = 0; i < COUNT; i++)
            if (h.block[i]) fill(h.block[i], i + 99);
        static struct sparse more;
        make_sparse(&more);
        ok = ok && mw_mesh_now() > 0 && count_intact(&more) == more.live;
        for (size_t i = 0; i < COUNT; i++)
            ok = ok && (!h.block[i] || intact(h.block[i], i + 99));
        _exit(ok ? 0 : 1);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(count_intact(&h), h.live); /* the child's writes stayed in the child */
    for (size_t i = 0; i < COUNT; i++)          /* and the parent's memory is its own again */
        if (h.block[i]) fill(h.block[i], i + 5);
    for (size_t i = 0; i < COUNT; i++)
        if (h.block[i]) assert_true(intact(h.block[i], i + 5));
    free_all(&h);
}

static void *wait_on_pipe(void *arg) {
    char c;
    return read(*(int *)arg, &c, 1) == 1 ? NULL : arg;
}

/* The same with a second thread alive at fork: the meshed memory is read-only while it is
 * copied (a lone thread skips that). */
static void test_fork_with_threads(void **state) {
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, wait_on_pipe, &fds[0]), 0);
    test_fork_after_mesh(state);
    assert_int_equal(write(fds[1], "x", 1), 1);
    pthread_join(t, NULL);
    close(fds[0]);
    close(fds[1]);
}

/* ---- hardened ------------------------------------------------------------------------ */

static void test_checks_hold_after_mesh(void **state) {
    (void)state;
    static struct sparse h;
    make_sparse(&h);
    assert_true(mw_mesh_now() > 0);
    assert_int_equal(mw_heap_check(), 0);
    size_t victim = 0;
    while (!h.block[victim])
        victim++;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) { /* a double free of a block that was meshed is still one */
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 2);
        for (size_t i = 0; i < COUNT; i++)
            if (h.block[i]) {
                free(h.block[i]);
                free(h.block[i]);
            }
        _exit(0);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (MW_HARDENED)
        assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
    else
        assert_true(WIFEXITED(status));
    (void)victim;
    free_all(&h);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_contents_survive),
        cmocka_unit_test(test_shared_page),
        cmocka_unit_test(test_malloc_after_mesh),
        cmocka_unit_test(test_free_everything_returns_spans),
        cmocka_unit_test(test_pss_falls_by_released),
        cmocka_unit_test(test_off_means_off),
        cmocka_unit_test(test_writers_during_mesh),
        cmocka_unit_test(test_remote_frees_during_mesh),
        cmocka_unit_test(test_own_segv_handler),
        cmocka_unit_test(test_fork_after_mesh),
        cmocka_unit_test(test_fork_with_threads),
        cmocka_unit_test(test_checks_hold_after_mesh),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
