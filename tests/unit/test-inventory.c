/* SPDX-License-Identifier: MIT */
/* flota's inventory on a real SQLite file: merge, history, cursors, summaries. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "../harness/tmpdir.h"
#include "flota/alloc.h"
#include "flota/inventory.h"

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
        Sighting a = { .device = "18:FE:34:00:00:01", .product = "door", .platform = "esp8266", .version = "1.0",
                       .at = 100, .source = "flotad" };
        assert_int_equal(inventory_record(s, &a), 0);
        a.at = 200;
        assert_int_equal(inventory_record(s, &a), 0); /* same version: no history entry */
        /* another source knows less: it does not erase the product */
        Sighting b = { .device = "18:FE:34:00:00:01", .version = "1.1", .at = 300, .source = "mdns" };
        assert_int_equal(inventory_record(s, &b), 0);
        Sighting c = { .device = "18:FE:34:00:00:02", .product = "lamp", .platform = "esp32", .version = "2.0",
                       .at = 150, .source = "flotad" };
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

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_merge_and_history, setup, teardown),
                cmocka_unit_test_setup_teardown(test_cursors, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
