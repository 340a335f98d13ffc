/* SPDX-License-Identifier: MIT */
/* The management API against a real flotad: resources, tokens, roles, paging, the check-in feed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "flota/alloc.h"
#include "flota/hash.h"
#include "flotad-harness.h"

static int expect(Flotad *f, const char *method, const char *path, const char *body, int status,
                  const char *needle) {
        HttpResponse r;
        int got = api(f, method, path, body, &r);
        if (got != status || (needle && !strstr(r.body, needle)))
                fail_msg("%s %s: got %d %s, want %d with '%s'", method, path, got, r.body, status,
                         needle ? needle : "");
        long id = json_int(r.body, "id");
        http_response_done(&r);
        return (int) id;
}

static long upload_file(Flotad *f, const char *query, const char *path, int status, const char *needle) {
        size_t len;
        _cleanup_free_ char *data = slurp(path, &len);
        _cleanup_free_ char *url = xasprintf("/api/v1/releases?%s", query);
        HttpResponse r;

        assert_int_equal(api_call(f, "POST", url, f->admin_token, data, len, &r), 0);
        if (r.status != status || (needle && !strstr(r.body, needle)))
                fail_msg("upload %s: got %d %s, want %d with '%s'", query, r.status, r.body, status, needle);
        long id = json_int(r.body, "id");
        http_response_done(&r);
        return id;
}

static void test_products(void **state) {
        Flotad *f = *state;

        expect(f, "POST", "/api/v1/products", "{\"name\":\"door\"}", 201, "\"name\":\"door\"");
        expect(f, "POST", "/api/v1/products", "{\"name\":\"door\"}", 409, "\"code\":\"conflict\"");
        expect(f, "POST", "/api/v1/products",
               "{\"name\":\"lamp\",\"platform\":\"esp32\",\"key\":\"lamp-key-1\"}", 201, "\"has_key\":true");
        expect(f, "GET", "/api/v1/products", NULL, 200, "\"platform\":\"esp32\"");
        /* the key itself is never shown */
        expect(f, "GET", "/api/v1/products", NULL, 200, "\"products\":[");
        HttpResponse r;
        api(f, "GET", "/api/v1/products", NULL, &r);
        assert_null(strstr(r.body, "lamp-key-1"));
        http_response_done(&r);
}

static void test_releases(void **state) {
        Flotad *f = *state;
        _cleanup_free_ char *a = make_image(f, "esp8266", "1.0.0", "100K");
        _cleanup_free_ char *b = make_image(f, "esp32", "2.0.0", "100K");

        expect(f, "POST", "/api/v1/products", "{\"name\":\"door\"}", 201, NULL);
        long id = upload_file(f, "product=door&version=1.0.0", a, 201, "\"platform\":\"esp8266\"");
        upload_file(f, "product=door&version=1.0.0", a, 409, "already has");
        upload_file(f, "product=door", a, 400, "version= is required");
        upload_file(f, "product=nosuch&version=1", a, 404, "does not exist");
        upload_file(f, "version=1", a, 400, "product= is required");
        /* an ESP32 image for a product that already serves ESP8266 */
        upload_file(f, "product=door&version=2.0.0", b, 422, "platform-mismatch");
        upload_file(f, "product=door&version=2.0.0&platform=esp32", a, 422, "platform-mismatch");
        /* the ESP32 app descriptor disagrees with version= */
        expect(f, "POST", "/api/v1/products", "{\"name\":\"lamp\"}", 201, NULL);
        upload_file(f, "product=lamp&version=9.9.9", b, 422, "version-mismatch");
        upload_file(f, "product=lamp", b, 201, "\"version\":\"2.0.0\"");

        _cleanup_free_ char *one = xasprintf("/api/v1/releases/%ld", id);
        expect(f, "GET", one, NULL, 200, "\"md5\":");
        expect(f, "GET", "/api/v1/releases?product=lamp", NULL, 200, "\"product\":\"lamp\"");
        expect(f, "GET", "/api/v1/releases/9999", NULL, 404, "not-found");
        expect(f, "GET", "/api/v1/releases/abc", NULL, 404, "not-found");

        /* in use by a channel: delete refused; after moving the channel it goes, and its file too */
        _cleanup_free_ char *body = xasprintf("{\"release\":%ld}", id);
        expect(f, "PUT", "/api/v1/channels/door/stable", body, 200, "\"version\":\"1.0.0\"");
        expect(f, "DELETE", one, NULL, 409, "in use");
        _cleanup_free_ char *c = make_image(f, "esp8266", "1.1.0", "100K");
        long id2 = upload_file(f, "product=door&version=1.1.0", c, 201, NULL);
        _cleanup_free_ char *body2 = xasprintf("{\"release\":%ld}", id2);
        expect(f, "PUT", "/api/v1/channels/door/stable", body2, 200, "\"version\":\"1.1.0\"");
        /* the image file, content-addressed by its SHA-256 */
        HttpResponse r;
        assert_int_equal(api(f, "GET", one, NULL, &r), 200);
        const char *sha = strstr(r.body, "\"sha256\":\"");
        assert_non_null(sha);
        sha += strlen("\"sha256\":\"");
        _cleanup_free_ char *file = xasprintf("%s/images/%.2s/%.64s", f->data_dir, sha, sha);
        http_response_done(&r);
        assert_int_equal(access(file, F_OK), 0);
        expect(f, "DELETE", one, NULL, 200, NULL);
        expect(f, "GET", one, NULL, 404, NULL);
        if (access(file, F_OK) == 0)
                fail_msg("the deleted release's image %s is still there", file);
        /* promotion history, newest first */
        expect(f, "GET", "/api/v1/channels/history?product=door", NULL, 200, "\"previous_release\":");
        expect(f, "GET", "/api/v1/channels", NULL, 200, "\"name\":\"stable\"");
        /* a release of another product cannot be put on this product's channel */
        expect(f, "PUT", "/api/v1/channels/lamp/stable", body2, 422, "wrong-product");
        expect(f, "PUT", "/api/v1/channels/door/stable", "{\"release\":4242}", 404, NULL);
}

static void test_esp32_chip_family(void **state) {
        Flotad *f = *state;
        _cleanup_free_ char *a = make_image(f, "esp32", "1.0.0", "100K");
        _cleanup_free_ char *b = make_image(f, "esp32", "1.1.0", "100K");
        size_t len;
        _cleanup_free_ char *img = slurp(b, &len);

        expect(f, "POST", "/api/v1/products", "{\"name\":\"lamp\"}", 201, NULL);
        upload_file(f, "product=lamp", a, 201, "\"chip\":\"esp32\"");
        /* the same image built for an ESP32-S3: chip id 9 in the extended header */
        img[12] = 9;
        sha256_raw(img, len - 32, (uint8_t *) img + len - 32);
        FILE *fp = fopen(b, "wb");
        fwrite(img, 1, len, fp);
        fclose(fp);
        upload_file(f, "product=lamp", b, 422, "chip-mismatch");
        expect(f, "POST", "/api/v1/products", "{\"name\":\"lamp-s3\"}", 201, NULL);
        upload_file(f, "product=lamp-s3", b, 201, "\"chip\":\"esp32-s3\"");
}

static void test_devices_and_assignments(void **state) {
        Flotad *f = *state;
        _cleanup_free_ char *a = make_image(f, "esp8266", "1.0.0", "100K");

        expect(f, "POST", "/api/v1/products", "{\"name\":\"door\"}", 201, NULL);
        long id = upload_file(f, "product=door&version=1.0.0", a, 201, NULL);

        /* 5000 devices in one atomic call */
        size_t n = 5000, len = 0;
        char *body = xmalloc(n * 24 + 64);
        len += (size_t) sprintf(body, "{\"release\":%ld,\"devices\":[", id);
        for (size_t i = 0; i < n; i++)
                len += (size_t) sprintf(body + len, "%s\"18:FE:AA:%02zX:%02zX:%02zX\"", i ? "," : "",
                                        (i >> 16) & 255, (i >> 8) & 255, i & 255);
        sprintf(body + len, "]}");
        expect(f, "POST", "/api/v1/assignments", body, 200, "\"devices\":5000");
        free(body);
        /* one bad id rejects the whole call */
        expect(f, "POST", "/api/v1/assignments",
               "{\"release\":1,\"devices\":[\"18:FE:AA:00:00:01\",\"bad id\"]}", 400, "devices[1]");

        /* paging: 5000 devices, 1000 a page, each exactly once */
        char *after = xstrdup("");
        int total = 0;
        for (int page = 0; page < 10; page++) {
                _cleanup_free_ char *path =
                        xasprintf("/api/v1/devices?limit=1000%s%s", *after ? "&after=" : "", after);
                HttpResponse r;
                assert_int_equal(api(f, "GET", path, NULL, &r), 200);
                for (const char *p = r.body; (p = strstr(p, "\"assigned\":")); p++)
                        total++;
                const char *next = strstr(r.body, "\"next\":\"");
                free(after);
                after = next ? xstrndup(next + 8, 17) : NULL;
                http_response_done(&r);
                if (!after)
                        break;
        }
        free(after);
        assert_int_equal(total, 5000);

        expect(f, "PUT", "/api/v1/devices/18:fe:aa:00:00:07/labels",
               "{\"labels\":[\"site=berlin\",\"floor=2\"]}", 200,
               "\"labels\":[\"floor=2\",\"site=berlin\"]");
        expect(f, "GET", "/api/v1/devices?label=site%3Dberlin", NULL, 200, "18:FE:AA:00:00:07");
        expect(f, "GET", "/api/v1/devices/18FEAA000007", NULL, 200, "\"assigned\":");
        expect(f, "GET", "/api/v1/devices/AA:AA:AA:AA:AA:AA", NULL, 404, NULL);
        expect(f, "GET", "/api/v1/devices?seen_since=yesterday", NULL, 400, "seen_since");
        expect(f, "GET", "/api/v1/devices?limit=0", NULL, 400, "limit");
        expect(f, "DELETE", "/api/v1/assignments", "{\"devices\":[\"18:FE:AA:00:00:07\"]}", 200,
               "\"release\":null");

        /* the ids assigned a release, and the device list's filter: the one unassigned is gone from both */
        _cleanup_free_ char *ids = xasprintf("/api/v1/assignments?release=%ld&limit=4000", id);
        expect(f, "GET", ids, NULL, 200, "\"next\":\"18:FE:AA:00:0F:A0\"");
        _cleanup_free_ char *rest = xasprintf("/api/v1/assignments?release=%ld&after=18:FE:AA:00:0F:A0", id);
        HttpResponse r;
        assert_int_equal(api(f, "GET", rest, NULL, &r), 200);
        int n_rest = 0;
        for (const char *p = r.body; (p = strstr(p, "\"id\":\"18:FE:AA:")); p++)
                n_rest++;
        assert_int_equal(n_rest, 999);
        assert_non_null(strstr(r.body, "\"polls\":0,\"first_seen\":null"));
        assert_non_null(strstr(r.body, "\"next\":null"));
        http_response_done(&r);
        _cleanup_free_ char *filtered =
                xasprintf("/api/v1/devices?assigned=%ld&after=18:FE:AA:00:00:06&limit=1", id);
        expect(f, "GET", filtered, NULL, 200, "18:FE:AA:00:00:08");
        expect(f, "GET", "/api/v1/assignments", NULL, 400, "release");
        expect(f, "GET", "/api/v1/assignments?release=0", NULL, 400, "release");
        expect(f, "GET", "/api/v1/assignments?release=1&limit=100001", NULL, 400, "limit");
        expect(f, "GET", "/api/v1/devices?assigned=x", NULL, 400, "assigned");
}

static void test_checkin_feed(void **state) {
        Flotad *f = *state;
        HttpResponse r;

        expect(f, "POST", "/api/v1/products", "{\"name\":\"door\"}", 201, NULL);
        for (int i = 0; i < 250; i++) {
                char mac[18];
                snprintf(mac, sizeof(mac), "18:FE:AB:00:%02X:%02X", i / 256, i % 256);
                _cleanup_free_ char *req =
                        esp8266_poll("/update/door", f->port, mac, "1", NULL, 1 << 20, NULL);
                assert_int_equal(http_raw(f->port, req, strlen(req), &r), 0);
                http_response_done(&r);
        }
        assert_int_equal(wait_checkins(f, 250), 250);
        /*
         * follow the feed in pages of 40: ids strictly increasing, none missing (consecutive on
         * SQLite; on PostgreSQL ids are feed positions, which leave gaps between transactions)
         */
        long cursor = 0, seen = 0, last = 0;
        for (int i = 0; i < 20; i++) {
                _cleanup_free_ char *path = xasprintf("/api/v1/checkins?after=%ld&limit=40", cursor);
                assert_int_equal(api(f, "GET", path, NULL, &r), 200);
                for (const char *p = r.body; (p = strstr(p, "{\"id\":")); p++) {
                        long id = strtol(p + 6, NULL, 10);
                        if (getenv("FLOTA_TEST_PG"))
                                assert_true(id > last);
                        else
                                assert_int_equal(id, last + 1);
                        last = id;
                        seen++;
                }
                long next = json_int(r.body, "next");
                http_response_done(&r);
                if (next == cursor)
                        break;
                cursor = next;
        }
        assert_int_equal(seen, 250);
        expect(f, "GET", "/api/v1/checkins?after=-1", NULL, 400, NULL);
        expect(f, "GET", "/api/v1/checkins?limit=100000", NULL, 400, NULL);
}

static void test_tokens_and_roles(void **state) {
        Flotad *f = *state;
        HttpResponse r;

        assert_int_equal(api_call(f, "GET", "/api/v1/products", NULL, NULL, 0, &r), 0);
        assert_int_equal(r.status, 401);
        assert_non_null(strstr(r.body, "\"code\":\"unauthorized\""));
        http_response_done(&r);
        assert_int_equal(api_call(f, "GET", "/api/v1/products", "flota_wrong", NULL, 0, &r), 0);
        assert_int_equal(r.status, 401);
        http_response_done(&r);
        /* read role: GET yes, writes no */
        assert_int_equal(api_call(f, "GET", "/api/v1/products", f->read_token, NULL, 0, &r), 0);
        assert_int_equal(r.status, 200);
        http_response_done(&r);
        const char *body = "{\"name\":\"x\"}";
        assert_int_equal(api_call(f, "POST", "/api/v1/products", f->read_token, body, strlen(body), &r), 0);
        assert_int_equal(r.status, 403);
        http_response_done(&r);
        expect(f, "GET", "/api/v1/products", NULL, 200, "\"products\":[]");
        /* what a token may do, asked up front (the dashboard's read-only mode) */
        assert_int_equal(api_call(f, "GET", "/api/v1/token", f->read_token, NULL, 0, &r), 0);
        assert_int_equal(r.status, 200);
        assert_non_null(strstr(r.body, "\"role\":\"read\""));
        http_response_done(&r);
        expect(f, "GET", "/api/v1/token", NULL, 200, "\"role\":\"admin\"");
        assert_int_equal(api_call(f, "GET", "/api/v1/token", NULL, NULL, 0, &r), 0);
        assert_int_equal(r.status, 401);
        http_response_done(&r);
        /* routing */
        expect(f, "GET", "/api/v1/nothing", NULL, 404, "\"code\":\"not-found\"");
        expect(f, "PATCH", "/api/v1/products", NULL, 405, "method-not-allowed");
        expect(f, "GET", "/api/v1/devices/a/b/c/d/e", NULL, 404, NULL);
        expect(f, "GET", "/nothing", NULL, 404, NULL);
        /* health and metrics need no token */
        assert_int_equal(api_call(f, "GET", "/healthz", NULL, NULL, 0, &r), 0);
        assert_int_equal(r.status, 200);
        assert_non_null(strstr(r.body, "\"status\":\"ok\""));
        http_response_done(&r);
        assert_int_equal(api_call(f, "GET", "/metrics", NULL, NULL, 0, &r), 0);
        assert_non_null(strstr(r.body, "flotad_api_errors_total{class=\"4xx\"}"));
        http_response_done(&r);
}

/* /metrics counts every API call by route and status class, not only early rejections. */
static void test_metrics_count_every_call(void **state) {
        Flotad *f = *state;
        HttpResponse r;

        expect(f, "GET", "/api/v1/products", NULL, 200, NULL);
        expect(f, "GET", "/api/v1/products", NULL, 200, NULL);
        expect(f, "POST", "/api/v1/products", "{\"name\":\"door\"}", 201, NULL);
        expect(f, "POST", "/api/v1/products", "{\"name\":\"door\"}", 409, NULL);
        expect(f, "POST", "/api/v1/products", "{\"name\":", 400, NULL);
        expect(f, "GET", "/api/v1/releases/77", NULL, 404, NULL);
        expect(f, "GET", "/api/v1/nothing", NULL, 404, NULL);
        assert_int_equal(api_call(f, "GET", "/metrics", NULL, NULL, 0, &r), 0);
        static const char *const want[] = {
                "flotad_api_calls_total{route=\"GET /products\",class=\"2xx\"} 2\n",
                "flotad_api_calls_total{route=\"POST /products\",class=\"2xx\"} 1\n",
                "flotad_api_calls_total{route=\"POST /products\",class=\"4xx\"} 2\n",
                "flotad_api_calls_total{route=\"GET /releases/*\",class=\"4xx\"} 1\n",
                "flotad_api_calls_total{route=\"none\",class=\"4xx\"} 1\n",
                "flotad_api_requests_total 7\n",
                "flotad_api_errors_total{class=\"4xx\"} 4\n",
        };
        for (size_t i = 0; i < ELEMENTSOF(want); i++)
                if (!strstr(r.body, want[i]))
                        fail_msg("no '%s' in:\n%s", want[i], r.body);
        http_response_done(&r);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_products, flotad_fixture_setup,
                                                flotad_fixture_teardown),
                cmocka_unit_test_setup_teardown(test_metrics_count_every_call, flotad_fixture_setup,
                                                flotad_fixture_teardown),
                cmocka_unit_test_setup_teardown(test_releases, flotad_fixture_setup,
                                                flotad_fixture_teardown),
                cmocka_unit_test_setup_teardown(test_devices_and_assignments, flotad_fixture_setup,
                                                flotad_fixture_teardown),
                cmocka_unit_test_setup_teardown(test_esp32_chip_family, flotad_fixture_setup,
                                                flotad_fixture_teardown),
                cmocka_unit_test_setup_teardown(test_checkin_feed, flotad_fixture_setup,
                                                flotad_fixture_teardown),
                cmocka_unit_test_setup_teardown(test_tokens_and_roles, flotad_fixture_setup,
                                                flotad_fixture_teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
