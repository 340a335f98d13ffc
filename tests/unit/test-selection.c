/* SPDX-License-Identifier: MIT */
/* Selection expressions and version comparison. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "flota/selection.h"

#define DAY (86400 * USEC_PER_SEC)

static const SelectDevice door = {
        .id = "18:FE:34:D7:1F:55",
        .product = "door",
        .platform = "esp8266",
        .version = "2.0.3",
        .labels = "attic,garage",
        .last_seen = 10 * DAY,
        .online = true,
};

static bool matches(const char *expr) {
        Selection *s;
        char err[SELECTION_ERROR_MAX];
        assert_int_equal(selection_parse(expr, 12 * DAY, &s, err), 0);
        bool m = selection_matches(s, &door);
        selection_free(s);
        return m;
}

static void test_terms(void **state) {
        assert_true(matches(""));
        assert_true(matches("product=door"));
        assert_false(matches("product=meter"));
        assert_true(matches("product=meter,door"));
        assert_true(matches("product!=meter"));
        assert_true(matches("platform=esp8266 label=garage"));
        assert_false(matches("label=gar"));
        assert_true(matches("version<2.1 version>=2.0.3"));
        assert_false(matches("version<2.0.3"));
        assert_true(matches("version=2.0.3,2.0.4"));
        assert_true(matches("seen-since=3d"));
        assert_false(matches("seen-since=1d"));
        assert_true(matches("online"));
        assert_false(matches("online=no"));
        assert_true(matches("mac=18-fe-34-d7-1f-55"));
        assert_false(matches("mac=18:FE:34:D7:1F:56"));
        assert_true(matches("product=door and online"));
}

static void test_refuses(void **state) {
        static const char *const bad[] = {
                "product",      "color=red",   "product<door", "seen-since=soon",
                "online=maybe", "version<1,2", "=x",           "version<",
        };
        Selection *s = NULL;
        char err[SELECTION_ERROR_MAX];

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                err[0] = 0;
                assert_int_equal(selection_parse(bad[i], 0, &s, err), -EINVAL);
                assert_null(s);
                assert_true(strlen(err) > 0);
        }
}

static void test_product(void **state) {
        Selection *s;
        char err[SELECTION_ERROR_MAX];
        assert_int_equal(selection_parse("label=x product=door", 0, &s, err), 0);
        assert_string_equal(selection_product(s), "door");
        selection_free(s);
        assert_int_equal(selection_parse("product=a,b", 0, &s, err), 0);
        assert_null(selection_product(s));
        selection_free(s);
}

static void test_versions(void **state) {
        assert_true(version_compare("1.10.0", "1.9.0") > 0);
        assert_true(version_compare("2.0", "2.0.0") == 0);
        assert_true(version_compare("v1.2.3", "1.2.3") == 0);
        assert_true(version_compare("1.0.0-rc.1", "1.0.0") < 0);
        assert_true(version_compare("1.0.0-alpha", "1.0.0-alpha.1") < 0);
        assert_true(version_compare("1.0.0-alpha.1", "1.0.0-beta") < 0);
        assert_true(version_compare("1.0.0-beta.2", "1.0.0-beta.11") < 0);
        assert_true(version_compare("1.0.0+build.5", "1.0.0") == 0);
        assert_true(version_compare("0010.1", "9.1") > 0);
        /* not semantic versions: plain strings */
        assert_true(version_compare("build-b", "build-a") > 0);
        assert_true(version_compare("2024-06-01", "2024-05-30") > 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_terms),
                cmocka_unit_test(test_refuses),
                cmocka_unit_test(test_product),
                cmocka_unit_test(test_versions),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
