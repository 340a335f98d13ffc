/* SPDX-License-Identifier: MIT */
/* The store tests' fixture: a fresh database per test, on either backend. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../harness/tmpdir.h"
#include "contract-fixture.h"
#include "flota/alloc.h"
#include "flota/strutil.h"

bool on_postgresql;

int shell(const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        _cleanup_free_ char *cmd = NULL;
        assert_true(vasprintf(&cmd, fmt, ap) >= 0);
        va_end(ap);
        return system(cmd);
}

char *fresh_database(Fixture *f) {
        static unsigned counter;

        if (!on_postgresql)
                return xasprintf("%s/flotad.db", f->dir);
        const char *base = getenv("FLOTA_TEST_PG");
        const char *q = strchr(base, '?');
        assert_non_null(q);
        f->dbname = xasprintf("contract_%d_%u", (int) getpid(), counter++);
        assert_int_equal(shell("'%s/createdb' '%s'", getenv("FLOTA_TEST_PG_BINDIR"), f->dbname), 0);
        return xasprintf("postgresql:///%s%s", f->dbname, q);
}

void run_sql(Fixture *f, const char *sqlite_sql, const char *pg_sql) {
        if (on_postgresql) {
                assert_int_equal(shell("'%s/psql' -q -d '%s' -c \"%s\" >/dev/null",
                                       getenv("FLOTA_TEST_PG_BINDIR"), f->dbname, pg_sql),
                                 0);
                return;
        }
        sqlite3 *db;
        assert_int_equal(sqlite3_open(f->url, &db), SQLITE_OK);
        assert_int_equal(sqlite3_exec(db, sqlite_sql, NULL, NULL, NULL), SQLITE_OK);
        sqlite3_close(db);
}

int fixture_setup(void **state) {
        Fixture *f = xcalloc(1, sizeof(Fixture));
        f->dir = tmpdir_new();
        f->url = fresh_database(f);
        assert_int_equal(store_open_url(f->url, &f->store), 0);
        assert_string_equal(store_backend_name(f->store), on_postgresql ? "postgresql" : "sqlite");
        *state = f;
        return 0;
}

int fixture_teardown(void **state) {
        Fixture *f = *state;
        store_free(f->store);
        free(f->url);
        free(f->dbname);
        tmpdir_remove(f->dir);
        free(f);
        return 0;
}

int64_t add_release(Store *s, int64_t product, const char *version) {
        Release r = {
                .product_id = product,
                .version = (char *) version,
                .platform = PLATFORM_ESP8266,
                .kind = IMAGE_KIND_SKETCH,
                .size = 1000,
        };
        strscpy(r.md5, sizeof(r.md5), "0123456789abcdef0123456789abcdef");
        strscpy(r.sha256, sizeof(r.sha256), version);
        assert_int_equal(store_release_insert(s, &r), 0);
        return r.id;
}
