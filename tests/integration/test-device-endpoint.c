/* SPDX-License-Identifier: MIT */
/* The device endpoint against a real flotad, with the exact bytes the ESP cores send. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "flota/alloc.h"
#include "flota/hash.h"
#include "flota/image.h"
#include "flotad-harness.h"

#define MAC "DE:BA:7A:B1:E0:42"

typedef struct World {
        Flotad f;
        char *image; /* esp8266 1.0.0 */
        size_t image_len;
        char md5[33];
        long release;
} World;

static long upload(World *w, const char *product, const char *query, const char *data, size_t len) {
        HttpResponse r;
        char *path = xasprintf("/api/v1/releases?product=%s&%s", product, query);

        assert_int_equal(api_call(&w->f, "POST", path, w->f.admin_token, data, len, &r), 0);
        if (r.status != 201)
                fail_msg("upload %s: %d %s", path, r.status, r.body);
        long id = json_int(r.body, "id");
        http_response_done(&r);
        free(path);
        return id;
}

static void promote(World *w, const char *product, const char *channel, long release) {
        HttpResponse r;
        char *path = xasprintf("/api/v1/channels/%s/%s", product, channel);
        char *body = xasprintf("{\"release\": %ld}", release);

        assert_int_equal(api(&w->f, "PUT", path, body, &r), 200);
        http_response_done(&r);
        free(path);
        free(body);
}

static int setup(void **state) {
        World *w = xcalloc(1, sizeof(World));
        HttpResponse r;

        flotad_init(&w->f);
        assert_int_equal(flotad_start(&w->f, NULL), 0);
        assert_int_equal(api(&w->f, "POST", "/api/v1/products", "{\"name\":\"door\"}", &r), 201);
        http_response_done(&r);
        _cleanup_free_ char *path = make_image(&w->f, "esp8266", "1.0.0", "300K");
        w->image = slurp(path, &w->image_len);
        md5_hex(w->image, w->image_len, w->md5);
        *state = w;
        return 0;
}

static int teardown(void **state) {
        World *w = *state;
        assert_int_equal(flotad_finish(&w->f), 0);
        flotad_cleanup(&w->f);
        free(w->image);
        free(w);
        return 0;
}

static int poll8266(World *w, const char *path, const char *version, const char *md5, long free_space,
                    const char *mode, HttpResponse *r) {
        _cleanup_free_ char *req = esp8266_poll(path, w->f.port, MAC, version, md5, free_space, mode);
        assert_int_equal(http_raw(w->f.port, req, strlen(req), r), 0);
        return r->status;
}

static void test_no_release_then_update(void **state) {
        World *w = *state;
        HttpResponse r;

        /* nothing released yet: 304 */
        assert_int_equal(poll8266(w, "/update/door", "0.9.0", NULL, 1 << 20, NULL, &r), 304);
        http_response_done(&r);

        w->release = upload(w, "door", "version=1.0.0", w->image, w->image_len);
        promote(w, "door", "stable", w->release);

        /* 200 with the image, its length and MD5; never chunked */
        assert_int_equal(poll8266(w, "/update/door", "0.9.0", NULL, 1 << 20, NULL, &r), 200);
        assert_string_equal(http_header(&r, "x-MD5"), w->md5);
        assert_int_equal(atol(http_header(&r, "Content-Length")), (long) w->image_len);
        assert_null(http_header(&r, "Transfer-Encoding"));
        assert_null(http_header(&r, "x-SHA256"));
        assert_int_equal(r.body_len, w->image_len);
        assert_memory_equal(r.body, w->image, w->image_len);
        http_response_done(&r);

        /* running that version: 304; running that image under another version string: 304 */
        assert_int_equal(poll8266(w, "/update/door", "1.0.0", NULL, 1 << 20, NULL, &r), 304);
        http_response_done(&r);
        assert_int_equal(poll8266(w, "/update/door", "custom", w->md5, 1 << 20, NULL, &r), 304);
        http_response_done(&r);

        /* does not fit: 304 too-large */
        assert_int_equal(poll8266(w, "/update/door", "0.9.0", NULL, 1000, NULL, &r), 304);
        http_response_done(&r);

        /* filesystem poll with only a sketch release: nothing to offer */
        assert_int_equal(poll8266(w, "/update/door", "0.9.0", NULL, 1 << 20, "spiffs", &r), 304);
        http_response_done(&r);

        /* version query */
        assert_int_equal(poll8266(w, "/update/door", "0.9.0", NULL, 1 << 20, "version", &r), 200);
        assert_string_equal(http_header(&r, "x-version"), "1.0.0");
        http_response_done(&r);

        /* every poll is a check-in, with the reason */
        assert_int_equal(wait_checkins(&w->f, 7), 7);
        assert_int_equal(api(&w->f, "GET", "/api/v1/checkins?after=0", NULL, &r), 200);
        const char *reasons[] = { "no-release", "update",     "up-to-date", "up-to-date",
                                  "too-large",  "no-release", "version" };
        const char *p = r.body;
        for (size_t i = 0; i < 7; i++) {
                char needle[64];
                snprintf(needle, sizeof(needle), "\"reason\":\"%s\"", reasons[i]);
                p = strstr(p, needle);
                if (!p)
                        fail_msg("check-in %zu: no %s in order in %s", i, needle, r.body);
                p++;
        }
        assert_non_null(strstr(r.body, "\"chip_id\":15602487"));
        assert_non_null(strstr(r.body, "\"sdk\":\"2.5.0\""));
        assert_non_null(strstr(r.body, "\"user_agent\":\"ESP8266-http-Update\""));
        http_response_done(&r);

        /* the device row reflects the last poll */
        assert_int_equal(api(&w->f, "GET", "/api/v1/devices/" MAC, NULL, &r), 200);
        assert_non_null(strstr(r.body, "\"last_reason\":\"version\""));
        assert_non_null(strstr(r.body, "\"checkins\":["));
        http_response_done(&r);
}

static void test_esp32(void **state) {
        World *w = *state;
        HttpResponse r;
        char sha[65];

        assert_int_equal(api(&w->f, "POST", "/api/v1/products", "{\"name\":\"lamp\"}", &r), 201);
        http_response_done(&r);
        _cleanup_free_ char *path = make_image(&w->f, "esp32", "3.1.4", "200K");
        size_t len;
        _cleanup_free_ char *img = slurp(path, &len);
        sha256_hex(img, len, sha);
        /* the version comes from the image's app descriptor */
        long id = upload(w, "lamp", "notes=first", img, len);
        promote(w, "lamp", "stable", id);

        _cleanup_free_ char *req =
                esp32_poll("/update/lamp", w->f.port, "24:0A:C4:00:00:01", "3.1.3", NULL, 1 << 21, NULL);
        assert_int_equal(http_raw(w->f.port, req, strlen(req), &r), 0);
        assert_int_equal(r.status, 200);
        assert_string_equal(http_header(&r, "x-SHA256"), sha);
        assert_int_equal(r.body_len, len);
        http_response_done(&r);

        /* the running image's SHA-256 (uppercase, as the core sends it) means up to date */
        for (char *c = sha; *c; c++)
                if (*c >= 'a' && *c <= 'f')
                        *c = (char) (*c - 'a' + 'A');
        _cleanup_free_ char *req2 =
                esp32_poll("/update/lamp", w->f.port, "24:0A:C4:00:00:01", "other", sha, 1 << 21, NULL);
        assert_int_equal(http_raw(w->f.port, req2, strlen(req2), &r), 0);
        assert_int_equal(r.status, 304);
        http_response_done(&r);

        /* an ESP8266 polling for the ESP32 product is never sent the image */
        assert_int_equal(poll8266(w, "/update/lamp", "0.1", NULL, 1 << 22, NULL, &r), 304);
        http_response_done(&r);
        assert_int_equal(wait_checkins(&w->f, 3), 3);
        assert_int_equal(api(&w->f, "GET", "/api/v1/checkins?after=0", NULL, &r), 200);
        assert_non_null(strstr(r.body, "\"reason\":\"wrong-platform\""));
        assert_non_null(strstr(r.body, "\"device\":\"24:0A:C4:00:00:01\""));
        http_response_done(&r);
}

static void test_pin_and_assignment(void **state) {
        World *w = *state;
        HttpResponse r;

        long v1 = upload(w, "door", "version=1.0.0", w->image, w->image_len);
        _cleanup_free_ char *p2 = make_image(&w->f, "esp8266", "2.0.0", "300K");
        size_t len2;
        _cleanup_free_ char *img2 = slurp(p2, &len2);
        long v2 = upload(w, "door", "version=2.0.0", img2, len2);
        promote(w, "door", "stable", v1);

        /* assigned to 2.0.0 (a rollout wave) */
        _cleanup_free_ char *body = xasprintf("{\"release\": %ld, \"devices\": [\"%s\"]}", v2, MAC);
        assert_int_equal(api(&w->f, "POST", "/api/v1/assignments", body, &r), 200);
        http_response_done(&r);
        assert_int_equal(poll8266(w, "/update/door", "1.0.0", NULL, 1 << 20, NULL, &r), 200);
        assert_int_equal(r.body_len, len2);
        http_response_done(&r);

        /* a pin wins over the assignment */
        _cleanup_free_ char *pin = xasprintf("{\"release\": %ld}", v1);
        assert_int_equal(api(&w->f, "PUT", "/api/v1/devices/" MAC "/pin", pin, &r), 200);
        http_response_done(&r);
        assert_int_equal(poll8266(w, "/update/door", "1.0.0", NULL, 1 << 20, NULL, &r), 304);
        http_response_done(&r);

        /* unpinned: the assignment applies again; unassigned: the channel */
        assert_int_equal(api(&w->f, "DELETE", "/api/v1/devices/" MAC "/pin", NULL, &r), 200);
        http_response_done(&r);
        assert_int_equal(poll8266(w, "/update/door", "1.0.0", NULL, 1 << 20, NULL, &r), 200);
        http_response_done(&r);
        _cleanup_free_ char *unassign = xasprintf("{\"devices\": [\"%s\"]}", MAC);
        assert_int_equal(api(&w->f, "DELETE", "/api/v1/assignments", unassign, &r), 200);
        http_response_done(&r);
        assert_int_equal(poll8266(w, "/update/door", "1.0.0", NULL, 1 << 20, NULL, &r), 304);
        http_response_done(&r);

        /* a device on the beta channel */
        promote(w, "door", "beta", v2);
        assert_int_equal(api(&w->f, "PUT", "/api/v1/devices/" MAC "/channel", "{\"channel\":\"beta\"}", &r),
                         200);
        http_response_done(&r);
        assert_int_equal(poll8266(w, "/update/door", "1.0.0", NULL, 1 << 20, NULL, &r), 200);
        assert_int_equal(r.body_len, len2);
        http_response_done(&r);
}

static void test_query_form_and_keys(void **state) {
        World *w = *state;
        HttpResponse r;

        assert_int_equal(api(&w->f, "POST", "/api/v1/products",
                             "{\"name\":\"clock\",\"key\":\"clock-secret-1\"}", &r),
                         201);
        assert_non_null(strstr(r.body, "\"has_key\":true"));
        http_response_done(&r);
        long id = upload(w, "clock", "version=5", w->image, w->image_len);
        promote(w, "clock", "stable", id);

        /* OTAdrive-style query form, no updater headers at all */
        const char *q = "GET /update?k=clock-secret-1&s=15602487&v=4 HTTP/1.0\r\n\r\n";
        assert_int_equal(http_raw(w->f.port, q, strlen(q), &r), 0);
        assert_int_equal(r.status, 200);
        http_response_done(&r);
        q = "GET /update?k=clock-secret-1&s=15602487&v=5 HTTP/1.0\r\n\r\n";
        assert_int_equal(http_raw(w->f.port, q, strlen(q), &r), 0);
        assert_int_equal(r.status, 304);
        http_response_done(&r);
        q = "GET /update?k=wrong-key-999&s=15602487&v=4 HTTP/1.0\r\n\r\n";
        assert_int_equal(http_raw(w->f.port, q, strlen(q), &r), 0);
        assert_int_equal(r.status, 401);
        http_response_done(&r);

        /* path form on a keyed product: no key 401, Basic auth password or k= accepted */
        assert_int_equal(poll8266(w, "/update/clock", "4", NULL, 1 << 20, NULL, &r), 401);
        assert_non_null(http_header(&r, "WWW-Authenticate"));
        http_response_done(&r);
        assert_int_equal(poll8266(w, "/update/clock?k=clock-secret-1", "4", NULL, 1 << 20, NULL, &r), 200);
        http_response_done(&r);
        /* setAuthorization("dev", "clock-secret-1") */
        _cleanup_free_ char *req = esp8266_poll("/update/clock", w->f.port, MAC, "4", NULL, 1 << 20, NULL);
        const char *ua = strstr(req, "User-Agent");
        ua = strchr(ua, '\n') + 1;
        _cleanup_free_ char *with_auth = xasprintf("%.*sAuthorization: Basic ZGV2OmNsb2NrLXNlY3JldC0x\r\n%s",
                                                   (int) (ua - req), req, ua);
        assert_int_equal(http_raw(w->f.port, with_auth, strlen(with_auth), &r), 0);
        assert_int_equal(r.status, 200);
        http_response_done(&r);
}

static void test_rejections(void **state) {
        World *w = *state;
        HttpResponse r;

        /* unknown product */
        assert_int_equal(poll8266(w, "/update/nosuch", "1", NULL, 1 << 20, NULL, &r), 404);
        http_response_done(&r);
        /* a browser, or a client without the updater headers */
        const char *q =
                "GET /update/door HTTP/1.1\r\nHost: x\r\nUser-Agent: curl/8\r\nConnection: close\r\n\r\n";
        assert_int_equal(http_raw(w->f.port, q, strlen(q), &r), 0);
        assert_int_equal(r.status, 403);
        http_response_done(&r);
        /* POST to the device endpoint */
        q = "POST /update/door HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";
        assert_int_equal(http_raw(w->f.port, q, strlen(q), &r), 0);
        assert_int_equal(r.status, 405);
        http_response_done(&r);
        /* a broken MAC and a non-numeric size */
        _cleanup_free_ char *bad_mac =
                esp8266_poll("/update/door", w->f.port, "DE:BA:7A", "1", NULL, 1 << 20, NULL);
        assert_int_equal(http_raw(w->f.port, bad_mac, strlen(bad_mac), &r), 0);
        assert_int_equal(r.status, 400);
        assert_non_null(strstr(r.body, "STA-MAC"));
        http_response_done(&r);
        _cleanup_free_ char *bad_size =
                esp8266_poll("/update/door", w->f.port, MAC, "1", NULL, 1 << 20, NULL);
        char *fs = strstr(bad_size, "free-space: ");
        memcpy(fs + 12, "lots!!!", 7);
        assert_int_equal(http_raw(w->f.port, bad_size, strlen(bad_size), &r), 0);
        assert_int_equal(r.status, 400);
        http_response_done(&r);
        /* path tricks */
        assert_int_equal(poll8266(w, "/update/..", "1", NULL, 1 << 20, NULL, &r), 404);
        http_response_done(&r);
        assert_int_equal(poll8266(w, "/update/door/../../etc/passwd", "1", NULL, 1 << 20, NULL, &r), 404);
        http_response_done(&r);

        /* the rejected polls did not create devices */
        assert_int_equal(api(&w->f, "GET", "/api/v1/devices", NULL, &r), 200);
        assert_null(strstr(r.body, "DE:BA:7A\""));
        http_response_done(&r);
        /* metrics count answers by status */
        assert_int_equal(api(&w->f, "GET", "/metrics", NULL, &r), 200);
        assert_non_null(strstr(r.body, "flotad_polls_total{status=\"403\"} 1"));
        assert_non_null(strstr(r.body, "flotad_polls_total{status=\"400\"} 2"));
        http_response_done(&r);
}

/* A poll refused with 401 or 404 changes no device and creates none; it is counted. */
static void test_refused_polls_change_no_device(void **state) {
        World *w = *state;
        HttpResponse r;

        assert_int_equal(
                api(&w->f, "POST", "/api/v1/products", "{\"name\":\"safe\",\"key\":\"safe-secret-1\"}", &r),
                201);
        http_response_done(&r);
        assert_int_equal(poll8266(w, "/update/safe?k=safe-secret-1", "1.0", w->md5, 1 << 20, NULL, &r), 304);
        http_response_done(&r);
        assert_int_equal(wait_checkins(&w->f, 1), 1);

        /* forged: wrong key, claims another version and MD5 */
        assert_int_equal(poll8266(w, "/update/safe?k=wrong-key-99", "6.6.6-forged",
                                  "66666666666666666666666666666666", 1 << 20, NULL, &r),
                         401);
        http_response_done(&r);
        /* an unknown product would move the device */
        assert_int_equal(poll8266(w, "/update/elsewhere", "6.6.6-forged", NULL, 1 << 20, NULL, &r), 404);
        http_response_done(&r);
        /* made-up products with made-up devices */
        for (int i = 0; i < 20; i++) {
                _cleanup_free_ char *mac = xasprintf("02:00:00:00:00:%02X", i);
                _cleanup_free_ char *path = xasprintf("/update/madeup%d", i);
                _cleanup_free_ char *req = esp8266_poll(path, w->f.port, mac, "1", NULL, 1 << 20, NULL);
                assert_int_equal(http_raw(w->f.port, req, strlen(req), &r), 0);
                assert_int_equal(r.status, 404);
                http_response_done(&r);
        }
        /* an authorised poll after them: once it is written, everything queued before it is too */
        _cleanup_free_ char *req =
                esp8266_poll("/update/door", w->f.port, "02:00:00:00:01:00", "1", NULL, 1 << 20, NULL);
        assert_int_equal(http_raw(w->f.port, req, strlen(req), &r), 0);
        http_response_done(&r);
        assert_int_equal(wait_checkins(&w->f, 2), 2);

        assert_int_equal(api(&w->f, "GET", "/api/v1/devices/" MAC, NULL, &r), 200);
        assert_non_null(strstr(r.body, "\"version\":\"1.0\""));
        assert_non_null(strstr(r.body, "\"product\":\"safe\""));
        assert_null(strstr(r.body, "forged"));
        assert_null(strstr(r.body, "6666"));
        http_response_done(&r);
        assert_int_equal(db_count(&w->f, "SELECT count(*) FROM devices"), 2);
        assert_int_equal(db_count(&w->f, "SELECT count(*) FROM checkins"), 2);
        assert_int_equal(api(&w->f, "GET", "/metrics", NULL, &r), 200);
        assert_non_null(strstr(r.body, "flotad_poll_reasons_total{reason=\"unauthorized\"} 1\n"));
        assert_non_null(strstr(r.body, "flotad_poll_reasons_total{reason=\"unknown-product\"} 21\n"));
        http_response_done(&r);
}

/*
 * After a gzip update the device reports the MD5 of the inflated image (the bootloader
 * inflates it): that is the release it runs, so it is not sent the image again.
 */
static void test_gzip_update_no_reflash_loop(void **state) {
        World *w = *state;
        HttpResponse r;
        uint8_t *img;
        size_t n, gn;
        char md5[MD5_HEX_LEN + 1];

        image_build_esp8266_core(ESP8266_LAYOUT_CORE_3X, "2.0.0", 200000, 4, &img, &n);
        md5_hex(img, n, md5);
        _cleanup_free_ char *tmp = xasprintf("%s/img.bin", w->f.dir);
        FILE *o = fopen(tmp, "w");
        assert_int_equal(fwrite(img, 1, n, o), n);
        fclose(o);
        _cleanup_free_ char *cmd = xasprintf("gzip -9 -k -f '%s'", tmp);
        assert_int_equal(system(cmd), 0);
        _cleanup_free_ char *gzpath = xasprintf("%s.gz", tmp);
        _cleanup_free_ char *gz = slurp(gzpath, &gn);
        long id = upload(w, "door", "version=2.0.0", gz, gn);
        promote(w, "door", "stable", id);

        /* update(client, url) without a version: only the MD5 says what runs */
        assert_int_equal(poll8266(w, "/update/door", NULL, w->md5, 1 << 20, NULL, &r), 200);
        http_response_done(&r);
        assert_int_equal(poll8266(w, "/update/door", NULL, md5, 1 << 20, NULL, &r), 304);
        http_response_done(&r);
        free(img);
}

/* The device's "polls" in GET /devices/<id>, once it reaches n (bounded wait), else what it is. */
static long wait_polls(World *w, const char *id, long n) {
        _cleanup_free_ char *path = xasprintf("/api/v1/devices/%s", id);
        long polls = -1;

        for (int i = 0; i < 200 && polls < n; i++) {
                HttpResponse r;
                if (api(&w->f, "GET", path, NULL, &r) == 200)
                        polls = json_int(r.body, "polls");
                http_response_done(&r);
                if (polls < n) {
                        struct timespec ts = { .tv_nsec = 50 * 1000000L };
                        nanosleep(&ts, NULL);
                }
        }
        return polls;
}

/* Unchanged polls are counted on the device ("polls") and add no check-in; a change does. */
static void test_unchanged_polls_counted(void **state) {
        World *w = *state;
        HttpResponse r;

        for (int i = 0; i < 5; i++) {
                assert_int_equal(poll8266(w, "/update/door", "1.0", w->md5, 1 << 20, NULL, &r), 304);
                http_response_done(&r);
        }
        assert_int_equal(wait_polls(w, MAC, 5), 5);
        assert_int_equal(db_count(&w->f, "SELECT count(*) FROM checkins"), 1);
        /* a new version is a change: in the feed */
        assert_int_equal(poll8266(w, "/update/door", "1.1", w->md5, 1 << 20, NULL, &r), 304);
        http_response_done(&r);
        assert_int_equal(wait_polls(w, MAC, 6), 6);
        assert_int_equal(wait_checkins(&w->f, 2), 2);
        /* the list has the counter too */
        assert_int_equal(api(&w->f, "GET", "/api/v1/devices", NULL, &r), 200);
        assert_non_null(strstr(r.body, "\"polls\":6"));
        http_response_done(&r);
}

static char *device_json(World *w) {
        HttpResponse r;
        assert_int_equal(api(&w->f, "GET", "/api/v1/devices/" MAC, NULL, &r), 200);
        char *body = xstrdup(r.body);
        http_response_done(&r);
        return body;
}

/* A filesystem-mode poll's version is the filesystem's: the sketch's version stays, the filesystem's is
 * apart. */
static void test_sketch_and_filesystem_apart(void **state) {
        World *w = *state;
        HttpResponse r;

        assert_int_equal(poll8266(w, "/update/door", "1.0", w->md5, 1 << 20, NULL, &r), 304);
        http_response_done(&r);
        assert_int_equal(poll8266(w, "/update/door", "fs-7", w->md5, 1 << 20, "spiffs", &r), 304);
        http_response_done(&r);
        assert_int_equal(wait_polls(w, MAC, 2), 2);
        _cleanup_free_ char *d = device_json(w);
        if (!strstr(d, "\"version\":\"1.0\"") ||
            !strstr(d, "\"filesystem\":{\"version\":\"fs-7\",\"md5\":null,\"updated\":null}"))
                fail_msg("device after a sketch and a filesystem poll: %s", d);

        /* a filesystem image sent in full: its MD5 and the time */
        char fs_md5[MD5_HEX_LEN + 1], fs[65536];
        for (size_t i = 0; i < sizeof(fs); i++)
                fs[i] = (char) (i * 7 + 3);
        long id = upload(w, "door", "kind=filesystem&platform=esp8266&version=fs-8", fs, sizeof(fs));
        promote(w, "door", "stable", id);
        md5_hex(fs, sizeof(fs), fs_md5);
        assert_int_equal(poll8266(w, "/update/door", "fs-7", w->md5, 1 << 20, "spiffs", &r), 200);
        http_response_done(&r);
        assert_int_equal(wait_polls(w, MAC, 3), 3);
        _cleanup_free_ char *after = device_json(w);
        _cleanup_free_ char *want =
                xasprintf("\"filesystem\":{\"version\":\"fs-7\",\"md5\":\"%s\",\"updated\":\"", fs_md5);
        if (!strstr(after, want) || !strstr(after, "\"version\":\"1.0\""))
                fail_msg("device after a filesystem update: %s", after);
}

/* Sends a poll and reads only the first bytes of the answer, then hangs up. */
static void poll_and_hang_up(World *w, const char *req) {
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t) w->f.port) };
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        char buf[512];
        int small = 4096;

        inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
        assert_int_equal(connect(fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
        assert_int_equal(send(fd, req, strlen(req), 0), (ssize_t) strlen(req));
        assert_true(recv(fd, buf, sizeof(buf), 0) > 0);
        /* an abortive close: the rest of the image cannot be delivered */
        struct linger lg = { .l_onoff = 1, .l_linger = 0 };
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
        close(fd);
}

static void test_interrupted_download(void **state) {
        World *w = *state;
        HttpResponse r;

        /* a large image, so the server cannot hand it all to the socket at once */
        _cleanup_free_ char *path = make_image(&w->f, "esp8266", "9.0.0", "4M");
        size_t len;
        _cleanup_free_ char *img = slurp(path, &len);
        long id = upload(w, "door", "version=9.0.0", img, len);
        promote(w, "door", "stable", id);

        _cleanup_free_ char *req =
                esp8266_poll("/update/door", w->f.port, MAC, "1.0.0", NULL, 8 << 20, NULL);
        poll_and_hang_up(w, req);
        /* its check-in is written when flotad sees the transfer end: under load that can come
         * after a second transfer ended, so wait for it to keep the order this test reads */
        assert_int_equal(wait_checkins(&w->f, 1), 1);
        /* the complete download after it */
        assert_int_equal(poll8266(w, "/update/door", "1.0.0", NULL, 8 << 20, NULL, &r), 200);
        assert_int_equal(r.body_len, len);
        http_response_done(&r);

        assert_int_equal(wait_checkins(&w->f, 2), 2);
        assert_int_equal(api(&w->f, "GET", "/api/v1/checkins?after=0", NULL, &r), 200);
        const char *aborted = strstr(r.body, "\"reason\":\"update-aborted\"");
        const char *done = strstr(r.body, "\"reason\":\"update\"");
        if (!aborted || !done || aborted > done)
                fail_msg("expected update-aborted then update: %s", r.body);
        http_response_done(&r);
        assert_int_equal(api(&w->f, "GET", "/metrics", NULL, &r), 200);
        assert_non_null(strstr(r.body, "flotad_poll_reasons_total{reason=\"update-aborted\"} 1"));
        char bytes[96];
        snprintf(bytes, sizeof(bytes), "flotad_image_bytes_served_total %zu\n", len);
        assert_non_null(strstr(r.body, bytes));
        http_response_done(&r);
}

static void test_http10_and_keepalive(void **state) {
        World *w = *state;
        HttpResponse r;
#define POLL_HEADERS                                                                          \
        "User-Agent: ESP8266-http-Update\r\nx-ESP8266-STA-MAC: DE:BA:7A:B1:E0:43\r\n"         \
        "x-ESP8266-free-space: 100\r\nx-ESP8266-sketch-size: 1\r\nx-ESP8266-chip-size: 1\r\n" \
        "x-ESP8266-sdk-version: 1\r\nx-ESP8266-mode: sketch\r\n"

        /* HTTP/1.0, no Host: one answer, then the server closes (http_raw reads until it does) */
        const char *q10 = "GET /update/door HTTP/1.0\r\n" POLL_HEADERS "\r\n";
        assert_int_equal(http_raw(w->f.port, q10, strlen(q10), &r), 0);
        assert_int_equal(r.status, 304);
        assert_int_equal(r.body_len, 0);
        http_response_done(&r);

        /* HTTP/1.1 without "Connection: close" (keep-alive by default): one complete answer, not chunked,
         * and flotad says it closes (a poll is one request a connection), so the client never waits on it */
        const char *q11 = "GET /update/door HTTP/1.1\r\nHost: x\r\n" POLL_HEADERS "\r\n";
        assert_int_equal(http_raw(w->f.port, q11, strlen(q11), &r), 0);
        assert_int_equal(r.status, 304);
        assert_null(strcasestr(r.head, "Transfer-Encoding"));
        if (!strcasestr(r.head, "Connection: close"))
                fail_msg("a keep-alive poll's answer does not say the connection closes: %s", r.head);
        assert_int_equal(r.body_len, 0);
        http_response_done(&r);
#undef POLL_HEADERS
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_no_release_then_update, setup, teardown),
                cmocka_unit_test_setup_teardown(test_esp32, setup, teardown),
                cmocka_unit_test_setup_teardown(test_pin_and_assignment, setup, teardown),
                cmocka_unit_test_setup_teardown(test_query_form_and_keys, setup, teardown),
                cmocka_unit_test_setup_teardown(test_rejections, setup, teardown),
                cmocka_unit_test_setup_teardown(test_refused_polls_change_no_device, setup, teardown),
                cmocka_unit_test_setup_teardown(test_gzip_update_no_reflash_loop, setup, teardown),
                cmocka_unit_test_setup_teardown(test_unchanged_polls_counted, setup, teardown),
                cmocka_unit_test_setup_teardown(test_sketch_and_filesystem_apart, setup, teardown),
                cmocka_unit_test_setup_teardown(test_http10_and_keepalive, setup, teardown),
                cmocka_unit_test_setup_teardown(test_interrupted_download, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
