/* test_sites.c — the short names of block histories (src/harden/sites.h): a call site's id
 * is stable and names its address back, past the per-thread cache; each thread, a forked
 * child's included, gets a number of its own that names its tid, and the histories it
 * makes carry that number, cached or not. */
#include "cmocka_all.h"

#include "harden/sites.h"

#include <pthread.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define SITES 1000 /* many more than the cache holds */

static uint32_t site_id(uintptr_t ip) {
    uint64_t history = mw_site_history((void *)ip);
    assert_int_equal(history >> 32, mw_rec_thread());
    return (uint32_t)history;
}

static void each_site_has_one_id_that_names_it(void **state) {
    (void)state;
    static uint32_t id[SITES];
    for (uintptr_t i = 0; i < SITES; i++) {
        id[i] = site_id(0x400000 + 16 * i);
        assert_true(id[i] != 0);
        assert_int_equal(mw_site_ip(id[i]), 0x400000 + 16 * i);
    }
    for (uintptr_t i = 0; i < SITES; i++) {
        assert_int_equal(site_id(0x400000 + 16 * i), id[i]);
        for (uintptr_t j = 0; j < i; j += 97)
            assert_true(id[i] != id[j]);
    }
    assert_int_equal(site_id(0), 0);
    assert_int_equal(mw_site_ip(0), 0);
}

static void *number_of_thread(void *out) {
    *(uint16_t *)out = mw_rec_thread();
    assert_int_equal(mw_rec_thread_tid(*(uint16_t *)out), (uint32_t)syscall(SYS_gettid));
    return NULL;
}

static void each_thread_has_a_number_that_names_its_tid(void **state) {
    (void)state;
    uint16_t mine = mw_rec_thread(), other = 0;
    assert_true(mine != 0);
    assert_int_equal(mw_rec_thread_tid(mine), (uint32_t)getpid());
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, number_of_thread, &other), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_true(other != 0 && other != mine);
    assert_int_equal(mw_rec_thread_tid(0), 0);
}

static void a_forked_child_takes_a_new_number(void **state) {
    (void)state;
    uint16_t parent = mw_rec_thread();
    uint64_t seen = mw_site_history((void *)0x400000); /* cached with the parent's number */
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        uint64_t again = mw_site_history((void *)0x400000);
        uint16_t child = mw_rec_thread();
        bool ok = child != parent && mw_rec_thread_tid(child) == (uint32_t)getpid() &&
                  mw_rec_thread_tid(parent) != (uint32_t)getpid() &&
                  (uint32_t)again == (uint32_t)seen && again >> 32 == child;
        _exit(ok ? 0 : 1);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void) {
    void *volatile p = malloc(16); /* meshward's (linked in by this call) starts, and its fork */
    free(p);                       /* handlers with it */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(each_site_has_one_id_that_names_it),
        cmocka_unit_test(each_thread_has_a_number_that_names_its_tid),
        cmocka_unit_test(a_forked_child_takes_a_new_number),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
