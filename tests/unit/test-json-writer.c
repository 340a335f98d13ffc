/* SPDX-License-Identifier: MIT */
/* The JSON writer gives exactly cJSON_PrintUnformatted()'s text, so both forms of a device agree. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flota/alloc.h"
#include "flota/json-encode.h"
#include "flota/json-writer.h"

static void assert_same_as_cjson(JsonWriter *w, cJSON *j) {
        char *expected = cJSON_PrintUnformatted(j);
        size_t len;
        char *got = json_writer_steal(w, &len);

        assert_string_equal(got, expected);
        assert_int_equal(len, strlen(expected));
        free(got);
        free(expected);
        cJSON_Delete(j);
}

static void test_strings(void **state) {
        char s[256];

        /* every byte value, one string each, then all at once */
        for (int c = 1; c < 256; c++) {
                JsonWriter w = {};
                snprintf(s, sizeof(s), "a%cb", c);
                json_write_string(&w, s);
                assert_same_as_cjson(&w, cJSON_CreateString(s));
        }
        for (int c = 1; c < 256; c++)
                s[c - 1] = (char) c;
        s[255] = 0;
        JsonWriter w = {};
        json_write_string(&w, s);
        assert_same_as_cjson(&w, cJSON_CreateString(s));
        json_write_string(&w, "");
        assert_same_as_cjson(&w, cJSON_CreateString(""));
}

static void test_numbers(void **state) {
        static const int64_t values[] = {
                0, 1, -1, 42, 304, INT_MAX, INT_MIN, 4194304, 1LL << 40, -(1LL << 40), 999999999999999LL
        };

        for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
                JsonWriter w = {};
                json_write_int(&w, values[i]);
                assert_same_as_cjson(&w, cJSON_CreateNumber((double) values[i]));
        }
}

static void test_structure(void **state) {
        JsonWriter w = {};

        json_write_open(&w, '{');
        json_write_key(&w, "a");
        json_write_open(&w, '[');
        json_write_close(&w, ']');
        json_write_key(&w, "b");
        json_write_open(&w, '[');
        json_write_int(&w, 1);
        json_write_open(&w, '{');
        json_write_close(&w, '}');
        json_write_null(&w);
        json_write_string_or_null(&w, "");
        json_write_string_or_null(&w, "x");
        json_write_close(&w, ']');
        json_write_key(&w, "c\"");
        json_write_time(&w, 0);
        json_write_key(&w, "d");
        json_write_time(&w, 1700000000 * USEC_PER_SEC);
        json_write_close(&w, '}');
        assert_same_as_cjson(&w, cJSON_Parse("{\"a\":[],\"b\":[1,{},null,null,\"x\"],\"c\\\"\":null,"
                                             "\"d\":\"2023-11-14T22:13:20Z\"}"));
}

/* The writer's device parses back to the same text: cJSON's canonical form, no field lost. */
static void test_device(void **state) {
        const Device devices[] = {
                { .id = "18:FE:AA:00:00:01",
                  .mac = "18:FE:AA:00:00:01",
                  .product = "door",
                  .pin_release_id = 3,
                  .labels = "attic,wave-1",
                  .first_seen = 1700000000 * USEC_PER_SEC,
                  .last_seen = 1700000100 * USEC_PER_SEC,
                  .ip = "10.0.0.7",
                  .platform = "esp8266",
                  .version = "1.0.0",
                  .sketch_md5 = "0537061f98e956f58721a59bb6fa476e",
                  .free_space = 1048576,
                  .chip_size = 4194304,
                  .sdk = "2.2.2-dev(38a443e)",
                  .last_status = 304,
                  .last_reason = "up-to-date" },
                { .id = "chip-1",
                  .channel = "beta",
                  .labels = "",
                  .version = "v\"2\"\t",
                  .free_space = -1,
                  .chip_size = -1 },
        };

        for (size_t i = 0; i < sizeof(devices) / sizeof(devices[0]); i++) {
                JsonWriter w = {};
                device_write_json(&w, &devices[i]);
                assert_same_as_cjson(&w, device_to_json(&devices[i]));
        }
        cJSON *j = device_to_json(&devices[1]);
        assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "mac")));
        assert_string_equal(cJSON_GetObjectItem(j, "channel")->valuestring, "beta");
        assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "free_space")));
        assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "last_status")));
        assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "labels")), 0);
        cJSON_Delete(j);
        j = device_to_json(&devices[0]);
        assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "labels"), 1)->valuestring, "wave-1");
        assert_string_equal(cJSON_GetObjectItem(j, "channel")->valuestring, "stable");
        cJSON_Delete(j);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_strings),
                cmocka_unit_test(test_numbers),
                cmocka_unit_test(test_structure),
                cmocka_unit_test(test_device),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
