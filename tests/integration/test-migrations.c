/* SPDX-License-Identifier: MIT */
/*
 * Every earlier schema of both databases (flotad's and flota's inventory) upgrades to today's
 * and keeps its rows; a database newer than the program is refused and left as it was.
 *
 * The fixtures are tests/fixtures/db/<ladder>/v<N>.sql: SQL text that builds a database of
 * schema N with a few rows in every table (README.md there says how to make one). The test
 * takes whatever fixtures there are and upgrades each to the version the code has now, so a new
 * migration step needs no change here, only a fixture of the version before it.
 *
 * Run as `test-migrations --create LADDER N FILE` it writes a database of schema N (the first
 * N steps of the ladder) to FILE: the start of a new fixture.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "flota/alloc.h"
#include "flota/inventory.h"
#include "flota/store.h"
#include "flota/strutil.h"
#include "flotad-harness.h"
#include "store-internal.h"
#include "tmpdir.h"

typedef struct Ladder {
        const char *name; /* the fixtures' directory */
        const char *const *steps;
        size_t n_steps;
        size_t page_size; /* as the program's open uses it */
        int (*open)(const char *path, Store **ret);
        const char *newer_error; /* what the command line says of a newer database */
} Ladder;

static const char *fixture_root;

static Ladder ladder(const char *name) {
        if (streq(name, "flotad"))
                return (Ladder) { "flotad", store_migrations, store_n_migrations,
                                  0,        store_open,       "newer flotad" };
        assert_string_equal(name, "inventory");
        return (Ladder) { "inventory", inventory_migrations, inventory_n_migrations,
                          16384,       inventory_open,       "written by a newer flota" };
}

/* One text for a query's rows: each row's columns quoted, a line a row. */
static char *query_text(sqlite3 *db, const char *sql) {
        sqlite3_stmt *st;
        size_t size = 0;
        char *text = NULL;
        FILE *f = open_memstream(&text, &size);

        assert_non_null(f);
        if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
                fail_msg("%s: %s", sql, sqlite3_errmsg(db));
        while (sqlite3_step(st) == SQLITE_ROW) {
                for (int c = 0; c < sqlite3_column_count(st); c++) {
                        const unsigned char *v = sqlite3_column_text(st, c);
                        fprintf(f, "%s%s", c ? "|" : "", v ? (const char *) v : "NULL");
                }
                fputc('\n', f);
        }
        assert_int_equal(sqlite3_finalize(st), SQLITE_OK);
        fclose(f);
        return text;
}

static char *file_query_text(const char *path, const char *sql) {
        sqlite3 *db;
        assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
        char *text = query_text(db, sql);
        sqlite3_close(db);
        return text;
}

static long file_int(const char *path, const char *sql) {
        _cleanup_free_ char *text = file_query_text(path, sql);
        return strtol(text, NULL, 10);
}

/* Tables, indexes and triggers, as SQLite keeps their text. */
static char *schema_text(const char *path) {
        return file_query_text(path, "SELECT type, name, tbl_name, sql FROM sqlite_master"
                                     " WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name");
}

static void load_sql(const char *db_path, const char *sql_path) {
        size_t n;
        _cleanup_free_ char *sql = slurp(sql_path, &n);
        sqlite3 *db;
        char *err = NULL;

        assert_non_null(sql);
        assert_int_equal(sqlite3_open(db_path, &db), SQLITE_OK);
        if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
                fail_msg("%s: %s", sql_path, err);
        sqlite3_close(db);
}

/* A database of schema n: the first n steps of the ladder, as the program would have left it. */
static void create_at(const Ladder *l, size_t n, const char *path) {
        Store *s = NULL;
        assert_int_equal(store_open_schema(path, l->steps, n, l->page_size, &s), 0);
        assert_int_equal(store_schema_version(s), (int) n);
        store_free(s);
}

/* The versions there are fixtures of, ascending; their count. */
static size_t fixture_versions(const Ladder *l, int versions[static 256]) {
        _cleanup_free_ char *dir = xasprintf("%s/%s", fixture_root, l->name);
        DIR *d = opendir(dir);
        struct dirent *e;
        size_t n = 0;

        if (!d)
                fail_msg("no fixtures in %s: %s", dir, strerror(errno));
        while ((e = readdir(d))) {
                size_t len = strlen(e->d_name);
                int v, end = 0;
                if (e->d_name[0] == '.' || len < 4 || !streq(e->d_name + len - 4, ".sql"))
                        continue;
                if (sscanf(e->d_name, "v%d.sql%n", &v, &end) != 1 || e->d_name[end] || v < 1)
                        fail_msg("%s/%s: fixtures are named v<N>.sql", dir, e->d_name);
                assert_true(n < 256);
                versions[n++] = v;
        }
        closedir(d);
        for (size_t i = 1; i < n; i++)
                for (size_t j = i; j > 0 && versions[j - 1] > versions[j]; j--) {
                        int t = versions[j];
                        versions[j] = versions[j - 1];
                        versions[j - 1] = t;
                }
        return n;
}

/* Each table's rows, by the columns the fixture has, in one order. */
static char *table_rows(const char *path, const char *table, const char *columns) {
        _cleanup_free_ char *sql = xasprintf("SELECT %s FROM \"%s\" ORDER BY %s", columns, table, columns);
        return file_query_text(path, sql);
}

static void check_upgrade(const Ladder *l, int version, const char *dir, const char *fresh_schema) {
        _cleanup_free_ char *sql_path = xasprintf("%s/%s/v%d.sql", fixture_root, l->name, version);
        _cleanup_free_ char *path = xasprintf("%s/%s-v%d.db", dir, l->name, version);
        _cleanup_free_ char *ladder_path = xasprintf("%s/%s-ladder-v%d.db", dir, l->name, version);

        /* the fixture is what the ladder's first N steps make, and has rows in every table */
        load_sql(path, sql_path);
        assert_int_equal(file_int(path, "PRAGMA user_version"), version);
        create_at(l, (size_t) version, ladder_path);
        _cleanup_free_ char *old_schema = schema_text(path);
        _cleanup_free_ char *ladder_schema = schema_text(ladder_path);
        if (!streq(old_schema, ladder_schema))
                fail_msg("%s is not the schema of steps 1..%d:\n%s\nvs\n%s", sql_path, version, old_schema,
                         ladder_schema);

        _cleanup_free_ char *tables =
                file_query_text(path, "SELECT name FROM sqlite_master WHERE type = 'table'"
                                      " AND name NOT LIKE 'sqlite_%' ORDER BY name");
        char *before[64] = { 0 }, *names[64] = { 0 }, *columns[64] = { 0 };
        size_t n = 0;
        for (char *save = NULL, *t = strtok_r(tables, "\n", &save); t; t = strtok_r(NULL, "\n", &save)) {
                assert_true(n < 64);
                _cleanup_free_ char *q =
                        xasprintf("SELECT group_concat(quote(name), ', ') FROM pragma_table_info('%s')", t);
                columns[n] = file_query_text(path, q);
                columns[n][strcspn(columns[n], "\n")] = 0;
                names[n] = xstrdup(t);
                before[n] = table_rows(path, t, columns[n]);
                if (!*before[n])
                        fail_msg("%s: table %s has no rows; give it some, so the upgrade is seen to keep "
                                 "them",
                                 sql_path, t);
                n++;
        }

        /* the flotad counts of polls and the check-in sequence that 3 -> 4 derives */
        _cleanup_free_ char *checkins = NULL;
        long next_checkin = 0;
        if (streq(l->name, "flotad") && version < 4) {
                checkins =
                        file_query_text(path, "SELECT device_id, count(*) FROM checkins GROUP BY device_id"
                                              " ORDER BY device_id");
                next_checkin = file_int(path, "SELECT max(id) + 1 FROM checkins");
        }

        Store *s = NULL;
        assert_int_equal(l->open(path, &s), 0);
        assert_int_equal(store_schema_version(s), (int) l->n_steps);
        store_free(s);

        _cleanup_free_ char *new_schema = schema_text(path);
        if (!streq(new_schema, fresh_schema))
                fail_msg("%s upgraded is not a new database's schema:\n%s\nvs\n%s", sql_path, new_schema,
                         fresh_schema);
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *after = table_rows(path, names[i], columns[i]);
                if (!streq(before[i], after))
                        fail_msg("%s: table %s changed in the upgrade:\n%s\nvs\n%s", sql_path, names[i],
                                 before[i], after);
                free(before[i]);
                free(names[i]);
                free(columns[i]);
        }
        _cleanup_free_ char *check = file_query_text(path, "PRAGMA integrity_check");
        assert_string_equal(check, "ok\n");
        _cleanup_free_ char *fk = file_query_text(path, "PRAGMA foreign_key_check");
        assert_string_equal(fk, "");
        if (checkins) {
                _cleanup_free_ char *polls =
                        file_query_text(path, "SELECT id, polls FROM devices WHERE polls > 0"
                                              " ORDER BY id");
                assert_string_equal(polls, checkins);
                assert_int_equal(file_int(path, "SELECT next FROM sequences WHERE name = 'checkins'"),
                                 next_checkin);
        }
}

static void test_upgrades(const char *name) {
        Ladder l = ladder(name);
        int versions[256];
        size_t n = fixture_versions(&l, versions);
        char *dir = tmpdir_new();
        _cleanup_free_ char *fresh = xasprintf("%s/fresh.db", dir);

        Store *s = NULL;
        assert_int_equal(l.open(fresh, &s), 0);
        store_free(s);
        _cleanup_free_ char *fresh_schema = schema_text(fresh);

        /* every version from 1 up to the newest fixture; today's version needs none */
        assert_true(n > 0);
        for (size_t i = 0; i < n; i++) {
                assert_int_equal(versions[i], (int) i + 1);
                assert_true((size_t) versions[i] < l.n_steps);
        }
        if ((size_t) versions[n - 1] + 1 < l.n_steps)
                print_message(
                        "note: no fixture of %s schema %d..%zu yet: add tests/fixtures/db/%s/v<N>.sql\n",
                        name, versions[n - 1] + 1, l.n_steps - 1, name);
        for (size_t i = 0; i < n; i++)
                check_upgrade(&l, versions[i], dir, fresh_schema);
        tmpdir_remove(dir);
}

static void test_flotad_upgrades(void **state) {
        (void) state;
        test_upgrades("flotad");
}

static void test_inventory_upgrades(void **state) {
        (void) state;
        test_upgrades("inventory");
}

static bool exists(const char *path) {
        return access(path, F_OK) == 0;
}

/*
 * A database stamped one version past the program's: the open fails with -EPROTO and leaves
 * the file byte for byte as it was, in its own journal mode (no WAL switch, no -wal file).
 */
static void check_newer_refused(const char *name) {
        Ladder l = ladder(name);
        char *dir = tmpdir_new();
        _cleanup_free_ char *path = xasprintf("%s/newer.db", dir);
        _cleanup_free_ char *wal = xasprintf("%s-wal", path);
        _cleanup_free_ char *shm = xasprintf("%s-shm", path);
        _cleanup_free_ char *sql = xasprintf("%s/%s/v1.sql", fixture_root, l.name);
        _cleanup_free_ char *stamp = xasprintf("PRAGMA user_version = %zu", l.n_steps + 1);
        sqlite3 *db;
        size_t n_before, n_after;

        load_sql(path, sql);
        assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
        assert_int_equal(sqlite3_exec(db, stamp, NULL, NULL, NULL), SQLITE_OK);
        sqlite3_close(db);
        _cleanup_free_ char *before = slurp(path, &n_before);
        assert_non_null(before);

        Store *s = NULL;
        assert_int_equal(l.open(path, &s), -EPROTO);
        assert_null(s);

        _cleanup_free_ char *after = slurp(path, &n_after);
        assert_int_equal(n_after, n_before);
        assert_memory_equal(after, before, n_before);
        assert_false(exists(wal));
        assert_false(exists(shm));
        _cleanup_free_ char *mode = file_query_text(path, "PRAGMA journal_mode");
        assert_string_equal(mode, "delete\n");

        /* and the programs say so in one line, leaving it as it was too */
        char *out = NULL;
        int status;
        if (streq(name, "flotad")) {
                char *args[] = { getenv("FLOTAD"),    (char *) "--data-dir",  dir,
                                 (char *) "--listen", (char *) "127.0.0.1:0", NULL };
                _cleanup_free_ char *flotad_db = xasprintf("%s/flotad.db", dir);
                assert_int_equal(rename(path, flotad_db), 0);
                status = run_program(args, true, &out);
                assert_int_equal(rename(flotad_db, path), 0);
        } else {
                char *args[] = { getenv("FLOTA"), (char *) "--db", path, (char *) "audit", NULL };
                status = run_program(args, true, &out);
        }
        assert_int_equal(status, 1);
        if (!strstr(out, l.newer_error))
                fail_msg("%s said: %s", name, out);
        free(out);
        _cleanup_free_ char *again = slurp(path, &n_after);
        assert_int_equal(n_after, n_before);
        assert_memory_equal(again, before, n_before);
        assert_false(exists(wal));
        tmpdir_remove(dir);
}

static void test_flotad_refuses_newer(void **state) {
        (void) state;
        check_newer_refused("flotad");
}

static void test_inventory_refuses_newer(void **state) {
        (void) state;
        check_newer_refused("inventory");
}

int main(int argc, char **argv) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_flotad_upgrades),
                cmocka_unit_test(test_inventory_upgrades),
                cmocka_unit_test(test_flotad_refuses_newer),
                cmocka_unit_test(test_inventory_refuses_newer),
        };

        if (argc == 5 && streq(argv[1], "--create")) {
                Ladder l = ladder(argv[2]);
                create_at(&l, strtoul(argv[3], NULL, 10), argv[4]);
                return 0;
        }
        if (argc != 2) {
                fprintf(stderr, "usage: %s FIXTURE-DIR | --create flotad|inventory N FILE\n", argv[0]);
                return 2;
        }
        fixture_root = argv[1];
        return cmocka_run_group_tests(tests, NULL, NULL);
}
