/* SPDX-License-Identifier: MIT */
/*
 * What only the SQLite backend of flotad's store has to say: its schema version, a newer
 * database or a file that is not one refused. Everything else a store does is the contract
 * suite's (tests/store/test-store-contract.c), which runs on SQLite and on PostgreSQL.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "../harness/tmpdir.h"
#include "flota/alloc.h"
#include "flota/store.h"
#include "flota/strutil.h"

typedef struct Fixture {
        char *dir;
        char *path;
        Store *store;
} Fixture;

static int setup(void **state) {
        Fixture *f = xcalloc(1, sizeof(Fixture));
        f->dir = tmpdir_new();
        f->path = xasprintf("%s/flotad.db", f->dir);
        assert_int_equal(store_open(f->path, &f->store), 0);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        Fixture *f = *state;
        store_free(f->store);
        free(f->path);
        tmpdir_remove(f->dir);
        free(f);
        return 0;
}

static void test_schema_version(void **state) {
        Fixture *f = *state;
        assert_int_equal(store_schema_version(f->store), STORE_SCHEMA_VERSION);
}

static void test_refuses_newer_database(void **state) {
        Fixture *f = *state;
        sqlite3 *db;
        Store *s = NULL;

        assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
        assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
        sqlite3_close(db);
        assert_int_equal(store_open(f->path, &s), -EPROTO);
        assert_null(s);
}

static void test_refuses_non_database(void **state) {
        Fixture *f = *state;
        _cleanup_free_ char *p = xasprintf("%s/junk.db", f->dir);
        FILE *fp = fopen(p, "w");
        Store *s = NULL;

        fputs("this is not a database, just some text that is long enough to have a header page............"
              "...............................................................................",
              fp);
        fclose(fp);
        assert_int_equal(store_open(p, &s), -EBADMSG);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_schema_version, setup, teardown),
                cmocka_unit_test_setup_teardown(test_refuses_newer_database, setup, teardown),
                cmocka_unit_test_setup_teardown(test_refuses_non_database, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
