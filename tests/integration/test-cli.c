/* SPDX-License-Identifier: MIT */
/* The headless flota against a real flotad: the server-backed verbs, their --json, errors and exit codes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sqlite3.h>
#include <string.h>
#include <unistd.h>

#include "flota/alloc.h"
#include "flotad-harness.h"

typedef struct Ctx {
        Flotad *f;
        char server[64];
} Ctx;

/*
 * Runs flota with --server/--token of the fixture and an inventory in the test directory (tests
 * never touch the user's own), then args; returns the exit status and the output.
 */
static int flota(const Flotad *f, const char *token, const char *const *args, char **out) {
        char server[64];
        _cleanup_free_ char *db = xasprintf("%s/default-inventory.db", f->dir);
        const char *argv[40] = { getenv("FLOTA"), "--server", server, "--token", token, "--db", db };
        size_t n = 7;

        snprintf(server, sizeof(server), "http://127.0.0.1:%d", f->port);
        for (size_t i = 0; args[i] && n < 39; i++)
                argv[n++] = args[i];
        argv[n] = NULL;
        return run_program((char *const *) argv, true, out);
}

static void expect(const Flotad *f, const char *const *args, int status, const char *needle) {
        char *out = NULL;
        int rc = flota(f, f->admin_token, args, &out);
        if (rc != status || (needle && !strstr(out, needle)))
                fail_msg("flota %s %s: exit %d (want %d), output: %s", args[0], args[1] ? args[1] : "", rc,
                         status, out);
        free(out);
}

static void test_release_and_channel_verbs(void **state) {
        Flotad *f = *state;
        HttpResponse r;

        assert_int_equal(api(f, "POST", "/api/v1/products", "{\"name\":\"door\"}", &r), 201);
        http_response_done(&r);
        _cleanup_free_ char *img = make_image(f, "esp8266", "2.0.0", "100K");

        expect(f, (const char *[]) { "releases", NULL }, 0, "ID  PRODUCT");
        expect(f,
               (const char *[]) { "release", "upload", img, "--product", "door", "--version", "2.0.0",
                                  NULL },
               0, "release 1: door 2.0.0");
        expect(f,
               (const char *[]) { "release", "upload", img, "--product", "door", "--version", "2.0.0",
                                  NULL },
               1, "already has");
        expect(f, (const char *[]) { "release", "upload", img, "--product", "door", NULL }, 1,
               "version= is required");
        expect(f, (const char *[]) { "release", "upload", "/nonexistent.bin", "--product", "door", NULL }, 1,
               "cannot read /nonexistent.bin");
        expect(f, (const char *[]) { "releases", "--json", NULL }, 0, "\"version\":\t\"2.0.0\"");
        expect(f, (const char *[]) { "release", "show", "1", NULL }, 0, "md5");
        expect(f, (const char *[]) { "release", "show", "9", NULL }, 1, "not found");
        expect(f, (const char *[]) { "promote", "door", "stable", "1", NULL }, 0,
               "door/stable now serves release 1");
        expect(f, (const char *[]) { "channels", NULL }, 0, "door     stable");
        expect(f, (const char *[]) { "--json", "channels", NULL }, 0, "\"name\":\t\"stable\"");
        expect(f, (const char *[]) { "promote", "door", "stable", "x", NULL }, 2, "not a release id");
}

static void test_device_verbs(void **state) {
        Flotad *f = *state;
        HttpResponse r;

        assert_int_equal(api(f, "POST", "/api/v1/products", "{\"name\":\"door\"}", &r), 201);
        http_response_done(&r);
        for (int i = 0; i < 3; i++) {
                char mac[18];
                snprintf(mac, sizeof(mac), "18:FE:AA:00:00:%02X", i);
                _cleanup_free_ char *req =
                        esp8266_poll("/update/door", f->port, mac, "1.0", NULL, 1 << 20, NULL);
                assert_int_equal(http_raw(f->port, req, strlen(req), &r), 0);
                http_response_done(&r);
        }
        assert_int_equal(wait_checkins(f, 3), 3);
        _cleanup_free_ char *img = make_image(f, "esp8266", "2.0.0", "100K");
        expect(f,
               (const char *[]) { "release", "upload", img, "--product", "door", "--version", "2.0.0",
                                  NULL },
               0, NULL);

        /* the inventory's table, after reading flotad's feed; and flotad's own list */
        expect(f, (const char *[]) { "devices", NULL }, 0, "18:FE:AA:00:00:02  -     door");
        expect(f, (const char *[]) { "devices", "--from-server", NULL }, 0, "18:FE:AA:00:00:02  door");
        expect(f, (const char *[]) { "devices", "--json", "--limit", "2", NULL }, 0,
               "\"id\":\t\"18:FE:AA:00:00:01\"");
        expect(f, (const char *[]) { "devices", "--version", "9.9", NULL }, 0, NULL);
        expect(f, (const char *[]) { "device", "18feaa000001", NULL }, 0, "recent check-ins:");
        expect(f, (const char *[]) { "device", "not a mac", NULL }, 2, "not a MAC address");
        /* global options after the verb's arguments, as --json always was */
        expect(f, (const char *[]) { "device", "18feaa000001", "--color=never", NULL }, 0,
               "recent check-ins:");
        expect(f, (const char *[]) { "device", "18feaa000001", "--color", "never", "--json", NULL }, 0,
               "\"checkins\":");
        expect(f, (const char *[]) { "devices", "--product", "door", "--color=always", NULL }, 0,
               "\033[1mDEVICE");
        expect(f, (const char *[]) { "device", "18feaa000001", "--color=sometimes", NULL }, 2,
               "--color expects");
        expect(f, (const char *[]) { "device", "18feaa000001", "--colour", NULL }, 2, "expected MAC");
        /* a device flotad does not know is an error (exit 1), not a usage error */
        expect(f, (const char *[]) { "device", "18feaa0000ff", NULL }, 1, "not found");
        expect(f, (const char *[]) { "pin", "18:FE:AA:00:00:01", "1", NULL }, 0, "pinned to release 1");
        expect(f, (const char *[]) { "unpin", "18:FE:AA:00:00:01", NULL }, 0, "unpinned");
        expect(f, (const char *[]) { "pin", "18:FE:AA:00:00:01", "77", NULL }, 1, "not found");

        _cleanup_free_ char *list = xasprintf("%s/devices.txt", f->dir);
        FILE *fp = fopen(list, "w");
        fputs("# the first wave\n18:FE:AA:00:00:00\n\n18feaa000002\n", fp);
        fclose(fp);
        expect(f, (const char *[]) { "assign", "1", "--devices", list, NULL }, 0,
               "2 devices assigned to release 1");
        fp = fopen(list, "a");
        fputs("bad line\n", fp);
        fclose(fp);
        expect(f, (const char *[]) { "assign", "1", "--devices", list, NULL }, 1, ":5: 'bad line'");
        assert_int_equal(api(f, "GET", "/api/v1/devices/18:FE:AA:00:00:02", NULL, &r), 200);
        assert_non_null(strstr(r.body, "\"assigned\":1"));
        http_response_done(&r);
}

static void test_errors_and_config(void **state) {
        Flotad *f = *state;
        char *out = NULL;

        /* every verb answers --help (or -h) with its line of the help, exit 0, doing nothing else */
        expect(f, (const char *[]) { "devices", "--help", NULL }, 0, "Usage: flota devices [--product P]");
        expect(f, (const char *[]) { "rollout", "create", "r", "-h", NULL }, 0,
               "Usage: flota rollout create|plan");
        expect(f, (const char *[]) { "promote", "--help", NULL }, 0, "See flota(1) for the details.");

        /* a wrong token says so; a read token may read but not write */
        assert_int_equal(flota(f, "flota_wrong", (const char *[]) { "releases", NULL }, &out), 1);
        assert_non_null(strstr(out, "rejected the API token"));
        free(out);
        assert_int_equal(flota(f, f->read_token, (const char *[]) { "releases", NULL }, &out), 0);
        free(out);
        assert_int_equal(flota(f, f->read_token, (const char *[]) { "promote", "a", "b", "1", NULL }, &out),
                         1);
        assert_non_null(strstr(out, "may only read"));
        free(out);

        /* an unreachable server: one line naming it, exit 1 */
        const char *down[] = { getenv("FLOTA"), "--server", "http://127.0.0.1:9", "--timeout", "2",
                               "releases",      NULL };
        assert_int_equal(run_program((char *const *) down, true, &out), 1);
        assert_non_null(strstr(out, "cannot connect to http://127.0.0.1:9"));
        free(out);

        /* usage errors exit 2 */
        expect(f, (const char *[]) { "frobnicate", NULL }, 2, "unknown verb");
        expect(f, (const char *[]) { "releases", "--bogus", NULL }, 2, NULL);
        const char *bare[] = { getenv("FLOTA"), NULL };
        assert_int_equal(run_program((char *const *) bare, true, &out), 2);
        assert_non_null(strstr(out, "Verbs:"));
        free(out);

        /* the config file supplies server and token; a broken one is refused with its line */
        _cleanup_free_ char *conf = xasprintf("%s/config", f->dir);
        FILE *fp = fopen(conf, "w");
        fprintf(fp, "[flota]\nserver = http://127.0.0.1:%d\ntoken = %s\n", f->port, f->admin_token);
        fclose(fp);
        const char *with_conf[] = { getenv("FLOTA"), "--config", conf, "channels", NULL };
        assert_int_equal(run_program((char *const *) with_conf, true, &out), 0);
        free(out);
        fp = fopen(conf, "a");
        fputs("colour = blue\n", fp);
        fclose(fp);
        assert_int_equal(run_program((char *const *) with_conf, true, &out), 2);
        assert_non_null(strstr(out, "config:4: unknown setting 'colour'"));
        free(out);
}

static void test_ingest_and_status(void **state) {
        Flotad *f = *state;
        _cleanup_free_ char *db = xasprintf("%s/inventory/flota.db", f->dir);
        char server[64], *out = NULL;
        HttpResponse r;

        assert_int_equal(api(f, "POST", "/api/v1/products", "{\"name\":\"door\"}", &r), 201);
        http_response_done(&r);
        _cleanup_free_ char *img = make_image(f, "esp8266", "2.0.0", "50K");
        expect(f,
               (const char *[]) { "release", "upload", img, "--product", "door", "--version", "2.0.0",
                                  NULL },
               0, NULL);
        expect(f, (const char *[]) { "promote", "door", "stable", "1", NULL }, 0, NULL);
        snprintf(server, sizeof(server), "http://127.0.0.1:%d", f->port);
        const char *sim[] = { getenv("FLOTA_SIM"),
                              "--server",
                              server,
                              "--devices",
                              "300",
                              "--product",
                              "door",
                              "--interval",
                              "0.2",
                              "--until-version",
                              "2.0.0",
                              "--duration",
                              "30",
                              "--json",
                              NULL };
        assert_int_equal(run_program((char *const *) sim, false, &out), 0);
        long polls = json_int(out, "polls");
        free(out);
        /* the last batch of check-ins: every poll the fleet made is counted on its device */
        assert_int_equal(wait_db_count(f, "SELECT coalesce(sum(polls), 0) FROM devices", polls), polls);
        long total = db_count(f, "SELECT count(*) FROM checkins");
        assert_true(total >= 600);

        /* kill the ingest at growing moments; each run resumes where the last commit left it */
        _cleanup_free_ char *progress = xasprintf("SELECT coalesce(max(ingested), 0) FROM sources");
        bool interrupted = false;
        for (int i = 0; i < 30 && !interrupted; i++) {
                _cleanup_free_ char *cmd =
                        xasprintf("timeout -s KILL 0.%03d '%s' --server %s --token %s --db '%s' "
                                  "ingest --batch 10 >/dev/null 2>&1",
                                  5 + 4 * i, getenv("FLOTA"), server, f->admin_token, db);
                (void) !system(cmd);
                long n = access(db, F_OK) == 0 ? sqlite_count(db, progress) : 0;
                /* a run that died with part of the feed committed */
                interrupted = n > 0 && n < total;
        }
        if (!interrupted)
                fail_msg("no run was killed in the middle of the feed");
        const char *args[] = { "--db", db, "ingest", NULL };
        expect(f, args, 0, "check-ins from");
        /* every check-in counted exactly once, whatever the kills did */
        _cleanup_free_ char *src =
                xasprintf("SELECT ingested FROM sources WHERE name = 'flotad:%s'", server);
        assert_int_equal(sqlite_count(db, src), total);
        assert_int_equal(sqlite_count(db, "SELECT count(*) FROM devices"), 300);
        /* each device: its first version and 2.0.0 */
        assert_int_equal(sqlite_count(db, "SELECT count(*) FROM version_history"), 600);
        const char *again[] = { "--db", db, "ingest", "--json", NULL };
        expect(f, again, 0, "\"checkins\":\t0");

        /* the device's history as the inventory saw it */
        _cleanup_free_ char *some = NULL;
        assert_int_equal(api(f, "GET", "/api/v1/devices?limit=1", NULL, &r), 200);
        const char *idp = strstr(r.body, "\"id\":\"");
        assert_non_null(idp);
        some = xstrndup(idp + 6, 17);
        http_response_done(&r);
        const char *dev[] = { "--db", db, "device", some, NULL };
        expect(f, dev, 0, "2.0.0        seen by flotad");

        const char *status[] = { "--db", db, "status", NULL };
        expect(f, status, 0, "versions     2.0.0 300");
        const char *status_json[] = { "--db", db, "status", "--json", NULL };
        expect(f, status_json, 0, "\"reachable\":\ttrue");
        /* an unreachable server is reported, the inventory still shown */
        const char *down[] = {
                getenv("FLOTA"), "--server", "http://127.0.0.1:9", "--db", db, "status", NULL
        };
        assert_int_equal(run_program((char *const *) down, true, &out), 0);
        assert_non_null(strstr(out, "does not answer"));
        assert_non_null(strstr(out, "devices      300"));
        free(out);

        /* an inventory whose rollouts cannot be read: one clear line, not whatever was in memory */
        sqlite3 *sdb;
        assert_int_equal(sqlite3_open(db, &sdb), SQLITE_OK);
        sqlite3_busy_timeout(sdb, 5000);
        assert_int_equal(sqlite3_exec(sdb, "ALTER TABLE rollouts DROP COLUMN last_offer", NULL, NULL, NULL),
                         SQLITE_OK);
        sqlite3_close(sdb);
        const char *ingest[] = { "--db", db, "ingest", "--from-server", NULL };
        expect(f, ingest, 1,
               "flota: ingest: reading the inventory's rollouts failed: no such column: last_offer");
}

/* Every action flota takes on the server lands in the inventory's audit log, newest first. */
static void test_audit(void **state) {
        Flotad *f = *state;
        HttpResponse r;
        char *out = NULL;

        assert_int_equal(api(f, "POST", "/api/v1/products", "{\"name\":\"door\"}", &r), 201);
        http_response_done(&r);
        _cleanup_free_ char *img = make_image(f, "esp8266", "3.0.0", "40K");
        _cleanup_free_ char *list = xasprintf("%s/devices.txt", f->dir);
        FILE *fp = fopen(list, "w");
        fputs("AA:BB:CC:00:00:01\naabbcc000002\n", fp);
        fclose(fp);
        expect(f, (const char *[]) { "audit", NULL }, 0, NULL); /* nothing yet: an empty table */
        expect(f,
               (const char *[]) { "release", "upload", img, "--product", "door", "--version", "3.0.0",
                                  NULL },
               0, NULL);
        expect(f, (const char *[]) { "promote", "door", "stable", "1", NULL }, 0, NULL);
        expect(f, (const char *[]) { "pin", "AA:BB:CC:00:00:01", "1", NULL }, 0, NULL);
        expect(f, (const char *[]) { "unpin", "AA:BB:CC:00:00:01", NULL }, 0, NULL);
        expect(f, (const char *[]) { "assign", "1", "--devices", list, NULL }, 0, NULL);
        expect(f, (const char *[]) { "label", "aabbcc000001", "site=north", "floor:2", NULL }, 0,
               "AA:BB:CC:00:00:01 labels: floor:2,site=north");
        expect(f, (const char *[]) { "devices", "--from-server", "--label", "site=north", NULL }, 0,
               "AA:BB:CC:00:00:01");
        expect(f, (const char *[]) { "label", "aabbcc000001", "bad label", NULL }, 2, "is not a label");
        /* a refused action is not recorded */
        expect(f, (const char *[]) { "promote", "door", "stable", "99", NULL }, 1, NULL);

        assert_int_equal(flota(f, f->admin_token, (const char *[]) { "audit", "--json", NULL }, &out), 0);
        const char *order[] = { "\"label\"", "\"assign\"",  "\"unpin\"",
                                "\"pin\"",   "\"promote\"", "\"release upload\"" };
        const char *at = out;
        for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
                at = strstr(at, order[i]);
                if (!at)
                        fail_msg("audit: %s missing or out of order in %s", order[i], out);
        }
        assert_non_null(strstr(out, "2 devices -> release 1 on http://127.0.0.1:"));
        assert_null(strstr(out, "release 99"));
        free(out);
        expect(f, (const char *[]) { "audit", "--limit", "2", NULL }, 0, "assign");
        expect(f, (const char *[]) { "audit", "--limit", "0", NULL }, 2, "--limit");
}

/*
 * Fails when out holds a byte a terminal acts on: ESC, BEL, CR, or (with c1) a C1 control in
 * UTF-8. JSON escapes C0 controls only: U+0080..U+009F are valid JSON text as they are.
 */
static void assert_no_controls(const char *what, const char *out, bool c1_too) {
        for (const unsigned char *p = (const unsigned char *) out; *p; p++) {
                bool c1 = c1_too && p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f;
                if (*p == 0x1b || *p == 0x07 || *p == '\r' || c1)
                        fail_msg("%s: a raw control byte 0x%02x reached the output at offset %zu: %s", what,
                                 c1 ? p[1] : *p, (size_t) (p - (const unsigned char *) out), out);
        }
}

/* Runs flota args (stdout and stderr) and checks its exit status, that no control byte came through and
 * needle did. */
static void expect_escaped(const Flotad *f, const char *const *args, int status, const char *needle) {
        char *out = NULL;
        int rc = flota(f, f->admin_token, args, &out);
        if (rc != status || (needle && !strstr(out, needle)))
                fail_msg("flota %s %s: exit %d (want %d), output: %s", args[0], args[1] ? args[1] : "", rc,
                         status, out);
        assert_no_controls(args[0], out, true);
        free(out);
}

/*
 * Text from outside (release notes, device rows, file names, server errors) with ESC, OSC, BEL, CR
 * and C1 controls, through a real flotad: the terminal output shows them escaped, --json as JSON does.
 */
static void test_outside_text_escaped(void **state) {
        Flotad *f = *state;
        HttpResponse r;
        size_t len;
        char *out = NULL;

        assert_int_equal(api(f, "POST", "/api/v1/products", "{\"name\":\"door\"}", &r), 201);
        http_response_done(&r);
        _cleanup_free_ char *img = make_image(f, "esp8266", "1.0.0", "20K");
        _cleanup_free_ char *data = slurp(img, &len);
        /* notes: OSC "set title" ended by BEL, then CR, then CSI as a C1 control (U+009B) */
        assert_int_equal(
                api_call(f, "POST",
                         "/api/v1/releases?product=door&version=1.0.0&notes=%1B%5D0%3Bpwned%07%0D%C2%9B2J",
                         f->admin_token, data, len, &r),
                0);
        assert_int_equal(r.status, 201);
        http_response_done(&r);

        expect_escaped(f, (const char *[]) { "release", "show", "1", NULL }, 0,
                       "\\x1b]0;pwned\\x07\\x0d\\x9b2J");
        assert_int_equal(
                flota(f, f->admin_token, (const char *[]) { "release", "show", "1", "--json", NULL }, &out),
                0);
        assert_no_controls("release show --json", out, false);
        assert_non_null(strstr(out, "\\u001b]0;pwned\\u0007\\r"));
        free(out);

        /* a file name with an escape: in the upload's line, the audit table and an error that quotes it */
        _cleanup_free_ char *evil = xasprintf("%s/new\x1b]0;pwned\x07.bin", f->dir);
        assert_int_equal(rename(img, evil), 0);
        expect_escaped(f,
                       (const char *[]) { "release", "upload", evil, "--product", "door", "--version",
                                          "2.0.0", NULL },
                       0, "release 2: door 2.0.0");
        expect_escaped(f, (const char *[]) { "audit", NULL }, 0, "new\\x1b]0;pwned\\x07.bin");
        expect_escaped(f,
                       (const char *[]) { "release", "upload", img, "--product", "door", "--version",
                                          "3.0.0", NULL },
                       1, "cannot read");
        _cleanup_free_ char *missing = xasprintf("%s/gone\x1b[2J.bin", f->dir);
        expect_escaped(f, (const char *[]) { "release", "upload", missing, "--product", "door", NULL }, 1,
                       "gone\\x1b[2J.bin");

        /* a device row with control characters in what its poll carried (a flotad before header checks) */
        _cleanup_free_ char *path = xasprintf("%s/flotad.db", f->data_dir);
        sqlite3 *db;
        assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
        sqlite3_busy_timeout(db, 5000);
        assert_int_equal(sqlite3_exec(db,
                                      "INSERT INTO devices (id, product, version, last_seen)"
                                      " VALUES ('02:00:00:00:00:01', 'door', '1.0' || char(27) || "
                                      "']0;pwned' || char(7), 1)",
                                      NULL, NULL, NULL),
                         SQLITE_OK);
        sqlite3_close(db);
        expect_escaped(f, (const char *[]) { "devices", "--from-server", NULL }, 0, "1.0\\x1b]0;pwned\\x07");
        expect_escaped(f, (const char *[]) { "device", "02:00:00:00:00:01", NULL }, 0,
                       "1.0\\x1b]0;pwned\\x07");
        assert_int_equal(flota(f, f->admin_token,
                               (const char *[]) { "devices", "--from-server", "--json", NULL }, &out),
                         0);
        assert_no_controls("devices --json", out, false);
        assert_non_null(strstr(out, "1.0\\u001b]0;pwned\\u0007"));
        free(out);

        /* the inventory's list: what mDNS or a log put there (a name with a title sequence) */
        _cleanup_free_ char *inv = xasprintf("%s/default-inventory.db", f->dir);
        expect(f, (const char *[]) { "devices", NULL }, 0, NULL); /* creates the inventory */
        assert_int_equal(sqlite3_open(inv, &db), SQLITE_OK);
        sqlite3_busy_timeout(db, 5000);
        assert_int_equal(
                sqlite3_exec(
                        db,
                        "INSERT INTO devices (id, name, first_seen, last_seen, sources)"
                        " VALUES ('02:00:00:00:00:09', 'lamp' || char(27) || ']0;pwned' || char(7), 1, 1,"
                        " 'mdns')",
                        NULL, NULL, NULL),
                SQLITE_OK);
        sqlite3_close(db);
        expect_escaped(f, (const char *[]) { "devices", NULL }, 0, "lamp\\x1b]0;pwned\\x07");
        assert_int_equal(flota(f, f->admin_token, (const char *[]) { "devices", "--json", NULL }, &out), 0);
        assert_no_controls("devices --json", out, false);
        assert_non_null(strstr(out, "lamp\\u001b]0;pwned\\u0007"));
        free(out);
}

/* Runs flota devices --json (with more args) and checks its layout is print_json()'s; returns the list. */
static cJSON *devices_json(const Flotad *f, const char *const *more) {
        const char *args[9] = { "devices", "--from-server", "--json" };
        char *out = NULL;

        for (size_t i = 0; more[i] && i < 5; i++)
                args[i + 3] = more[i];
        assert_int_equal(flota(f, f->read_token, args, &out), 0);
        cJSON *j = cJSON_Parse(out);
        assert_non_null(j);
        char *printed = cJSON_Print(j);
        size_t n = strlen(printed);
        assert_int_equal(strlen(out), n + 1);
        assert_memory_equal(out, printed, n);
        free(printed);
        free(out);
        cJSON *list = cJSON_DetachItemFromObject(j, "devices");
        cJSON_Delete(j);
        assert_true(cJSON_IsArray(list));
        return list;
}

/* More devices than one page of flotad's (10,000): the JSON is streamed page by page. */
static void test_devices_pages(void **state) {
        Flotad *f = *state;
        _cleanup_free_ char *path = xasprintf("%s/flotad.db", f->data_dir);
        sqlite3 *db;

        assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
        sqlite3_busy_timeout(db, 5000);
        assert_int_equal(
                sqlite3_exec(
                        db,
                        "WITH RECURSIVE n(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM n WHERE x < 10049)"
                        " INSERT INTO devices (id, product, version, last_seen)"
                        " SELECT printf('02:00:00:00:%02X:%02X', x / 256, x % 256), 'door', '1.0', 1"
                        " FROM n",
                        NULL, NULL, NULL),
                SQLITE_OK);
        sqlite3_close(db);

        cJSON *all = devices_json(f, (const char *[]) { NULL });
        assert_int_equal(cJSON_GetArraySize(all), 10050);
        const char *prev = "";
        const cJSON *d;
        cJSON_ArrayForEach(d, all) {
                const char *id = cJSON_GetStringValue(cJSON_GetObjectItem(d, "id"));
                assert_non_null(id);
                assert_true(strcmp(prev, id) < 0);
                prev = id;
        }
        assert_string_equal(prev, "02:00:00:00:27:41");
        cJSON_Delete(all);

        /* a limit that ends inside the second page */
        cJSON *some = devices_json(f, (const char *[]) { "--limit", "10001", NULL });
        assert_int_equal(cJSON_GetArraySize(some), 10001);
        assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(some, 10000), "id")),
                            "02:00:00:00:27:10");
        cJSON_Delete(some);
        cJSON *none = devices_json(f, (const char *[]) { "--product", "lamp", NULL });
        assert_int_equal(cJSON_GetArraySize(none), 0);
        cJSON_Delete(none);
}

/* --seen-since keeps the devices seen at or after the time, in flota (table and --json) and in flotad's API.
 */
static void test_devices_seen_since(void **state) {
        Flotad *f = *state;
        _cleanup_free_ char *path = xasprintf("%s/flotad.db", f->data_dir);
        HttpResponse r;
        sqlite3 *db;

        assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
        sqlite3_busy_timeout(db, 5000);
        /* seen on 2026-01-01 and on 2026-06-01 */
        assert_int_equal(sqlite3_exec(db,
                                      "INSERT INTO devices (id, product, version, last_seen) VALUES"
                                      " ('02:00:00:00:00:01', 'door', '1.0', 1767225600000000),"
                                      " ('02:00:00:00:00:02', 'door', '1.0', 1780272000000000)",
                                      NULL, NULL, NULL),
                         SQLITE_OK);
        sqlite3_close(db);

        cJSON *all = devices_json(f, (const char *[]) { NULL });
        assert_int_equal(cJSON_GetArraySize(all), 2);
        cJSON_Delete(all);
        cJSON *late = devices_json(f, (const char *[]) { "--seen-since", "2026-03-01T00:00:00Z", NULL });
        assert_int_equal(cJSON_GetArraySize(late), 1);
        assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(late, 0), "id")),
                            "02:00:00:00:00:02");
        cJSON_Delete(late);
        /* the same time as Unix seconds; and the table */
        cJSON *secs = devices_json(f, (const char *[]) { "--seen-since", "1772323200", NULL });
        assert_int_equal(cJSON_GetArraySize(secs), 1);
        cJSON_Delete(secs);
        char *out = NULL;
        assert_int_equal(flota(f, f->read_token,
                               (const char *[]) { "devices", "--from-server", "--seen-since",
                                                  "2026-03-01T00:00:00Z", NULL },
                               &out),
                         0);
        assert_non_null(strstr(out, "02:00:00:00:00:02"));
        assert_null(strstr(out, "02:00:00:00:00:01"));
        free(out);
        cJSON *none = devices_json(f, (const char *[]) { "--seen-since", "2026-07-01T00:00:00Z", NULL });
        assert_int_equal(cJSON_GetArraySize(none), 0);
        cJSON_Delete(none);

        /* flotad's filter itself */
        assert_int_equal(api(f, "GET", "/api/v1/devices?seen_since=2026-03-01T00:00:00Z", NULL, &r), 200);
        assert_non_null(strstr(r.body, "02:00:00:00:00:02"));
        assert_null(strstr(r.body, "02:00:00:00:00:01"));
        http_response_done(&r);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_release_and_channel_verbs, flotad_fixture_setup,
                                                flotad_fixture_teardown),
                cmocka_unit_test_setup_teardown(test_device_verbs, flotad_fixture_setup,
                                                flotad_fixture_teardown),
                cmocka_unit_test_setup_teardown(test_errors_and_config, flotad_fixture_setup,
                                                flotad_fixture_teardown),
                cmocka_unit_test_setup_teardown(test_ingest_and_status, flotad_fixture_setup,
                                                flotad_fixture_teardown),
                cmocka_unit_test_setup_teardown(test_audit, flotad_fixture_setup, flotad_fixture_teardown),
                cmocka_unit_test_setup_teardown(test_devices_pages, flotad_fixture_setup,
                                                flotad_fixture_teardown),
                cmocka_unit_test_setup_teardown(test_devices_seen_since, flotad_fixture_setup,
                                                flotad_fixture_teardown),
                cmocka_unit_test_setup_teardown(test_outside_text_escaped, flotad_fixture_setup,
                                                flotad_fixture_teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
