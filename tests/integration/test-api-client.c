/* SPDX-License-Identifier: MIT */
/*
 * The typed API client (flota/api.h) against a real flotad: every call decodes flotad's
 * answers, HTTP errors map to -errno, and query values and path segments reach flotad intact
 * whatever they hold.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "flota/alloc.h"
#include "flota/api.h"
#include "flota/strutil.h"
#include "flotad-harness.h"

static ApiClient *client(const Flotad *f, const char *token) {
        char url[64], err[API_CLIENT_ERROR_MAX];
        ApiClient *c;

        snprintf(url, sizeof(url), "http://127.0.0.1:%d", f->port);
        assert_int_equal(api_client_new(url, token, 10, &c, err), 0);
        return c;
}

static int upload(ApiClient *c, const char *file, const ApiReleaseUpload *u, Release *ret, char *err) {
        struct stat st;
        int fd = open(file, O_RDONLY | O_CLOEXEC);

        assert_true(fd >= 0 && fstat(fd, &st) == 0);
        int r = api_release_upload(c, u, fd, (uint64_t) st.st_size, NULL, NULL, ret, err);
        close(fd);
        return r;
}

static void poll_as(const Flotad *f, const char *mac, const char *version) {
        HttpResponse r;
        _cleanup_free_ char *req = esp8266_poll("/update/door", f->port, mac, version, NULL, 1 << 20, NULL);

        assert_int_equal(http_raw(f->port, req, strlen(req), &r), 0);
        http_response_done(&r);
}

/* Versions with every character a query string treats specially reach flotad as they were typed. */
static void test_versions_are_encoded(void **state) {
        Flotad *f = *state;
        _cleanup_(api_client_freep) ApiClient *c = client(f, f->admin_token);
        char err[API_CLIENT_ERROR_MAX];
        const char *versions[] = { "1.0.0+build.5", "1.0#7",     "1.0&x=2", "100%",
                                   "1.0?b",         "feature/x", "2.0+a b" };

        assert_int_equal(api_product_create(c, "door", NULL, NULL, err), 0);
        assert_int_equal(api_product_create(c, "door", NULL, NULL, err), -EEXIST);
        for (size_t i = 0; i < ELEMENTSOF(versions); i++) {
                /* the image says 9.9; the query's version wins */
                _cleanup_free_ char *img = make_image(f, "esp8266", "9.9", "64K");
                ApiReleaseUpload u = { .product = "door",
                                       .version = versions[i],
                                       .notes = "a&b=c #1 + 50%" };
                Release rel;
                int r = upload(c, img, &u, &rel, err);
                /* flotad refuses versions with spaces; the refusal must name the whole version */
                if (strchr(versions[i], ' ')) {
                        assert_int_equal(r, -EINVAL);
                        continue;
                }
                if (r < 0)
                        fail_msg("upload of %s: %s", versions[i], err);
                assert_string_equal(rel.version, versions[i]);
                assert_string_equal(rel.notes, "a&b=c #1 + 50%");
                Release again;
                assert_int_equal(api_release_get(c, rel.id, &again, err), 0);
                assert_string_equal(again.version, versions[i]);
                release_done(&again);
                release_done(&rel);
        }
        ApiReleaseList l;
        assert_int_equal(api_releases_list(c, "door", &l, err), 0);
        assert_int_equal(l.n, ELEMENTSOF(versions) - 1);
        api_release_list_done(&l);
        /* a product name that is not one is sent encoded and refused or not found, never misread */
        assert_int_equal(api_releases_list(c, "door&product=x", &l, err), 0);
        assert_int_equal(l.n, 0);
        api_release_list_done(&l);
        _cleanup_free_ char *img = make_image(f, "esp8266", "1.0.0+build.5", "64K");
        ApiReleaseUpload dup = { .product = "door", .version = "1.0.0+build.5" };
        Release rel;
        assert_int_equal(upload(c, img, &dup, &rel, err), -EEXIST);
        assert_non_null(strstr(err, "1.0.0+build.5"));
}

static void test_devices_and_filters(void **state) {
        Flotad *f = *state;
        _cleanup_(api_client_freep) ApiClient *c = client(f, f->admin_token);
        char err[API_CLIENT_ERROR_MAX];

        assert_int_equal(api_product_create(c, "door", "esp8266", NULL, err), 0);
        poll_as(f, "18:FE:AA:00:00:01", "1.0+b");
        poll_as(f, "18:FE:AA:00:00:02", "1.0 b");
        poll_as(f, "18:FE:AA:00:00:03", "2.0");
        assert_int_equal(wait_checkins(f, 3), 3);

        ApiDevicePage p;
        ApiDeviceQuery q = { .version = "1.0+b" };
        assert_int_equal(api_devices_page(c, &q, &p, err), 0);
        assert_int_equal(p.n, 1);
        assert_string_equal(p.items[0].id, "18:FE:AA:00:00:01");
        assert_string_equal(p.items[0].product, "door");
        assert_int_equal(p.items[0].platform, PLATFORM_ESP8266);
        assert_string_equal(p.items[0].labels, "");
        assert_string_equal(p.next, "");
        api_device_page_done(&p);

        /* paging: one at a time, each cursor after the last */
        q = (ApiDeviceQuery) { .limit = 1 };
        char seen[4][DEVICE_ID_MAX + 1] = {};
        size_t n = 0;
        do {
                assert_int_equal(api_devices_page(c, &q, &p, err), 0);
                if (p.n)
                        strscpy(seen[n++], sizeof(seen[0]), p.items[0].id);
                strscpy(seen[3], sizeof(seen[3]), p.next);
                q.after = seen[3];
                bool last = !p.next[0];
                api_device_page_done(&p);
                if (last)
                        break;
        } while (n < 4);
        assert_int_equal(n, 3);
        assert_string_equal(seen[2], "18:FE:AA:00:00:03");

        /* writes on devices: pin, labels, channel, assignment */
        _cleanup_free_ char *img = make_image(f, "esp8266", "3.0", "64K");
        ApiReleaseUpload u = { .product = "door", .version = "3.0" };
        Release rel;
        assert_int_equal(upload(c, img, &u, &rel, err), 0);

        DeviceRecord d;
        assert_int_equal(api_device_pin(c, "18:FE:AA:00:00:01", rel.id, &d, err), 0);
        assert_int_equal(d.pin, rel.id);
        device_record_done(&d);
        assert_int_equal(api_device_pin(c, "18:FE:AA:00:00:01", 0, NULL, err), 0);
        assert_int_equal(api_device_pin(c, "18:FE:AA:00:00:01", 999, NULL, err), -ENOENT);
        assert_non_null(strstr(err, "not found"));
        const char *labels[] = { "hall", "wave:1" };
        assert_int_equal(api_device_labels(c, "18:FE:AA:00:00:02", labels, 2, &d, err), 0);
        assert_string_equal(d.labels, "hall,wave:1");
        device_record_done(&d);
        q = (ApiDeviceQuery) { .label = "wave:1" };
        assert_int_equal(api_devices_page(c, &q, &p, err), 0);
        assert_int_equal(p.n, 1);
        api_device_page_done(&p);
        assert_int_equal(api_device_channel(c, "18:FE:AA:00:00:02", "beta", &d, err), 0);
        assert_string_equal(d.channel, "beta");
        device_record_done(&d);

        const char *ids[] = { "18:FE:AA:00:00:01", "18:FE:AA:00:00:03" };
        uint64_t count = 0;
        assert_int_equal(api_assign_count(c, rel.id, ids, 2, &count, err), 0);
        assert_int_equal(count, 2);
        q = (ApiDeviceQuery) { .assigned = rel.id };
        assert_int_equal(api_devices_page(c, &q, &p, err), 0);
        assert_int_equal(p.n, 2);
        assert_int_equal(p.items[0].assigned, rel.id);
        api_device_page_done(&p);
        assert_int_equal(api_assign(c, 0, ids, 1, err), 0);
        assert_int_equal(api_assign(c, 999, ids, 1, err), -ENOENT);

        /* the detail carries the check-ins */
        DeviceDetail dd;
        assert_int_equal(api_device_detail(c, "18:FE:AA:00:00:03", &dd, err), 0);
        assert_int_equal(dd.device.assigned, rel.id);
        assert_int_equal(dd.n_checkins, 1);
        assert_string_equal(dd.checkins[0].version, "2.0");
        device_detail_done(&dd);
        ApiDevice one;
        assert_int_equal(api_device_get(c, "18:FE:AA:00:00:03", &one, err), 0);
        assert_string_equal(one.version, "2.0");
        api_device_done(&one);
        assert_int_equal(api_device_get(c, "18:FE:AA:00:00:99", &one, err), -ENOENT);
        release_done(&rel);
}

static void test_channels_checkins_and_errors(void **state) {
        Flotad *f = *state;
        _cleanup_(api_client_freep) ApiClient *c = client(f, f->admin_token);
        _cleanup_(api_client_freep) ApiClient *reader = client(f, f->read_token);
        _cleanup_(api_client_freep) ApiClient *stranger = client(f, "flota_wrong");
        char err[API_CLIENT_ERROR_MAX];

        assert_int_equal(api_product_create(c, "door", NULL, NULL, err), 0);
        _cleanup_free_ char *img = make_image(f, "esp8266", "1.0", "64K");
        ApiReleaseUpload u = { .product = "door", .version = "1.0" };
        Release rel;
        assert_int_equal(upload(c, img, &u, &rel, err), 0);

        ApiChannel ch;
        assert_int_equal(api_channel_set(c, "door", "stable", rel.id, &ch, err), 0);
        assert_string_equal(ch.product, "door");
        assert_string_equal(ch.name, "stable");
        assert_int_equal(ch.release, rel.id);
        assert_string_equal(ch.version, "1.0");
        assert_int_equal(api_channel_put(c, "door", "beta", rel.id, err), 0);
        assert_int_equal(api_channel_put(c, "nope", "beta", rel.id, err), -ENOENT);
        ApiChannelList cl;
        assert_int_equal(api_channels_list(c, &cl, err), 0);
        assert_int_equal(cl.n, 2);
        api_channel_list_done(&cl);
        ChannelChangeList hl;
        assert_int_equal(api_channel_history(c, "door", "stable", 10, &hl, err), 0);
        assert_int_equal(hl.n, 1);
        assert_string_equal(hl.items[0].name, "stable");
        assert_int_equal(hl.items[0].release, rel.id);
        assert_int_equal(hl.items[0].previous_release, 0);
        channel_change_list_done(&hl);
        assert_int_equal(api_channel_history(c, NULL, NULL, 0, &hl, err), 0);
        assert_int_equal(hl.n, 2);
        channel_change_list_done(&hl);
        ProductInfoList pl;
        assert_int_equal(api_products_list(c, &pl, err), 0);
        assert_int_equal(pl.n, 1);
        assert_string_equal(pl.items[0].name, "door");
        assert_false(pl.items[0].has_key);
        product_info_list_done(&pl);

        /* roles and tokens */
        assert_int_equal(api_channel_put(reader, "door", "beta", rel.id, err), -EACCES);
        assert_int_equal(api_channels_list(reader, &cl, err), 0);
        api_channel_list_done(&cl);
        assert_int_equal(api_channels_list(stranger, &cl, err), -EACCES);
        assert_non_null(strstr(err, "rejected the API token"));
        assert_int_equal(api_healthz(stranger, err), 0);

        /* the feed, page by page, the cursor advancing */
        for (int i = 0; i < 5; i++) {
                char mac[18];
                snprintf(mac, sizeof(mac), "18:FE:AA:00:01:%02X", i);
                poll_as(f, mac, "1.0");
        }
        assert_int_equal(wait_checkins(f, 5), 5);
        int64_t after = 0;
        size_t total = 0;
        for (;;) {
                ApiCheckinPage p;
                assert_int_equal(api_checkins_page(c, after, 2, &p, err), 0);
                total += p.n;
                bool done = p.n == 0;
                if (!done)
                        assert_true(p.next > after);
                else
                        assert_int_equal(p.next, after);
                after = p.next;
                api_checkin_page_done(&p);
                if (done)
                        break;
        }
        assert_int_equal(total, 5);
        release_done(&rel);

        /* nothing listening */
        ApiClient *down;
        assert_int_equal(api_client_new("http://127.0.0.1:9", NULL, 2, &down, err), 0);
        assert_int_equal(api_healthz(down, err), -ECONNREFUSED);
        api_client_free(down);
}

/* Moves the next check-in ids past 2^53, where a double (cJSON's numbers) is no longer exact. */
static void raise_checkin_ids(const Flotad *f) {
        if (f->database) {
                /* PostgreSQL: ids are ((transaction id + xid_base) << 16) | index */
                _cleanup_free_ char *psql = xasprintf("%s/psql", getenv("FLOTA_TEST_PG_BINDIR"));
                char *argv[] = { psql,        "-q", "-d",
                                 f->database, "-c", "UPDATE meta SET xid_base = 1099511627776",
                                 NULL };
                _cleanup_free_ char *out = NULL;
                assert_int_equal(run_program(argv, true, &out), 0);
                return;
        }
        _cleanup_free_ char *path = xasprintf("%s/flotad.db", f->data_dir);
        sqlite3 *db;
        assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
        sqlite3_busy_timeout(db, 5000);
        assert_int_equal(sqlite3_exec(db,
                                      "UPDATE sequences SET next = 9007199254740993 WHERE name = 'checkins'",
                                      NULL, NULL, NULL),
                         SQLITE_OK);
        sqlite3_close(db);
}

/* Feed ids past 2^53 come through exactly: written as digits, read as 64-bit integers. */
static void test_feed_ids_past_2_53(void **state) {
        Flotad *f = *state;
        _cleanup_(api_client_freep) ApiClient *c = client(f, f->admin_token);
        char err[API_CLIENT_ERROR_MAX];
        int64_t ids[8];
        size_t n = 0;

        assert_int_equal(api_product_create(c, "door", NULL, NULL, err), 0);
        raise_checkin_ids(f);
        for (int i = 0; i < 5; i++) {
                char mac[18];
                snprintf(mac, sizeof(mac), "18:FE:AA:00:02:%02X", i);
                poll_as(f, mac, "1.0");
        }
        assert_int_equal(wait_checkins(f, 5), 5);
        for (int64_t after = 0;;) {
                ApiCheckinPage p;
                assert_int_equal(api_checkins_page(c, after, 2, &p, err), 0);
                for (size_t i = 0; i < p.n && n < 8; i++)
                        ids[n++] = p.items[i].id;
                bool done = p.n == 0;
                after = p.next;
                api_checkin_page_done(&p);
                if (done)
                        break;
        }
        assert_int_equal(n, 5);
        assert_true(ids[0] > (INT64_C(1) << 53));
        for (size_t i = 1; i < n; i++)
                assert_true(ids[i] > ids[i - 1]);
        if (!f->database) /* one transaction's ids are consecutive on SQLite: 2^53 + 1 and on */
                for (size_t i = 0; i < n; i++)
                        assert_int_equal(ids[i], INT64_C(9007199254740993) + (int64_t) i);

        /* and the text says so: the last id and "next" in digits */
        HttpResponse r;
        assert_int_equal(api(f, "GET", "/api/v1/checkins?after=0&limit=10", NULL, &r), 200);
        char want[64];
        snprintf(want, sizeof(want), "\"next\":%" PRId64, ids[n - 1]);
        if (!strstr(r.body, want))
                fail_msg("%s not in %s", want, r.body);
        http_response_done(&r);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_versions_are_encoded, flotad_fixture_setup,
                                                flotad_fixture_teardown),
                cmocka_unit_test_setup_teardown(test_devices_and_filters, flotad_fixture_setup,
                                                flotad_fixture_teardown),
                cmocka_unit_test_setup_teardown(test_channels_checkins_and_errors, flotad_fixture_setup,
                                                flotad_fixture_teardown),
                cmocka_unit_test_setup_teardown(test_feed_ids_past_2_53, flotad_fixture_setup,
                                                flotad_fixture_teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
