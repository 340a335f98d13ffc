/* SPDX-License-Identifier: MIT */
/*
 * Several flotad on one PostgreSQL database behave as one server: a catalog change through
 * one replica decides the next poll on the other within 2 s, an upload through one is served
 * by the other (one image directory), every poll answered by either is in the one check-in
 * feed once, polls are answered while the database is down and their check-ins arrive once it
 * is back, and a replica killed with SIGKILL loses no acknowledged API write. Runs under
 * tests/pg/with-postgres.sh only (77 without a cluster).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../harness/tmpdir.h"
#include "flota/alloc.h"
#include "flota/time-util.h"
#include "flotad-harness.h"

typedef struct Replicas {
        Flotad a, b;
        char *images;
} Replicas;

static void sleep_ms(long ms) {
        struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
        nanosleep(&ts, NULL);
}

/* B: its own directory and log, A's database, A's tokens. */
static void init_second(Replicas *r) {
        Flotad *b = &r->b;

        *b = (Flotad) { .pid = -1 };
        b->dir = tmpdir_new();
        assert_non_null(b->dir);
        b->data_dir = xasprintf("%s/data", b->dir);
        b->log_path = xasprintf("%s/flotad.log", b->dir);
        b->database = xstrdup(r->a.database);
        memcpy(b->admin_token, r->a.admin_token, sizeof(b->admin_token));
        memcpy(b->read_token, r->a.read_token, sizeof(b->read_token));
}

static int start(Flotad *f, const char *images) {
        const char *args[] = { "--image-dir", images, NULL };
        return flotad_start(f, args);
}

static int setup(void **state) {
        Replicas *r = xcalloc(1, sizeof(Replicas));

        flotad_init(&r->a);
        assert_non_null(r->a.database);
        init_second(r);
        r->images = xasprintf("%s/shared-images", r->a.dir);
        assert_int_equal(start(&r->a, r->images), 0);
        assert_int_equal(start(&r->b, r->images), 0);
        *state = r;
        return 0;
}

static int teardown(void **state) {
        Replicas *r = *state;
        int k = 0;

        if (r->a.pid > 0)
                k |= flotad_finish(&r->a);
        if (r->b.pid > 0)
                k |= flotad_finish(&r->b);
        flotad_cleanup(&r->a);
        flotad_cleanup(&r->b);
        free(r->images);
        free(r);
        return k;
}

static void expect(Flotad *f, const char *method, const char *path, const char *body, int status) {
        HttpResponse r;
        assert_int_equal(api_call(f, method, path, f->admin_token, body, body ? strlen(body) : 0, &r), 0);
        if (r.status != status)
                fail_msg("%s %s: %d %s (want %d)", method, path, r.status, r.body, status);
        http_response_done(&r);
}

static long upload(Flotad *f, const char *version) {
        _cleanup_free_ char *img = make_image(f, "esp8266", version, "64K");
        _cleanup_free_ char *url = xasprintf("/api/v1/releases?product=door&version=%s", version);
        size_t len;
        _cleanup_free_ char *data = slurp(img, &len);
        HttpResponse r;

        assert_int_equal(api_call(f, "POST", url, f->admin_token, data, len, &r), 0);
        if (r.status != 201)
                fail_msg("upload %s: %d %s", version, r.status, r.body);
        long id = json_int(r.body, "id");
        http_response_done(&r);
        return id;
}

/* Polls f as mac running version; the status, and the x-MD5 of a 200 in md5 (if not NULL). */
static int poll_once(Flotad *f, const char *mac, const char *version, char *md5) {
        _cleanup_free_ char *req = esp8266_poll("/update/door", f->port, mac, version, NULL, 1 << 20, NULL);
        HttpResponse r;

        assert_int_equal(http_raw(f->port, req, strlen(req), &r), 0);
        int status = r.status;
        if (md5) {
                const char *h = http_header(&r, "x-MD5");
                snprintf(md5, 33, "%s", h ? h : "");
        }
        http_response_done(&r);
        return status;
}

/* Polls until the answer is want, for at most limit_ms; the milliseconds it took, or -1. */
static long poll_until(Flotad *f, const char *mac, const char *version, int want, long limit_ms) {
        usec_t start = now_usec(CLOCK_MONOTONIC);

        for (;;) {
                long ms = (long) ((now_usec(CLOCK_MONOTONIC) - start) / 1000);
                if (poll_once(f, mac, version, NULL) == want)
                        return ms;
                if (ms > limit_ms)
                        return -1;
                sleep_ms(20);
        }
}

static void test_catalog_change_reaches_other_replica(void **state) {
        Replicas *r = *state;
        char md5[33];

        expect(&r->a, "POST", "/api/v1/products", "{\"name\":\"door\"}", 201);
        long v1 = upload(&r->a, "1.0");
        /* B knows the product (a catalog reload) and has nothing for the device yet */
        assert_true(poll_until(&r->b, "18:FE:AA:00:00:01", "0.9", 304, 2000) >= 0);

        /* promotion through A: B serves it within 2 s, from the shared image directory */
        _cleanup_free_ char *body = xasprintf("{\"release\":%ld}", v1);
        expect(&r->a, "PUT", "/api/v1/channels/door/stable", body, 200);
        long ms = poll_until(&r->b, "18:FE:AA:00:00:01", "0.9", 200, 2000);
        fprintf(stderr, "promotion on A decided a poll on B after %ld ms\n", ms);
        assert_true(ms >= 0 && ms <= 2000);
        assert_int_equal(poll_once(&r->b, "18:FE:AA:00:00:01", "0.9", md5), 200);
        assert_int_equal(strlen(md5), 32);

        /* an upload and a pin through B: A serves them within 2 s */
        long v2 = upload(&r->b, "2.0");
        _cleanup_free_ char *pin = xasprintf("{\"release\":%ld}", v2);
        expect(&r->b, "PUT", "/api/v1/devices/18:FE:AA:00:00:02/pin", pin, 200);
        assert_int_equal(poll_once(&r->b, "18:FE:AA:00:00:02", "2.0", NULL), 304);
        ms = poll_until(&r->a, "18:FE:AA:00:00:02", "1.0", 200, 2000);
        fprintf(stderr, "pin on B decided a poll on A after %ld ms\n", ms);
        assert_true(ms >= 0 && ms <= 2000);
        char md5_a[33], md5_b[33];
        assert_int_equal(poll_once(&r->a, "18:FE:AA:00:00:02", "1.0", md5_a), 200);
        assert_int_equal(poll_once(&r->b, "18:FE:AA:00:00:02", "1.0", md5_b), 200);
        assert_string_equal(md5_a, md5_b);
        assert_string_not_equal(md5_a, md5);

        /*
         * The NOTIFY only makes it sooner: a change that comes with none (as when a replica's
         * connection was down when it was sent) still decides polls within 2 s, by the version.
         */
        _cleanup_free_ char *url = xstrdup(r->a.database);
        url[strcspn(url, "?")] = 0;
        _cleanup_free_ char *sql = xasprintf(
                "'%s/psql' -q -d '%s' -c \"INSERT INTO devices (id) VALUES ('18:FE:AA:00:00:03') ON "
                "CONFLICT DO NOTHING;"
                " INSERT INTO device_overrides (device_id, pin_release_id) VALUES ('18:FE:AA:00:00:03', %ld)"
                " ON CONFLICT (device_id) DO UPDATE SET pin_release_id = excluded.pin_release_id;"
                " UPDATE meta SET catalog_version = catalog_version + 1\"",
                getenv("FLOTA_TEST_PG_BINDIR"), strrchr(url, '/') + 1, v2);
        assert_int_equal(poll_once(&r->a, "18:FE:AA:00:00:03", "1.0", NULL), 304);
        assert_int_equal(poll_once(&r->b, "18:FE:AA:00:00:03", "1.0", NULL), 304);
        assert_int_equal(system(sql), 0);
        long ms_a = poll_until(&r->a, "18:FE:AA:00:00:03", "1.0", 200, 2000);
        long ms_b = poll_until(&r->b, "18:FE:AA:00:00:03", "1.0", 200, 2000);
        fprintf(stderr, "a change without NOTIFY decided polls after %ld ms (A), %ld ms (B)\n", ms_a, ms_b);
        assert_true(ms_a >= 0 && ms_b >= 0);
}

/* The ids of the feed, read through f from the start; asserts they ascend. */
static long feed_count(Flotad *f, const char *needle) {
        long cursor = 0, n = 0, last = 0;

        for (int page = 0; page < 1000; page++) {
                _cleanup_free_ char *path = xasprintf("/api/v1/checkins?after=%ld&limit=500", cursor);
                HttpResponse r;
                assert_int_equal(api(f, "GET", path, NULL, &r), 200);
                int rows = 0;
                for (const char *p = r.body; (p = strstr(p, "{\"id\":")); p++) {
                        long id = strtol(p + 6, NULL, 10);
                        assert_true(id > last);
                        last = id;
                        rows++;
                }
                for (const char *p = r.body; (p = strstr(p, needle)); p++)
                        n++;
                http_response_done(&r);
                if (rows == 0)
                        break;
                cursor = last;
        }
        return n;
}

static long wait_feed(Flotad *f, const char *needle, long want) {
        long n = 0;
        for (int i = 0; i < 200 && (n = feed_count(f, needle)) < want; i++)
                sleep_ms(100);
        return n;
}

static void pg_ctl(const char *what) {
        const char *ctl = getenv("FLOTA_TEST_PG_CTL");
        assert_non_null(ctl);
        _cleanup_free_ char *cmd = xasprintf("%s %s >/dev/null", ctl, what);
        assert_int_equal(system(cmd), 0);
}

/*
 * Polls through both replicas go into one feed, each once. While the database is stopped both
 * replicas keep answering from memory (as fast as before) and queue the check-ins; once it is
 * back they reconnect and the queued check-ins reach the feed.
 */
static void test_database_down_polls_answered_feed_complete(void **state) {
        Replicas *r = *state;
        char mac[32];

        expect(&r->a, "POST", "/api/v1/products", "{\"name\":\"door\"}", 201);
        long v1 = upload(&r->a, "1.0");
        _cleanup_free_ char *body = xasprintf("{\"release\":%ld}", v1);
        expect(&r->a, "PUT", "/api/v1/channels/door/stable", body, 200);
        assert_true(poll_until(&r->b, "18:FE:BB:00:00:00", "0.9", 200, 2000) >= 0);

        for (int i = 0; i < 40; i++) {
                snprintf(mac, sizeof(mac), "18:FE:BB:01:00:%02X", i);
                assert_int_equal(poll_once(i % 2 ? &r->a : &r->b, mac, "1.0", NULL), 304);
        }
        assert_int_equal(wait_feed(&r->a, "\"device\":\"18:FE:BB:01", 40), 40);

        pg_ctl("stop -m fast -t 30");
        usec_t worst = 0;
        for (int i = 0; i < 40; i++) {
                snprintf(mac, sizeof(mac), "18:FE:BB:02:00:%02X", i);
                usec_t t0 = now_usec(CLOCK_MONOTONIC);
                assert_int_equal(poll_once(i % 2 ? &r->a : &r->b, mac, i < 20 ? "1.0" : "0.9", NULL),
                                 i < 20 ? 304 : 200);
                usec_t dt = now_usec(CLOCK_MONOTONIC) - t0;
                if (dt > worst)
                        worst = dt;
        }
        fprintf(stderr, "database down: 40 polls answered, slowest %lu us\n", (unsigned long) worst);
        assert_true(worst < 500 * USEC_PER_MSEC);
        /* API writes answer 503 (busy) meanwhile, and the writer that cannot write says so */
        HttpResponse h;
        assert_int_equal(api(&r->a, "POST", "/api/v1/products", "{\"name\":\"lamp\"}", &h), 503);
        assert_non_null(strstr(h.body, "\"busy\""));
        http_response_done(&h);
        bool degraded = false;
        for (int i = 0; i < 100 && !degraded; i++) {
                _cleanup_free_ char *req =
                        xstrdup("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
                assert_int_equal(http_raw(r->b.port, req, strlen(req), &h), 0);
                degraded = strstr(h.body, "degraded") != NULL;
                http_response_done(&h);
                if (!degraded)
                        sleep_ms(50);
        }
        assert_true(degraded);
        pg_ctl("-w -t 30 start");

        /* the queued check-ins arrive, once each, in one ascending feed read through either replica */
        assert_int_equal(wait_feed(&r->b, "\"device\":\"18:FE:BB:02", 40), 40);
        assert_int_equal(feed_count(&r->a, "\"device\":\"18:FE:BB:02"), 40);
        assert_int_equal(feed_count(&r->a, "\"device\":\"18:FE:BB:01"), 40);
}

/* A write that A acknowledged survives A's SIGKILL: B serves it, and it is in the database. */
static void test_acknowledged_write_survives_kill(void **state) {
        Replicas *r = *state;

        expect(&r->a, "POST", "/api/v1/products", "{\"name\":\"door\"}", 201);
        long v1 = upload(&r->a, "1.0");
        _cleanup_free_ char *pin = xasprintf("{\"release\":%ld}", v1);
        expect(&r->a, "PUT", "/api/v1/devices/18:FE:CC:00:00:01/pin", pin, 200);
        assert_int_equal(flotad_stop(&r->a, SIGKILL), 128 + SIGKILL);
        assert_true(poll_until(&r->b, "18:FE:CC:00:00:01", "0.9", 200, 2000) >= 0);
        /* and a restarted A reads it from the database */
        assert_int_equal(start(&r->a, r->images), 0);
        assert_int_equal(poll_once(&r->a, "18:FE:CC:00:00:01", "0.9", NULL), 200);
}

/* Bad databases get one clear line and no start: a server that is not there, a newer schema. */
static void test_database_refused_clearly(void **state) {
        Flotad f;
        char *out = NULL;

        flotad_init(&f);
        char *bad[] = { (char *) "flotad",
                        (char *) "--database",
                        (char *) "postgresql://u:secret@/x?host=/nonexistent",
                        (char *) "token",
                        (char *) "list",
                        NULL };
        assert_int_equal(flotad_run(bad, &out), 1);
        assert_non_null(strstr(out, "cannot open the PostgreSQL database: cannot connect to the server"));
        assert_null(strstr(out, "secret"));
        free(out);
        char *bad_scheme[] = { (char *) "flotad", (char *) "--database", (char *) "mysql://x",
                               (char *) "token",  (char *) "list",       NULL };
        assert_int_equal(flotad_run(bad_scheme, &out), 2);
        assert_non_null(strstr(out, "--database: expected postgresql://... or sqlite:PATH"));
        free(out);
        /* serving needs an image directory too */
        char *no_images[] = { (char *) "flotad", (char *) "--database", f.database, NULL };
        assert_int_equal(flotad_run(no_images, &out), 2);
        assert_non_null(strstr(out, "--image-dir is set"));
        free(out);

        /* a schema written by a newer flotad: refused, untouched */
        _cleanup_free_ char *url = xstrdup(f.database);
        url[strcspn(url, "?")] = 0;
        _cleanup_free_ char *psql =
                xasprintf("'%s/psql' -q -d '%s' -c 'UPDATE meta SET schema_version = 99'",
                          getenv("FLOTA_TEST_PG_BINDIR"), strrchr(url, '/') + 1);
        assert_int_equal(system(psql), 0);
        char *list[] = { (char *) "flotad", (char *) "--database", f.database,
                         (char *) "token",  (char *) "list",       NULL };
        assert_int_equal(flotad_run(list, &out), 1);
        assert_non_null(strstr(out, "the PostgreSQL database was written by a newer flotad"));
        free(out);
        assert_true(flotad_start(&f, NULL) < 0);
        size_t log_len;
        _cleanup_free_ char *log = slurp(f.log_path, &log_len);
        assert_non_null(strstr(log, "written by a newer flotad; refusing to touch it"));
        flotad_cleanup(&f);
}

int main(void) {
        if (!getenv("FLOTA_TEST_PG")) {
                fprintf(stderr, "SKIP: needs a PostgreSQL cluster (run under tests/pg/with-postgres.sh)\n");
                return 77;
        }
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_catalog_change_reaches_other_replica, setup, teardown),
                cmocka_unit_test_setup_teardown(test_database_down_polls_answered_feed_complete, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_acknowledged_write_survives_kill, setup, teardown),
                cmocka_unit_test(test_database_refused_clearly),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
