/* SPDX-License-Identifier: MIT */
/*
 * flotad stays up when its database does not: polls and /healthz are answered with the
 * write lock held elsewhere, API writes fail fast, lost check-ins are counted, and a
 * corrupt database is refused at start-up with a way out.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "flota/alloc.h"
#include "flotad-harness.h"

static int start_with(void **state, const char *const *args) {
        Flotad *f = xcalloc(1, sizeof(Flotad));
        HttpResponse r;

        flotad_init(f);
        assert_int_equal(flotad_start(f, args), 0);
        assert_int_equal(api(f, "POST", "/api/v1/products", "{\"name\":\"door\"}", &r), 201);
        http_response_done(&r);
        *state = f;
        return 0;
}

/* A queue of 16 check-ins, so that a few polls fill it; beyond it they wait in the journal. */
static int setup_small_queue(void **state) {
        return start_with(state, (const char *const[]) { "--checkin-queue-size", "16", NULL });
}

/* The same without a journal: beyond the queue, check-ins are dropped and counted. */
static int setup_small_queue_no_journal(void **state) {
        return start_with(state, (const char *const[]) { "--checkin-queue-size", "16", "--checkin-journal",
                                                         "none", NULL });
}

static int setup(void **state) {
        return start_with(state, NULL);
}

static int teardown(void **state) {
        assert_int_equal(flotad_finish(*state), 0);
        flotad_cleanup(*state);
        free(*state);
        return 0;
}

static double now_s(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static void sleep_100ms(void) {
        struct timespec ts = { .tv_nsec = 100 * 1000000L };
        nanosleep(&ts, NULL);
}

static int poll_as(Flotad *f, int i) {
        _cleanup_free_ char *mac = xasprintf("02:00:00:00:%02X:%02X", i / 256, i % 256);
        _cleanup_free_ char *req = esp8266_poll("/update/door", f->port, mac, "1.0", NULL, 1 << 20, NULL);
        HttpResponse r;

        assert_int_equal(http_raw(f->port, req, strlen(req), &r), 0);
        int status = r.status;
        http_response_done(&r);
        return status;
}

/* /healthz's body once it contains needle (bounded wait, 20 s), else the last body seen. */
static char *wait_health(Flotad *f, const char *needle) {
        char *body = NULL;

        for (int i = 0; i < 200; i++) {
                HttpResponse r;
                assert_int_equal(api_call(f, "GET", "/healthz", NULL, NULL, 0, &r), 0);
                assert_int_equal(r.status, 200);
                free(body);
                body = xstrdup(r.body);
                http_response_done(&r);
                if (strstr(body, needle))
                        break;
                sleep_100ms();
        }
        return body;
}

static long metric(Flotad *f, const char *name) {
        HttpResponse r;
        _cleanup_free_ char *needle = xasprintf("\n%s ", name);

        assert_int_equal(api(f, "GET", "/metrics", NULL, &r), 200);
        const char *p = strstr(r.body, needle);
        long v = p ? atol(p + strlen(needle)) : -1;
        http_response_done(&r);
        return v;
}

/*
 * With the database's write lock held elsewhere, polls, /healthz and API reads are answered.
 * Check-ins beyond the queue wait in the journal (spilled), or without one are dropped.
 */
static void locked_database(Flotad *f, bool journal) {
        long spilled = 0;
        _cleanup_free_ char *path = xasprintf("%s/flotad.db", f->data_dir);
        sqlite3 *db;
        HttpResponse r;

        assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
        assert_int_equal(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);

        /* far more polls than the queue holds: none may wait for the database */
        double t0 = now_s();
        for (int i = 0; i < 200; i++)
                assert_int_equal(poll_as(f, i), 304);
        if (now_s() - t0 > 30)
                fail_msg("200 polls took %.1f s with the database locked", now_s() - t0);

        _cleanup_free_ char *h = wait_health(f, "\"writer\":\"failing\"");
        if (!strstr(h, "\"status\":\"degraded\"") || !strstr(h, "\"writer\":\"failing\""))
                fail_msg("healthz with a locked database: %s", h);
        if (journal) {
                /* 16 in memory, the batch the writer retries (not pending), the rest in the journal */
                assert_int_equal(json_int(h, "checkins_dropped"), 0);
                long pending = json_int(h, "checkins_pending");
                spilled = metric(f, "flotad_checkins_spilled_total");
                if (pending < 200 - 16 || pending > 200 || spilled < 200 - 2 * 16 || spilled > 200 - 16)
                        fail_msg("pending %ld, spilled %ld", pending, spilled);
        } else {
                assert_true(json_int(h, "checkins_dropped") > 0);
                assert_true(json_int(h, "checkins_pending") <= 16);
        }

        /* reads work; a write answers 503 soon */
        assert_int_equal(api(f, "GET", "/api/v1/products", NULL, &r), 200);
        http_response_done(&r);
        t0 = now_s();
        assert_int_equal(api(f, "POST", "/api/v1/products", "{\"name\":\"lamp\"}", &r), 503);
        http_response_done(&r);
        if (now_s() - t0 > 8)
                fail_msg("an API write took %.1f s to fail", now_s() - t0);

        /* the lock goes: the writer catches up and says so; what was lost is counted */
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        sqlite3_close(db);
        free(wait_health(f, "\"writer\":\"ok\""));
        _cleanup_free_ char *after = wait_health(f, "\"status\":\"ok\"");
        assert_non_null(strstr(after, "\"writer\":\"ok\""));
        if (journal) {
                /* every one of them is written, in memory first, then those from the journal */
                assert_int_equal(wait_checkins(f, 200), 200);
                assert_int_equal(db_count(f, "SELECT count(*) FROM checkins"), 200);
                assert_int_equal(metric(f, "flotad_checkins_dropped_total"), 0);
                /* and the queue is in memory again */
                assert_int_equal(poll_as(f, 1000), 304);
                assert_int_equal(wait_checkins(f, 201), 201);
                assert_int_equal(metric(f, "flotad_checkins_spilled_total"), spilled);
                _cleanup_free_ char *log = slurp(f->log_path, NULL);
                assert_non_null(strstr(log, "further check-ins wait in the check-in journal"));
                assert_non_null(
                        strstr(log, "the check-ins that waited in the check-in journal are written"));
                return;
        }
        assert_true(metric(f, "flotad_checkins_dropped_total") > 0);
        assert_int_equal(poll_as(f, 1000), 304);
        assert_true(wait_checkins(f, 1) >= 1);
}

static void test_locked_database(void **state) {
        locked_database(*state, true);
}

static void test_locked_database_no_journal(void **state) {
        locked_database(*state, false);
}

/* A database whose pages are corrupt is refused at start-up, with a message that says how to recover. */
static void test_corrupt_database_refused(void **state) {
        Flotad *f = *state;
        _cleanup_free_ char *path = xasprintf("%s/flotad.db", f->data_dir);

        for (int i = 0; i < 400; i++)
                assert_int_equal(poll_as(f, i), 304);
        assert_int_equal(wait_checkins(f, 400), 400);
        assert_int_equal(flotad_stop(f, SIGTERM), 0);

        /* garbage over pages in the middle of the file (check-in pages) */
        FILE *o = fopen(path, "r+");
        assert_non_null(o);
        assert_int_equal(fseek(o, 0, SEEK_END), 0);
        long size = ftell(o);
        assert_true(size > 16 * 4096);
        char junk[3 * 4096];
        memset(junk, 0x5a, sizeof(junk));
        assert_int_equal(fseek(o, (size / 2) & ~4095L, SEEK_SET), 0);
        assert_int_equal(fwrite(junk, 1, sizeof(junk), o), sizeof(junk));
        fclose(o);

        assert_int_equal(flotad_start(f, NULL), -ECHILD);
        size_t n;
        _cleanup_free_ char *log = slurp(f->log_path, &n);
        if (!strstr(log, "is corrupt") || !strstr(log, ".recover"))
                fail_msg("no clear message about the corrupt database:\n%s", log);
        /* put a sound database back for the teardown */
        assert_int_equal(unlink(path), 0);
        assert_int_equal(flotad_start(f, NULL), 0);
}

/* A write whose catalog reload fails is not answered 2xx; the reload is retried and then served. */
static void test_catalog_reload_failure_reported(void **state) {
        Flotad *f = *state;
        _cleanup_free_ char *path = xasprintf("%s/flotad.db", f->data_dir);
        sqlite3 *db;
        HttpResponse r;

        /* a damaged schema: the catalog cannot be loaded, a product can still be inserted */
        assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
        assert_int_equal(sqlite3_exec(db, "ALTER TABLE channels RENAME TO channels_moved", NULL, NULL, NULL),
                         SQLITE_OK);
        assert_int_equal(api(f, "POST", "/api/v1/products", "{\"name\":\"lamp\"}", &r), 500);
        assert_non_null(strstr(r.body, "\"code\":\"catalog\""));
        assert_non_null(strstr(r.body, "saved"));
        http_response_done(&r);
        _cleanup_free_ char *h = wait_health(f, "\"catalog\":\"stale\"");
        if (!strstr(h, "\"status\":\"degraded\"") || !strstr(h, "\"catalog\":\"stale\""))
                fail_msg("healthz with a stale catalog: %s", h);

        /* repaired: the next API call reloads, and the saved product is served */
        assert_int_equal(sqlite3_exec(db, "ALTER TABLE channels_moved RENAME TO channels", NULL, NULL, NULL),
                         SQLITE_OK);
        sqlite3_close(db);
        assert_int_equal(api(f, "GET", "/api/v1/products", NULL, &r), 200);
        assert_non_null(strstr(r.body, "\"name\":\"lamp\""));
        http_response_done(&r);
        free(wait_health(f, "\"catalog\":\"ok\""));
        _cleanup_free_ char *req =
                esp8266_poll("/update/lamp", f->port, "02:00:00:00:00:01", "1.0", NULL, 1 << 20, NULL);
        assert_int_equal(http_raw(f->port, req, strlen(req), &r), 0);
        assert_int_equal(r.status, 304);
        http_response_done(&r);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_locked_database, setup_small_queue, teardown),
                cmocka_unit_test_setup_teardown(test_locked_database_no_journal,
                                                setup_small_queue_no_journal, teardown),
                cmocka_unit_test_setup_teardown(test_corrupt_database_refused, setup, teardown),
                cmocka_unit_test_setup_teardown(test_catalog_reload_failure_reported, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
