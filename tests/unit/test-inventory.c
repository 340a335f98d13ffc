/* SPDX-License-Identifier: MIT */
/* flota's inventory on a real SQLite file: merge, history, cursors, summaries. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <sqlite3.h>
#include <string.h>

#include "../harness/tmpdir.h"
#include "flota/alloc.h"
#include "flota/inventory.h"
#include "flota/store.h"
#include "flota/strutil.h"

static int setup(void **state) {
        char *dir = tmpdir_new();
        *state = dir;
        return 0;
}

static int teardown(void **state) {
        tmpdir_remove(*state);
        return 0;
}

static int collect(const char *version, usec_t at, const char *source, void *userdata) {
        strcat(userdata, version);
        strcat(userdata, "@");
        strcat(userdata, source);
        strcat(userdata, " ");
        return 0;
}

static int count_cb(const char *key, int64_t n, void *userdata) {
        char buf[64];
        snprintf(buf, sizeof(buf), "%s=%lld ", key, (long long) n);
        strcat(userdata, buf);
        return 0;
}

static void test_merge_and_history(void **state) {
        _cleanup_free_ char *path = xasprintf("%s/flota.db", (char *) *state);
        Store *s;
        char text[256] = "";

        assert_int_equal(inventory_open(path, &s), 0);
        Sighting a = { .device = "18:FE:34:00:00:01",
                       .product = "door",
                       .platform = "esp8266",
                       .version = "1.0",
                       .at = 100,
                       .source = "flotad" };
        assert_int_equal(inventory_record(s, &a), 0);
        a.at = 200;
        assert_int_equal(inventory_record(s, &a), 0); /* same version: no history entry */
        /* another source knows less: it does not erase the product */
        Sighting b = { .device = "18:FE:34:00:00:01", .version = "1.1", .at = 300, .source = "mdns" };
        assert_int_equal(inventory_record(s, &b), 0);
        Sighting c = { .device = "18:FE:34:00:00:02",
                       .product = "lamp",
                       .platform = "esp32",
                       .version = "2.0",
                       .at = 150,
                       .source = "flotad" };
        assert_int_equal(inventory_record(s, &c), 0);

        assert_int_equal(inventory_history(s, "18:FE:34:00:00:01", collect, text), 0);
        assert_string_equal(text, "1.1@mdns 1.0@flotad ");
        text[0] = 0;
        assert_int_equal(inventory_count_by(s, "product", count_cb, text), 0);
        assert_string_equal(text, "door=1 lamp=1 ");
        assert_int_equal(inventory_count_by(s, "sql; drop", count_cb, text), -EINVAL);

        InventorySummary sum;
        assert_int_equal(inventory_summary(s, 250, &sum), 0);
        assert_int_equal(sum.devices, 2);
        assert_int_equal(sum.online, 1);
        assert_true(sum.last_seen == 300);
        store_free(s);
}

static void test_cursors(void **state) {
        _cleanup_free_ char *path = xasprintf("%s/flota.db", (char *) *state);
        Store *s;
        char *cursor = NULL;

        assert_int_equal(inventory_open(path, &s), 0);
        assert_int_equal(inventory_cursor(s, "flotad:x", &cursor), -ENOENT);
        assert_int_equal(inventory_advance(s, "flotad:x", "42", 42), 0);
        assert_int_equal(inventory_advance(s, "flotad:x", "50", 8), 0);
        assert_int_equal(inventory_cursor(s, "flotad:x", &cursor), 0);
        assert_string_equal(cursor, "50");
        free(cursor);
        assert_int_equal(inventory_ingested(s, "flotad:x"), 50);
        assert_int_equal(inventory_ingested(s, "nothing"), 0);
        assert_int_equal(inventory_audit(s, "ingest", "50 check-ins"), 0);
        assert_int_equal(store_schema_version(s), INVENTORY_SCHEMA_VERSION);
        store_free(s);
}

/* The sources the row of id has in the inventory at path, or "" when there is no such row. */
static void sources_of(const char *path, const char *id, char *buf, size_t n) {
        sqlite3 *db;
        sqlite3_stmt *st;

        buf[0] = 0;
        assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_prepare_v2(db, "SELECT sources FROM devices WHERE id = ?", -1, &st, NULL),
                         SQLITE_OK);
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW)
                snprintf(buf, n, "%s", (const char *) sqlite3_column_text(st, 0));
        sqlite3_finalize(st);
        sqlite3_close(db);
}

/*
 * Only the default host names ArduinoOTA (and Tasmota) give, exactly, merge into the MAC they
 * name; a host name that merely looks like one, or holds '_' or '%', is a device of its own.
 */
static void test_mdns_merge_exact(void **state) {
        _cleanup_free_ char *path = xasprintf("%s/flota.db", (char *) *state);
        char id[DEVICE_ID_MAX + 1], text[64];
        Store *s;

        assert_int_equal(inventory_open(path, &s), 0);
        static const char *const macs[] = { "18:FE:34:1A:2B:3C", "18:FE:34:D1:E2:F3", "18:FE:34:AB:CD:EF" };
        for (size_t i = 0; i < ELEMENTSOF(macs); i++) {
                Sighting a = {
                        .device = macs[i], .product = "door", .version = "1.0", .at = 100, .source = "flotad"
                };
                assert_int_equal(inventory_record(s, &a), 0);
        }
        static const struct {
                const char *device, *want;
        } cases[] = {
                { "lamp-1a2b3c", "lamp-1a2b3c" },   /* not a default name */
                { "shelf-d_e_f_", "shelf-d_e_f_" }, /* '_' is no wildcard */
                { "esp8266-d%", "esp8266-d%" },     /* nor '%' */
                { "esp8266-ab_def", "esp8266-ab_def" },
                { "esp8266-1a2b3c4", "esp8266-1a2b3c4" }, /* too long */
                { "xesp8266-abcdef", "xesp8266-abcdef" },
                { "esp8266-1a2b3c", "18:FE:34:1A:2B:3C" }, /* ArduinoOTA's ESP8266 default */
                { "tasmota-d1e2f3", "18:FE:34:D1:E2:F3" },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                MdnsSighting m = { .device = cases[i].device,
                                   .kind = "arduino-ota",
                                   .host = cases[i].device,
                                   .ip = "127.0.0.1",
                                   .port = 8266,
                                   .at = 200 };
                assert_int_equal(inventory_mdns_seen(s, &m, id), 0);
                if (!streq(id, cases[i].want))
                        fail_msg("%s merged into %s, want %s", cases[i].device, id, cases[i].want);
                sources_of(path, cases[i].want, text, sizeof(text));
                assert_non_null(strstr(text, "mdns"));
        }
        /* the devices the look-alikes did not join were not touched by mDNS */
        sources_of(path, "18:FE:34:AB:CD:EF", text, sizeof(text));
        assert_string_equal(text, "flotad");
        store_free(s);
}

static int copy_record(const MdnsRecord *m, void *userdata) {
        char *buf = userdata;
        snprintf(buf, 256, "%s %s:%u %s %s [%s]", m->kind, m->host, m->port, m->board,
                 m->announced ? "up" : "gone", m->txt);
        return 0;
}

/* What mDNS said of a device reads back as written; a goodbye keeps it, marked gone; none: -ENOENT. */
static void test_mdns_record(void **state) {
        _cleanup_free_ char *path = xasprintf("%s/flota.db", (char *) *state);
        char id[DEVICE_ID_MAX + 1], text[256];
        Store *s;

        assert_int_equal(inventory_open(path, &s), 0);
        Sighting a = { .device = "18:FE:34:00:00:01", .version = "1.0", .at = 100, .source = "flotad" };
        assert_int_equal(inventory_record(s, &a), 0);
        assert_int_equal(inventory_mdns_record(s, "18:FE:34:00:00:01", copy_record, text), -ENOENT);
        MdnsSighting m = { .device = "hall",
                           .kind = "esphome",
                           .host = "hall.local",
                           .board = "esp01_1m",
                           .txt = "version=2024.6.1\nfriendly_name=Hall",
                           .ip = "10.0.0.9",
                           .port = 6053,
                           .at = 200 };
        assert_int_equal(inventory_mdns_seen(s, &m, id), 0);
        assert_int_equal(inventory_mdns_record(s, id, copy_record, text), 0);
        assert_string_equal(text,
                            "esphome hall.local:6053 esp01_1m up [version=2024.6.1\nfriendly_name=Hall]");
        assert_int_equal(inventory_mdns_gone(s, id), 0);
        assert_int_equal(inventory_mdns_record(s, id, copy_record, text), 0);
        assert_non_null(strstr(text, " gone "));
        assert_int_equal(inventory_mdns_record(s, "nobody", copy_record, text), -ENOENT);
        store_free(s);
}

/* An inventory of schema 4 (the history indexed by row id) upgrades to 5 and keeps its history. */
static void test_upgrade_from_4(void **state) {
        _cleanup_free_ char *path = xasprintf("%s/flota.db", (char *) *state);
        char text[256] = "";
        sqlite3 *db;
        Store *s;

        /* a schema-4 database: today's, with 4 -> 5 undone */
        assert_int_equal(inventory_open(path, &s), 0);
        Sighting a = { .device = "18:FE:34:00:00:01", .version = "1.0", .at = 100, .source = "flotad" };
        assert_int_equal(inventory_record(s, &a), 0);
        a.version = "1.1";
        a.at = 200;
        assert_int_equal(inventory_record(s, &a), 0);
        store_free(s);
        assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
        assert_int_equal(
                sqlite3_exec(db,
                             "DROP INDEX version_history_time;"
                             "CREATE INDEX version_history_device ON version_history(device_id, id);"
                             "ALTER TABLE devices DROP COLUMN framework;"
                             "PRAGMA user_version = 4;",
                             NULL, NULL, NULL),
                SQLITE_OK);
        sqlite3_close(db);

        assert_int_equal(inventory_open(path, &s), 0);
        assert_int_equal(store_schema_version(s), 6);
        /* 5 -> 6: the framework column is back, empty for the rows that were there */
        assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
        assert_int_equal(
                sqlite3_exec(db, "SELECT framework FROM devices WHERE framework <> ''", NULL, NULL, NULL),
                SQLITE_OK);
        sqlite3_close(db);
        assert_int_equal(inventory_history(s, "18:FE:34:00:00:01", collect, text), 0);
        assert_string_equal(text, "1.1@flotad 1.0@flotad ");
        /* an older sighting read later still lands in time order */
        Sighting old = { .device = "18:FE:34:00:00:01", .version = "0.9", .at = 50, .source = "log:x" };
        assert_int_equal(inventory_record(s, &old), 0);
        text[0] = 0;
        assert_int_equal(inventory_history(s, "18:FE:34:00:00:01", collect, text), 0);
        assert_string_equal(text, "1.1@flotad 1.0@flotad 0.9@log:x ");
        store_free(s);

        assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
        sqlite3_stmt *st;
        assert_int_equal(
                sqlite3_prepare_v2(db,
                                   "SELECT group_concat(name, ',') FROM (SELECT name FROM sqlite_master"
                                   " WHERE type = 'index' AND name LIKE 'version_history%' ORDER BY name)",
                                   -1, &st, NULL),
                SQLITE_OK);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        assert_string_equal((const char *) sqlite3_column_text(st, 0), "version_history_time");
        sqlite3_finalize(st);
        sqlite3_close(db);
}

static char *query(const char *path, const char *sql) {
        sqlite3 *db;
        sqlite3_stmt *st;
        char *text = NULL;

        assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
        if (sqlite3_step(st) == SQLITE_ROW)
                text = xstrdup(sqlite3_column_text(st, 0) ? (const char *) sqlite3_column_text(st, 0)
                                                          : "NULL");
        sqlite3_finalize(st);
        sqlite3_close(db);
        return text ? text : xstrdup("");
}

/*
 * Labels on a device never seen: flotad's database and the inventory behave alike (one writer,
 * src/store/labels.c). The row is created, never seen (0), listed with its labels; replacing
 * them with none keeps the row; the first sighting gives the row its times.
 */
static void test_labels_create_the_row(void **state) {
        static const char *const dbs[] = { "flotad", "inventory" };
        char *labels[] = { (char *) "b", (char *) "a", (char *) "a" };

        for (size_t i = 0; i < 2; i++) {
                _cleanup_free_ char *path = xasprintf("%s/%s.db", (char *) *state, dbs[i]);
                bool inv = i == 1;
                Store *s;

                assert_int_equal(inv ? inventory_open(path, &s) : store_open(path, &s), 0);
                assert_int_equal(inv ? inventory_set_labels(s, "18:FE:34:00:00:09", labels, 3)
                                     : store_device_set_labels(s, "18:FE:34:00:00:09", labels, 3),
                                 0);
                store_free(s);
                _cleanup_free_ char *row =
                        query(path, "SELECT id || ' ' || first_seen || ' ' || last_seen FROM devices");
                assert_string_equal(row, "18:FE:34:00:00:09 0 0");
                _cleanup_free_ char *set = query(path, "SELECT group_concat(label, ',') FROM"
                                                       " (SELECT label FROM device_labels ORDER BY label)");
                assert_string_equal(set, "a,b");

                assert_int_equal(inv ? inventory_open(path, &s) : store_open(path, &s), 0);
                assert_int_equal(inv ? inventory_set_labels(s, "18:FE:34:00:00:09", NULL, 0)
                                     : store_device_set_labels(s, "18:FE:34:00:00:09", NULL, 0),
                                 0);
                store_free(s);
                _cleanup_free_ char *none = query(path, "SELECT count(*) FROM device_labels");
                assert_string_equal(none, "0");
                _cleanup_free_ char *kept = query(path, "SELECT count(*) FROM devices");
                assert_string_equal(kept, "1");
        }

        /* the inventory's first sighting (and an mDNS one) replaces "never seen" */
        _cleanup_free_ char *path = xasprintf("%s/inventory.db", (char *) *state);
        Store *s;
        assert_int_equal(inventory_open(path, &s), 0);
        assert_int_equal(inventory_set_labels(s, "18:FE:34:00:00:0A", labels, 1), 0);
        Sighting a = {
                .device = "18:FE:34:00:00:09", .version = "1.0", .at = 100 * USEC_PER_SEC, .source = "flotad"
        };
        assert_int_equal(inventory_record(s, &a), 0);
        store_free(s);
        _cleanup_free_ char *seen =
                query(path, "SELECT first_seen || ' ' || last_seen || ' ' || version FROM devices"
                            " WHERE id = '18:FE:34:00:00:09'");
        _cleanup_free_ char *want = xasprintf("%llu %llu 1.0", (unsigned long long) (100 * USEC_PER_SEC),
                                              (unsigned long long) (100 * USEC_PER_SEC));
        assert_string_equal(seen, want);
        _cleanup_free_ char *other =
                query(path, "SELECT first_seen FROM devices WHERE id = '18:FE:34:00:00:0A'");
        assert_string_equal(other, "0");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_mdns_record, setup, teardown),
                cmocka_unit_test_setup_teardown(test_mdns_merge_exact, setup, teardown),
                cmocka_unit_test_setup_teardown(test_upgrade_from_4, setup, teardown),
                cmocka_unit_test_setup_teardown(test_labels_create_the_row, setup, teardown),
                cmocka_unit_test_setup_teardown(test_merge_and_history, setup, teardown),
                cmocka_unit_test_setup_teardown(test_cursors, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
