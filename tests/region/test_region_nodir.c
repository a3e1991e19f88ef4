/* test_region_nodir.c — MESHWARD_REGION_DIR naming a missing directory: regions still work,
 * on anonymous memory, and with MESHWARD_VERBOSE the fallback is said once on stderr. */
#include "region_test.h"

#include <fcntl.h>
#include <stdlib.h>

static void test_missing_dir_falls_back(void **state) {
    (void)state;
    mw_option_set_string(MW_OPTION_REGION_DIR, "/nonexistent-meshward-dir/sub");
    mw_option_set(MW_OPTION_VERBOSE, 1);
    char log[] = "/tmp/meshward-nodir-XXXXXX";
    int fd = mkstemp(log);
    assert_true(fd >= 0);
    unlink(log);
    int saved = dup(2);
    dup2(fd, 2);
    char *a = mw_region_alloc(1 * MiB, 1);
    char *b = mw_region_alloc(32 * MiB, 1); /* a second area: no second message */
    dup2(saved, 2);
    close(saved);
    assert_non_null(a);
    assert_non_null(b);
    memset(a, 1, 1 * MiB);
    memset(b, 2, 32 * MiB);
    char line[4096];
    assert_true(maps_line(b, line, sizeof line));
    assert_null(strstr(line, "nonexistent"));
    assert_null(strstr(line, " rw-s "));

    char text[1024] = {0};
    assert_true(pread(fd, text, sizeof text - 1, 0) > 0);
    close(fd);
    const char *first = strstr(text, "MESHWARD_REGION_DIR=/nonexistent-meshward-dir/sub");
    assert_non_null(first);
    assert_non_null(strstr(text, "no such directory"));
    assert_non_null(strstr(text, "anonymous"));
    assert_null(strstr(first + 1, "MESHWARD_REGION_DIR"));
    mw_region_free(a);
    mw_region_free(b);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_missing_dir_falls_back)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
