/* arena_test.h — helpers the arena tests share: reserving an arena that must succeed,
 * whether a block lies in an arena's area, and how an arena's part of the range is mapped
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
