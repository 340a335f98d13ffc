/* SPDX-License-Identifier: MIT */
/*
 * The decoders of flotad's answers: every type goes through its encoder and back unchanged
 * (and encodes again to the same text), and answers of the wrong shape are refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flota/alloc.h"
#include "flota/json-decode.h"
#include "flota/json-encode.h"
#include "flota/json-writer.h"
#include "flota/strutil.h"

#define T0 ((usec_t) 1700000000 * USEC_PER_SEC)

static DeviceRecord sample_device(int i) {
        DeviceRecord d = {
                .pin = i == 1 ? 7 : 0,
                .assigned = 3,
                .labels = xstrdup(i == 1 ? "wave-1,door:hall" : ""),
                .platform = i == 1 ? PLATFORM_ESP32 : PLATFORM_ESP8266,
                .free_space = 1048576,
                .chip_size = i == 1 ? -1 : 4194304,
                .first_seen = T0,
                .last_seen = T0 + 60 * USEC_PER_SEC,
                .last_status = 304,
        };
        snprintf(d.id, sizeof(d.id), "18:FE:AA:00:00:%02X", i);
        strscpy(d.mac, sizeof(d.mac), d.id);
        strscpy(d.product, sizeof(d.product), "door");
        strscpy(d.channel, sizeof(d.channel), "beta");
        strscpy(d.version, sizeof(d.version), "1.0.0+build.5 \"q\"");
        strscpy(d.sketch_md5, sizeof(d.sketch_md5), "2cfccd98496a3f89099455934f9816e4");
        strscpy(d.sdk, sizeof(d.sdk), "2.5.0");
        strscpy(d.ip, sizeof(d.ip), "192.0.2.7");
        strscpy(d.last_reason, sizeof(d.last_reason), "up-to-date");
        return d;
}

static char *device_text(const DeviceRecord *d) {
        JsonWriter w = {};
        Device v = device_record_view(d);
        size_t len;

        device_write_json(&w, &v);
        return json_writer_steal(&w, &len);
}

static void assert_same_device(const DeviceRecord *a, const DeviceRecord *b) {
        assert_string_equal(a->id, b->id);
        assert_string_equal(a->mac, b->mac);
        assert_string_equal(a->product, b->product);
        assert_string_equal(a->channel, b->channel);
        assert_int_equal(a->pin, b->pin);
        assert_int_equal(a->assigned, b->assigned);
        assert_string_equal(a->labels, b->labels);
        assert_int_equal(a->platform, b->platform);
        assert_string_equal(a->version, b->version);
        assert_string_equal(a->sketch_md5, b->sketch_md5);
        assert_int_equal(a->free_space, b->free_space);
        assert_int_equal(a->chip_size, b->chip_size);
        assert_string_equal(a->sdk, b->sdk);
        assert_string_equal(a->ip, b->ip);
        assert_int_equal(a->first_seen, b->first_seen);
        assert_int_equal(a->last_seen, b->last_seen);
        assert_int_equal(a->last_status, b->last_status);
        assert_string_equal(a->last_reason, b->last_reason);
}

static void test_device_round_trip(void **state) {
        char err[JSON_DECODE_ERROR_MAX];

        for (int i = 0; i < 2; i++) {
                DeviceRecord d = sample_device(i), back;
                _cleanup_free_ char *text = device_text(&d);
                assert_int_equal(json_decode_device(text, strlen(text), &back, err), 0);
                assert_same_device(&d, &back);
                assert_int_equal(back.polls, 0);
                /* and out again: the same text */
                _cleanup_free_ char *again = device_text(&back);
                assert_string_equal(text, again);
                device_record_done(&back);
                device_record_done(&d);
        }
}

static void test_device_empty_fields(void **state) {
        DeviceRecord d = { .free_space = -1,
                           .chip_size = -1,
                           .platform = _PLATFORM_INVALID,
                           .labels = xstrdup("") },
                     back;
        char err[JSON_DECODE_ERROR_MAX];

        strscpy(d.id, sizeof(d.id), "chip-1234");
        _cleanup_free_ char *text = device_text(&d);
        assert_int_equal(json_decode_device(text, strlen(text), &back, err), 0);
        /* the default channel is written by name */
        assert_string_equal(back.channel, DEFAULT_CHANNEL);
        strscpy(d.channel, sizeof(d.channel), DEFAULT_CHANNEL);
        assert_same_device(&d, &back);
        device_record_done(&back);

        /* a time within the epoch's first second is written as the epoch, and must read back so */
        d.first_seen = 1;
        _cleanup_free_ char *epoch = device_text(&d);
        assert_non_null(strstr(epoch, "\"first_seen\":\"1970-01-01T00:00:00Z\""));
        assert_int_equal(json_decode_device(epoch, strlen(epoch), &back, err), 0);
        _cleanup_free_ char *again = device_text(&back);
        assert_string_equal(epoch, again);
        device_record_done(&back);
        device_record_done(&d);
}

static void test_device_polls(void **state) {
        DeviceRecord d = sample_device(0), back;
        char err[JSON_DECODE_ERROR_MAX];

        /* flotad counts polls and says so */
        d.polls = 42;
        _cleanup_free_ char *text = device_text(&d);
        assert_non_null(strstr(text, "\"polls\":42"));
        assert_int_equal(json_decode_device(text, strlen(text), &back, err), 0);
        assert_int_equal(back.polls, 42);
        device_record_done(&back);
        /* an older flotad that does not: read as 0, not refused */
        char *p = strstr(text, ",\"polls\":42");
        memmove(p, p + strlen(",\"polls\":42"), strlen(p + strlen(",\"polls\":42")) + 1);
        assert_int_equal(json_decode_device(text, strlen(text), &back, err), 0);
        assert_int_equal(back.polls, 0);
        device_record_done(&back);
        /* of the wrong type: refused, naming it */
        text[strlen(text) - 1] = 0;
        _cleanup_free_ char *bad = xasprintf("%s,\"polls\":\"many\"}", text);
        assert_int_equal(json_decode_device(bad, strlen(bad), &back, err), -EBADMSG);
        assert_non_null(strstr(err, "polls"));
        device_record_done(&d);
}

/* the AP MAC and the filesystem image travel through flota's --json as flotad wrote them */
static void test_device_filesystem(void **state) {
        DeviceRecord d = sample_device(0), back;
        char err[JSON_DECODE_ERROR_MAX];

        strcpy(d.ap_mac, "1A:FE:34:D7:1F:55");
        strcpy(d.fs_version, "fs-7");
        strcpy(d.fs_md5, "11c4e2a0aaaaaaaaaaaaaaaaaaaaaaaa");
        d.fs_updated = T0;
        _cleanup_free_ char *text = device_text(&d);
        assert_non_null(strstr(text, "\"filesystem\":{"));
        assert_int_equal(json_decode_device(text, strlen(text), &back, err), 0);
        assert_string_equal(back.ap_mac, "1A:FE:34:D7:1F:55");
        assert_string_equal(back.fs_version, "fs-7");
        assert_string_equal(back.fs_md5, d.fs_md5);
        assert_true(back.fs_updated == T0);
        device_record_done(&back);
        /* the same device with a filesystem member that is not an object */
        char *fs = strstr(text, "\"filesystem\":{");
        char *end = strchr(fs, '}');
        _cleanup_free_ char *bad = xasprintf("%.*s\"filesystem\":[]%s", (int) (fs - text), text, end + 1);
        assert_int_equal(json_decode_device(bad, strlen(bad), &back, err), -EBADMSG);
        assert_non_null(strstr(err, "filesystem"));
        device_record_done(&d);
}

static Checkin sample_checkin(int64_t id, bool full) {
        Checkin c = {
                .id = id,
                .at = T0 + (usec_t) id * USEC_PER_SEC,
                .has_chip_id = full,
                .chip_id = full ? 15602487 : 0,
                .platform = full ? PLATFORM_ESP8266 : _PLATFORM_INVALID,
                .free_space = full ? 1048576 : -1,
                .sketch_size = full ? 400000 : -1,
                .chip_size = full ? 4194304 : -1,
                .mode = full ? UPDATE_MODE_SKETCH : _UPDATE_MODE_INVALID,
                .status = full ? 200 : 304,
                .reason = full ? REASON_UPDATE : _REASON_INVALID,
                .release_id = full ? 2 : 0,
                .source = full ? TARGET_CHANNEL : _TARGET_SOURCE_INVALID,
        };
        strscpy(c.ip, sizeof(c.ip), "127.0.0.1");
        strscpy(c.product, sizeof(c.product), "door");
        strscpy(c.device_id, sizeof(c.device_id), "18:FE:AA:00:00:02");
        if (full) {
                strscpy(c.mac, sizeof(c.mac), "18:FE:AA:00:00:02");
                strscpy(c.version, sizeof(c.version), "2.0.0");
                strscpy(c.sketch_md5, sizeof(c.sketch_md5), "2cfccd98496a3f89099455934f9816e4");
                strscpy(c.sketch_sha256, sizeof(c.sketch_sha256),
                        "4e2d0c385e646d8fa5656fe95649ab46ec9e250b99a299deddfcf033eaa32c7e");
                strscpy(c.sdk, sizeof(c.sdk), "2.5.0");
                strscpy(c.user_agent, sizeof(c.user_agent), "ESP8266-http-Update");
        }
        return c;
}

static char *checkin_text(const Checkin *c) {
        cJSON *j = checkin_to_json(c);
        char *text = json_print(j);
        cJSON_Delete(j);
        return text;
}

static void assert_same_checkin(const Checkin *a, const Checkin *b) {
        assert_int_equal(a->id, b->id);
        assert_int_equal(a->at, b->at);
        assert_string_equal(a->ip, b->ip);
        assert_string_equal(a->product, b->product);
        assert_string_equal(a->device_id, b->device_id);
        assert_string_equal(a->mac, b->mac);
        assert_int_equal(a->has_chip_id, b->has_chip_id);
        assert_int_equal(a->chip_id, b->chip_id);
        assert_int_equal(a->platform, b->platform);
        assert_string_equal(a->version, b->version);
        assert_string_equal(a->sketch_md5, b->sketch_md5);
        assert_string_equal(a->sketch_sha256, b->sketch_sha256);
        assert_int_equal(a->free_space, b->free_space);
        assert_int_equal(a->sketch_size, b->sketch_size);
        assert_int_equal(a->chip_size, b->chip_size);
        assert_string_equal(a->sdk, b->sdk);
        assert_int_equal(a->mode, b->mode);
        assert_string_equal(a->user_agent, b->user_agent);
        assert_int_equal(a->status, b->status);
        assert_int_equal(a->reason, b->reason);
        assert_int_equal(a->release_id, b->release_id);
        assert_int_equal(a->source, b->source);
}

static void test_assignment_page(void **state) {
        char err[JSON_DECODE_ERROR_MAX];
        AssignmentPage p;
        const char *ok =
                "{\"release\":3,\"devices\":[{\"id\":\"18:FE:AA:00:00:01\",\"polls\":11,"
                "\"first_seen\":\"2026-11-23T10:00:00Z\",\"last_seen\":\"2026-11-23T10:10:00Z\"},"
                "{\"id\":\"18:FE:AA:00:00:02\",\"polls\":0,\"first_seen\":null,\"last_seen\":null}],"
                "\"next\":null}";
        static const char *const bad[] = {
                "{\"devices\":[],\"next\":null}",
                "{\"release\":3,\"devices\":[\"18:FE:AA:00:00:01\"],\"next\":null}",
                "{\"release\":3,\"devices\":[{\"id\":\"\",\"polls\":1,\"first_seen\":null,\"last_seen\":"
                "null}],"
                "\"next\":null}",
                "{\"release\":3,\"devices\":[{\"id\":\"x\",\"polls\":-1,\"first_seen\":null,\"last_seen\":"
                "null}],"
                "\"next\":null}",
                "{\"release\":3,\"devices\":[{\"id\":\"x\",\"polls\":1,\"first_seen\":\"soon\",\"last_"
                "seen\":null}],"
                "\"next\":null}",
                "{\"release\":3,\"devices\":{},\"next\":null}",
                "{\"release\":3,\"devices\":[]}",
                "[]",
        };

        assert_int_equal(json_decode_assignment_page(ok, strlen(ok), &p, err), 0);
        assert_int_equal(p.release, 3);
        assert_int_equal(p.n, 2);
        assert_string_equal(p.items[0].id, "18:FE:AA:00:00:01");
        assert_int_equal(p.items[0].polls, 11);
        assert_true(p.items[0].last_seen - p.items[0].first_seen == 600 * USEC_PER_SEC);
        assert_int_equal(p.items[1].last_seen, 0);
        assert_string_equal(p.next, "");
        assignment_page_done(&p);
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                assert_int_equal(json_decode_assignment_page(bad[i], strlen(bad[i]), &p, err), -EBADMSG);

        /* flotad's layout is read in place; any other layout of the same page reads the same */
        const char *other = "{ \"next\": null, \"devices\": [ { \"polls\": 11, \"last_seen\": "
                            "\"2026-11-23T10:10:00Z\", \"id\": \"18:FE:AA:00:00:01\", \"first_seen\": "
                            "\"2026-11-23T10:00:00Z\" } ], \"release\": 3 }";
        AssignmentPage q;
        assert_int_equal(json_decode_assignment_page(ok, strlen(ok), &p, err), 0);
        assert_int_equal(json_decode_assignment_page(other, strlen(other), &q, err), 0);
        assert_string_equal(q.items[0].id, p.items[0].id);
        assert_true(q.items[0].polls == p.items[0].polls && q.items[0].first_seen == p.items[0].first_seen &&
                    q.items[0].last_seen == p.items[0].last_seen && q.release == p.release);
        assignment_page_done(&p);
        assignment_page_done(&q);
        /* a number the fast path does not take (a fraction) is refused by the general decoder all the same
         */
        const char *frac = "{\"release\":3,\"devices\":[{\"id\":\"x\",\"polls\":1.5,\"first_seen\":null,"
                           "\"last_seen\":null}],\"next\":null}";
        assert_int_equal(json_decode_assignment_page(frac, strlen(frac), &p, err), -EBADMSG);
        assert_non_null(strstr(err, "polls"));
}

static void test_checkin_round_trip(void **state) {
        char err[JSON_DECODE_ERROR_MAX];

        for (int full = 0; full < 2; full++) {
                Checkin c = sample_checkin(8, full), back;
                _cleanup_free_ char *text = checkin_text(&c);
                assert_int_equal(json_decode_checkin(text, strlen(text), &back, err), 0);
                assert_same_checkin(&c, &back);
                _cleanup_free_ char *again = checkin_text(&back);
                assert_string_equal(text, again);
        }
}

static void test_checkin_list(void **state) {
        char err[JSON_DECODE_ERROR_MAX];
        cJSON *o = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(o, "checkins");
        Checkin a = sample_checkin(5, true), b = sample_checkin(9, false);
        CheckinList l;

        cJSON_AddItemToArray(arr, checkin_to_json(&a));
        cJSON_AddItemToArray(arr, checkin_to_json(&b));
        cJSON_AddNumberToObject(o, "next", 9);
        _cleanup_free_ char *text = json_print(o);
        cJSON_Delete(o);
        assert_int_equal(json_decode_checkin_list(text, strlen(text), &l, err), 0);
        assert_int_equal(l.n, 2);
        assert_int_equal(l.next, 9);
        assert_same_checkin(&a, &l.items[0]);
        assert_same_checkin(&b, &l.items[1]);
        checkin_list_done(&l);

        const char *empty = "{\"checkins\":[],\"next\":0}";
        assert_int_equal(json_decode_checkin_list(empty, strlen(empty), &l, err), 0);
        assert_int_equal(l.n, 0);
        checkin_list_done(&l);
        /* a cursor carried as a string or a fraction is not flotad's */
        const char *bad[] = { "{\"checkins\":[],\"next\":\"9\"}", "{\"checkins\":[],\"next\":9.5}",
                              "{\"checkins\":[],\"next\":-1}", "{\"checkins\":{},\"next\":0}",
                              "{\"next\":0}" };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                assert_int_equal(json_decode_checkin_list(bad[i], strlen(bad[i]), &l, err), -EBADMSG);
}

static Release sample_release(int64_t id, bool full) {
        Release r = {
                .id = id,
                .product = xstrdup("door"),
                .version = xstrdup(full ? "1.0.0+build.5" : "2"),
                .platform = full ? PLATFORM_ESP32 : PLATFORM_ESP8266,
                .kind = full ? IMAGE_KIND_FILESYSTEM : IMAGE_KIND_SKETCH,
                .size = 65536,
                .min_flash_size = full ? 4194304 : 0,
                .is_signed = full,
                .compressed = !full,
                .chip = full ? xstrdup("esp32s3") : NULL,
                .notes = full ? xstrdup("fixes \"the\" bug\n\tand more") : NULL,
                .created = T0,
        };
        strscpy(r.md5, sizeof(r.md5), "2cfccd98496a3f89099455934f9816e4");
        strscpy(r.sha256, sizeof(r.sha256),
                "4e2d0c385e646d8fa5656fe95649ab46ec9e250b99a299deddfcf033eaa32c7e");
        return r;
}

static char *release_text(const Release *r) {
        cJSON *j = release_to_json(r);
        char *text = json_print(j);
        cJSON_Delete(j);
        return text;
}

static void assert_same_release(const Release *a, const Release *b) {
        assert_int_equal(a->id, b->id);
        assert_string_equal(a->product, b->product);
        assert_string_equal(a->version, b->version);
        assert_int_equal(a->platform, b->platform);
        assert_int_equal(a->kind, b->kind);
        assert_int_equal(a->size, b->size);
        assert_string_equal(a->md5, b->md5);
        assert_string_equal(a->sha256, b->sha256);
        assert_int_equal(a->min_flash_size, b->min_flash_size);
        assert_int_equal(a->is_signed, b->is_signed);
        assert_int_equal(a->compressed, b->compressed);
        if (a->chip)
                assert_string_equal(a->chip, b->chip);
        else
                assert_null(b->chip);
        if (a->notes)
                assert_string_equal(a->notes, b->notes);
        else
                assert_null(b->notes);
        assert_int_equal(a->created, b->created);
}

static void test_release_round_trip(void **state) {
        char err[JSON_DECODE_ERROR_MAX];
        cJSON *o = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(o, "releases");
        Release rs[2] = { sample_release(1, false), sample_release(2, true) };
        ReleaseList l;

        for (int i = 0; i < 2; i++) {
                Release back;
                _cleanup_free_ char *text = release_text(&rs[i]);
                assert_int_equal(json_decode_release(text, strlen(text), &back, err), 0);
                assert_same_release(&rs[i], &back);
                _cleanup_free_ char *again = release_text(&back);
                assert_string_equal(text, again);
                release_done(&back);
                cJSON_AddItemToArray(arr, release_to_json(&rs[i]));
        }
        _cleanup_free_ char *text = json_print(o);
        cJSON_Delete(o);
        assert_int_equal(json_decode_release_list(text, strlen(text), &l, err), 0);
        assert_int_equal(l.n, 2);
        for (int i = 0; i < 2; i++)
                assert_same_release(&rs[i], &l.items[i]);
        release_list_done(&l);
        release_done(&rs[0]);
        release_done(&rs[1]);
}

static void test_channel_round_trip(void **state) {
        char err[JSON_DECODE_ERROR_MAX];
        ChannelInfo chs[2] = {
                { .product = "door",
                  .name = "stable",
                  .kind = IMAGE_KIND_SKETCH,
                  .release = 1,
                  .version = "1.0.0",
                  .updated = T0 },
                { .product = "",
                  .name = "beta",
                  .kind = IMAGE_KIND_FILESYSTEM,
                  .release = 9,
                  .version = "",
                  .updated = 0 },
        };
        cJSON *o = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(o, "channels");
        ChannelInfoList l;

        for (int i = 0; i < 2; i++) {
                ChannelInfo back;
                cJSON *j = channel_info_to_json(&chs[i]);
                _cleanup_free_ char *text = json_print(j);
                assert_int_equal(json_decode_channel(text, strlen(text), &back, err), 0);
                assert_memory_equal(&back, &chs[i], sizeof(back));
                cJSON_AddItemToArray(arr, j);
        }
        _cleanup_free_ char *text = json_print(o);
        cJSON_Delete(o);
        assert_int_equal(json_decode_channel_list(text, strlen(text), &l, err), 0);
        assert_int_equal(l.n, 2);
        assert_memory_equal(l.items, chs, sizeof(chs));
        channel_info_list_done(&l);
}

static void test_device_list_and_detail(void **state) {
        char err[JSON_DECODE_ERROR_MAX];
        DeviceRecord d[2] = { sample_device(0), sample_device(1) };
        JsonWriter w = {};
        DeviceRecordList l;
        size_t len;

        /* as flotad writes a page */
        json_write_open(&w, '{');
        json_write_key(&w, "devices");
        json_write_open(&w, '[');
        for (int i = 0; i < 2; i++) {
                Device v = device_record_view(&d[i]);
                device_write_json(&w, &v);
        }
        json_write_close(&w, ']');
        json_write_key(&w, "next");
        json_write_string(&w, d[1].id);
        json_write_close(&w, '}');
        _cleanup_free_ char *text = json_writer_steal(&w, &len);
        assert_int_equal(json_decode_device_list(text, len, &l, err), 0);
        assert_int_equal(l.n, 2);
        assert_string_equal(l.next, d[1].id);
        for (int i = 0; i < 2; i++)
                assert_same_device(&d[i], &l.items[i]);
        device_record_list_done(&l);

        const char *last = "{\"devices\":[],\"next\":null}";
        assert_int_equal(json_decode_device_list(last, strlen(last), &l, err), 0);
        assert_int_equal(l.n, 0);
        assert_string_equal(l.next, "");
        device_record_list_done(&l);

        /* the detail: the device with its check-ins */
        Device v = device_record_view(&d[0]);
        cJSON *o = device_to_json(&v), *arr = cJSON_AddArrayToObject(o, "checkins");
        Checkin c = sample_checkin(3, true);
        cJSON_AddItemToArray(arr, checkin_to_json(&c));
        _cleanup_free_ char *detail = json_print(o);
        cJSON_Delete(o);
        DeviceDetail dd;
        assert_int_equal(json_decode_device_detail(detail, strlen(detail), &dd, err), 0);
        assert_same_device(&d[0], &dd.device);
        assert_int_equal(dd.n_checkins, 1);
        assert_same_checkin(&c, &dd.checkins[0]);
        device_detail_done(&dd);
        device_record_done(&d[0]);
        device_record_done(&d[1]);
}

static void test_product_and_history_round_trip(void **state) {
        char err[JSON_DECODE_ERROR_MAX];
        Product p = { .id = 3, .name = (char *) "lamp", .platform = PLATFORM_ESP32, .created = T0 };
        ProductInfoList pl;
        ChannelChangeList hl;

        strscpy(p.key_sha256, sizeof(p.key_sha256),
                "4e2d0c385e646d8fa5656fe95649ab46ec9e250b99a299deddfcf033eaa32c7e");
        cJSON *o = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(o, "products");
        cJSON_AddItemToArray(arr, product_to_json(&p));
        _cleanup_free_ char *text = json_print(o);
        cJSON_Delete(o);
        assert_int_equal(json_decode_product_list(text, strlen(text), &pl, err), 0);
        assert_int_equal(pl.n, 1);
        assert_int_equal(pl.items[0].id, 3);
        assert_string_equal(pl.items[0].name, "lamp");
        assert_true(pl.items[0].has_key);
        assert_int_equal(pl.items[0].platform, PLATFORM_ESP32);
        assert_int_equal(pl.items[0].created, T0);
        product_info_list_done(&pl);

        ChannelChange changes[2] = {
                { .id = 2,
                  .product = "door",
                  .name = "stable",
                  .kind = "sketch",
                  .release_id = 5,
                  .previous_release_id = 4,
                  .actor = "ci",
                  .at = T0 },
                { .id = 1,
                  .product = "door",
                  .name = "stable",
                  .kind = "filesystem",
                  .release_id = 4,
                  .actor = "",
                  .at = T0 - USEC_PER_SEC },
        };
        o = cJSON_CreateObject();
        arr = cJSON_AddArrayToObject(o, "history");
        for (int i = 0; i < 2; i++)
                cJSON_AddItemToArray(arr, channel_change_to_json(&changes[i]));
        _cleanup_free_ char *history = json_print(o);
        cJSON_Delete(o);
        assert_int_equal(json_decode_channel_history(history, strlen(history), &hl, err), 0);
        assert_int_equal(hl.n, 2);
        for (int i = 0; i < 2; i++) {
                ChannelChange v = channel_change_record_view(&hl.items[i]);
                cJSON *a = channel_change_to_json(&changes[i]), *b = channel_change_to_json(&v);
                _cleanup_free_ char *ta = json_print(a), *tb = json_print(b);
                assert_string_equal(ta, tb);
                cJSON_Delete(a);
                cJSON_Delete(b);
        }
        channel_change_list_done(&hl);
        const char *bad[] = { "{\"history\":[{\"id\":1}]}", "{\"products\":[]}", "[]" };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                assert_int_equal(json_decode_channel_history(bad[i], strlen(bad[i]), &hl, err), -EBADMSG);
}

static void test_assign_and_error(void **state) {
        char err[JSON_DECODE_ERROR_MAX], msg[64];
        AssignResult a;

        const char *ok = "{\"release\":4,\"devices\":2}", *cleared = "{\"release\":null,\"devices\":1}";
        assert_int_equal(json_decode_assign_result(ok, strlen(ok), &a, err), 0);
        assert_int_equal(a.release, 4);
        assert_int_equal(a.devices, 2);
        assert_int_equal(json_decode_assign_result(cleared, strlen(cleared), &a, err), 0);
        assert_int_equal(a.release, 0);

        const char *e = "{\"error\":{\"code\":\"not-found\",\"message\":\"release 9 not found\"}}";
        assert_int_equal(json_decode_error_body(e, strlen(e), msg, sizeof(msg)), 0);
        assert_string_equal(msg, "release 9 not found");
        const char *not_errors[] = { "", "{}", "{\"error\":\"x\"}", "{\"error\":{\"message\":7}}",
                                     "<html>" };
        for (size_t i = 0; i < ELEMENTSOF(not_errors); i++)
                assert_int_equal(
                        json_decode_error_body(not_errors[i], strlen(not_errors[i]), msg, sizeof(msg)),
                        -EBADMSG);
}

/* text with the first occurrence of from replaced by to */
static char *replace(const char *text, const char *from, const char *to) {
        const char *p = strstr(text, from);
        assert_non_null(p);
        return xasprintf("%.*s%s%s", (int) (p - text), text, to, p + strlen(from));
}

static void test_device_wrong_shapes(void **state) {
        DeviceRecord d = sample_device(1), back;
        char err[JSON_DECODE_ERROR_MAX];
        _cleanup_free_ char *text = device_text(&d);
        char long_id[DEVICE_ID_MAX + 8];

        memset(long_id, 'a', sizeof(long_id) - 1);
        long_id[sizeof(long_id) - 1] = 0;
        _cleanup_free_ char *long_member = xasprintf("\"id\":\"%s\"", long_id);
        const struct {
                const char *from, *to, *field;
        } cases[] = {
                { "\"id\":\"18:FE:AA:00:00:01\"", "\"id\":18", "id" },
                { "\"id\":\"18:FE:AA:00:00:01\"", "\"ident\":\"x\"", "id" },
                { "\"id\":\"18:FE:AA:00:00:01\"", long_member, "id" },
                { "\"pin\":7", "\"pin\":\"7\"", "pin" },
                { "\"pin\":7", "\"pin\":7.5", "pin" },
                { "\"pin\":7", "\"pin\":-7", "pin" },
                { "\"pin\":7", "\"pin\":1e300", "pin" },
                { "\"labels\":[\"wave-1\",\"door:hall\"]", "\"labels\":\"wave-1\"", "labels" },
                { "\"labels\":[\"wave-1\",\"door:hall\"]", "\"labels\":[1]", "labels" },
                { "\"labels\":[\"wave-1\",\"door:hall\"]", "\"labels\":[\"a,b\"]", "labels" },
                { "\"platform\":\"esp32\"", "\"platform\":\"avr\"", "platform" },
                { "\"channel\":\"beta\"", "\"channel\":null", "channel" },
                { "\"last_seen\":\"", "\"last_seen\":\"yesterday\",\"x\":\"", "last_seen" },
                { "\"last_status\":304", "\"last_status\":true", "last_status" },
                { "\"free_space\":1048576", "\"free_space\":{}", "free_space" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *bad = replace(text, cases[i].from, cases[i].to);
                err[0] = 0;
                if (json_decode_device(bad, strlen(bad), &back, err) != -EBADMSG)
                        fail_msg("accepted: %s", bad);
                if (!strstr(err, cases[i].field))
                        fail_msg("'%s' does not name %s", err, cases[i].field);
        }
        /* not one object */
        const char *shapes[] = { "",
                                 "null",
                                 "[]",
                                 "[{}]",
                                 "\"device\"",
                                 "{}",
                                 "{\"error\":{\"message\":\"x\"}}",
                                 "{\"devices\":[]}" };
        for (size_t i = 0; i < ELEMENTSOF(shapes); i++)
                assert_int_equal(json_decode_device(shapes[i], strlen(shapes[i]), &back, err), -EBADMSG);
        /* text after the value, or a value cut short */
        _cleanup_free_ char *trailing = xasprintf("%s {}", text);
        assert_int_equal(json_decode_device(trailing, strlen(trailing), &back, err), -EBADMSG);
        assert_int_equal(json_decode_device(text, strlen(text) - 1, &back, err), -EBADMSG);
        device_record_done(&d);
}

static void test_list_wrong_shapes(void **state) {
        char err[JSON_DECODE_ERROR_MAX];
        DeviceRecordList dl;
        ReleaseList rl;
        ChannelInfoList cl;
        Release r;

        /* foreign objects and arrays where a list belongs */
        const char *foreign[] = { "{\"items\":[]}",
                                  "[]",
                                  "{\"devices\":{}}",
                                  "{\"devices\":[1],\"next\":null}",
                                  "{\"devices\":[],\"next\":3}",
                                  "{\"devices\":[]}",
                                  "{\"releases\":[]}" };
        for (size_t i = 0; i < ELEMENTSOF(foreign); i++)
                assert_int_equal(json_decode_device_list(foreign[i], strlen(foreign[i]), &dl, err),
                                 -EBADMSG);
        const char *releases[] = { "{\"devices\":[]}", "{\"releases\":null}", "{\"releases\":[{}]}", "[]",
                                   "{\"releases\":[{\"id\":1}]}" };
        for (size_t i = 0; i < ELEMENTSOF(releases); i++)
                assert_int_equal(json_decode_release_list(releases[i], strlen(releases[i]), &rl, err),
                                 -EBADMSG);
        const char *channels[] = { "{\"channels\":[{\"name\":\"stable\"}]}", "{\"chans\":[]}", "{}" };
        for (size_t i = 0; i < ELEMENTSOF(channels); i++)
                assert_int_equal(json_decode_channel_list(channels[i], strlen(channels[i]), &cl, err),
                                 -EBADMSG);

        /* a release whose second member is wrong frees what it had read */
        Release s = sample_release(3, true);
        _cleanup_free_ char *text = release_text(&s);
        _cleanup_free_ char *bad = replace(text, "\"kind\":\"filesystem\"", "\"kind\":\"firmware\"");
        assert_int_equal(json_decode_release(bad, strlen(bad), &r, err), -EBADMSG);
        assert_non_null(strstr(err, "kind"));
        /* longer than a field: refused, not cut */
        free(s.notes);
        s.notes = xmalloc(RELEASE_NOTES_MAX + 2);
        memset(s.notes, 'n', RELEASE_NOTES_MAX + 1);
        s.notes[RELEASE_NOTES_MAX + 1] = 0;
        _cleanup_free_ char *long_notes = release_text(&s);
        assert_int_equal(json_decode_release(long_notes, strlen(long_notes), &r, err), -EBADMSG);
        assert_non_null(strstr(err, "notes"));
        release_done(&s);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_device_round_trip),
                cmocka_unit_test(test_device_empty_fields),
                cmocka_unit_test(test_device_polls),
                cmocka_unit_test(test_checkin_round_trip),
                cmocka_unit_test(test_assignment_page),
                cmocka_unit_test(test_device_filesystem),
                cmocka_unit_test(test_checkin_list),
                cmocka_unit_test(test_release_round_trip),
                cmocka_unit_test(test_channel_round_trip),
                cmocka_unit_test(test_device_list_and_detail),
                cmocka_unit_test(test_assign_and_error),
                cmocka_unit_test(test_product_and_history_round_trip),
                cmocka_unit_test(test_device_wrong_shapes),
                cmocka_unit_test(test_list_wrong_shapes),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
