/* SPDX-License-Identifier: MIT */
/* Parsing of update polls exactly as the ESP8266 and ESP32 cores send them (PROTOCOLS.md 1.1, 2). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "flota/device-request.h"
#include "flota/esp-header.h"

typedef struct H {
        const char *name, *value;
} H;

static const H esp8266[] = {
        { "Host", "127.0.0.1:18080" },
        { "User-Agent", "ESP8266-http-Update" },
        { "Connection", "close" },
        { "x-ESP8266-Chip-ID", "15602487" },
        { "x-ESP8266-STA-MAC", "DE:BA:7A:B1:E0:42" },
        { "x-ESP8266-AP-MAC", "DE:BA:7A:B1:E0:42" },
        { "x-ESP8266-free-space", "4194304" },
        { "x-ESP8266-sketch-size", "400000" },
        { "x-ESP8266-sketch-md5", "0537061f98e956f58721a59bb6fa476e" },
        { "x-ESP8266-chip-size", "4194304" },
        { "x-ESP8266-sdk-version", "2.5.0" },
        { "x-ESP8266-mode", "sketch" },
        { "x-ESP8266-version", "1.0.0" },
        { "Content-Length", "0" },
};

static const H esp32[] = {
        { "User-Agent", "ESP32-http-Update" },
        { "Connection", "close" },
        { "Cache-Control", "no-cache" },
        { "x-ESP32-BASE-MAC", "24:0A:C4:00:00:01" },
        { "x-ESP32-STA-MAC", "24:0A:C4:00:00:02" },
        { "x-ESP32-AP-MAC", "24:0A:C4:00:00:03" },
        { "x-ESP32-free-space", "1966080" },
        { "x-ESP32-sketch-size", "900000" },
        { "x-ESP32-sketch-md5", "0537061f98e956f58721a59bb6fa476e" },
        { "x-ESP32-sketch-sha256", "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08" },
        { "x-ESP32-chip-size", "4194304" },
        { "x-ESP32-sdk-version", "v4.4.5" },
        { "x-ESP32-mode", "sketch" },
        { "x-ESP32-version", "2.0.0" },
};

static int feed(DeviceRequest *r, const H *h, size_t n, const char *skip, RequestError *err) {
        device_request_init(r);
        for (size_t i = 0; i < n; i++) {
                if (skip && strcmp(h[i].name, skip) == 0)
                        continue;
                int k = device_request_add_header(r, h[i].name, h[i].value, err);
                if (k < 0)
                        return k;
        }
        return device_request_finish(r, err);
}

static void test_esp8266(void **state) {
        DeviceRequest r;
        RequestError err;

        assert_int_equal(feed(&r, esp8266, sizeof(esp8266) / sizeof(H), NULL, &err), 0);
        assert_int_equal(r.platform, PLATFORM_ESP8266);
        assert_string_equal(r.device_id, "DE:BA:7A:B1:E0:42");
        assert_true(r.has_chip_id);
        assert_int_equal(r.chip_id, 15602487);
        assert_int_equal(r.free_space, 4194304);
        assert_int_equal(r.sketch_size, 400000);
        assert_int_equal(r.chip_size, 4194304);
        assert_string_equal(r.sdk, "2.5.0");
        assert_string_equal(r.version, "1.0.0");
        assert_int_equal(r.mode, UPDATE_MODE_SKETCH);
        assert_string_equal(r.sketch_md5, "0537061f98e956f58721a59bb6fa476e");
}

static void test_esp32_base_mac(void **state) {
        DeviceRequest r;
        RequestError err;

        assert_int_equal(feed(&r, esp32, sizeof(esp32) / sizeof(H), NULL, &err), 0);
        assert_int_equal(r.platform, PLATFORM_ESP32);
        assert_string_equal(r.device_id, "24:0A:C4:00:00:01");
        assert_string_equal(r.sta_mac, "24:0A:C4:00:00:02");
        assert_string_equal(r.sketch_sha256,
                            "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08");
        /* older cores: no BASE-MAC, the STA MAC is the identity */
        assert_int_equal(feed(&r, esp32, sizeof(esp32) / sizeof(H), "x-ESP32-BASE-MAC", &err), 0);
        assert_string_equal(r.device_id, "24:0A:C4:00:00:02");
}

static void test_case_insensitive_names(void **state) {
        DeviceRequest r;
        RequestError err;

        device_request_init(&r);
        assert_int_equal(device_request_add_header(&r, "user-agent", "ESP8266-http-Update", &err), 0);
        assert_int_equal(device_request_add_header(&r, "X-ESP8266-STA-MAC", "de:ba:7a:b1:e0:42", &err), 0);
        assert_int_equal(device_request_add_header(&r, "X-Esp8266-Free-Space", "100", &err), 0);
        assert_int_equal(device_request_add_header(&r, "x-esp8266-sketch-size", "100", &err), 0);
        assert_int_equal(device_request_add_header(&r, "x-esp8266-chip-size", "100", &err), 0);
        assert_int_equal(device_request_add_header(&r, "x-esp8266-sdk-version", "1", &err), 0);
        assert_int_equal(device_request_add_header(&r, "x-esp8266-mode", "spiffs", &err), 0);
        assert_int_equal(device_request_finish(&r, &err), 0);
        assert_string_equal(r.device_id, "DE:BA:7A:B1:E0:42");
        assert_int_equal(r.mode, UPDATE_MODE_FILESYSTEM);
}

static void test_missing_headers_403(void **state) {
        static const char *const required[] = { "x-ESP8266-STA-MAC",     "x-ESP8266-free-space",
                                                "x-ESP8266-sketch-size", "x-ESP8266-chip-size",
                                                "x-ESP8266-sdk-version", "x-ESP8266-mode" };
        DeviceRequest r;
        RequestError err;

        for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
                assert_int_equal(feed(&r, esp8266, sizeof(esp8266) / sizeof(H), required[i], &err), -EINVAL);
                assert_int_equal(err.status, 403);
                assert_non_null(strstr(err.message, required[i]));
        }
        /* a browser */
        assert_int_equal(feed(&r, esp8266, sizeof(esp8266) / sizeof(H), "User-Agent", &err), -EINVAL);
        assert_int_equal(err.status, 403);
        /* ESP32 user agent with ESP8266 headers */
        device_request_init(&r);
        assert_int_equal(device_request_add_header(&r, "User-Agent", "ESP32-http-Update", &err), 0);
        assert_int_equal(device_request_add_header(&r, "x-ESP8266-STA-MAC", "DE:BA:7A:B1:E0:42", &err), 0);
        assert_int_equal(device_request_finish(&r, &err), -EINVAL);
        assert_int_equal(err.status, 403);
}

static void test_malformed_values_400(void **state) {
        static const H bad[] = {
                { "x-ESP8266-STA-MAC", "DE:BA:7A:B1:E0" },
                { "x-ESP8266-free-space", "lots" },
                { "x-ESP8266-free-space", "-1" },
                { "x-ESP8266-sketch-size", "99999999999999999999999" },
                { "x-ESP8266-sketch-md5", "nothex" },
                { "x-ESP8266-mode", "firmware" },
                { "x-ESP8266-Chip-ID", "0x12" },
                { "x-ESP8266-version", "1.0\x01" },
        };
        DeviceRequest r;
        RequestError err;

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                device_request_init(&r);
                assert_int_equal(device_request_add_header(&r, bad[i].name, bad[i].value, &err), -EINVAL);
                assert_int_equal(err.status, 400);
        }
}

static void test_empty_md5_allowed(void **state) {
        DeviceRequest r;
        RequestError err;

        device_request_init(&r);
        assert_int_equal(device_request_add_header(&r, "x-ESP8266-sketch-md5", "", &err), 0);
        assert_string_equal(r.sketch_md5, "");
}

static void test_query_form(void **state) {
        DeviceRequest r;
        RequestError err;

        device_request_init(&r);
        assert_int_equal(device_request_add_query(&r, "k", "secret-key-1", &err), 0);
        assert_int_equal(device_request_add_query(&r, "s", "15602487", &err), 0);
        assert_int_equal(device_request_add_query(&r, "v", "1.0.0", &err), 0);
        assert_int_equal(device_request_finish(&r, &err), 0);
        assert_string_equal(r.device_id, "15602487");
        assert_string_equal(r.version, "1.0.0");
        assert_string_equal(r.product_key, "secret-key-1");

        device_request_init(&r);
        assert_int_equal(device_request_add_query(&r, "s", "aabbccddeeff", &err), 0);
        assert_string_equal(r.device_id, "AA:BB:CC:DD:EE:FF");

        device_request_init(&r);
        assert_int_equal(device_request_add_query(&r, "s", "../x", &err), -EINVAL);
        assert_int_equal(err.status, 400);

        device_request_init(&r);
        assert_int_equal(device_request_add_query(&r, "k", "key", &err), 0);
        assert_int_equal(device_request_finish(&r, &err), -EINVAL);
}

static EspHeader header(const char *name, Platform *platform) {
        return esp_header_from_name(name, strlen(name), platform);
}

/* The one list of the cores' header names, as both flotad and the log formats read them. */
static void test_header_names(void **state) {
        Platform p;

        for (EspHeader h = 0; h < _ESP_HEADER_MAX; h++) {
                char name[64];
                snprintf(name, sizeof(name), "x-ESP32-%s", esp_header_to_string(h));
                assert_int_equal(header(name, &p), h);
                assert_int_equal(p, PLATFORM_ESP32);
                snprintf(name, sizeof(name), "X-esp8266-%s", esp_header_to_string(h));
                assert_int_equal(header(name, &p), h);
                assert_int_equal(p, PLATFORM_ESP8266);
        }
        assert_int_equal(header("x-esp8266-sta-mac", &p), ESP_HEADER_STA_MAC);
        /* the prefix is the core's even when the field is unknown; anything else is no core's */
        assert_int_equal(header("x-ESP8266-colour", &p), _ESP_HEADER_INVALID);
        assert_int_equal(p, PLATFORM_ESP8266);
        assert_int_equal(header("x-ESP32-", &p), _ESP_HEADER_INVALID);
        assert_int_equal(p, PLATFORM_ESP32);
        assert_int_equal(header("x-ESP8266", &p), _ESP_HEADER_INVALID);
        assert_int_equal(p, _PLATFORM_INVALID);
        assert_int_equal(header("x-STA-MAC", &p), _ESP_HEADER_INVALID);
        assert_int_equal(header("x-ESP32-STA-MACX", &p), _ESP_HEADER_INVALID);
        /* n bytes of a longer text */
        assert_int_equal(esp_header_from_name("x-ESP32-mode: sketch", 12, &p), ESP_HEADER_MODE);
        assert_null(esp_header_to_string(_ESP_HEADER_MAX));
        assert_string_equal(esp_header_prefix(PLATFORM_ESP32), "x-ESP32-");
        assert_null(esp_header_prefix(_PLATFORM_INVALID));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_esp8266),
                cmocka_unit_test(test_esp32_base_mac),
                cmocka_unit_test(test_case_insensitive_names),
                cmocka_unit_test(test_missing_headers_403),
                cmocka_unit_test(test_malformed_values_400),
                cmocka_unit_test(test_empty_md5_allowed),
                cmocka_unit_test(test_query_form),
                cmocka_unit_test(test_header_names),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
