/* SPDX-License-Identifier: MIT */
/* The dashboard's pure parts: the fleet snapshot (build, filter, sort, marks), the layout math, the key
 * table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <curses.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "../harness/tmpdir.h"
#include "flota/alloc.h"
#include "flota/inventory.h"
#include "complete.h"
#include "keymap.h"
#include "layout.h"
#include "flota/fleet-snapshot.h"

#define NOW (1000000 * USEC_PER_SEC)

static int setup(void **state) {
        *state = tmpdir_new();
        return 0;
}

static int teardown(void **state) {
        tmpdir_remove(*state);
        return 0;
}

static void record(Store *s, const char *id, const char *product, const char *platform, const char *version,
                   usec_t at) {
        Sighting x = { .device = id,
                       .product = product,
                       .platform = platform,
                       .version = version,
                       .at = at,
                       .source = "flotad" };
        assert_int_equal(inventory_record(s, &x), 0);
}

/* five devices: two products, three versions of door, one long silent */
static Snapshot *fleet(const char *dir) {
        _cleanup_free_ char *path = xasprintf("%s/flota.db", dir);
        Store *s;
        Snapshot *snap;

        assert_int_equal(inventory_open(path, &s), 0);
        record(s, "18:FE:34:00:00:03", "door", "esp8266", "2.0.3", NOW - 30 * USEC_PER_SEC);
        record(s, "18:FE:34:00:00:01", "door", "esp8266", "2.1.0", NOW - 5 * USEC_PER_SEC);
        record(s, "18:FE:34:00:00:02", "door", "esp8266", "2.1.0", NOW - 3600 * USEC_PER_SEC);
        record(s, "24:0A:C4:00:00:01", "meter", "esp32", "1.4.2", NOW - 10 * USEC_PER_SEC);
        record(s, "18:FE:34:00:00:04", "door", "esp8266", "1.9.0", NOW - 50 * USEC_PER_SEC);
        char *garage = (char *) "garage";
        assert_int_equal(inventory_set_labels(s, "18:FE:34:00:00:03", &garage, 1), 0);
        assert_int_equal(snapshot_build(s, NOW, &snap), 0);
        store_free(s);
        return snap;
}

static void ids(const Snapshot *s, const size_t *idx, size_t n, char *buf, size_t size) {
        buf[0] = 0;
        for (size_t i = 0; i < n; i++)
                snprintf(buf + strlen(buf), size - strlen(buf), "%s%s", i ? " " : "",
                         s->rows[idx[i]].id + 15);
}

static void test_snapshot_build(void **state) {
        _cleanup_(snapshot_freep) Snapshot *s = fleet(*state);

        assert_int_equal(s->n_rows, 5);
        assert_string_equal(s->rows[0].id, "18:FE:34:00:00:01"); /* id order */
        assert_int_equal(s->online, 4);                          /* the one an hour silent is offline */
        assert_false(snapshot_find(s, "18:FE:34:00:00:02")->online);
        assert_int_equal(s->n_products, 2);
        assert_string_equal(s->products[0].product, "door"); /* largest first */
        assert_int_equal(s->products[0].total, 4);
        assert_string_equal(s->products[0].top[0].version, "2.1.0");
        assert_int_equal(s->products[0].top[0].n, 2);
        assert_int_equal(s->products[0].n_top, 3);
        assert_int_equal(s->products[0].other, 0);
        assert_string_equal(snapshot_find(s, "18:FE:34:00:00:03")->labels, "garage");
        assert_int_equal(snapshot_find(s, "18:FE:34:00:00:03")->state, -1);
        assert_null(snapshot_find(s, "18:FE:34:99:99:99"));
}

static void test_filter_and_sort(void **state) {
        _cleanup_(snapshot_freep) Snapshot *s = fleet(*state);
        char err[SELECTION_ERROR_MAX], text[128];
        size_t *idx, n;

        assert_int_equal(fleet_view_build(s, "", NOW, FLEET_COL_ID, false, &idx, &n, err), 0);
        ids(s, idx, n, text, sizeof(text));
        assert_string_equal(text, "01 02 03 04 01");
        free(idx);

        assert_int_equal(fleet_view_build(s, "product=door version<2.1", NOW, FLEET_COL_VERSION, false, &idx,
                                          &n, err),
                         0);
        ids(s, idx, n, text, sizeof(text));
        assert_string_equal(text, "04 03");
        free(idx);

        assert_int_equal(fleet_view_build(s, "online label=garage", NOW, FLEET_COL_ID, false, &idx, &n, err),
                         0);
        assert_int_equal(n, 1);
        free(idx);

        /* version descending; ties by id, ascending whichever way the column goes */
        assert_int_equal(fleet_view_build(s, "product=door", NOW, FLEET_COL_VERSION, true, &idx, &n, err),
                         0);
        ids(s, idx, n, text, sizeof(text));
        assert_string_equal(text, "01 02 03 04");
        free(idx);

        /* last seen: the most recent first */
        assert_int_equal(fleet_view_build(s, NULL, NOW, FLEET_COL_SEEN, false, &idx, &n, err), 0);
        ids(s, idx, n, text, sizeof(text));
        assert_string_equal(text, "01 01 03 04 02");
        free(idx);

        idx = NULL;
        assert_int_equal(fleet_view_build(s, "colour=red", NOW, FLEET_COL_ID, false, &idx, &n, err),
                         -EINVAL);
        assert_null(idx);
        assert_true(strlen(err) > 0);
}

static void test_marks_carry(void **state) {
        _cleanup_(snapshot_freep) Snapshot *a = fleet(*state);
        _cleanup_(snapshot_freep) Snapshot *b = fleet(*state);

        snapshot_find(a, "18:FE:34:00:00:04")->marked = true;
        snapshot_carry_marks(b, a);
        assert_true(snapshot_find(b, "18:FE:34:00:00:04")->marked);
        assert_false(snapshot_find(b, "18:FE:34:00:00:01")->marked);
}

static void test_layout(void **state) {
        Layout l;

        layout_compute(36, 120, 2, 2, &l);
        assert_false(l.too_small);
        assert_int_equal(l.n_products, 2);
        assert_int_equal(l.n_rollouts, 2);
        assert_int_equal(l.rule_y, 5);
        assert_int_equal(l.table_y, 7);
        assert_int_equal(l.table_rows, 36 - 2 - 7);
        /* 120 columns: all but the two first to go (online, name) */
        for (int c = 0; c < _FLEET_COL_MAX; c++)
                assert_true(l.shown[c] == (c != FLEET_COL_ONLINE && c != FLEET_COL_NAME));
        assert_int_equal(l.col_x[FLEET_COL_ID], 2);
        assert_int_equal(l.col_x[FLEET_COL_LABELS] + l.col_w[FLEET_COL_LABELS], 120);

        /* 80x24: many products and rollouts, the table keeps its 12 rows */
        layout_compute(24, 80, 9, 9, &l);
        assert_false(l.too_small);
        assert_int_equal(l.table_rows, LAYOUT_MIN_TABLE_ROWS);
        assert_int_equal(l.n_products + l.n_rollouts, 24 - 5 - LAYOUT_MIN_TABLE_ROWS);
        assert_false(l.shown[FLEET_COL_LABELS]);
        assert_false(l.shown[FLEET_COL_SOURCES]);
        assert_false(l.shown[FLEET_COL_TARGET]);
        assert_true(l.shown[FLEET_COL_STATE]);
        assert_true(l.shown[FLEET_COL_SEEN]);
        assert_true(l.col_x[FLEET_COL_SEEN] + l.col_w[FLEET_COL_SEEN] <= 80);

        /* wide enough for every column */
        layout_compute(36, 160, 2, 2, &l);
        for (int c = 0; c < _FLEET_COL_MAX; c++)
                assert_true(l.shown[c]);
        assert_int_equal(l.col_x[FLEET_COL_LABELS] + l.col_w[FLEET_COL_LABELS], 160);

        layout_compute(23, 80, 1, 0, &l);
        assert_true(l.too_small);
        layout_compute(24, 79, 1, 0, &l);
        assert_true(l.too_small);
}

static void test_scroll(void **state) {
        assert_int_equal(layout_scroll(0, 5, 10, 100), 0);
        assert_int_equal(layout_scroll(0, 10, 10, 100), 1);
        assert_int_equal(layout_scroll(50, 20, 10, 100), 20);
        assert_int_equal(layout_scroll(95, 99, 10, 100), 90);
        assert_int_equal(layout_scroll(7, 3, 10, 5), 0);
}

/* The cells both renderers show: sources from the inventory's list, a dash for what no source said. */
static void test_fleet_cells(void **state) {
        FleetRow r = { .id = "18:FE:34:00:00:01",
                       .name = "",
                       .ip = "",
                       .product = "door",
                       .platform = "",
                       .version = "1.0.0",
                       .labels = "attic",
                       .state = -1,
                       .online = true };
        char buf[32];

        assert_string_equal(fleet_cell(&r, FLEET_COL_NAME, NOW, "-", buf), "-");
        assert_string_equal(fleet_cell(&r, FLEET_COL_PLATFORM, NOW, "-", buf), "-");
        assert_string_equal(fleet_cell(&r, FLEET_COL_TARGET, NOW, "-", buf), "-");
        assert_string_equal(fleet_cell(&r, FLEET_COL_ONLINE, NOW, "-", buf), "yes");
        assert_string_equal(fleet_cell(&r, FLEET_COL_SEEN, NOW, "-", buf), "-");
        r.last_seen = NOW - 90 * USEC_PER_SEC;
        assert_string_equal(fleet_cell(&r, FLEET_COL_SEEN, NOW, "-", buf), "90s");
        assert_string_equal(fleet_cell(&r, FLEET_COL_SOURCES, NOW, "-", buf), "");
        r.sources = FLEET_SOURCE_POLL | FLEET_SOURCE_LOG | FLEET_SOURCE_MDNS;
        assert_string_equal(fleet_cell(&r, FLEET_COL_SOURCES, NOW, "-", buf), "poll log mdns");
        r.sources = FLEET_SOURCE_MDNS;
        assert_string_equal(fleet_cell(&r, FLEET_COL_SOURCES, NOW, "-", buf), "mdns");
        r.state = DR_OFFERED;
        r.target = "1.1.0";
        assert_string_equal(fleet_cell(&r, FLEET_COL_STATE, NOW, "-", buf), "offered");
        assert_string_equal(fleet_cell(&r, FLEET_COL_TARGET, NOW, "-", buf), "1.1.0");

        /* columns by name, for --sort */
        assert_int_equal(fleet_column_from_name("last-seen"), FLEET_COL_SEEN);
        assert_int_equal(fleet_column_from_name("name"), FLEET_COL_NAME);
        assert_int_equal(fleet_column_from_name("LAST SEEN"), -EINVAL);
        for (int c = 0; c < _FLEET_COL_MAX; c++)
                assert_int_equal(fleet_column_from_name(fleet_column_name(c)), c);
}

static void touch(const char *dir, const char *name) {
        _cleanup_free_ char *p = xasprintf("%s/%s", dir, name);
        FILE *f = fopen(p, "w");
        assert_non_null(f);
        fclose(f);
}

/* Tab in the upload prompt: as far as the matches agree, directories with a '/', dot files only when asked.
 */
static void test_path_complete(void **state) {
        char *dir = tmpdir_new(), out[256];
        PathMatches m = {};

        assert_non_null(dir);
        touch(dir, "door-1.0.bin");
        touch(dir, "door-1.1.bin");
        touch(dir, ".hidden.bin");
        _cleanup_free_ char *sub = xasprintf("%s/dist", dir);
        assert_int_equal(mkdir(sub, 0700), 0);

        _cleanup_free_ char *typed = xasprintf("%s/do", dir);
        assert_int_equal(path_complete(typed, out, sizeof(out), &m), 0);
        _cleanup_free_ char *want = xasprintf("%s/door-1.", dir);
        assert_string_equal(out, want);
        assert_int_equal(m.n, 2);
        assert_string_equal(m.names[0], "door-1.0.bin");
        path_matches_free(&m);

        _cleanup_free_ char *typed2 = xasprintf("%s/di", dir), *want2 = xasprintf("%s/dist/", dir);
        assert_int_equal(path_complete(typed2, out, sizeof(out), NULL), 0);
        assert_string_equal(out, want2);

        /* everything but the dot file; then the dot file when the name starts with '.' */
        _cleanup_free_ char *typed3 = xasprintf("%s/", dir), *typed4 = xasprintf("%s/.h", dir);
        assert_int_equal(path_complete(typed3, out, sizeof(out), &m), 0);
        assert_int_equal(m.n, 3);
        path_matches_free(&m);
        assert_int_equal(path_complete(typed4, out, sizeof(out), &m), 0);
        assert_int_equal(m.n, 1);
        path_matches_free(&m);

        _cleanup_free_ char *typed5 = xasprintf("%s/zzz", dir), *typed6 = xasprintf("%s/none/x", dir);
        assert_int_equal(path_complete(typed5, out, sizeof(out), NULL), -ENOENT);
        assert_int_equal(path_complete(typed6, out, sizeof(out), NULL), -ENOENT);
        /* a result that does not fit */
        assert_int_equal(path_complete(typed, out, 8, NULL), -ENAMETOOLONG);

        tmpdir_remove(dir);
}

static void test_keymap(void **state) {
        size_t n;
        const KeyBinding *t = keymap_table(&n);

        assert_int_equal(keymap_lookup('/', VIEW_FLEET)->action, ACTION_FILTER);
        assert_null(keymap_lookup('/', VIEW_ROLLOUTS));
        /* one key, two meanings by view */
        assert_int_equal(keymap_lookup(' ', VIEW_FLEET)->action, ACTION_MARK);
        assert_int_equal(keymap_lookup(' ', VIEW_ROLLOUTS)->action, ACTION_PAUSE_RESUME);
        assert_int_equal(keymap_lookup(KEY_F(4), VIEW_DEVICE)->action, ACTION_VIEW_ROLLOUTS);
        assert_int_equal(keymap_lookup('\r', VIEW_FLEET)->action, ACTION_DETAIL);
        assert_int_equal(keymap_lookup('q', VIEW_HELP)->action, ACTION_QUIT);
        assert_null(keymap_lookup('Z', VIEW_FLEET));
        assert_string_equal(keymap_key_for(ACTION_ABORT, VIEW_ROLLOUTS)->name, "X");
        /* every binding has help, every action a name, and no key means two things in one view */
        for (size_t i = 0; i < n; i++) {
                assert_non_null(t[i].help);
                assert_non_null(action_to_string(t[i].action));
                for (View v = 0; v < _VIEW_MAX; v++)
                        if (t[i].views & (1u << v))
                                assert_ptr_equal(keymap_lookup(t[i].key, v)->action, t[i].action);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_snapshot_build, setup, teardown),
                cmocka_unit_test_setup_teardown(test_filter_and_sort, setup, teardown),
                cmocka_unit_test_setup_teardown(test_marks_carry, setup, teardown),
                cmocka_unit_test(test_layout),
                cmocka_unit_test(test_scroll),
                cmocka_unit_test(test_fleet_cells),
                cmocka_unit_test(test_path_complete),
                cmocka_unit_test(test_keymap),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
