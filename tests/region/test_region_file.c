/* test_region_file.c — MESHWARD_REGION_DIR: areas are shared mappings of a file that has
 * no name (nothing is ever left in the directory), purging punches holes (resident pages
 * really go), and a forked child gets private copies: neither process sees the other's
 * writes. Its own process: the directory is looked at once, on the first area. */
#include "region_test.h"

#include <dirent.h>
#include <stdlib.h>
#include <sys/wait.h>

static char dir[] = "/tmp/meshward-region-test-XXXXXX";

static int dir_entries(void) {
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(d);
    return n;
}

static void test_file_backed(void **state) {
    (void)state;
    const size_t size = 4 * MiB;
    char *p = mw_region_alloc(size, 1);
    char line[4096];
    assert_true(maps_line(p, line, sizeof line));
    assert_non_null(strstr(line, " rw-s "));
    assert_non_null(strstr(line, dir));
    assert_int_equal(dir_entries(), 0);
    memset(p, 0xab, size);
    assert_int_equal(resident_pages(p, size), size / PAGE);
    mw_region_free(p);
    mw_region_purge(true);
    assert_int_equal(resident_pages(p, size), 0);
    assert_int_equal(class_stats(size).purged_bytes, size);
    char *q = mw_region_alloc(size, 1); /* the clean region: a hole reads as zero */
    assert_ptr_equal(q, p);
    assert_int_equal(q[0] | q[size - 1], 0);
    mw_region_free(q);
}

/* The hardened build keeps the last page of a live region as its guard, in the child too. */
static void test_fork_does_not_share(void **state) {
    (void)state;
    const size_t size = 2 * MiB - (MW_HARDENED ? PAGE : 0);
    char *p = mw_region_alloc(size, 1);
    memset(p, 'A', size);
    int to_child[2], to_parent[2];
    assert_int_equal(pipe(to_child), 0);
    assert_int_equal(pipe(to_parent), 0);
    pid_t pid = fork(); /* the library's fork handlers run */
    if (pid == 0) {
        char line[4096], c;
        int bad = !maps_line(p, line, sizeof line) || strstr(line, dir) != NULL;
        bad |= p[0] != 'A' || p[size - 1] != 'A';
        memset(p, 'C', size);
        bad |= write(to_parent[1], "c", 1) != 1;
        bad |= read(to_child[0], &c, 1) != 1; /* the parent has written 'P' */
        bad |= p[0] != 'C' || p[size - 1] != 'C';
        char *q = mw_region_alloc(8 * MiB, 1); /* the child has a file of its own */
        bad |= !q || !maps_line(q, line, sizeof line) || !strstr(line, dir);
        q[0] = 1;
        _exit(bad);
    }
    close(to_parent[1]); /* a child that dies makes the read below fail, not hang */
    close(to_child[0]);
    char c;
    assert_int_equal(read(to_parent[0], &c, 1), 1); /* the child has written 'C' */
    assert_int_equal(p[0], 'A');
    assert_int_equal(p[size - 1], 'A');
    memset(p, 'P', size);
    assert_int_equal(write(to_child[1], "p", 1), 1);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(p[size / 2], 'P');
    mw_region_free(p);
}

int main(void) {
    mw_free(mw_malloc(1)); /* start the library: it registers its fork handlers */
    if (!mkdtemp(dir)) return 1;
    mw_option_set_string(MW_OPTION_REGION_DIR, dir);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_file_backed),
        cmocka_unit_test(test_fork_does_not_share),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    /* nothing was left behind: the directory is empty and can be removed */
    if (dir_entries() != 0 || rmdir(dir) != 0) {
        fprintf(stderr, "%s is not empty\n", dir);
        failed++;
    }
    return failed;
}
