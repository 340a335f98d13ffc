/* SPDX-License-Identifier: MIT */
/*
 * Bad input, one family per test: each gets a clear 4xx, changes nothing, and the
 * server keeps serving.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <dirent.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flota/alloc.h"
#include "flotad-harness.h"

static int setup(void **state) {
        Flotad *f = xcalloc(1, sizeof(Flotad));
        const char *args[] = { "--max-image-size", "200K", NULL };
        HttpResponse r;

        flotad_init(f);
        assert_int_equal(flotad_start(f, args), 0);
        assert_int_equal(api(f, "POST", "/api/v1/products", "{\"name\":\"door\"}", &r), 201);
        http_response_done(&r);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        assert_int_equal(flotad_finish(*state), 0);
        flotad_cleanup(*state);
        free(*state);
        return 0;
}

static void assert_alive(Flotad *f) {
        HttpResponse r;
        assert_int_equal(api_call(f, "GET", "/healthz", NULL, NULL, 0, &r), 0);
        assert_int_equal(r.status, 200);
        http_response_done(&r);
}

/* Files in the image store, temporary ones included. */
static int count_files(const Flotad *f) {
        _cleanup_free_ char *cmd = xasprintf("find '%s/images' -type f | wc -l", f->data_dir);
        FILE *p = popen(cmd, "r");
        int n = -1;
        if (fscanf(p, "%d", &n) != 1)
                n = -1;
        pclose(p);
        return n;
}

static void expect_raw(Flotad *f, const char *req, size_t len, int lo, int hi) {
        HttpResponse r;
        int rc = http_raw(f->port, req, len, &r);
        /* the server may also just close on garbage; it must not crash */
        if (rc == 0 && r.status != -1 && (r.status < lo || r.status > hi))
                fail_msg("%.40s...: status %d not in %d..%d", req, r.status, lo, hi);
        http_response_done(&r);
        assert_alive(f);
}

static void test_malformed_http(void **state) {
        Flotad *f = *state;
        const char *cases[] = {
                "GARBAGE\r\n\r\n",
                "GET\r\n\r\n",
                "GET /update/door HTTP/9.9\r\n\r\n",
                "GET /update/door HTTP/1.1\r\nNoColonHere\r\n\r\n",
                "GET /update/door HTTP/1.1\r\nHost: x\r\nContent-Length: banana\r\n\r\n",
                "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
                expect_raw(f, cases[i], strlen(cases[i]), 400, 505);
}

static void test_oversize_headers(void **state) {
        Flotad *f = *state;
        size_t n = 100000;
        char *req = xmalloc(n + 200);
        int len = sprintf(req, "GET /update/door HTTP/1.1\r\nHost: x\r\nx-ESP8266-version: ");
        memset(req + len, 'a', n);
        len += (int) n;
        len += sprintf(req + len, "\r\n\r\n");
        expect_raw(f, req, (size_t) len, 400, 431);
        free(req);
}

static void test_oversize_bodies(void **state) {
        Flotad *f = *state;
        HttpResponse r;

        /* an image over --max-image-size: refused from Content-Length, nothing stored */
        _cleanup_free_ char *big = make_image(f, "esp8266", "1.0.0", "300K");
        size_t len;
        _cleanup_free_ char *data = slurp(big, &len);
        assert_int_equal(api_call(f, "POST", "/api/v1/releases?product=door&version=1", f->admin_token, data,
                                  len, &r),
                         0);
        assert_int_equal(r.status, 413);
        assert_non_null(strstr(r.body, "too-large"));
        http_response_done(&r);
        /* the same without Content-Length (chunked) */
        _cleanup_free_ char *head =
                xasprintf("POST /api/v1/releases?product=door&version=1 HTTP/1.1\r\nHost: x\r\n"
                          "Authorization: Bearer %s\r\nTransfer-Encoding: chunked\r\n"
                          "Connection: close\r\n\r\n",
                          f->admin_token);
        size_t hl = strlen(head);
        char *req = xmalloc(hl + len + 64);
        memcpy(req, head, hl);
        size_t off = hl + (size_t) sprintf(req + hl, "%zx\r\n", len);
        memcpy(req + off, data, len);
        off += len;
        off += (size_t) sprintf(req + off, "\r\n0\r\n\r\n");
        assert_int_equal(http_raw(f->port, req, off, &r), 0);
        assert_int_equal(r.status, 413);
        http_response_done(&r);
        free(req);
        assert_int_equal(count_files(f), 0);

        /* a JSON body over the limit */
        _cleanup_free_ char *huge =
                xasprintf("POST /api/v1/assignments HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                          "Content-Length: 999999999\r\nConnection: close\r\n\r\n{",
                          f->admin_token);
        assert_int_equal(http_raw(f->port, huge, strlen(huge), &r), 0);
        assert_int_equal(r.status, 413);
        http_response_done(&r);
        assert_alive(f);
}

static void expect_upload(Flotad *f, const char *query, const char *data, size_t len, int status,
                          const char *needle) {
        HttpResponse r;
        _cleanup_free_ char *url = xasprintf("/api/v1/releases?%s", query);

        assert_int_equal(api_call(f, "POST", url, f->admin_token, data, len, &r), 0);
        if (r.status != status || !strstr(r.body, needle))
                fail_msg("upload %s: %d %s (want %d, '%s')", query, r.status, r.body, status, needle);
        http_response_done(&r);
}

static void test_broken_images(void **state) {
        Flotad *f = *state;
        _cleanup_free_ char *path = make_image(f, "esp8266", "1.0.0", "100K");
        size_t len;
        _cleanup_free_ char *img = slurp(path, &len);
        char junk[5000];
        HttpResponse r;

        memset(junk, 'A', sizeof(junk));
        expect_upload(f, "product=door&version=1", junk, sizeof(junk), 422, "not 0xE9");
        expect_upload(f, "product=door&version=1", img, len / 2, 422, "truncated");
        expect_upload(f, "product=door&version=1", img, 20, 422, "truncated");
        expect_upload(f, "product=door&version=1", "", 0, 400, "empty");
        img[len / 2] ^= 0xff;
        expect_upload(f, "product=door&version=1", img, len, 422, "corrupt");
        img[len / 2] ^= 0xff;
        expect_upload(f, "product=door&version=1&platform=esp99", img, len, 400, "platform");
        expect_upload(f, "product=door&version=1&kind=bootloader", img, len, 400, "kind");
        expect_upload(f, "product=door&version=has%20space", img, len, 400, "version");
        expect_upload(f, "product=door&version=1&kind=filesystem", img, len, 400, "platform= is required");

        /* nothing was stored, no release exists */
        assert_int_equal(count_files(f), 0);
        assert_int_equal(api(f, "GET", "/api/v1/releases", NULL, &r), 200);
        assert_string_equal(r.body, "{\"releases\":[]}\n");
        http_response_done(&r);
        /* the good image still goes in */
        expect_upload(f, "product=door&version=1", img, len, 201, "\"size\":");
        assert_int_equal(count_files(f), 1);
}

static void test_invalid_json(void **state) {
        Flotad *f = *state;
        const char *bodies[] = { "", "{", "null", "[1,2]", "{\"name\":", "\xff\xfe", "{\"name\":\"a\"}{" };
        const char *paths[][2] = {
                { "POST", "/api/v1/products" },
                { "PUT", "/api/v1/channels/door/stable" },
                { "PUT", "/api/v1/devices/AA:BB:CC:DD:EE:FF/pin" },
                { "PUT", "/api/v1/devices/AA:BB:CC:DD:EE:FF/labels" },
                { "PUT", "/api/v1/devices/AA:BB:CC:DD:EE:FF/channel" },
                { "POST", "/api/v1/assignments" },
                { "DELETE", "/api/v1/assignments" },
        };
        HttpResponse r;

        for (size_t p = 0; p < sizeof(paths) / sizeof(paths[0]); p++)
                for (size_t b = 0; b < sizeof(bodies) / sizeof(bodies[0]); b++) {
                        int s = api(f, paths[p][0], paths[p][1], bodies[b], &r);
                        if (s != 400 || !strstr(r.body, "\"code\":\"bad-request\""))
                                fail_msg("%s %s with '%s': %d %s", paths[p][0], paths[p][1], bodies[b], s,
                                         r.body);
                        http_response_done(&r);
                }
        /* nothing changed */
        assert_int_equal(api(f, "GET", "/api/v1/devices", NULL, &r), 200);
        assert_string_equal(r.body, "{\"devices\":[],\"next\":null}\n");
        http_response_done(&r);
        assert_int_equal(api(f, "GET", "/api/v1/products", NULL, &r), 200);
        assert_null(strstr(r.body, "\"name\":\"a\""));
        http_response_done(&r);
}

static void test_path_tricks(void **state) {
        Flotad *f = *state;
        HttpResponse r;

        assert_int_equal(api(f, "POST", "/api/v1/products", "{\"name\":\"../../etc\"}", &r), 400);
        http_response_done(&r);
        assert_int_equal(api(f, "POST", "/api/v1/products", "{\"name\":\"a/b\"}", &r), 400);
        http_response_done(&r);
        assert_int_equal(api(f, "PUT", "/api/v1/channels/door/..", "{\"release\":1}", &r), 400);
        http_response_done(&r);
        /* an escaped slash is a slash: the path no longer names a resource */
        assert_int_equal(api(f, "PUT", "/api/v1/devices/..%2F..%2Fx/pin", "{\"release\":1}", &r), 404);
        http_response_done(&r);
        assert_int_equal(api(f, "PUT", "/api/v1/devices/..%2Fx/pin", "{\"release\":1}", &r), 404);
        http_response_done(&r);
        assert_int_equal(api(f, "PUT", "/api/v1/devices/.x/pin", "{\"release\":1}", &r), 400);
        http_response_done(&r);
        assert_int_equal(api(f, "GET", "/api/v1/releases?product=..%2Fdoor", NULL, &r), 200);
        assert_string_equal(r.body, "{\"releases\":[]}\n");
        http_response_done(&r);
        assert_int_equal(api(f, "GET", "/api/v1//products", NULL, &r), 404);
        http_response_done(&r);
}

/* A request with Basic credentials user:password (password may hold a NUL: pass its length). */
static char *poll_with_basic(int port, const char *password, size_t password_len) {
        _cleanup_free_ char *plain = xmalloc(5 + password_len);
        _cleanup_free_ char *b64 = xmalloc(4 * ((5 + password_len + 2) / 3) + 1);
        _cleanup_free_ char *poll =
                esp8266_poll("/update/keyed", port, "AA:BB:CC:00:00:01", "1.0", NULL, 900000, NULL);
        const char *ua = "User-Agent: ESP8266-http-Update\r\n";
        char *at = strstr(poll, ua) + strlen(ua);

        memcpy(plain, "user:", 5);
        memcpy(plain + 5, password, password_len);
        EVP_EncodeBlock((unsigned char *) b64, (const unsigned char *) plain, (int) (5 + password_len));
        return xasprintf("%.*sAuthorization: Basic %s\r\n%s", (int) (at - poll), poll, b64, at);
}

/* A NUL in a JSON string, in a path or query (%00) or in a Basic password is refused with 400. */
static void test_nul_refused(void **state) {
        Flotad *f = *state;
        HttpResponse r;

        assert_int_equal(
                api(f, "POST", "/api/v1/products", "{\"name\":\"keyed\",\"key\":\"secretkey1\"}", &r), 201);
        http_response_done(&r);

        /* JSON: the name would be cut to "lamp" */
        assert_int_equal(api(f, "POST", "/api/v1/products", "{\"name\":\"lamp\\u0000x\"}", &r), 400);
        assert_non_null(strstr(r.body, "NUL"));
        http_response_done(&r);
        /* an escaped backslash followed by u0000 is just text (and then an invalid name) */
        assert_int_equal(api(f, "POST", "/api/v1/products", "{\"name\":\"lamp\\\\u0000\"}", &r), 400);
        assert_null(strstr(r.body, "NUL"));
        http_response_done(&r);
        assert_int_equal(api(f, "GET", "/api/v1/products", NULL, &r), 200);
        assert_null(strstr(r.body, "lamp"));
        http_response_done(&r);

        /* path and query */
        assert_int_equal(
                api(f, "PUT", "/api/v1/devices/AA:BB:CC:DD:EE:01%00x/labels", "{\"labels\":[\"a\"]}", &r),
                400);
        http_response_done(&r);
        assert_int_equal(api(f, "GET", "/api/v1/devices/AA:BB:CC:DD:EE:01", NULL, &r), 404);
        http_response_done(&r);
        assert_int_equal(api(f, "GET", "/api/v1/releases?product=door%00x", NULL, &r), 400);
        http_response_done(&r);

        /* device endpoint: query form key and Basic password */
        _cleanup_free_ char *q = esp8266_poll("/update?k=secretkey1%00junk", f->port, "AA:BB:CC:00:00:01",
                                              "1.0", NULL, 900000, NULL);
        assert_int_equal(http_raw(f->port, q, strlen(q), &r), 0);
        assert_int_equal(r.status, 400);
        http_response_done(&r);
        _cleanup_free_ char *good = poll_with_basic(f->port, "secretkey1", 10);
        assert_int_equal(http_raw(f->port, good, strlen(good), &r), 0);
        assert_int_equal(r.status, 304);
        http_response_done(&r);
        _cleanup_free_ char *bad = poll_with_basic(f->port, "secretkey1\0junk", 15);
        assert_int_equal(http_raw(f->port, bad, strlen(bad), &r), 0);
        assert_int_equal(r.status, 400);
        http_response_done(&r);
}

/* Guessing API tokens from one address: after 30 failures in a minute it gets 429, counted. */
static void test_token_guessing_limited(void **state) {
        Flotad *f = *state;
        HttpResponse r;

        for (int i = 0; i < 30; i++) {
                _cleanup_free_ char *token = xasprintf("guess-%d", i);
                assert_int_equal(api_call(f, "GET", "/api/v1/products", token, NULL, 0, &r), 0);
                assert_int_equal(r.status, 401);
                http_response_done(&r);
        }
        assert_int_equal(api_call(f, "GET", "/api/v1/products", "guess-30", NULL, 0, &r), 0);
        assert_int_equal(r.status, 429);
        assert_non_null(http_header(&r, "Retry-After"));
        http_response_done(&r);
        /* the address is locked out for the rest of the window, whatever it presents */
        assert_int_equal(api(f, "GET", "/api/v1/products", NULL, &r), 429);
        http_response_done(&r);
        assert_int_equal(api_call(f, "GET", "/metrics", NULL, NULL, 0, &r), 0);
        assert_non_null(strstr(r.body, "flotad_auth_failures_total 30\n"));
        assert_non_null(strstr(r.body, "flotad_auth_throttled_total 2\n"));
        http_response_done(&r);
}

/* Guessing a product key by polling: the same limit, on the device endpoint. */
static void test_key_guessing_limited(void **state) {
        Flotad *f = *state;
        HttpResponse r;

        assert_int_equal(
                api(f, "POST", "/api/v1/products", "{\"name\":\"keyed\",\"key\":\"secretkey1\"}", &r), 201);
        http_response_done(&r);
        for (int i = 0; i <= 30; i++) {
                _cleanup_free_ char *path = xasprintf("/update/keyed?k=guess-%d", i);
                _cleanup_free_ char *req =
                        esp8266_poll(path, f->port, "AA:BB:CC:00:00:01", "1.0", NULL, 900000, NULL);
                assert_int_equal(http_raw(f->port, req, strlen(req), &r), 0);
                assert_int_equal(r.status, i < 30 ? 401 : 429);
                http_response_done(&r);
        }
        /* unkeyed products are still answered */
        _cleanup_free_ char *req =
                esp8266_poll("/update/door", f->port, "AA:BB:CC:00:00:02", "1.0", NULL, 900000, NULL);
        assert_int_equal(http_raw(f->port, req, strlen(req), &r), 0);
        assert_int_equal(r.status, 304);
        http_response_done(&r);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_malformed_http, setup, teardown),
                cmocka_unit_test_setup_teardown(test_oversize_headers, setup, teardown),
                cmocka_unit_test_setup_teardown(test_oversize_bodies, setup, teardown),
                cmocka_unit_test_setup_teardown(test_broken_images, setup, teardown),
                cmocka_unit_test_setup_teardown(test_invalid_json, setup, teardown),
                cmocka_unit_test_setup_teardown(test_path_tricks, setup, teardown),
                cmocka_unit_test_setup_teardown(test_nul_refused, setup, teardown),
                cmocka_unit_test_setup_teardown(test_token_guessing_limited, setup, teardown),
                cmocka_unit_test_setup_teardown(test_key_guessing_limited, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
