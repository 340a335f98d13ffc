/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>

#include "flota/device-request.h"
#include "flota/mac.h"

static void test_forms(void **state) {
        char buf[MAC_STR_LEN + 1];

        assert_int_equal(mac_canonicalize("de:ba:7a:b1:e0:42", buf), 0);
        assert_string_equal(buf, "DE:BA:7A:B1:E0:42");
        assert_int_equal(mac_canonicalize("DE-BA-7A-B1-E0-42", buf), 0);
        assert_string_equal(buf, "DE:BA:7A:B1:E0:42");
        assert_int_equal(mac_canonicalize("deba7ab1e042", buf), 0);
        assert_string_equal(buf, "DE:BA:7A:B1:E0:42");
}

static void test_rejects(void **state) {
        uint64_t v;

        assert_int_equal(mac_parse("DE:BA:7A:B1:E0", &v), -EINVAL);
        assert_int_equal(mac_parse("DE:BA:7A:B1:E0:4G", &v), -EINVAL);
        assert_int_equal(mac_parse("DE:BA-7A:B1:E0:42", &v), -EINVAL);
        assert_int_equal(mac_parse("DE:BA:7A:B1:E0:42:", &v), -EINVAL);
        assert_int_equal(mac_parse("", &v), -EINVAL);
        assert_int_equal(mac_parse(NULL, &v), -EINVAL);
        assert_int_equal(mac_parse("DE:BA:7A:B1:E0-42", &v), -EINVAL);
        assert_int_equal(mac_parse("DE BA 7A B1 E0 42", &v), -EINVAL);
        assert_int_equal(mac_parse("deba7ab1e04", &v), -EINVAL);
}

/* n bytes, no NUL needed: the form log ingest reads, mixed case too */
static void test_parse_n(void **state) {
        uint64_t v = 0;

        assert_int_equal(mac_parse_n("De:bA:7a:B1:e0:42 and more", MAC_STR_LEN, &v), 0);
        assert_true(v == 0xdeba7ab1e042);
        assert_int_equal(mac_parse_n("deba7ab1e042\"", 12, &v), 0);
        assert_true(v == 0xdeba7ab1e042);
        assert_int_equal(mac_parse_n("DE:BA:7A:B1:E0:42", 16, &v), -EINVAL);
        assert_int_equal(mac_parse_n("DE:BA:7A:B1:E0\0002", MAC_STR_LEN, &v), -EINVAL);
}

static void test_device_ids(void **state) {
        char id[DEVICE_ID_MAX + 1];

        assert_int_equal(device_id_normalize("18fe34aabbcc", id), 0);
        assert_string_equal(id, "18:FE:34:AA:BB:CC");
        assert_int_equal(device_id_normalize("15602487", id), 0);
        assert_string_equal(id, "15602487");
        assert_int_equal(device_id_normalize("../../etc/passwd", id), -EINVAL);
        assert_int_equal(device_id_normalize("a/b", id), -EINVAL);
        assert_int_equal(device_id_normalize("a b", id), -EINVAL);
        assert_int_equal(device_id_normalize("", id), -EINVAL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_forms),
                cmocka_unit_test(test_rejects),
                cmocka_unit_test(test_parse_n),
                cmocka_unit_test(test_device_ids),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
