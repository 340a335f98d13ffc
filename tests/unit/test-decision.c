/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "flota/decision.h"
#include "flota/strutil.h"

static Release target(void) {
        Release r = {
                .id = 7,
                .product_id = 1,
                .version = (char *) "2.0.0",
                .platform = PLATFORM_ESP8266,
                .kind = IMAGE_KIND_SKETCH,
                .size = 500000,
                .min_flash_size = 4u << 20,
        };
        strscpy(r.md5, sizeof(r.md5), "11111111111111111111111111111111");
        strscpy(r.sha256, sizeof(r.sha256),
                "2222222222222222222222222222222222222222222222222222222222222222");
        return r;
}

static DeviceRequest device(void) {
        DeviceRequest d;

        device_request_init(&d);
        d.platform = PLATFORM_ESP8266;
        strscpy(d.version, sizeof(d.version), "1.0.0");
        strscpy(d.sketch_md5, sizeof(d.sketch_md5), "33333333333333333333333333333333");
        d.free_space = 1 << 20;
        d.chip_size = 4 << 20;
        return d;
}

static void test_update(void **state) {
        Release t = target();
        DeviceRequest d = device();

        assert_int_equal(decide(&d, 1, &t), REASON_UPDATE);
        assert_int_equal(reason_http_status(REASON_UPDATE), 200);
}

static void test_no_release(void **state) {
        DeviceRequest d = device();
        assert_int_equal(decide(&d, 1, NULL), REASON_NO_RELEASE);
        assert_int_equal(reason_http_status(REASON_NO_RELEASE), 304);
}

static void test_up_to_date(void **state) {
        Release t = target();
        DeviceRequest d = device();

        strscpy(d.version, sizeof(d.version), "2.0.0");
        assert_int_equal(decide(&d, 1, &t), REASON_UP_TO_DATE);
        /* same image under another version string */
        d = device();
        strscpy(d.sketch_md5, sizeof(d.sketch_md5), t.md5);
        assert_int_equal(decide(&d, 1, &t), REASON_UP_TO_DATE);
        /* signed image: the device reports the MD5 without the signature */
        d = device();
        strscpy(t.payload_md5, sizeof(t.payload_md5), "44444444444444444444444444444444");
        strscpy(d.sketch_md5, sizeof(d.sketch_md5), t.payload_md5);
        assert_int_equal(decide(&d, 1, &t), REASON_UP_TO_DATE);
        /* ESP32 reports the SHA-256 of its running image */
        d = device();
        strscpy(d.sketch_sha256, sizeof(d.sketch_sha256), t.sha256);
        assert_int_equal(decide(&d, 1, &t), REASON_UP_TO_DATE);
}

static void test_ineligible(void **state) {
        Release t = target();
        DeviceRequest d = device();

        d.free_space = 400000;
        assert_int_equal(decide(&d, 1, &t), REASON_TOO_LARGE);
        d = device();
        d.platform = PLATFORM_ESP32;
        assert_int_equal(decide(&d, 1, &t), REASON_WRONG_PLATFORM);
        d = device();
        d.mode = UPDATE_MODE_FILESYSTEM;
        assert_int_equal(decide(&d, 1, &t), REASON_WRONG_MODE);
        d = device();
        d.chip_size = 1 << 20;
        assert_int_equal(decide(&d, 1, &t), REASON_FLASH_TOO_SMALL);
        d = device();
        assert_int_equal(decide(&d, 2, &t), REASON_WRONG_PRODUCT);
        assert_string_equal(reason_to_string(REASON_TOO_LARGE), "too-large");
        assert_int_equal(reason_from_string("wrong-platform"), REASON_WRONG_PLATFORM);
}

static void test_unknown_fields_are_not_checked(void **state) {
        Release t = target();
        DeviceRequest d;

        /* query form without headers: nothing known beyond the version */
        device_request_init(&d);
        strscpy(d.version, sizeof(d.version), "1.0.0");
        assert_int_equal(decide(&d, 1, &t), REASON_UPDATE);
}

static void test_version_query(void **state) {
        Release t = target();
        DeviceRequest d = device();

        d.mode = UPDATE_MODE_VERSION;
        assert_int_equal(decide(&d, 1, &t), REASON_VERSION);
        assert_int_equal(reason_http_status(REASON_VERSION), 200);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_update),
                cmocka_unit_test(test_no_release),
                cmocka_unit_test(test_up_to_date),
                cmocka_unit_test(test_ineligible),
                cmocka_unit_test(test_unknown_fields_are_not_checked),
                cmocka_unit_test(test_version_query),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
