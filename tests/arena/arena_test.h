/* arena_test.h — helpers the arena tests share: reserving an arena that must succeed,
 * whether a block lies in an arena's area, reading a pipe, threads that each allocate in a
 * heap of one arena and free their neighbour's blocks, and how an arena's part of the range is
 * mapped
 * (/proc/self/smaps). */
#ifndef MW_TEST_ARENA_H
#define MW_TEST_ARENA_H

#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <meshward.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static inline mw_arena_id_t arena_reserve_ok(size_t size, unsigned flags) {
    mw_arena_id_t id = -1;
    assert_int_equal(mw_arena_reserve(size, flags, &id), 0);
    assert_true(id > 0);
    return id;
}

static inline bool arena_holds(mw_arena_id_t id, const void *p, size_t n) {
    size_t size;
    const char *start = mw_arena_area(id, &size);
    const char *c = p;
    return start && c >= start && c + n <= start + size;
}

/* What the reading end fd of a pipe gives until its end (at most 64 KiB), NUL-terminated,
 * in a static buffer; fd is closed. */
static inline const char *arena_read_all(int fd) {
    static char out[1 << 16];
    size_t len = 0;
    ssize_t got;
    while ((got = read(fd, out + len, sizeof out - 1 - len)) > 0)
        len += (size_t)got;
    out[len] = '\0';
    close(fd);
    return out;
}

/* One of ARENA_WORKERS threads: in a heap of its own in arena id, fill allocates its
 * blocks; once all have, free_next frees next's blocks (remote frees); once all have, it
 * destroys its heap. Both return whether every block they allocated lay in the arena. */
#define ARENA_WORKERS 4
struct arena_worker;
typedef bool arena_work_fn(struct arena_worker *w, mw_heap_t *h);
struct arena_worker {
    mw_arena_id_t id;
    void **blocks;
    struct arena_worker *next;
    pthread_barrier_t *barrier;
    arena_work_fn *fill, *free_next;
    bool ok;
};

static inline void *arena_worker_main(void *arg) {
    struct arena_worker *w = arg;
    mw_heap_t *h = mw_heap_new_in(w->id);
    w->ok = h != NULL && w->fill(w, h);
    pthread_barrier_wait(w->barrier);
    w->ok = w->free_next(w, h) && w->ok;
    pthread_barrier_wait(w->barrier);
    mw_heap_destroy(h);
    return NULL;
}

/* Runs ARENA_WORKERS workers of arena id, their blocks in storage (per each); asserts every
 * worker ended ok. */
static inline void arena_run_workers(mw_arena_id_t id, arena_work_fn *fill,
                                     arena_work_fn *free_next, void **storage, size_t per) {
    static struct arena_worker w[ARENA_WORKERS];
    pthread_t t[ARENA_WORKERS];
    pthread_barrier_t barrier;
    pthread_barrier_init(&barrier, NULL, ARENA_WORKERS);
    for (unsigned i = 0; i < ARENA_WORKERS; i++) {
        w[i] = (struct arena_worker){.id = id,
                                     .blocks = storage + i * per,
                                     .next = &w[(i + 1) % ARENA_WORKERS],
                                     .barrier = &barrier,
                                     .fill = fill,
                                     .free_next = free_next};
        assert_int_equal(pthread_create(&t[i], NULL, arena_worker_main, &w[i]), 0);
    }
    for (unsigned i = 0; i < ARENA_WORKERS; i++)
        pthread_join(t[i], NULL);
    pthread_barrier_destroy(&barrier);
    for (unsigned i = 0; i < ARENA_WORKERS; i++)
        assert_true(w[i].ok);
}

/* A heap made in arena id holds blocks when the process forks: the child reads them,
 * overwrites, allocates in the arena and frees them, and none of it reaches the parent. */
static inline void arena_fork_check(mw_arena_id_t id) {
    mw_heap_t *h = mw_heap_new_in(id);
    enum { N = 300 };
    unsigned char *p[N];
    for (unsigned i = 0; i < N; i++) {
        p[i] = mw_heap_malloc(h, 200);
        memset(p[i], 0x11, 200);
    }
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int bad = 0;
        for (unsigned i = 0; i < N; i++) {
            bad |= p[i][199] != 0x11;
            memset(p[i], 0x22, 200);
            void *q = mw_heap_malloc(h, 300);
            bad |= !arena_holds(id, q, 300);
            mw_free(p[i]);
        }
        mw_heap_destroy(h);
        _exit(bad);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    for (unsigned i = 0; i < N; i++)
        assert_int_equal(p[i][0], 0x11); /* the child's writes stayed in the child */
    mw_heap_destroy(h);
}

/* The sum of field (e.g. "AnonHugePages:") in kB over the mappings of smaps that overlap
 * [start, start + size); -1 when smaps cannot be read. */
static inline long arena_smaps_kb(const char *start, size_t size, const char *field) {
    FILE *f = fopen("/proc/self/smaps", "r");
    if (!f) return -1;
    char line[512];
    long sum = 0;
    bool inside = false;
    while (fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        long kb;
        if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2)
            inside = lo < (unsigned long)(start + size) && hi > (unsigned long)start;
        else if (inside && strncmp(line, field, strlen(field)) == 0 &&
                 sscanf(line + strlen(field), "%ld", &kb) == 1)
            sum += kb;
    }
    fclose(f);
    return sum;
}

#endif
