/* SPDX-License-Identifier: MIT */
/* The simulated update clients against the wire captures of PROTOCOLS.md 1.1 and their answer rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "flota/esp-client.h"
#include "flota/image.h"
#include "flota/strutil.h"

/* The ESP8266 core in host emulation, update(client, "http://127.0.0.1:18080/fw.bin?case=304", "1.0.0"). */
static const char esp8266_capture[] = "GET /fw.bin?case=304 HTTP/1.0\r\n"
                                      "Host: 127.0.0.1:18080\r\n"
                                      "User-Agent: ESP8266-http-Update\r\n"
                                      "Connection: close\r\n"
                                      "x-ESP8266-Chip-ID: 15602487\r\n"
                                      "x-ESP8266-STA-MAC: DE:BA:7A:B1:E0:42\r\n"
                                      "x-ESP8266-AP-MAC: DE:BA:7A:B1:E0:42\r\n"
                                      "x-ESP8266-free-space: 4194304\r\n"
                                      "x-ESP8266-sketch-size: 400000\r\n"
                                      "x-ESP8266-sketch-md5: 0537061f98e956f58721a59bb6fa476e\r\n"
                                      "x-ESP8266-chip-size: 4194304\r\n"
                                      "x-ESP8266-sdk-version: 2.5.0\r\n"
                                      "x-ESP8266-mode: sketch\r\n"
                                      "x-ESP8266-version: 1.0.0\r\n"
                                      "Content-Length: 0\r\n"
                                      "\r\n";

static EspDevice emulator(void) {
        EspDevice d = {
                .platform = PLATFORM_ESP8266,
                .sta_mac = 0xdeba7ab1e042ull,
                .ap_mac = 0xdeba7ab1e042ull,
                .chip_id = 15602487,
                .chip_size = 4194304,
                .free_space = 4194304,
        };
        strscpy(d.sdk, sizeof(d.sdk), "2.5.0");
        esp_device_run(&d, "1.0.0", "0537061f98e956f58721a59bb6fa476e", NULL, 400000);
        return d;
}

static void test_esp8266_bytes(void **state) {
        EspDevice d = emulator();
        EspPoll p = { .host = "127.0.0.1", .port = 18080, .path = "/fw.bin?case=304" };
        char buf[2048];

        int n = esp_poll_format(&d, &p, buf, sizeof(buf));
        assert_int_equal(n, (int) strlen(esp8266_capture));
        assert_string_equal(buf, esp8266_capture);
}

static void test_esp8266_bytes_with_auth(void **state) {
        EspDevice d = emulator();
        /* setAuthorization("user", "pass"): the line sits between User-Agent and Connection */
        EspPoll p = { .host = "127.0.0.1",
                      .port = 18080,
                      .path = "/fw.bin?case=304",
                      .authorization = "dXNlcjpwYXNz" };
        char buf[2048];

        assert_true(esp_poll_format(&d, &p, buf, sizeof(buf)) > 0);
        assert_non_null(strstr(buf, "User-Agent: ESP8266-http-Update\r\n"
                                    "Authorization: Basic dXNlcjpwYXNz\r\n"
                                    "Connection: close\r\n"));
        /* port 80 is left out of Host; too small a buffer is refused */
        p.port = 80;
        assert_true(esp_poll_format(&d, &p, buf, sizeof(buf)) > 0);
        assert_non_null(strstr(buf, "Host: 127.0.0.1\r\n"));
        assert_int_equal(esp_poll_format(&d, &p, buf, 100), -ENOBUFS);
}

static void test_esp32_bytes(void **state) {
        EspDevice d;
        EspPoll p = { .host = "10.0.0.1", .port = 8070, .path = "/update/lamp" };
        char buf[2048];

        esp_device_init(&d, 1, 7, PLATFORM_ESP32, "2.0.0");
        assert_true(esp_poll_format(&d, &p, buf, sizeof(buf)) > 0);
        /* HTTPClient order: Connection before any Authorization; HTTPUpdate's headers follow */
        assert_true(strncmp(buf,
                            "GET /update/lamp HTTP/1.0\r\nHost: 10.0.0.1:8070\r\nUser-Agent: "
                            "ESP32-http-Update\r\n"
                            "Connection: close\r\nCache-Control: no-cache\r\nx-ESP32-BASE-MAC: 24:0A:C4:",
                            129) == 0);
        assert_non_null(strstr(buf, "x-ESP32-mode: sketch\r\nx-ESP32-version: 2.0.0\r\n\r\n"));
        assert_null(strstr(buf, "Content-Length"));
        /* the running image's SHA-256 in uppercase */
        const char *sha = strstr(buf, "x-ESP32-sketch-sha256: ");
        assert_non_null(sha);
        for (const char *c = sha + 23; *c != '\r'; c++)
                assert_false(*c >= 'a' && *c <= 'f');
}

static void test_identity_is_stable(void **state) {
        EspDevice a, b, c;

        esp_device_init(&a, 42, 5, PLATFORM_ESP8266, "1.0");
        esp_device_init(&b, 42, 5, PLATFORM_ESP8266, "1.0");
        esp_device_init(&c, 42, 6, PLATFORM_ESP8266, "1.0");
        assert_memory_equal(&a, &b, sizeof(a));
        assert_true(a.sta_mac != c.sta_mac);
        assert_int_equal(a.chip_id, a.sta_mac & 0xffffff);
}

static void test_ota_advertisement(void **state) {
        EspDevice e = emulator(), d32 = { .platform = PLATFORM_ESP32, .sta_mac = 0x240ac40a0b0cull };
        char name[ESP_OTA_HOSTNAME_MAX];

        /* chip id 15602487 = 0xee1337 */
        assert_string_equal(esp_ota_hostname(&e, name), "esp8266-ee1337");
        assert_int_equal(esp_ota_port(&e), 8266);
        assert_string_equal(esp_ota_board(&e), "generic");
        assert_string_equal(esp_ota_hostname(&d32, name), "esp32-240ac40a0b0c");
        assert_int_equal(esp_ota_port(&d32), 3232);
        assert_string_equal(esp_ota_board(&d32), "esp32");
        /* small values keep their leading zeros */
        e.chip_id = 0xab;
        assert_string_equal(esp_ota_hostname(&e, name), "esp8266-0000ab");
}

static void test_judge_head(void **state) {
        EspDevice e8 = emulator(), e32;
        EspHead h = { .status = 200, .has_length = true, .length = 1000 };

        esp_device_init(&e32, 1, 1, PLATFORM_ESP32, "1");
        assert_int_equal(esp_judge_head(&e8, "sketch", &h), 0);
        h.length = 5u << 20;
        assert_int_equal(esp_judge_head(&e8, "sketch", &h), ESP_ERR_TOO_LESS_SPACE);
        h.has_length = false;
        assert_int_equal(esp_judge_head(&e8, "sketch", &h), ESP_ERR_SERVER_NOT_REPORT_SIZE);
        h = (EspHead) { .status = 200, .has_length = true, .length = 10 };
        strscpy(h.md5, sizeof(h.md5), "abc");
        assert_int_equal(esp_judge_head(&e8, "sketch", &h), ESP_ERR_SERVER_FAULTY_MD5);
        h = (EspHead) { .status = 401 };
        assert_int_equal(esp_judge_head(&e8, "sketch", &h), ESP_ERR_SERVER_UNAUTHORIZED);
        assert_int_equal(esp_judge_head(&e32, "sketch", &h), ESP_ERR_SERVER_WRONG_HTTP_CODE);
        h.status = 204;
        assert_int_equal(esp_judge_head(&e8, "sketch", &h), ESP_ERR_SERVER_WRONG_HTTP_CODE);
        assert_int_equal(esp_judge_head(&e32, "sketch", &h), ESP_NO_UPDATES);
        h.status = 304;
        assert_int_equal(esp_judge_head(&e8, "sketch", &h), ESP_NO_UPDATES);
        h.status = 404;
        assert_int_equal(esp_judge_head(&e8, "sketch", &h), ESP_ERR_SERVER_FILE_NOT_FOUND);
        h.status = 302;
        assert_int_equal(esp_judge_head(&e8, "sketch", &h), ESP_ERR_SERVER_WRONG_HTTP_CODE);
        h = (EspHead) { .status = 200 };
        assert_int_equal(esp_judge_head(&e8, "version", &h), ESP_ERR_SERVER_NOT_REPORT_VERSION);
        strscpy(h.version, sizeof(h.version), "2.0");
        assert_int_equal(esp_judge_head(&e8, "version", &h), ESP_VERSION_REPORTED);
}

static void test_judge_body(void **state) {
        EspDevice e8 = emulator(), e32;
        uint8_t junk[4] = { 0x42, 0, 0, 0 }, big_flash[4] = { 0xe9, 1, 2, 0x90 };
        EspHead h = { .status = 200 };

        esp_device_init(&e32, 1, 1, PLATFORM_ESP32, "1");
        assert_int_equal(esp_judge_magic(&e8, junk, 4), ESP_ERR_BIN_VERIFY_HEADER_FAILED);
        assert_int_equal(esp_judge_magic(&e8, big_flash, 4), ESP_ERR_BIN_FOR_WRONG_FLASH);
        uint8_t gz[4] = { 0x1f, 0x8b, 8, 0 };
        assert_int_equal(esp_judge_magic(&e8, gz, 4), 0);
        assert_int_equal(esp_judge_magic(&e32, gz, 4), ESP_ERR_BIN_VERIFY_HEADER_FAILED);
        strscpy(h.md5, sizeof(h.md5), "0537061F98E956F58721A59BB6FA476E");
        assert_int_equal(esp_judge_body(&e8, &h, "0537061f98e956f58721a59bb6fa476e", ""), 0);
        assert_int_equal(esp_judge_body(&e8, &h, "1537061f98e956f58721a59bb6fa476e", ""),
                         ESP_ERR_UPDATER_MD5);
        h.md5[0] = 0;
        strscpy(h.sha256, sizeof(h.sha256), "aa");
        assert_int_equal(esp_judge_body(&e32, &h, "", "bb"), ESP_ERR_SERVER_NOT_REPORT_VERSION);
        assert_string_equal(esp_outcome_name(ESP_ERR_TOO_LESS_SPACE), "-100 too-less-space");
}

static void test_embedded_version(void **state) {
        uint8_t *img;
        size_t n;
        char v[VERSION_MAX + 1];

        for (Platform p = 0; p < _PLATFORM_MAX; p++) {
                image_build(p, "7.7.7-rc1", 20000, 3, &img, &n);
                assert_int_equal(image_embedded_version(img, n, v), 0);
                assert_string_equal(v, "7.7.7-rc1");
                memset(img, 0, n);
                assert_int_equal(image_embedded_version(img, n, v), -ENOENT);
                free(img);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_esp8266_bytes),    cmocka_unit_test(test_esp8266_bytes_with_auth),
                cmocka_unit_test(test_esp32_bytes),      cmocka_unit_test(test_identity_is_stable),
                cmocka_unit_test(test_judge_head),       cmocka_unit_test(test_judge_body),
                cmocka_unit_test(test_embedded_version), cmocka_unit_test(test_ota_advertisement),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
