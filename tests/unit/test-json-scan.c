/* SPDX-License-Identifier: MIT */
/* The JSON scanner: the grammar it accepts, and print_json()'s (cJSON_Print()'s) layout it writes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "flota/json-scan.h"

/* Lays text out at depth with the scanner; the caller frees the result. */
static int layout(const char *text, unsigned depth, char **ret) {
        JsonScan s = json_scan_init(text, strlen(text));
        size_t size;
        FILE *out = open_memstream(ret, &size);

        assert_non_null(out);
        int r = json_scan_value(&s, depth, out);
        assert_int_equal(fclose(out), 0);
        if (r == 0 && !json_scan_at_end(&s))
                r = -EBADMSG;
        return r;
}

static void test_layout_is_cjsons(void **state) {
        static const char *const docs[] = {
                "{}",
                "[]",
                "{\"a\":{}}",
                "{\"a\":[]}",
                "[{}, []]",
                "{\"devices\":[{\"id\":\"x\",\"labels\":[\"a\",\"b\"],\"pin\":null,\"n\":304},{\"id\":\"y\"}"
                "],"
                "\"next\":null}",
                " { \"a\" : [ 1 , -2.5 , 3e+21 , true , false , null ] , \"b\" : { \"c\" : { \"d\" : [ [ ] "
                "] } } } ",
                "\"caf\xc3\xa9 \\\"q\\\" \\\\ \\n \\t \\u0001\"",
                "[[[[{\"deep\":[{\"x\":{}}]}]]]]",
                "42",
                "null",
        };

        for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
                char *got = NULL;
                cJSON *j = cJSON_Parse(docs[i]);
                assert_non_null(j);
                char *expected = cJSON_Print(j);
                assert_int_equal(layout(docs[i], 0, &got), 0);
                assert_string_equal(got, expected);
                free(got);
                free(expected);
                cJSON_Delete(j);
        }
}

/* A value laid out deeper is what cJSON prints for it inside as many containers. */
static void test_layout_nested(void **state) {
        char *got = NULL;

        assert_int_equal(layout("{\"id\":\"x\",\"l\":[{}]}", 2, &got), 0);
        assert_string_equal(got, "{\n\t\t\t\"id\":\t\"x\",\n\t\t\t\"l\":\t[{\n\t\t\t\t}]\n\t\t}");
        free(got);
}

static void test_bad_syntax(void **state) {
        static const char *const bad[] = {
                "",           "{",        "}",         "[1,]",        "[1 2]",     "{\"a\" 1}",
                "{\"a\":1,}", "{a:1}",    "{\"a\":}",  "01",          "1.",        "-",
                ".5",         "1e",       "+1",        "tru",         "nul",       "True",
                "\"abc",      "\"a\nb\"", "\"\\x\"",   "\"\\u12g4\"", "\"\\u12\"", "'a'",
                "[1]]",       "{} {}",    "[\"a\\\"]",
        };

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                char *got = NULL;
                if (layout(bad[i], 0, &got) != -EBADMSG)
                        fail_msg("accepted '%s'", bad[i]);
                free(got);
        }
}

static void test_depth_limit(void **state) {
        char deep[2 * JSON_SCAN_DEPTH_MAX + 3], *got = NULL;

        memset(deep, '[', JSON_SCAN_DEPTH_MAX + 1);
        memset(deep + JSON_SCAN_DEPTH_MAX + 1, ']', JSON_SCAN_DEPTH_MAX + 1);
        deep[2 * JSON_SCAN_DEPTH_MAX + 2] = 0;
        assert_int_equal(layout(deep, 0, &got), -ELOOP);
        free(got);
        /* one level less is fine */
        assert_int_equal(layout(deep + 1, 0, &got), -EBADMSG); /* unbalanced: one ']' too many */
        free(got);
        deep[2 * JSON_SCAN_DEPTH_MAX + 1] = 0;
        assert_int_equal(layout(deep + 1, 0, &got), 0);
        free(got);
}

static void test_pieces(void **state) {
        const char *text = " { \"next\" : \"18:FE\" , \"x\":null}";
        JsonScan s = json_scan_init(text, strlen(text));
        const char *key;
        size_t len;

        assert_true(json_scan_char(&s, '{'));
        assert_int_equal(json_scan_string(&s, &key, &len), 0);
        assert_int_equal(len, 4);
        assert_memory_equal(key, "next", 4);
        assert_true(json_scan_char(&s, ':'));
        assert_int_equal(json_scan_string(&s, &key, &len), 0);
        assert_memory_equal(key, "18:FE", 5);
        assert_true(json_scan_char(&s, ','));
        assert_false(json_scan_literal(&s, "null"));
        assert_int_equal(json_scan_string(&s, &key, &len), 0);
        assert_true(json_scan_char(&s, ':'));
        assert_true(json_scan_literal(&s, "null"));
        assert_false(json_scan_at_end(&s));
        assert_true(json_scan_char(&s, '}'));
        assert_true(json_scan_at_end(&s));
        /* a string cut off by the end of the text, not by a NUL */
        s = json_scan_init("\"abcdef\"", 4);
        assert_int_equal(json_scan_string(&s, &key, &len), -EBADMSG);
}

static int unescape(const char *text, char *buf, size_t size, size_t *ret_len) {
        return json_scan_unescape(text, strlen(text), buf, size, ret_len);
}

static void test_unescape(void **state) {
        char buf[64];
        size_t n;

        assert_int_equal(unescape("plain", buf, sizeof(buf), &n), 0);
        assert_memory_equal(buf, "plain", n);
        assert_int_equal(unescape("a\\\"\\\\\\/\\b\\f\\n\\r\\t", buf, sizeof(buf), &n), 0);
        assert_int_equal(n, 9);
        assert_memory_equal(buf, "a\"\\/\b\f\n\r\t", 9);
        /* \u as UTF-8: one, two and three bytes, a surrogate pair as four, a lone surrogate as U+FFFD */
        assert_int_equal(
                unescape("\\u0041\\u00e9\\u20ac\\ud83d\\ude00\\udc00\\ud800x", buf, sizeof(buf), &n), 0);
        assert_int_equal(n, 1 + 2 + 3 + 4 + 3 + 3 + 1);
        assert_memory_equal(buf, "A\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xef\xbf\xbd\xef\xbf\xbdx", n);
        /* bad escapes, and a buffer too small */
        assert_int_equal(unescape("\\q", buf, sizeof(buf), &n), -EBADMSG);
        assert_int_equal(unescape("\\u12", buf, sizeof(buf), &n), -EBADMSG);
        assert_int_equal(unescape("\\u12zz", buf, sizeof(buf), &n), -EBADMSG);
        assert_int_equal(unescape("x\\", buf, sizeof(buf), &n), -EBADMSG);
        assert_int_equal(unescape("abcd", buf, 3, &n), -E2BIG);
        assert_int_equal(unescape("\\u20ac", buf, 2, &n), -E2BIG);
}

static void test_skip(void **state) {
        const char *text = " 304 , -1.5e3,true, \"s\\\"\" ,{\"a\":[1,{}]} ]";
        JsonScan s = json_scan_init(text, strlen(text));
        const char *v;
        size_t n;

        assert_int_equal(json_scan_skip(&s, &v, &n), 0);
        assert_memory_equal(v, "304", n);
        assert_true(json_scan_char(&s, ','));
        assert_int_equal(json_scan_skip(&s, &v, &n), 0);
        assert_memory_equal(v, "-1.5e3", n);
        assert_true(json_scan_char(&s, ','));
        assert_int_equal(json_scan_skip(&s, &v, &n), 0);
        assert_memory_equal(v, "true", n);
        assert_true(json_scan_char(&s, ','));
        assert_int_equal(json_scan_skip(&s, &v, &n), 0);
        assert_int_equal(n, 5);
        assert_memory_equal(v, "\"s\\\"\"", n);
        assert_true(json_scan_char(&s, ','));
        assert_int_equal(json_scan_skip(&s, &v, &n), 0);
        assert_memory_equal(v, "{\"a\":[1,{}]}", n);
        assert_int_equal(json_scan_skip(&s, &v, &n), -EBADMSG); /* a ']' is no value */
        s = json_scan_init("01", 2);
        assert_int_equal(json_scan_skip(&s, &v, &n), -EBADMSG); /* no leading zeros */
        s = json_scan_init("[1,", 3);
        assert_int_equal(json_scan_skip(&s, &v, &n), -EBADMSG);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_layout_is_cjsons),
                cmocka_unit_test(test_layout_nested),
                cmocka_unit_test(test_bad_syntax),
                cmocka_unit_test(test_depth_limit),
                cmocka_unit_test(test_pieces),
                cmocka_unit_test(test_unescape),
                cmocka_unit_test(test_skip),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
