/* test_options.c — MESHWARD_* parsing: numbers in range are taken, bad values are reported
 * and leave the previous value, string options are copied, and the run-time API checks
 * names and ranges. */
#include "cmocka_all.h"
#include "options.h"

#include <errno.h>
#include <meshward.h>
#include <stdlib.h>
#include <string.h>

static void environment_is_parsed(void **state) {
    (void)state;
    setenv("MESHWARD_PURGE_DELAY_MS", "250", 1);
    setenv("MESHWARD_REGION_DIR", "/tmp/somewhere", 1);
    mw_options_init();
    assert_int_equal(mw_option_get(MW_OPTION_PURGE_DELAY_MS), 250);
    assert_string_equal(mw_option_get_string(MW_OPTION_REGION_DIR), "/tmp/somewhere");
}

static void bad_values_keep_the_old_value(void **state) {
    (void)state;
    assert_int_equal(mw_option_set(MW_OPTION_ARENA_DIRTY_MAX, 4096), 0);
    setenv("MESHWARD_ARENA_DIRTY_MAX", "12abc", 1);
    mw_options_init();
    assert_int_equal(mw_option_get(MW_OPTION_ARENA_DIRTY_MAX), 4096);
    setenv("MESHWARD_ARENA_DIRTY_MAX", "-5", 1);
    mw_options_init();
    assert_int_equal(mw_option_get(MW_OPTION_ARENA_DIRTY_MAX), 4096);
    unsetenv("MESHWARD_ARENA_DIRTY_MAX");
}

static void api_checks_names_and_ranges(void **state) {
    (void)state;
    assert_int_equal(mw_option_set(MW_OPTION_COUNT, 1), EINVAL);
    assert_int_equal(mw_option_set((mw_option_t)-1, 1), EINVAL);
    assert_int_equal(mw_option_set(MW_OPTION_STATS, 2), EINVAL);
    assert_int_equal(mw_option_set(MW_OPTION_REGION_DIR, 1), EINVAL);
    assert_int_equal(mw_option_set_string(MW_OPTION_STATS, "x"), EINVAL);
    assert_null(mw_option_get_string(MW_OPTION_STATS));
    assert_int_equal(mw_option_set(MW_OPTION_VERBOSE, 1), 0);
    assert_int_equal(mw_option_get(MW_OPTION_VERBOSE), 1);
    assert_int_equal(mw_option_set(MW_OPTION_VERBOSE, 0), 0);
    char longer[300];
    memset(longer, 'a', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    assert_int_equal(mw_option_set_string(MW_OPTION_REGION_DIR, longer), EINVAL);
    assert_string_equal(mw_option_name(MW_OPTION_PURGE_INTERVAL_MS), "PURGE_INTERVAL_MS");
    assert_null(mw_option_name(MW_OPTION_COUNT));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(environment_is_parsed),
        cmocka_unit_test(bad_values_keep_the_old_value),
        cmocka_unit_test(api_checks_names_and_ranges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
