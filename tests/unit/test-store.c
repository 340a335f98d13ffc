/* SPDX-License-Identifier: MIT */
/* The store against real SQLite files: migrations, constraints, check-ins, catalog. */
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

static int64_t add_release(Store *s, int64_t product, const char *version) {
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

static void test_products_and_releases(void **state) {
        Fixture *f = *state;
        int64_t id, again;

        assert_int_equal(store_product_create(f->store, "door", NULL, _PLATFORM_INVALID, &id), 0);
        assert_int_equal(store_product_create(f->store, "door", NULL, _PLATFORM_INVALID, &again), -EEXIST);
        int64_t r1 = add_release(f->store, id, "1.0");
        Release dup = {
                .product_id = id, .version = (char *) "1.0", .platform = PLATFORM_ESP8266, .size = 1
        };
        assert_int_equal(store_release_insert(f->store, &dup), -EEXIST);

        /* a release in a channel cannot be deleted */
        const char *why = NULL;
        assert_int_equal(store_channel_set(f->store, id, "stable", IMAGE_KIND_SKETCH, r1, "test"), 0);
        assert_int_equal(store_release_delete(f->store, r1, &why), -EBUSY);
        assert_non_null(why);
        int64_t r2 = add_release(f->store, id, "2.0");
        assert_int_equal(store_device_set_pin(f->store, "AA:BB:CC:DD:EE:FF", r2), 0);
        assert_int_equal(store_release_delete(f->store, r2, &why), -EBUSY);
        assert_int_equal(store_device_set_pin(f->store, "AA:BB:CC:DD:EE:FF", 0), 0);
        assert_int_equal(store_release_delete(f->store, r2, &why), 0);
        assert_int_equal(store_release_delete(f->store, r2, &why), -ENOENT);
        assert_int_equal(store_blob_in_use(f->store, "2.0"), 0);
        assert_int_equal(store_blob_in_use(f->store, "1.0"), 1);
}

static int count_cb(const ChannelChange *c, void *userdata) {
        (*(int *) userdata)++;
        return 0;
}

static void test_channel_history(void **state) {
        Fixture *f = *state;
        int64_t id, n = 0;
        int count = 0;

        assert_int_equal(store_product_create(f->store, "lamp", NULL, PLATFORM_ESP32, &id), 0);
        int64_t a = add_release(f->store, id, "a"), b = add_release(f->store, id, "b");
        assert_int_equal(store_channel_set(f->store, id, "stable", IMAGE_KIND_SKETCH, a, "x"), 0);
        assert_int_equal(store_channel_set(f->store, id, "stable", IMAGE_KIND_SKETCH, b, "x"), 0);
        assert_int_equal(store_channel_history(f->store, "lamp", "stable", 10, count_cb, &count), 0);
        assert_int_equal(count, 2);
        (void) n;

        Catalog *c;
        assert_int_equal(store_catalog_load(f->store, &c), 0);
        const Product *p = catalog_product(c, "lamp");
        assert_non_null(p);
        assert_int_equal(p->platform, PLATFORM_ESP32);
        const ChannelSlot *s = catalog_channel(c, id, "stable", IMAGE_KIND_SKETCH);
        assert_non_null(s);
        assert_int_equal(s->release_id, b);
        catalog_free(c);
}

static int collect_ids(const Checkin *c, void *userdata) {
        int64_t *last = userdata;
        assert_true(c->id > *last);
        *last = c->id;
        return 0;
}

static int count_devices(const Device *d, void *userdata);

static void test_checkins_batch_and_feed(void **state) {
        Fixture *f = *state;
        Checkin batch[300];

        for (int i = 0; i < 300; i++) {
                DeviceRequest req;
                device_request_init(&req);
                req.platform = PLATFORM_ESP8266;
                snprintf(req.device_id, sizeof(req.device_id), "AA:BB:CC:00:%02X:%02X", i / 256, i % 256);
                strscpy(req.version, sizeof(req.version), "1.0");
                checkin_fill(&batch[i], &req, "door", "127.0.0.1", 1000 + (usec_t) i, REASON_NO_RELEASE,
                             NULL, TARGET_NONE);
        }
        assert_int_equal(store_checkins_write(f->store, batch, 300), 0);
        assert_int_equal(store_checkins_count(f->store), 300);
        assert_true(batch[299].id == batch[0].id + 299);

        /* the feed returns everything once, in order, page by page */
        int64_t cursor = 0, last = 0;
        int total = 0, n;
        while ((n = store_checkins_after(f->store, cursor, 64, collect_ids, &last)) > 0) {
                total += n;
                cursor = last;
        }
        assert_int_equal(n, 0);
        assert_int_equal(total, 300);

        /* every check-in updated its device */
        DeviceFilter filter = { .product = "door", .limit = 1000 };
        int devices = 0;
        assert_int_equal(store_devices_list(f->store, &filter, count_devices, &devices), 300);
}

static int count_devices(const Device *d, void *userdata) {
        (*(int *) userdata)++;
        return 0;
}

static void test_devices_filters_and_assign(void **state) {
        Fixture *f = *state;
        int64_t pid;
        char *ids[3] = { (char *) "AA:00:00:00:00:01", (char *) "AA:00:00:00:00:02", (char *) "15602487" };
        char *labels[2] = { (char *) "site=berlin", (char *) "floor=2" };
        int n = 0;

        assert_int_equal(store_product_create(f->store, "meter", NULL, _PLATFORM_INVALID, &pid), 0);
        int64_t r = add_release(f->store, pid, "9");
        assert_int_equal(store_assign(f->store, r, ids, 3), 0);
        assert_int_equal(store_device_set_labels(f->store, ids[0], labels, 2), 0);
        assert_int_equal(store_device_set_channel(f->store, ids[1], "beta"), 0);

        DeviceFilter all = { .limit = 10 };
        assert_int_equal(store_devices_list(f->store, &all, count_devices, &n), 3);
        DeviceFilter by_label = { .label = "site=berlin", .limit = 10 };
        n = 0;
        assert_int_equal(store_devices_list(f->store, &by_label, count_devices, &n), 1);
        DeviceFilter page = { .after = ids[0], .limit = 10 };
        assert_int_equal(store_devices_list(f->store, &page, count_devices, &n), 1);
        /* the devices assigned a release: all three, then none once one is unassigned and another release is
         * asked */
        DeviceFilter by_assigned = { .assigned = r, .limit = 10 };
        assert_int_equal(store_devices_list(f->store, &by_assigned, count_devices, &n), 3);
        assert_int_equal(store_assign(f->store, 0, ids, 1), 0);
        assert_int_equal(store_devices_list(f->store, &by_assigned, count_devices, &n), 2);
        DeviceFilter other = { .assigned = r + 1, .limit = 10 };
        assert_int_equal(store_devices_list(f->store, &other, count_devices, &n), 0);
        assert_int_equal(store_assign(f->store, r, ids, 1), 0);

        Catalog *c;
        assert_int_equal(store_catalog_load(f->store, &c), 0);
        assert_int_equal(c->n_overrides, 3);
        const DeviceOverride *o = catalog_override(c, ids[1]);
        assert_non_null(o);
        assert_int_equal(o->assigned_release_id, r);
        assert_string_equal(o->channel, "beta");
        catalog_free(c);

        /* clearing is atomic over the whole list */
        assert_int_equal(store_assign(f->store, 0, ids, 3), 0);
        assert_int_equal(store_catalog_load(f->store, &c), 0);
        assert_int_equal(c->n_overrides, 1); /* the channel override stays */
        catalog_free(c);
        assert_int_equal(store_device_get(f->store, "AA:00:00:00:00:09", count_devices, &n), -ENOENT);
}

static void test_checkins_prune(void **state) {
        Fixture *f = *state;
        Checkin batch[100];

        for (int i = 0; i < 100; i++) {
                DeviceRequest req;
                device_request_init(&req);
                snprintf(req.device_id, sizeof(req.device_id), "D%d", i);
                checkin_fill(&batch[i], &req, "door", "127.0.0.1", (usec_t) (1000 + i), REASON_NO_RELEASE,
                             NULL, TARGET_NONE);
        }
        assert_int_equal(store_checkins_write(f->store, batch, 100), 0);
        /* older than 1040: 40 rows, removed 25 at a time */
        assert_int_equal(store_checkins_prune(f->store, 1040, 25), 25);
        assert_int_equal(store_checkins_prune(f->store, 1040, 25), 15);
        assert_int_equal(store_checkins_prune(f->store, 1040, 25), 0);
        assert_int_equal(store_checkins_count(f->store), 60);
        int64_t last = batch[39].id;
        assert_int_equal(store_checkins_after(f->store, 0, 1, collect_ids, &last), 1);
        assert_true(last == batch[40].id);
}

static int collect_versions(const Checkin *c, void *userdata) {
        strcat(userdata, c->version);
        strcat(userdata, " ");
        return 0;
}

static void test_device_history_chain(void **state) {
        Fixture *f = *state;
        char seen[256] = "";

        /* one device among others, over three batches */
        for (int b = 0; b < 3; b++) {
                Checkin batch[3];
                for (int i = 0; i < 3; i++) {
                        DeviceRequest req;
                        device_request_init(&req);
                        snprintf(req.device_id, sizeof(req.device_id), "%s",
                                 i == 1   ? "MINE"
                                 : i == 0 ? "A"
                                          : "B");
                        snprintf(req.version, sizeof(req.version), "v%d", b);
                        checkin_fill(&batch[i], &req, "door", "127.0.0.1", (usec_t) (1000 + 10 * b + i),
                                     REASON_NO_RELEASE, NULL, TARGET_NONE);
                }
                assert_int_equal(store_checkins_write(f->store, batch, 3), 0);
        }
        assert_int_equal(store_device_checkins(f->store, "MINE", 10, collect_versions, seen), 3);
        assert_string_equal(seen, "v2 v1 v0 ");
        seen[0] = 0;
        assert_int_equal(store_device_checkins(f->store, "MINE", 2, collect_versions, seen), 2);
        assert_string_equal(seen, "v2 v1 ");
        /* the chain ends where retention cut it */
        assert_true(store_checkins_prune(f->store, 1015, 100) > 0);
        seen[0] = 0;
        assert_int_equal(store_device_checkins(f->store, "MINE", 10, collect_versions, seen), 1);
        assert_string_equal(seen, "v2 ");
        assert_int_equal(store_device_checkins(f->store, "NOBODY", 10, collect_versions, seen), -ENOENT);
}

static void fill_poll(Checkin *c, const char *device, const char *version, usec_t at, Reason reason) {
        DeviceRequest req;

        device_request_init(&req);
        req.platform = PLATFORM_ESP8266;
        strscpy(req.device_id, sizeof(req.device_id), device);
        strscpy(req.version, sizeof(req.version), version);
        checkin_fill(c, &req, "door", "127.0.0.1", at, reason, NULL, TARGET_NONE);
}

static int get_polls(const Device *d, void *userdata) {
        *(int64_t *) userdata = d->polls;
        return 0;
}

/* Unchanged polls count on the device; changes, 200 answers and heartbeats get rows. */
static void test_unchanged_polls_counted_not_stored(void **state) {
        Fixture *f = *state;
        Checkin c[12];
        int64_t polls = -1;
        usec_t t = 1000 * USEC_PER_SEC;

        for (int i = 0; i < 10; i++)
                fill_poll(&c[i], "DEV", "1.0", t + (usec_t) i * 60 * USEC_PER_SEC, REASON_UP_TO_DATE);
        assert_int_equal(store_checkins_write(f->store, c, 5), 0);
        assert_int_equal(store_checkins_write(f->store, c + 5, 5), 0);
        assert_int_equal(store_checkins_count(f->store), 1);
        assert_true(c[0].id > 0);
        assert_int_equal(c[1].id, 0);
        assert_int_equal(store_device_get(f->store, "DEV", get_polls, &polls), 0);
        assert_int_equal(polls, 10);

        /* a new version, then a 200 answer twice: each is a row */
        fill_poll(&c[0], "DEV", "1.1", t + 11 * 60 * USEC_PER_SEC, REASON_UP_TO_DATE);
        fill_poll(&c[1], "DEV", "1.1", t + 12 * 60 * USEC_PER_SEC, REASON_UPDATE);
        fill_poll(&c[2], "DEV", "1.1", t + 13 * 60 * USEC_PER_SEC, REASON_UPDATE);
        /* unchanged, but the last row is a heartbeat (15 minutes) old */
        fill_poll(&c[3], "DEV", "1.1", t + 14 * 60 * USEC_PER_SEC, REASON_UPDATE);
        fill_poll(&c[4], "DEV", "1.1", t + 14 * 60 * USEC_PER_SEC, REASON_UP_TO_DATE);
        fill_poll(&c[5], "DEV", "1.1", t + 20 * 60 * USEC_PER_SEC, REASON_UP_TO_DATE);
        fill_poll(&c[6], "DEV", "1.1", t + 29 * 60 * USEC_PER_SEC + 1, REASON_UP_TO_DATE);
        assert_int_equal(store_checkins_write(f->store, c, 7), 0);
        assert_true(c[0].id > 0 && c[1].id > 0 && c[2].id > 0 && c[3].id > 0 && c[4].id > 0);
        assert_int_equal(c[5].id, 0);
        assert_true(c[6].id > c[4].id);
        assert_int_equal(store_checkins_count(f->store), 7);
        assert_int_equal(store_device_get(f->store, "DEV", get_polls, &polls), 0);
        assert_int_equal(polls, 17);

        /* heartbeat 0: a row for every poll */
        store_set_checkin_heartbeat(f->store, 0);
        fill_poll(&c[0], "DEV", "1.1", t + 30 * 60 * USEC_PER_SEC, REASON_UP_TO_DATE);
        fill_poll(&c[1], "DEV", "1.1", t + 30 * 60 * USEC_PER_SEC, REASON_UP_TO_DATE);
        assert_int_equal(store_checkins_write(f->store, c, 2), 0);
        assert_int_equal(store_checkins_count(f->store), 9);
}

/* After retention deletes every row, new check-ins still get ids above every old one. */
static void test_checkin_ids_never_reused(void **state) {
        Fixture *f = *state;
        Checkin c[3];

        for (int i = 0; i < 3; i++)
                fill_poll(&c[i],
                          i == 0   ? "A"
                          : i == 1 ? "B"
                                   : "C",
                          "1", 1000 + (usec_t) i, REASON_NO_RELEASE);
        assert_int_equal(store_checkins_write(f->store, c, 3), 0);
        int64_t last = c[2].id;
        assert_int_equal(store_checkins_prune(f->store, 1000000, 100), 3);
        assert_int_equal(store_checkins_count(f->store), 0);
        fill_poll(&c[0], "D", "1", 2000, REASON_NO_RELEASE);
        assert_int_equal(store_checkins_write(f->store, c, 1), 0);
        assert_true(c[0].id > last);
}

/* Constraint failures are told apart: duplicate, missing reference, missing value. */
static void test_constraint_errors_distinct(void **state) {
        Fixture *f = *state;
        int64_t id;
        Release r = {
                .product_id = 4242,
                .version = (char *) "1",
                .platform = PLATFORM_ESP8266,
                .kind = IMAGE_KIND_SKETCH,
                .size = 1,
        };

        assert_int_equal(store_product_create(f->store, "door", NULL, _PLATFORM_INVALID, &id), 0);
        assert_int_equal(store_product_create(f->store, "door", NULL, _PLATFORM_INVALID, &id), -EEXIST);
        assert_int_equal(store_product_create(f->store, NULL, NULL, _PLATFORM_INVALID, &id), -EINVAL);
        /* a release of a product that does not exist */
        assert_int_equal(store_release_insert(f->store, &r), -ENOLINK);
}

static void test_tokens(void **state) {
        Fixture *f = *state;

        assert_int_equal(store_token_create(f->store, "ci", TOKEN_ROLE_ADMIN, "abc"), 0);
        assert_int_equal(store_token_create(f->store, "ci", TOKEN_ROLE_READ, "def"), -EEXIST);
        assert_int_equal(store_token_delete(f->store, "ci"), 0);
        assert_int_equal(store_token_delete(f->store, "ci"), -ENOENT);
        assert_int_equal(token_role_from_string("admin"), TOKEN_ROLE_ADMIN);
        assert_int_equal(token_role_from_string("root"), _TOKEN_ROLE_INVALID);
}

static void test_reopen_keeps_data(void **state) {
        Fixture *f = *state;
        int64_t id;

        assert_int_equal(store_product_create(f->store, "keep", NULL, _PLATFORM_INVALID, &id), 0);
        f->store = store_free(f->store);
        assert_int_equal(store_open(f->path, &f->store), 0);
        Catalog *c;
        assert_int_equal(store_catalog_load(f->store, &c), 0);
        assert_non_null(catalog_product(c, "keep"));
        catalog_free(c);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_schema_version, setup, teardown),
                cmocka_unit_test_setup_teardown(test_refuses_newer_database, setup, teardown),
                cmocka_unit_test_setup_teardown(test_refuses_non_database, setup, teardown),
                cmocka_unit_test_setup_teardown(test_products_and_releases, setup, teardown),
                cmocka_unit_test_setup_teardown(test_channel_history, setup, teardown),
                cmocka_unit_test_setup_teardown(test_checkins_batch_and_feed, setup, teardown),
                cmocka_unit_test_setup_teardown(test_devices_filters_and_assign, setup, teardown),
                cmocka_unit_test_setup_teardown(test_tokens, setup, teardown),
                cmocka_unit_test_setup_teardown(test_checkins_prune, setup, teardown),
                cmocka_unit_test_setup_teardown(test_device_history_chain, setup, teardown),
                cmocka_unit_test_setup_teardown(test_unchanged_polls_counted_not_stored, setup, teardown),
                cmocka_unit_test_setup_teardown(test_checkin_ids_never_reused, setup, teardown),
                cmocka_unit_test_setup_teardown(test_constraint_errors_distinct, setup, teardown),
                cmocka_unit_test_setup_teardown(test_reopen_keeps_data, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
