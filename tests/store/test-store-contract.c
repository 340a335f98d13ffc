/* SPDX-License-Identifier: MIT */
/*
 * The store's contract, run against each backend: SQLite (a file in a temporary directory),
 * or, under tests/pg/with-postgres.sh (FLOTA_TEST_PG set), PostgreSQL: a fresh database per
 * test on the cluster that script started. Both must give the same answers, the
 * same errors, and a check-in feed that several writers cannot make a follower skip.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "flota/alloc.h"
#include "flota/store.h"
#include "flota/strutil.h"

#include "contract-fixture.h"

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

/* A batch and its journal mark commit together, or neither does. */
static void test_journal_mark_commits_with_batch(void **state) {
        Fixture *f = *state;
        const char *id = "0123456789abcdef0123456789abcdef";
        JournalMark m = { .generation = 3, .end = 1000 }, got;
        Checkin c[2];

        strscpy(m.journal, sizeof(m.journal), id);
        assert_int_equal(store_journal_mark(f->store, id, &got), 0);
        fill_poll(&c[0], "AA:00:00:00:00:01", "1.0", 1000, REASON_NO_RELEASE);
        assert_int_equal(store_checkins_write_marked(f->store, c, 1, &m), 0);
        assert_int_equal(store_journal_mark(f->store, id, &got), 1);
        assert_string_equal(got.journal, id);
        assert_int_equal(got.generation, 3);
        assert_int_equal(got.end, 1000);

        /* the database refuses the batch's second row: the batch fails, and the mark stays */
        run_sql(f,
                "CREATE TRIGGER refuse BEFORE INSERT ON checkins WHEN NEW.device_id = 'AA:00:00:00:00:03'"
                " BEGIN SELECT RAISE(ABORT, 'refused'); END;",
                "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS"
                " \\$\\$BEGIN RAISE EXCEPTION 'refused'; END\\$\\$;"
                " CREATE TRIGGER refuse BEFORE INSERT ON checkins FOR EACH ROW"
                " WHEN (NEW.device_id = 'AA:00:00:00:00:03') EXECUTE FUNCTION refuse();");
        fill_poll(&c[0], "AA:00:00:00:00:02", "1.0", 2000, REASON_NO_RELEASE);
        fill_poll(&c[1], "AA:00:00:00:00:03", "1.0", 2001, REASON_NO_RELEASE);
        m.end = 2000;
        assert_true(store_checkins_write_marked(f->store, c, 2, &m) < 0);
        assert_int_equal(store_journal_mark(f->store, id, &got), 1);
        assert_int_equal(got.end, 1000);
        assert_int_equal(store_checkins_count(f->store), 1);

        /* a later generation replaces the mark; other journals have marks of their own */
        fill_poll(&c[1], "AA:00:00:00:00:04", "1.0", 2001, REASON_NO_RELEASE);
        m.generation = 4;
        m.end = 40;
        assert_int_equal(store_checkins_write_marked(f->store, c, 2, &m), 0);
        assert_int_equal(store_journal_mark(f->store, id, &got), 1);
        assert_int_equal(got.generation, 4);
        assert_int_equal(got.end, 40);
        assert_int_equal(store_journal_mark(f->store, "ffffffffffffffffffffffffffffffff", &got), 0);
        assert_int_equal(store_checkins_count(f->store), 3);

        /* more than one transaction's worth is refused, not split */
        assert_int_equal(store_checkins_write_marked(f->store, c, STORE_CHECKINS_BATCH_MAX + 1, &m),
                         -EINVAL);
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

static void test_schema_and_newer_refused(void **state) {
        Fixture *f = *state;
        Store *s = NULL;

        assert_true(store_schema_version(f->store) >= 1);
        f->store = store_free(f->store);
        /* opening again changes nothing */
        assert_int_equal(store_open_url(f->url, &s), 0);
        s = store_free(s);
        run_sql(f, "PRAGMA user_version = 99", "UPDATE meta SET schema_version = 99");
        assert_int_equal(store_open_url(f->url, &s), -EPROTO);
        assert_null(s);
}

/*
 * A logical dump and restore starts PostgreSQL's transaction ids again from low numbers: the
 * next open raises the position base so that new check-ins still come after every stored
 * one (a follower's cursor stays valid). On SQLite ids come from the sequence row.
 */
static void test_positions_survive_lower_xids(void **state) {
        Fixture *f = *state;
        Checkin c[2];

        fill_poll(&c[0], "A", "1", 1000, REASON_NO_RELEASE);
        assert_int_equal(store_checkins_write(f->store, c, 1), 0);
        int64_t last = c[0].id;
        f->store = store_free(f->store);
        /* what a restore looks like from here: the base no longer puts new positions above the old */
        run_sql(f, "SELECT 1", "UPDATE meta SET xid_base = xid_base - 1000000000");
        assert_int_equal(store_open_url(f->url, &f->store), 0);
        fill_poll(&c[1], "B", "1", 2000, REASON_NO_RELEASE);
        assert_int_equal(store_checkins_write(f->store, c + 1, 1), 0);
        assert_true(c[1].id > last);
        int64_t seen = last;
        assert_int_equal(store_checkins_after(f->store, last, 10, collect_ids, &seen), 1);
        assert_true(seen == c[1].id);
}

/*
 * Retention is a cluster-wide job: while another replica holds the prune lock, this one
 * skips its round (0 deleted) instead of deleting the same rows at the same time.
 */
static void test_prune_one_replica_at_a_time(void **state) {
        Fixture *f = *state;
        Checkin c[4];

        for (int i = 0; i < 4; i++) {
                char dev[8];
                snprintf(dev, sizeof(dev), "P%d", i);
                fill_poll(&c[i], dev, "1", 1000 + (usec_t) i, REASON_NO_RELEASE);
        }
        assert_int_equal(store_checkins_write(f->store, c, 4), 0);
        /* "another replica": a session that holds the lock until it is terminated */
        const char *bin = getenv("FLOTA_TEST_PG_BINDIR");
        assert_int_equal(shell("'%s/psql' -q -d '%s' -c 'SELECT pg_advisory_lock(%lld), pg_sleep(60)' "
                               ">/dev/null 2>&1 &",
                               bin, f->dbname, (long long) 0x666c6f7461000002LL),
                         0);
        int held = 1;
        for (int i = 0; i < 200 && held != 0; i++) {
                held = shell("'%s/psql' -Atq -d '%s' -c \"SELECT 1 FROM pg_locks WHERE locktype = 'advisory'"
                             " AND granted\" | grep -q 1",
                             bin, f->dbname);
                if (held != 0) {
                        struct timespec ts = { 0, 50 * 1000000L };
                        nanosleep(&ts, NULL);
                }
        }
        assert_int_equal(held, 0);
        assert_int_equal(store_checkins_prune(f->store, 1000000, 100), 0);
        assert_int_equal(store_checkins_count(f->store), 4);
        assert_int_equal(shell("'%s/psql' -q -d '%s' -c \"SELECT pg_terminate_backend(pid) FROM pg_locks"
                               " WHERE locktype = 'advisory'\" >/dev/null",
                               bin, f->dbname),
                         0);
        int deleted = 0;
        for (int i = 0; i < 200 && deleted == 0; i++) {
                deleted = store_checkins_prune(f->store, 1000000, 100);
                assert_true(deleted >= 0);
                if (deleted == 0) {
                        struct timespec ts = { 0, 50 * 1000000L };
                        nanosleep(&ts, NULL);
                }
        }
        assert_int_equal(deleted, 4);
}

static void test_reopen_keeps_data(void **state) {
        Fixture *f = *state;
        int64_t id;

        assert_int_equal(store_product_create(f->store, "keep", NULL, _PLATFORM_INVALID, &id), 0);
        f->store = store_free(f->store);
        assert_int_equal(store_open_url(f->url, &f->store), 0);
        Catalog *c;
        assert_int_equal(store_catalog_load(f->store, &c), 0);
        assert_non_null(catalog_product(c, "keep"));
        catalog_free(c);
}

/* What store_begin() starts, store_rollback() takes back (the API's product + signing key). */
static void test_rollback_discards(void **state) {
        Fixture *f = *state;
        int64_t id;
        Catalog *c;

        assert_int_equal(store_begin(f->store), 0);
        assert_int_equal(store_product_create(f->store, "gone", NULL, _PLATFORM_INVALID, &id), 0);
        assert_int_equal(store_product_set_signing_key(f->store, id, "PEM"), 0);
        store_rollback(f->store);
        assert_int_equal(store_catalog_load(f->store, &c), 0);
        assert_null(catalog_product(c, "gone"));
        catalog_free(c);

        assert_int_equal(store_begin(f->store), 0);
        assert_int_equal(store_product_create(f->store, "kept", NULL, _PLATFORM_INVALID, &id), 0);
        assert_int_equal(store_product_set_signing_key(f->store, id, "PEM"), 0);
        assert_int_equal(store_end(f->store, 0), 0);
        assert_int_equal(store_catalog_load(f->store, &c), 0);
        assert_non_null(catalog_product(c, "kept"));
        assert_string_equal(catalog_product(c, "kept")->signing_key, "PEM");
        catalog_free(c);
        assert_int_equal(store_product_set_signing_key(f->store, 4242, "PEM"), -ENOENT);
}

/*
 * The catalog version never goes back; on a server database every catalog write through any
 * connection raises it, which is how replicas know to reload.
 */
static void test_catalog_version_across_connections(void **state) {
        Fixture *f = *state;
        _cleanup_(store_freep) Store *other = NULL;
        int64_t v0, v1, v2, pid;
        Catalog *c;

        assert_int_equal(store_open_url(f->url, &other), 0);
        assert_int_equal(store_catalog_version(other, &v0), 0);
        assert_int_equal(store_product_create(f->store, "lamp", NULL, _PLATFORM_INVALID, &pid), 0);
        int64_t rel = add_release(f->store, pid, "1.0");
        assert_int_equal(store_catalog_version(other, &v1), 0);
        assert_true(v1 >= v0);
        assert_int_equal(store_device_set_pin(f->store, "AA:00:00:00:00:01", rel), 0);
        assert_int_equal(store_channel_set(f->store, pid, "stable", IMAGE_KIND_SKETCH, rel, "t"), 0);
        assert_int_equal(store_catalog_version(other, &v2), 0);
        assert_true(v2 >= v1);
        if (on_postgresql) {
                assert_true(v1 > v0);
                assert_true(v2 >= v1 + 2);
        } else
                assert_true(v0 == 0 && v2 == 0);
        /* and the other connection loads what this one wrote */
        assert_int_equal(store_catalog_load(other, &c), 0);
        assert_non_null(catalog_product(c, "lamp"));
        assert_non_null(catalog_override(c, "AA:00:00:00:00:01"));
        assert_non_null(catalog_channel(c, pid, "stable", IMAGE_KIND_SKETCH));
        catalog_free(c);
}

/*
 * Feed order with several writers: two writers, each on its own connection, commit batches
 * of 1-20 check-ins at random moments while a follower reads the feed flat out with the last
 * id it saw as its cursor. Every committed row must reach the follower once, in id order.
 */
#define STRESS_BATCHES 150
#define STRESS_MAX_ROWS (STRESS_BATCHES * 20)

typedef struct Writer {
        const char *url;
        int index;
        int64_t ids[STRESS_MAX_ROWS];
        size_t n_ids;
        int failed;
} Writer;

typedef struct Follower {
        const char *url;
        atomic_int *writers_done;
        int64_t *seen;
        size_t n_seen, allocated;
        size_t out_of_order;
        int failed;
} Follower;

static void *writer_main(void *userdata) {
        Writer *w = userdata;
        Store *s = NULL;
        unsigned seed = (unsigned) (w->index * 7919 + 1);

        if (store_open_url(w->url, &s) < 0) {
                w->failed = 1;
                return NULL;
        }
        store_set_checkin_heartbeat(s, 0);
        for (int b = 0; b < STRESS_BATCHES; b++) {
                Checkin batch[20];
                int n = 1 + (int) (rand_r(&seed) % 20);
                for (int i = 0; i < n; i++) {
                        char dev[32];
                        snprintf(dev, sizeof(dev), "W%d-%d-%d", w->index, b, i);
                        fill_poll(&batch[i], dev, "1", now_usec(CLOCK_REALTIME), REASON_NO_RELEASE);
                }
                if (store_checkins_write(s, batch, (size_t) n) < 0) {
                        w->failed = 1;
                        break;
                }
                for (int i = 0; i < n; i++)
                        w->ids[w->n_ids++] = batch[i].id;
                /* pacing, so that the writers' transactions interleave in every way */
                struct timespec ts = { 0, (long) (rand_r(&seed) % 2000) * 1000L };
                nanosleep(&ts, NULL);
        }
        store_free(s);
        return NULL;
}

static int follow_cb(const Checkin *c, void *userdata) {
        Follower *fl = userdata;
        if (fl->n_seen > 0 && c->id <= fl->seen[fl->n_seen - 1])
                fl->out_of_order++;
        fl->seen = xgrow(fl->seen, &fl->allocated, fl->n_seen + 1, sizeof(int64_t));
        fl->seen[fl->n_seen++] = c->id;
        return 0;
}

static void *follower_main(void *userdata) {
        Follower *fl = userdata;
        Store *s = NULL;
        int64_t cursor = 0;
        usec_t deadline = 0;

        if (store_open_url(fl->url, &s) < 0) {
                fl->failed = 1;
                return NULL;
        }
        for (;;) {
                bool done = atomic_load(fl->writers_done) == 2;
                int n = store_checkins_after(s, cursor, 500, follow_cb, fl);
                if (n < 0) {
                        fl->failed = 1;
                        break;
                }
                if (n > 0)
                        cursor = fl->seen[fl->n_seen - 1];
                /* after the writers ended: read until the feed is dry, bounded */
                if (done && deadline == 0)
                        deadline = now_usec(CLOCK_MONOTONIC) + 20 * USEC_PER_SEC;
                if (done && n == 0)
                        break;
                if (deadline && now_usec(CLOCK_MONOTONIC) > deadline)
                        break;
        }
        store_free(s);
        return NULL;
}

static int cmp_id(const void *a, const void *b) {
        int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
        return x < y ? -1 : x > y;
}

static void test_feed_two_writers_one_follower(void **state) {
        Fixture *f = *state;
        atomic_int done = 0;
        Writer *w = xcalloc(2, sizeof(Writer));
        Follower fl = { .url = f->url, .writers_done = &done };
        pthread_t tw[2], tf;

        assert_int_equal(pthread_create(&tf, NULL, follower_main, &fl), 0);
        for (int i = 0; i < 2; i++) {
                w[i] = (Writer) { .url = f->url, .index = i };
                assert_int_equal(pthread_create(&tw[i], NULL, writer_main, &w[i]), 0);
        }
        for (int i = 0; i < 2; i++) {
                pthread_join(tw[i], NULL);
                atomic_fetch_add(&done, 1);
        }
        pthread_join(tf, NULL);
        assert_int_equal(w[0].failed + w[1].failed + fl.failed, 0);

        size_t n = w[0].n_ids + w[1].n_ids, missed = 0, twice = 0;
        int64_t *all = xcalloc(n, sizeof(int64_t));
        memcpy(all, w[0].ids, w[0].n_ids * sizeof(int64_t));
        memcpy(all + w[0].n_ids, w[1].ids, w[1].n_ids * sizeof(int64_t));
        qsort(all, n, sizeof(int64_t), cmp_id);
        int64_t *seen = xcalloc(fl.n_seen ? fl.n_seen : 1, sizeof(int64_t));
        memcpy(seen, fl.seen, fl.n_seen * sizeof(int64_t));
        qsort(seen, fl.n_seen, sizeof(int64_t), cmp_id);
        for (size_t i = 1; i < fl.n_seen; i++)
                twice += seen[i] == seen[i - 1];
        for (size_t i = 0, j = 0; i < n; i++) {
                while (j < fl.n_seen && seen[j] < all[i])
                        j++;
                if (j >= fl.n_seen || seen[j] != all[i])
                        missed++;
        }
        fprintf(stderr,
                "feed stress (%s): %zu rows written by 2 writers, %zu read; missed %zu, twice %zu, "
                "out of order %zu\n",
                store_backend_name(f->store), n, fl.n_seen, missed, twice, fl.out_of_order);
        assert_int_equal(missed, 0);
        assert_int_equal(twice, 0);
        assert_int_equal(fl.out_of_order, 0);
        assert_int_equal(fl.n_seen, n);
        free(all);
        free(seen);
        free(fl.seen);
        free(w);
}

int main(void) {
        on_postgresql = getenv("FLOTA_TEST_PG") != NULL;
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_schema_and_newer_refused, fixture_setup,
                                                fixture_teardown),
                cmocka_unit_test_setup_teardown(test_reopen_keeps_data, fixture_setup, fixture_teardown),
                cmocka_unit_test_setup_teardown(test_products_and_releases, fixture_setup, fixture_teardown),
                cmocka_unit_test_setup_teardown(test_channel_history, fixture_setup, fixture_teardown),
                cmocka_unit_test_setup_teardown(test_checkins_batch_and_feed, fixture_setup,
                                                fixture_teardown),
                cmocka_unit_test_setup_teardown(test_devices_filters_and_assign, fixture_setup,
                                                fixture_teardown),
                cmocka_unit_test_setup_teardown(test_tokens, fixture_setup, fixture_teardown),
                cmocka_unit_test_setup_teardown(test_checkins_prune, fixture_setup, fixture_teardown),
                cmocka_unit_test_setup_teardown(test_device_history_chain, fixture_setup, fixture_teardown),
                cmocka_unit_test_setup_teardown(test_unchanged_polls_counted_not_stored, fixture_setup,
                                                fixture_teardown),
                cmocka_unit_test_setup_teardown(test_checkin_ids_never_reused, fixture_setup,
                                                fixture_teardown),
                cmocka_unit_test_setup_teardown(test_constraint_errors_distinct, fixture_setup,
                                                fixture_teardown),
                cmocka_unit_test_setup_teardown(test_rollback_discards, fixture_setup, fixture_teardown),
                cmocka_unit_test_setup_teardown(test_journal_mark_commits_with_batch, fixture_setup,
                                                fixture_teardown),
                cmocka_unit_test_setup_teardown(test_positions_survive_lower_xids, fixture_setup,
                                                fixture_teardown),
                cmocka_unit_test_setup_teardown(test_catalog_version_across_connections, fixture_setup,
                                                fixture_teardown),
                cmocka_unit_test_setup_teardown(test_feed_two_writers_one_follower, fixture_setup,
                                                fixture_teardown),
                /* PostgreSQL only (last): replicas share its prune lock; SQLite has one process */
                cmocka_unit_test_setup_teardown(test_prune_one_replica_at_a_time, fixture_setup,
                                                fixture_teardown),
        };
        /* a test that cannot apply is not run, rather than counted as passed */
        size_t n = sizeof(tests) / sizeof(tests[0]) - (on_postgresql ? 0 : 1);
        return _cmocka_run_group_tests("store-contract", tests, n, NULL, NULL);
}
