/* SPDX-License-Identifier: MIT */
/*
 * flota's exit status for what a verb returned (cli_exit_status() in src/cli/cli.h): a usage
 * error is 2, and no error from the core, -ENOENT (-2) included, can be taken for one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>

#include "cli.h"

static void test_usage_is_two(void **state) {
        (void) state;
        assert_int_equal(cli_exit_status(CLI_USAGE), EXIT_USAGE);
        assert_int_equal(EXIT_USAGE, 2);
}

static void test_core_errors_are_one(void **state) {
        (void) state;
        /* every -errno the kernel defines, and the CLI's own -1 */
        for (int e = 1; e < 4096; e++)
                assert_int_equal(cli_exit_status(-e), 1);
        assert_int_equal(cli_exit_status(-ENOENT), 1);
}

static void test_documented_statuses_pass_through(void **state) {
        (void) state;
        assert_int_equal(cli_exit_status(0), 0);
        /* 3: a rollout halted, a promotion's gate holds */
        assert_int_equal(cli_exit_status(3), 3);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_usage_is_two),
                cmocka_unit_test(test_core_errors_are_one),
                cmocka_unit_test(test_documented_statuses_pass_through),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
