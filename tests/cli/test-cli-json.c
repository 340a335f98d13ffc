/* SPDX-License-Identifier: MIT */
/*
 * Golden tests of flota's --json output: one real flotad on 127.0.0.1 with a fixed
 * scenario (two products, three releases, channels, ESP8266 and ESP32 devices that poll
 * with the cores' exact requests, labels, a pin, an assignment, a channel override), then
 * every read verb with --json. What legitimately varies from run to run is normalised
 * (times, the server's port); the rest is compared with tests/cli/golden/NAME.json and a
 * difference is shown as a unified diff. FLOTA_GOLDEN_UPDATE=1 rewrites the files instead
 * (see tests/cli/README.md).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "flota/alloc.h"
#include "flota/fileio.h"
#include "flota/strutil.h"
#include "flotad-harness.h"

static const char *golden_dir;
static char *manual; /* flota(1)'s source, for the documented fields */

typedef struct Scenario {
        Flotad f;
        char server[64];
        char *db; /* the inventory, in the test directory */
} Scenario;

/* Runs flota against the scenario's flotad and inventory; stdout only (stderr passes through). */
static int flota(const Scenario *s, const char *const *args, char **ret_out) {
        const char *argv[40] = { getenv("FLOTA"),  "--server", s->server, "--token",
                                 s->f.admin_token, "--db",     s->db };
        size_t n = 7;

        for (size_t i = 0; args[i] && n < 39; i++)
                argv[n++] = args[i];
        argv[n] = NULL;
        return run_program((char *const *) argv, false, ret_out);
}

/* Runs flota and requires exit status 0; returns stdout. */
static char *flota_ok(const Scenario *s, const char *const *args) {
        char *out = NULL;
        int rc = flota(s, args, &out);
        if (rc != 0)
                fail_msg("flota %s %s: exit %d, output: %s", args[0], args[1] ? args[1] : "", rc, out);
        return out;
}

static void api_ok(const Scenario *s, const char *method, const char *path, const char *body, int status) {
        HttpResponse r;
        int got = api(&s->f, method, path, body, &r);
        if (got != status)
                fail_msg("%s %s: HTTP %d (want %d): %s", method, path, got, status, r.body);
        http_response_done(&r);
}

static void poll8266(const Scenario *s, const char *mac, const char *version, const char *md5,
                     long free_space) {
        _cleanup_free_ char *req =
                esp8266_poll("/update/door", s->f.port, mac, version, md5, free_space, NULL);
        HttpResponse r;
        assert_int_equal(http_raw(s->f.port, req, strlen(req), &r), 0);
        http_response_done(&r);
}

static void poll32(const Scenario *s, const char *mac, const char *version) {
        _cleanup_free_ char *req = esp32_poll("/update/lamp", s->f.port, mac, version, NULL, 1 << 21, NULL);
        HttpResponse r;
        assert_int_equal(http_raw(s->f.port, req, strlen(req), &r), 0);
        http_response_done(&r);
}

/* Uploads an image with flota and returns the release's MD5 (malloc'ed). */
static char *upload(const Scenario *s, const char *platform, const char *product, const char *version,
                    const char *size) {
        _cleanup_free_ char *img = make_image(&s->f, platform, version, size);
        _cleanup_free_ char *out =
                flota_ok(s, (const char *[]) { "--json", "release", "upload", img, "--product", product,
                                               "--version", version, NULL });
        cJSON *j = cJSON_Parse(out);
        assert_non_null(j);
        char *md5 = xstrdup(cJSON_GetStringValue(cJSON_GetObjectItem(j, "md5")));
        cJSON_Delete(j);
        return md5;
}

static void build_scenario(Scenario *s) {
        api_ok(s, "POST", "/api/v1/products", "{\"name\":\"door\"}", 201);
        api_ok(s, "POST", "/api/v1/products", "{\"name\":\"lamp\"}", 201);
        _cleanup_free_ char *md5_1 = upload(s, "esp8266", "door", "1.0.0", "64K");
        _cleanup_free_ char *md5_2 = upload(s, "esp8266", "door", "2.0.0", "64K");
        free(upload(s, "esp32", "lamp", "1.1.0", "96K"));
        free(flota_ok(s, (const char *[]) { "promote", "door", "beta", "1", NULL }));
        free(flota_ok(s, (const char *[]) { "promote", "door", "beta", "2", NULL }));
        free(flota_ok(s, (const char *[]) { "promote", "door", "stable", "1", NULL }));
        free(flota_ok(s, (const char *[]) { "promote", "lamp", "stable", "3", NULL }));

        /* one at a time, so check-in ids follow this order */
        poll8266(s, "18:FE:AA:00:00:01", "0.9.0", NULL, 1 << 20);  /* offered 1.0.0 */
        poll8266(s, "18:FE:AA:00:00:02", "1.0.0", md5_1, 1 << 20); /* up to date */
        poll8266(s, "18:FE:AA:00:00:03", "0.9.0", NULL, 4096);     /* image too large */
        poll32(s, "24:0A:C4:00:00:01", "1.0.0");
        poll32(s, "24:0A:C4:00:00:02", "1.1.0");
        assert_int_equal(wait_checkins(&s->f, 5), 5);

        /* through flota: labels go to flotad and into the inventory */
        free(flota_ok(s, (const char *[]) { "label", "18:FE:AA:00:00:01", "wave-1", "attic", NULL }));
        free(flota_ok(s, (const char *[]) { "label", "18:FE:AA:00:00:02", "wave-1", NULL }));
        api_ok(s, "PUT", "/api/v1/devices/24:0A:C4:00:00:02/channel", "{\"channel\":\"beta\"}", 200);
        free(flota_ok(s, (const char *[]) { "pin", "18:FE:AA:00:00:03", "1", NULL }));
        _cleanup_free_ char *list = xasprintf("%s/wave.txt", s->f.dir);
        FILE *fp = fopen(list, "we");
        assert_non_null(fp);
        fputs("18:FE:AA:00:00:02\n", fp);
        fclose(fp);
        free(flota_ok(s, (const char *[]) { "assign", "2", "--devices", list, NULL }));

        /* the first device took 1.0.0 and reports it; the second is offered its assignment */
        poll8266(s, "18:FE:AA:00:00:01", "1.0.0", md5_1, 1 << 20);
        poll8266(s, "18:FE:AA:00:00:02", "1.0.0", md5_1, 1 << 20);
        poll8266(s, "18:FE:AA:00:00:02", "2.0.0", md5_2, 1 << 20);
        assert_int_equal(wait_checkins(&s->f, 8), 8);
}

static int setup(void **state) {
        Scenario *s = xcalloc(1, sizeof(Scenario));

        flotad_init(&s->f);
        if (flotad_start(&s->f, NULL) < 0)
                return -1;
        snprintf(s->server, sizeof(s->server), "http://127.0.0.1:%d", s->f.port);
        s->db = xasprintf("%s/inventory.db", s->f.dir);
        build_scenario(s);
        *state = s;
        return 0;
}

static int teardown(void **state) {
        Scenario *s = *state;
        int r = flotad_finish(&s->f);

        flotad_cleanup(&s->f);
        free(s->db);
        free(s);
        return r;
}

/* The keys whose values are times: replaced by "<time>" when they hold an RFC 3339 UTC time. */
static bool is_time_key(const char *key) {
        static const char *const keys[] = { "at", "created", "updated", "first_seen", "last_seen" };
        for (size_t i = 0; key && i < ELEMENTSOF(keys); i++)
                if (streq(key, keys[i]))
                        return true;
        return false;
}

/* "YYYY-MM-DDTHH:MM:SSZ" exactly; anything else is left for the diff to show. */
static bool is_rfc3339(const char *s) {
        static const char pattern[] = "dddd-dd-ddTdd:dd:ddZ";
        if (strlen(s) != sizeof(pattern) - 1)
                return false;
        for (size_t i = 0; pattern[i]; i++)
                if (pattern[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != pattern[i])
                        return false;
        return true;
}

static void normalize(cJSON *j) {
        cJSON *c;

        cJSON_ArrayForEach(c, j) {
                if (cJSON_IsString(c) && is_time_key(c->string) && is_rfc3339(c->valuestring))
                        assert_non_null(cJSON_SetValuestring(c, "<time>"));
                else if (cJSON_IsString(c) && c->string && streq(c->string, "url")) {
                        /* the server's URL: its port is a free one, chosen at each start */
                        char *colon = strrchr(c->valuestring, ':');
                        if (colon && colon[1] >= '0' && colon[1] <= '9') {
                                _cleanup_free_ char *u = xasprintf(
                                        "%.*s:<port>", (int) (colon - c->valuestring), c->valuestring);
                                assert_non_null(cJSON_SetValuestring(c, u));
                        }
                } else
                        normalize(c);
        }
}

static void write_text(const char *path, const char *text) {
        FILE *fp = fopen(path, "we");
        if (!fp || fputs(text, fp) < 0 || fclose(fp) != 0)
                fail_msg("cannot write %s", path);
}

/* Compares text with the golden file (or rewrites it under FLOTA_GOLDEN_UPDATE=1); diff -u on a mismatch. */
static void compare_golden(const Scenario *s, const char *name, const char *text) {
        _cleanup_free_ char *path = xasprintf("%s/%s.json", golden_dir, name);
        const char *update = getenv("FLOTA_GOLDEN_UPDATE");
        char *expected = NULL;
        size_t len;

        if (update && streq(update, "1")) {
                write_text(path, text);
                print_message("updated %s\n", path);
                return;
        }
        if (read_file(path, 1 << 24, &expected, &len) < 0)
                fail_msg("no golden file %s (FLOTA_GOLDEN_UPDATE=1 creates it)", path);
        bool same = streq(expected, text);
        free(expected);
        if (same)
                return;
        _cleanup_free_ char *actual = xasprintf("%s/%s.actual.json", s->f.dir, name);
        write_text(actual, text);
        const char *diff[] = { "/usr/bin/env", "diff", "-u", path, actual, NULL };
        char *out = NULL;
        (void) run_program((char *const *) diff, true, &out);
        print_error("%s", out);
        free(out);
        fail_msg("flota's --json output for '%s' differs from %s (see the diff above; "
                 "FLOTA_GOLDEN_UPDATE=1 rewrites the golden files)",
                 name, path);
}

/*
 * Every field name must be documented in flota(1)'s JSON OUTPUT (as *name*), so a field added
 * to a golden file without a word in the manual fails. The by_* maps of status hold data as
 * keys (product names, versions), not fields.
 */
static void check_documented(const cJSON *j, const char *name) {
        const cJSON *c;

        cJSON_ArrayForEach(c, j) {
                if (c->string) {
                        _cleanup_free_ char *needle = xasprintf("*%s*", c->string);
                        if (!strstr(manual, needle))
                                fail_msg("'%s' in flota's --json output for '%s' is not documented in "
                                         "share/man/flota.1.scd (JSON OUTPUT)",
                                         c->string, name);
                        if (startswith(c->string, "by_"))
                                continue;
                }
                check_documented(c, name);
        }
}

/* Runs flota --json args, checks it exits 0 with JSON, normalises it and compares it with golden/NAME.json.
 */
static void golden(void **state, const char *name, const char *const *args) {
        Scenario *s = *state;
        const char *argv[32] = { "--json" };
        size_t n = 1;

        for (size_t i = 0; args[i] && n < 31; i++)
                argv[n++] = args[i];
        argv[n] = NULL;
        _cleanup_free_ char *out = flota_ok(s, argv);
        cJSON *j = cJSON_Parse(out);
        if (!j)
                fail_msg("flota %s: not JSON: %s", args[0], out);
        normalize(j);
        check_documented(j, name);
        char *printed = cJSON_Print(j);
        _cleanup_free_ char *text = xasprintf("%s\n", printed);
        free(printed);
        cJSON_Delete(j);
        compare_golden(s, name, text);
}

#define GOLDEN(name, ...)                                                     \
        static void test_##name(void **state) {                               \
                golden(state, #name, (const char *[]) { __VA_ARGS__, NULL }); \
        }

/* ingest first: status and device read the inventory it fills */
GOLDEN(ingest, "ingest", "--from-server")
GOLDEN(ingest_again, "ingest", "--from-server")
GOLDEN(status, "status")
GOLDEN(devices, "devices")
GOLDEN(devices_product, "devices", "--product", "lamp")
GOLDEN(devices_version, "devices", "--version", "1.0.0")
GOLDEN(devices_label, "devices", "--label", "wave-1")
/* after every poll of the scenario: none (the split itself is test-cli's test_devices_seen_since) */
GOLDEN(devices_seen_since, "devices", "--seen-since", "2100-01-01T00:00:00Z")
GOLDEN(devices_limit, "devices", "--limit", "2")
GOLDEN(devices_none, "devices", "--product", "nothing")
GOLDEN(devices_where, "devices", "--where", "platform=esp32 version>=1.1")
GOLDEN(devices_sort, "devices", "--sort", "version", "--reverse")
GOLDEN(devices_server, "devices", "--from-server")
GOLDEN(devices_server_label, "devices", "--from-server", "--label", "wave-1")
GOLDEN(devices_server_limit, "devices", "--from-server", "--limit", "2")
GOLDEN(device, "device", "18feaa000002")
GOLDEN(device_esp32, "device", "24:0A:C4:00:00:02")
GOLDEN(releases, "releases")
GOLDEN(releases_product, "releases", "--product", "door")
GOLDEN(release_show, "release", "show", "2")
GOLDEN(channels, "channels")

/*
 * One table from every source: a poll log adds a device only it saw and an older sighting
 * of a device that polls flotad; the newer version stays, and the sources say who saw each.
 */
static void test_devices_merged(void **state) {
        Scenario *s = *state;
        _cleanup_free_ char *log = xasprintf("%s/access.log", s->f.dir);
        FILE *f = fopen(log, "we");

        assert_non_null(f);
        fputs("10.0.0.3 - - [31/Oct/2026:08:00:00 +0000] \"GET /update/door HTTP/1.1\" 304 0 \"-\" "
              "\"ESP8266-http-Update\" \"18:FE:AA:00:00:03\" \"0.8.0\"\n"
              "10.0.0.9 - - [31/Oct/2026:08:00:01 +0000] \"GET /update/door HTTP/1.1\" 304 0 \"-\" "
              "\"ESP8266-http-Update\" \"18:FE:AA:00:00:09\" \"0.8.0\"\n",
              f);
        fclose(f);
        free(flota_ok(s, (const char *[]) { "ingest", "--log", log, "--format", "nginx-esp", NULL }));
        golden(state, "devices_merged",
               (const char *[]) { "devices", "--where", "mac=18:FE:AA:00:00:03,18:FE:AA:00:00:09", NULL });
}

/* Scripts tell outcomes by the exit status: 0 ok, 1 error, 2 usage; a failure prints no half JSON. */
static void expect_exit(const Scenario *s, const char *const *args, int status) {
        char *out = NULL;
        int rc = flota(s, args, &out);
        if (rc != status || *out)
                fail_msg("flota %s %s: exit %d (want %d), stdout '%s' (want none)", args[1],
                         args[2] ? args[2] : "", rc, status, out);
        free(out);
}

static void test_exit_status(void **state) {
        const Scenario *s = *state;

        expect_exit(s, (const char *[]) { "--json", "release", "show", "99", NULL }, 1);
        expect_exit(s, (const char *[]) { "--json", "device", "18:FE:AA:00:00:99", NULL }, 1);
        expect_exit(s, (const char *[]) { "--json", "device", "not a mac", NULL }, 2);
        expect_exit(s, (const char *[]) { "--json", "devices", "--limit", "0", NULL }, 2);
        expect_exit(s, (const char *[]) { "--json", "devices", "--bogus", NULL }, 2);
        expect_exit(s, (const char *[]) { "--json", "frobnicate", NULL }, 2);
        const char *down[] = { getenv("FLOTA"), "--server", "http://127.0.0.1:9", "--timeout", "2", "--json",
                               "releases",      NULL };
        char *out = NULL;
        assert_int_equal(run_program((char *const *) down, false, &out), 1);
        assert_string_equal(out, "");
        free(out);
}

int main(int argc, char **argv) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_ingest),
                cmocka_unit_test(test_ingest_again),
                cmocka_unit_test(test_status),
                cmocka_unit_test(test_devices),
                cmocka_unit_test(test_devices_product),
                cmocka_unit_test(test_devices_version),
                cmocka_unit_test(test_devices_label),
                cmocka_unit_test(test_devices_seen_since),
                cmocka_unit_test(test_devices_limit),
                cmocka_unit_test(test_devices_none),
                cmocka_unit_test(test_devices_where),
                cmocka_unit_test(test_devices_sort),
                cmocka_unit_test(test_devices_server),
                cmocka_unit_test(test_devices_server_label),
                cmocka_unit_test(test_devices_server_limit),
                cmocka_unit_test(test_devices_merged),
                cmocka_unit_test(test_device),
                cmocka_unit_test(test_device_esp32),
                cmocka_unit_test(test_releases),
                cmocka_unit_test(test_releases_product),
                cmocka_unit_test(test_release_show),
                cmocka_unit_test(test_channels),
                cmocka_unit_test(test_exit_status),
        };

        size_t len;

        if (argc != 3) {
                fprintf(stderr, "usage: %s GOLDEN-DIR MANUAL\n", argv[0]);
                return 2;
        }
        golden_dir = argv[1];
        if (read_file(argv[2], 1 << 20, &manual, &len) < 0) {
                fprintf(stderr, "cannot read %s\n", argv[2]);
                return 1;
        }
        int r = cmocka_run_group_tests(tests, setup, teardown);
        free(manual);
        return r;
}
