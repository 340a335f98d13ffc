/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>

#include "flota/macro.h"
#include "flota/strutil.h"
#include "flota/time-util.h"

static void test_parse_u64(void **state) {
        uint64_t v;

        assert_int_equal(parse_u64("0", &v), 0);
        assert_int_equal(v, 0);
        assert_int_equal(parse_u64("18446744073709551615", &v), 0);
        assert_true(v == UINT64_MAX);
        assert_int_equal(parse_u64("18446744073709551616", &v), -ERANGE);
        assert_int_equal(parse_u64("", &v), -EINVAL);
        assert_int_equal(parse_u64("12a", &v), -EINVAL);
        assert_int_equal(parse_u64(" 12", &v), -EINVAL);
        assert_int_equal(parse_u64("-1", &v), -EINVAL);
        assert_int_equal(parse_u64("+1", &v), -EINVAL);
}

static void test_parse_i64(void **state) {
        int64_t v;

        assert_int_equal(parse_i64("-5", &v), 0);
        assert_int_equal(v, -5);
        assert_int_equal(parse_i64("9223372036854775807", &v), 0);
        assert_int_equal(parse_i64("9223372036854775808", &v), -ERANGE);
        assert_int_equal(parse_i64("-9223372036854775808", &v), 0);
        assert_true(v == INT64_MIN);
}

static void test_parse_size(void **state) {
        uint64_t v;

        assert_int_equal(parse_size("16M", &v), 0);
        assert_int_equal(v, 16u << 20);
        assert_int_equal(parse_size("4k", &v), 0);
        assert_int_equal(v, 4096);
        assert_int_equal(parse_size("1G", &v), 0);
        assert_int_equal(parse_size("M", &v), -EINVAL);
        assert_int_equal(parse_size("1T", &v), -EINVAL);
        assert_int_equal(parse_size("99999999999999999999G", &v), -ERANGE);
        assert_int_equal(parse_size("17179869184G", &v), -ERANGE);
}

static void test_names(void **state) {
        assert_true(name_is_valid("door-sensor_2.1"));
        assert_false(name_is_valid(".."));
        assert_false(name_is_valid("../etc"));
        assert_false(name_is_valid("a/b"));
        assert_false(name_is_valid(""));
        assert_false(name_is_valid("-x"));
        assert_false(name_is_valid("a b"));
        assert_false(
                name_is_valid("0123456789012345678901234567890123456789012345678901234567890123456789"));
        assert_true(version_is_valid("1.0.0-rc1+g12ab"));
        assert_false(version_is_valid("1.0 beta"));
        assert_false(version_is_valid("v\"1"));
        assert_true(label_is_valid("site=berlin"));
        assert_false(label_is_valid("a,b"));
}

static void test_hex_and_copy(void **state) {
        uint8_t d[] = { 0x00, 0xab, 0xff };
        char out[7], small[4];

        hex_encode(d, sizeof(d), out);
        assert_string_equal(out, "00abff");
        assert_true(is_hex("00abFF", 6));
        assert_false(is_hex("00abFG", 6));
        assert_false(is_hex("00ab", 6));
        uint64_t v;
        assert_int_equal(unhexchar('f'), 15);
        assert_int_equal(unhexchar('A'), 10);
        assert_int_equal(unhexchar('g'), -EINVAL);
        assert_int_equal(parse_hex_n("1a2B3cZZ", 6, &v), 0);
        assert_int_equal(v, 0x1a2b3c);
        assert_int_equal(parse_hex_n("12x4", 4, &v), -EINVAL);
        assert_int_equal(parse_hex_n("0123456789abcdef0", 17, &v), -EINVAL);
        assert_false(strscpy(small, sizeof(small), "abcdef"));
        assert_string_equal(small, "abc");
        assert_true(streq_consttime("secret", "secret"));
        assert_false(streq_consttime("secret", "secreT"));
        assert_false(streq_consttime("secret", "secrets"));
        assert_false(streq_consttime("", "x"));
}

static void test_url_encode(void **state) {
        const char *cases[][2] = {
                { "1.0.0+build.5", "1.0.0%2Bbuild.5" },
                { "1.0#7", "1.0%237" },
                { "a&b=c", "a%26b%3Dc" },
                { "100%", "100%25" },
                { "why?/not", "why%3F%2Fnot" },
                { "two words", "two%20words" },
                { "18:FE:AA:00:00:01", "18%3AFE%3AAA%3A00%3A00%3A01" },
                { "Az09-._~", "Az09-._~" },
                { "\xc3\xa9\x01", "%C3%A9%01" },
                { "", "" },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char *got = url_encode(cases[i][0]);
                assert_string_equal(got, cases[i][1]);
                free(got);
        }
}

static void test_timestamps(void **state) {
        char buf[RFC3339_MAX];
        usec_t t;

        assert_string_equal(format_rfc3339(buf, 1700000000 * USEC_PER_SEC), "2023-11-14T22:13:20Z");
        assert_int_equal(parse_timestamp("2023-11-14T22:13:20Z", &t), 0);
        assert_true(t == 1700000000 * USEC_PER_SEC);
        assert_int_equal(parse_timestamp("1700000000", &t), 0);
        assert_true(t == 1700000000 * USEC_PER_SEC);
        assert_int_equal(parse_timestamp("2023-11-14 22:13:20", &t), -EINVAL);
        assert_int_equal(parse_timestamp("2023-11-14T22:13:20+01:00", &t), 0);
        assert_int_equal(t, (usec_t) (1700000000 - 3600) * USEC_PER_SEC);
        assert_int_equal(parse_timestamp("2023-11-14T22:13:20.25-0030", &t), 0);
        assert_int_equal(t, (usec_t) (1700000000 + 1800) * USEC_PER_SEC + 250000);
        assert_int_equal(parse_timestamp("2023-11-14T22:13:20+1:00", &t), -EINVAL);
        assert_int_equal(parse_timestamp("2023-11-14T22:13:20+01:00x", &t), -EINVAL);
        /* dates that do not exist, loose forms, before the epoch */
        assert_int_equal(parse_timestamp("2023-02-29T00:00:00Z", &t), -EINVAL);
        assert_int_equal(parse_timestamp("2024-02-29T00:00:00Z", &t), 0);
        assert_int_equal(t, (usec_t) 1709164800 * USEC_PER_SEC);
        assert_int_equal(parse_timestamp("2023-04-31T00:00:00Z", &t), -EINVAL);
        assert_int_equal(parse_timestamp("2023-11-14T24:00:00Z", &t), -EINVAL);
        assert_int_equal(parse_timestamp("2023-1-14T22:13:20Z", &t), -EINVAL);
        assert_int_equal(parse_timestamp("2023-11-14T22:13:20.Z", &t), -EINVAL);
        assert_int_equal(parse_timestamp("2023-11-14T22:13:20", &t), -EINVAL);
        assert_int_equal(parse_timestamp("1969-12-31T23:59:59Z", &t), -ERANGE);
        assert_int_equal(parse_timestamp("99999999999999999999", &t), -ERANGE);
        assert_int_equal(parse_timestamp("", &t), -EINVAL);
        /* n bytes, no NUL needed */
        assert_int_equal(parse_timestamp_n("2023-11-14T22:13:20Zjunk", 20, &t), 0);
        assert_true(t == 1700000000 * USEC_PER_SEC);
}

static void test_durations(void **state) {
        usec_t d;

        assert_int_equal(parse_duration("30d", &d), 0);
        assert_true(d == 30 * 86400 * USEC_PER_SEC);
        assert_int_equal(parse_duration("12h", &d), 0);
        assert_true(d == 12 * 3600 * USEC_PER_SEC);
        assert_int_equal(parse_duration("90", &d), 0);
        assert_true(d == 90 * USEC_PER_SEC);
        assert_int_equal(parse_duration("5m", &d), 0);
        assert_int_equal(parse_duration("d", &d), -EINVAL);
        assert_int_equal(parse_duration("1w", &d), -EINVAL);
        assert_int_equal(parse_duration("-1d", &d), -EINVAL);
        assert_int_equal(parse_duration("999999999999999999d", &d), -ERANGE);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_u64),    cmocka_unit_test(test_parse_i64),
                cmocka_unit_test(test_parse_size),   cmocka_unit_test(test_names),
                cmocka_unit_test(test_hex_and_copy), cmocka_unit_test(test_timestamps),
                cmocka_unit_test(test_durations),    cmocka_unit_test(test_url_encode),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
