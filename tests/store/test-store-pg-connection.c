/* SPDX-License-Identifier: MIT */
/*
 * flotad's PostgreSQL connection when the server closes it (a restart, a terminated backend,
 * a failover): a write sent after the loss is made once, a write whose answer was lost is not
 * sent again, and a new connection has the session's settings. Runs only under
 * tests/pg/with-postgres.sh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "contract-fixture.h"
#include "flota/alloc.h"
#include "flota/strutil.h"

/* The first line psql prints for the SQL built from fmt, on the fixture's database ("" for none). */
static char *psql_line(Fixture *f, const char *fmt, ...) {
        _cleanup_free_ char *sql = NULL, *cmd = NULL;
        char line[256] = "";
        va_list ap;

        va_start(ap, fmt);
        assert_true(vasprintf(&sql, fmt, ap) >= 0);
        va_end(ap);
        cmd = xasprintf("'%s/psql' -Atq -d '%s' -c \"%s\"", getenv("FLOTA_TEST_PG_BINDIR"), f->dbname, sql);
        FILE *p = popen(cmd, "r");
        assert_non_null(p);
        if (!fgets(line, sizeof(line), p))
                line[0] = 0;
        assert_int_equal(pclose(p), 0);
        line[strcspn(line, "\n")] = 0;
        return xstrdup(line);
}

/* Waits, at most 20 s, until sql prints want (its first line). */
static void wait_for_psql(Fixture *f, const char *want, const char *sql) {
        for (int i = 0; i < 1000; i++) {
                _cleanup_free_ char *got = psql_line(f, "%s", sql);
                if (streq(got, want))
                        return;
                struct timespec ts = { 0, 20 * 1000000L };
                nanosleep(&ts, NULL);
        }
        fail_msg("still not '%s' after 20 s: %s", want, sql);
}

/* Ends the store's server process (as an administrator or a server restart does) and waits until it is gone.
 */
static void terminate_store_backend(Fixture *f) {
        _cleanup_free_ char *pid = psql_line(f,
                                             "SELECT pid FROM pg_stat_activity"
                                             " WHERE datname = '%s' AND application_name = 'flotad'",
                                             f->dbname);
        assert_true(atoi(pid) > 0);
        _cleanup_free_ char *done = psql_line(f, "SELECT pg_terminate_backend(%s)", pid);
        assert_string_equal(done, "t");
        _cleanup_free_ char *gone = xasprintf("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", pid);
        wait_for_psql(f, "0", gone);
}

static int64_t tokens_named(Fixture *f, const char *name) {
        _cleanup_free_ char *n = psql_line(f, "SELECT count(*) FROM tokens WHERE name = '%s'", name);
        return atoll(n);
}

/*
 * The server closed the store's idle connection (restarted, backend terminated): the next
 * write notices before sending, reconnects and is applied once, not sent on the dead
 * connection and then either lost or retried.
 */
static void test_write_after_idle_connection_closed(void **state) {
        Fixture *f = *state;
        int64_t pid, v0, v1;

        assert_int_equal(store_product_create(f->store, "lamp", NULL, _PLATFORM_INVALID, &pid), 0);
        int64_t rel = add_release(f->store, pid, "1.0");
        assert_int_equal(store_catalog_version(f->store, &v0), 0);

        /* an autocommit write, the first statement after the loss */
        terminate_store_backend(f);
        assert_int_equal(store_token_create(f->store, "ci", TOKEN_ROLE_ADMIN, "abc"), 0);
        assert_int_equal(tokens_named(f, "ci"), 1);

        /* a transaction's write: applied once, the version raised by exactly one */
        terminate_store_backend(f);
        assert_int_equal(store_device_set_pin(f->store, "AA:00:00:00:00:01", rel), 0);
        assert_int_equal(store_catalog_version(f->store, &v1), 0);
        assert_true(v1 == v0 + 1);
}

typedef struct InFlight {
        Store *store;
        int r;
        atomic_bool done;
} InFlight;

static void *token_create_main(void *userdata) {
        InFlight *w = userdata;
        w->r = store_token_create(w->store, "ci", TOKEN_ROLE_ADMIN, "abc");
        atomic_store(&w->done, true);
        return NULL;
}

/*
 * Another session that holds an uncommitted token row named "ci" (a writer of that name
 * waits for it): a psql reading its statements from a fifo, so that it stays in its
 * transaction until holder_release().
 */
static FILE *holder_start(Fixture *f) {
        _cleanup_free_ char *fifo = xasprintf("%s/holder", f->dir);

        assert_int_equal(mkfifo(fifo, 0600), 0);
        assert_int_equal(shell("'%s/psql' -q -d '%s' <'%s' >/dev/null 2>&1 &",
                               getenv("FLOTA_TEST_PG_BINDIR"), f->dbname, fifo),
                         0);
        FILE *holder = fopen(fifo, "w");
        assert_non_null(holder);
        fprintf(holder, "BEGIN;\nINSERT INTO tokens (name, role, sha256, created) VALUES ('ci', 'read', "
                        "'held', 0);\n");
        fflush(holder);
        /* idle in its transaction after the INSERT, not after the BEGIN only */
        _cleanup_free_ char *held = xasprintf("SELECT count(*) FROM pg_stat_activity WHERE datname = '%s'"
                                              " AND state = 'idle in transaction' AND query LIKE 'INSERT%%'",
                                              f->dbname);
        wait_for_psql(f, "1", held);
        return holder;
}

/* Rolls the holder's transaction back, and waits until its session has ended. */
static void holder_release(Fixture *f, FILE *holder) {
        fprintf(holder, "ROLLBACK;\n\\q\n");
        fclose(holder);
        _cleanup_free_ char *gone = xasprintf("SELECT count(*) FROM pg_stat_activity WHERE datname = '%s'"
                                              " AND application_name = 'psql' AND state <> 'active'",
                                              f->dbname);
        wait_for_psql(f, "0", gone);
}

/*
 * The connection breaks while an autocommit write runs: the server may have committed it,
 * so it is not sent again. Here the write waits for another session's uncommitted row of
 * the same name; its connection is ended, then the other session rolls back. Sent again,
 * the write would now succeed: instead the call fails, saying the outcome is unknown, and
 * the row is not there.
 */
static void test_write_lost_in_flight_not_sent_again(void **state) {
        Fixture *f = *state;
        InFlight w = { .store = f->store };
        pthread_t t;

        FILE *holder = holder_start(f);
        assert_int_equal(pthread_create(&t, NULL, token_create_main, &w), 0);
        _cleanup_free_ char *waiting =
                xasprintf("SELECT count(*) FROM pg_stat_activity WHERE datname = '%s'"
                          " AND application_name = 'flotad' AND wait_event_type = 'Lock'",
                          f->dbname);
        wait_for_psql(f, "1", waiting);
        terminate_store_backend(f);
        holder_release(f, holder);
        assert_int_equal(pthread_join(t, NULL), 0);

        assert_int_equal(w.r, -EBUSY);
        assert_non_null(strstr(store_last_error(f->store), "may or may not have been made"));
        assert_int_equal(tokens_named(f, "ci"), 0);
        /* and the store goes on, on a new connection */
        assert_int_equal(store_token_create(f->store, "ci", TOKEN_ROLE_ADMIN, "abc"), 0);
        assert_int_equal(tokens_named(f, "ci"), 1);
}

/*
 * A new connection gets the session's settings again: after the server closed the old one,
 * a write that waits for another session's lock still gives up after the busy timeout.
 */
static void test_busy_timeout_survives_reconnect(void **state) {
        Fixture *f = *state;
        InFlight w = { .store = f->store };
        pthread_t t;

        store_set_busy_timeout(f->store, 200);
        terminate_store_backend(f);
        FILE *holder = holder_start(f);
        assert_int_equal(pthread_create(&t, NULL, token_create_main, &w), 0);
        /* bounded: without its lock timeout the write would wait for the holder, released after 20 s */
        for (int i = 0; i < 1000 && !atomic_load(&w.done); i++) {
                struct timespec ts = { 0, 20 * 1000000L };
                nanosleep(&ts, NULL);
        }
        holder_release(f, holder);
        assert_int_equal(pthread_join(t, NULL), 0);
        assert_int_equal(w.r, -EBUSY);
        assert_non_null(strstr(store_last_error(f->store), "lock timeout"));
        assert_int_equal(tokens_named(f, "ci"), 0);
}

int main(void) {
        on_postgresql = getenv("FLOTA_TEST_PG") != NULL;
        if (!on_postgresql) {
                fprintf(stderr, "SKIP: run under tests/pg/with-postgres.sh\n");
                return 77;
        }
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_write_after_idle_connection_closed, fixture_setup,
                                                fixture_teardown),
                cmocka_unit_test_setup_teardown(test_write_lost_in_flight_not_sent_again, fixture_setup,
                                                fixture_teardown),
                cmocka_unit_test_setup_teardown(test_busy_timeout_survives_reconnect, fixture_setup,
                                                fixture_teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
