/* SPDX-License-Identifier: MIT */
/*
 * flota against a server that is not flotad, or a flotad that misbehaves: answers of the wrong
 * shape (foreign JSON, wrong types, not JSON, repeated cursors) give one line "flota: VERB: ..."
 * and exit status 1, never empty rows with exit 0, nor a foreign object passed through --json.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "canned-http.h"
#include "flota/alloc.h"
#include "flotad-harness.h"
#include "tmpdir.h"

#define CHECKIN(id)                                                                                        \
        "{\"id\":" #id ",\"at\":\"2026-11-27T10:00:00Z\",\"device\":\"18:FE:AA:00:00:02\",\"mac\":null,"   \
        "\"product\":\"door\",\"ip\":\"127.0.0.1\",\"chip_id\":null,\"platform\":\"esp8266\",\"version\":" \
        "\"1.0\","                                                                                         \
        "\"sketch_md5\":null,\"sketch_sha256\":null,\"free_space\":null,\"sketch_size\":null,\"chip_"      \
        "size\":null,"                                                                                     \
        "\"sdk\":null,\"mode\":\"sketch\",\"user_agent\":null,\"status\":304,\"reason\":\"no-release\","   \
        "\"release\":null,\"source\":\"none\"}"

typedef struct Ctx {
        CannedHttp http;
        char *dir;
} Ctx;

static int setup(void **state) {
        Ctx *c = xcalloc(1, sizeof(Ctx));

        assert_int_equal(canned_http_start(&c->http), 0);
        c->dir = tmpdir_new();
        *state = c;
        return 0;
}

static int teardown(void **state) {
        Ctx *c = *state;

        canned_http_stop(&c->http);
        tmpdir_remove(c->dir);
        free(c);
        return 0;
}

/* Runs flota against the canned server with args; returns the exit status and all it printed. */
static int flota(Ctx *c, const char *const *args, char **out) {
        char server[64];
        _cleanup_free_ char *db = xasprintf("%s/inventory.db", c->dir);
        const char *argv[24] = { getenv("FLOTA"), "--server", server,      "--token", "t",
                                 "--db",          db,         "--timeout", "5" };
        size_t n = 9;

        snprintf(server, sizeof(server), "http://127.0.0.1:%d", c->http.port);
        for (size_t i = 0; args[i] && n < 23; i++)
                argv[n++] = args[i];
        argv[n] = NULL;
        return run_program((char *const *) argv, true, out);
}

/* With the server answering body, flota args exits 1 with exactly one line "flota: VERB: ...". */
static void expect_refused(Ctx *c, const char *body, const char *verb, const char *const *args) {
        _cleanup_free_ char *prefix = xasprintf("flota: %s: ", verb);
        char *out = NULL;

        canned_http_answer(&c->http, 200, body);
        int rc = flota(c, args, &out);
        const char *nl = strchr(out, '\n');
        if (rc != 1 || strncmp(out, prefix, strlen(prefix)) != 0 || !nl || nl[1] != 0)
                fail_msg("flota %s with answer %s: exit %d (want 1 and one line '%s...'), output: '%s'",
                         args[0], body, rc, prefix, out);
        free(out);
}

static void test_lists_refuse_foreign_json(void **state) {
        Ctx *c = *state;
        const char *foreign[] = {
                "{\"hello\":\"world\"}", "[]", "null", "<html><body>Bad Gateway</body></html>", "",
                "{\"error\":1}",
        };
        static const char *const devices[] = { "devices", NULL }, *const devices_json[] = { "devices",
                                                                                            "--json", NULL };
        static const char *const releases[] = { "releases", NULL }, *const releases_json[] = { "--json",
                                                                                               "releases",
                                                                                               NULL };
        static const char *const channels[] = { "channels", NULL }, *const channels_json[] = { "channels",
                                                                                               "--json",
                                                                                               NULL };
        static const char *const ingest[] = { "ingest", "--from-server", NULL };
        static const char *const device[] = { "device", "18:FE:AA:00:00:01", NULL };
        static const char *const show[] = { "release", "show", "1", NULL };

        for (size_t i = 0; i < ELEMENTSOF(foreign); i++) {
                expect_refused(c, foreign[i], "devices", devices);
                expect_refused(c, foreign[i], "devices", devices_json);
                expect_refused(c, foreign[i], "releases", releases);
                expect_refused(c, foreign[i], "releases", releases_json);
                expect_refused(c, foreign[i], "channels", channels);
                expect_refused(c, foreign[i], "channels", channels_json);
                expect_refused(c, foreign[i], "ingest", ingest);
                expect_refused(c, foreign[i], "device", device);
                expect_refused(c, foreign[i], "release show", show);
        }
}

static void test_lists_refuse_wrong_shapes(void **state) {
        Ctx *c = *state;
        static const char *const devices_json[] = { "devices", "--json", NULL };
        static const char *const releases[] = { "releases", NULL };
        static const char *const channels_json[] = { "--json", "channels", NULL };
        static const char *const ingest[] = { "ingest", "--from-server", NULL };

        /* the right wrapper around the wrong things */
        expect_refused(c, "{\"devices\":{},\"next\":null}", "devices", devices_json);
        expect_refused(c, "{\"devices\":[{\"id\":1}],\"next\":null}", "devices", devices_json);
        expect_refused(c, "{\"devices\":[],\"next\":42}", "devices", devices_json);
        expect_refused(c, "{\"releases\":[{\"id\":\"1\",\"product\":\"door\"}]}", "releases", releases);
        expect_refused(c, "{\"releases\":[1,2]}", "releases", releases);
        expect_refused(c, "{\"channels\":[{\"name\":\"stable\",\"release\":1}]}", "channels", channels_json);
        expect_refused(c, "{\"checkins\":[],\"next\":\"0\"}", "ingest", ingest);
        expect_refused(c, "{\"checkins\":[{\"id\":3}],\"next\":3}", "ingest", ingest);
        /* a cursor that stays behind the ids it came with */
        expect_refused(c, "{\"checkins\":[" CHECKIN(4) "],\"next\":2}", "ingest", ingest);
        /* an error that is not flotad's error body still gives one line */
        canned_http_answer(&c->http, 500, "<html>oops</html>");
        char *out = NULL;
        assert_int_equal(flota(c, releases, &out), 1);
        assert_non_null(strstr(out, "flota: releases: "));
        assert_non_null(strstr(out, "HTTP 500"));
        free(out);
}

/* A server that answers every page of the feed with the same full page: refused, not followed forever. */
static void test_ingest_refuses_a_cursor_that_does_not_advance(void **state) {
        Ctx *c = *state;
        static const char *const ingest[] = { "ingest", "--from-server", "--batch", "1", NULL };
        char *out = NULL;

        canned_http_answer(&c->http, 200, "{\"checkins\":[" CHECKIN(5) "],\"next\":5}");
        int rc = flota(c, ingest, &out);
        if (rc != 1 || !strstr(out, "flota: ingest: ") || !strstr(out, "cursor"))
                fail_msg("exit %d, output: %s", rc, out);
        free(out);
        /* the first page was good and is kept; the second was refused at once */
        assert_int_equal(canned_http_requests(&c->http), 2);
        _cleanup_free_ char *db = xasprintf("%s/inventory.db", c->dir);
        assert_int_equal(sqlite_count(db, "SELECT cursor FROM sources WHERE name LIKE 'flotad:%'"), 5);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_lists_refuse_foreign_json, setup, teardown),
                cmocka_unit_test_setup_teardown(test_lists_refuse_wrong_shapes, setup, teardown),
                cmocka_unit_test_setup_teardown(test_ingest_refuses_a_cursor_that_does_not_advance, setup,
                                                teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
