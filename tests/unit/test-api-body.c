/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "flota/alloc.h"
#include "flota/api-body.h"
#include "flota/firmware.h"

#define P(s) s, strlen(s)

static void test_product(void **state) {
        ProductBody b;
        char err[API_ERROR_MAX];

        assert_int_equal(api_parse_product(P("{\"name\":\"door\",\"key\":\"0123456789\"}"), &b, err), 0);
        assert_string_equal(b.name, "door");
        assert_string_equal(b.key, "0123456789");
        product_body_done(&b);
        assert_int_equal(api_parse_product(P("{\"name\":\"door\",\"platform\":\"esp32\"}"), &b, err), 0);
        assert_int_equal(b.platform, PLATFORM_ESP32);
        product_body_done(&b);

        const char *bad[] = { "",
                              "not json",
                              "[]",
                              "{\"name\":\"../x\"}",
                              "{\"name\":5}",
                              "{}",
                              "{\"name\":\"door\",\"key\":\"short\"}",
                              "{\"name\":\"door\",\"platform\":\"avr\"}",
                              "{\"name\":\"door\"" };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                err[0] = 0;
                assert_int_equal(api_parse_product(bad[i], strlen(bad[i]), &b, err), -EINVAL);
                assert_true(strlen(err) > 0);
        }
}

static void test_release_ref(void **state) {
        int64_t id;
        char err[API_ERROR_MAX];

        assert_int_equal(api_parse_release_ref(P("{\"release\": 42}"), &id, err), 0);
        assert_int_equal(id, 42);
        assert_int_equal(api_parse_release_ref(P("{\"release\": 0}"), &id, err), -EINVAL);
        assert_int_equal(api_parse_release_ref(P("{\"release\": 1.5}"), &id, err), -EINVAL);
        assert_int_equal(api_parse_release_ref(P("{\"release\": \"42\"}"), &id, err), -EINVAL);
        assert_int_equal(api_parse_release_ref(P("{\"release\": 1e300}"), &id, err), -EINVAL);
        assert_int_equal(api_parse_release_ref(P("{}"), &id, err), -EINVAL);
}

static void test_assignment(void **state) {
        AssignBody b;
        char err[API_ERROR_MAX];

        assert_int_equal(
                api_parse_assignment(P("{\"release\":3,\"devices\":[\"aabbccddeeff\",\"15602487\"]}"), true,
                                     &b, err),
                0);
        assert_int_equal(b.n, 2);
        assert_string_equal(b.devices[0], "AA:BB:CC:DD:EE:FF");
        assert_int_equal(b.release_id, 3);
        assign_body_done(&b);
        assert_int_equal(api_parse_assignment(P("{\"devices\":[\"aabbccddeeff\"]}"), false, &b, err), 0);
        assign_body_done(&b);
        assert_int_equal(api_parse_assignment(P("{\"devices\":[\"aabbccddeeff\"]}"), true, &b, err),
                         -EINVAL);
        assert_int_equal(api_parse_assignment(P("{\"release\":3,\"devices\":[]}"), true, &b, err), -EINVAL);
        assert_int_equal(api_parse_assignment(P("{\"release\":3,\"devices\":[\"ok1\", 5]}"), true, &b, err),
                         -EINVAL);
        assert_int_equal(api_parse_assignment(P("{\"release\":3,\"devices\":[\"../etc\"]}"), true, &b, err),
                         -EINVAL);
}

static void test_assignment_many(void **state) {
        size_t n = 5000, len = 0;
        char *body = xmalloc(n * 24 + 64);
        AssignBody b;
        char err[API_ERROR_MAX];

        len += (size_t) sprintf(body, "{\"release\":1,\"devices\":[");
        for (size_t i = 0; i < n; i++)
                len += (size_t) sprintf(body + len, "%s\"18:FE:AA:%02zX:%02zX:%02zX\"", i ? "," : "",
                                        (i >> 16) & 255, (i >> 8) & 255, i & 255);
        len += (size_t) sprintf(body + len, "]}");
        assert_int_equal(api_parse_assignment(body, len, true, &b, err), 0);
        assert_int_equal(b.n, n);
        assign_body_done(&b);
        free(body);
}

static void test_labels_and_channel(void **state) {
        LabelsBody l;
        char *ch;
        char err[API_ERROR_MAX];

        assert_int_equal(api_parse_labels(P("{\"labels\":[\"site=berlin\",\"floor:2\"]}"), &l, err), 0);
        assert_int_equal(l.n, 2);
        labels_body_done(&l);
        assert_int_equal(api_parse_labels(P("{\"labels\":[]}"), &l, err), 0);
        assert_int_equal(l.n, 0);
        labels_body_done(&l);
        assert_int_equal(api_parse_labels(P("{\"labels\":[\"a,b\"]}"), &l, err), -EINVAL);
        assert_int_equal(api_parse_labels(P("{\"labels\":\"x\"}"), &l, err), -EINVAL);
        assert_int_equal(api_parse_channel_name(P("{\"channel\":\"beta\"}"), &ch, err), 0);
        assert_string_equal(ch, "beta");
        free(ch);
        assert_int_equal(api_parse_channel_name(P("{\"channel\":null}"), &ch, err), 0);
        assert_null(ch);
        assert_int_equal(api_parse_channel_name(P("{\"channel\":\"a/b\"}"), &ch, err), -EINVAL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_product),
                cmocka_unit_test(test_release_ref),
                cmocka_unit_test(test_assignment),
                cmocka_unit_test(test_assignment_many),
                cmocka_unit_test(test_labels_and_channel),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
