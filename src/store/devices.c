/* SPDX-License-Identifier: MIT */
/* Device rows: listing, detail, pins, channels, labels and bulk assignment. */
#include <errno.h>

#include "flota/strutil.h"
#include "store-internal.h"

#define DEVICE_COLUMNS                                                                                      \
        "d.id, d.product, d.mac, d.channel, d.pin_release_id, d.assigned_release_id,"                       \
        " (SELECT coalesce(group_concat(label, ','), '') FROM"                                              \
        "   (SELECT label FROM device_labels l WHERE l.device_id = d.id ORDER BY label)),"                  \
        " d.first_seen, d.last_seen, d.ip, d.platform, d.version, d.sketch_md5, d.free_space, d.chip_size," \
        " d.sdk, d.last_status, d.last_reason, d.last_checkin_id, d.polls, d.ap_mac, d.fs_version, "        \
        "d.fs_md5,"                                                                                         \
        " d.sketch_updated, d.fs_updated"

static void device_from_row(sqlite3_stmt *st, Device *d) {
        *d = (Device) {
                .id = store_column_text(st, 0),
                .product = store_column_text(st, 1),
                .mac = store_column_text(st, 2),
                .channel = (const char *) sqlite3_column_text(st, 3),
                .pin_release_id = sqlite3_column_int64(st, 4),
                .assigned_release_id = sqlite3_column_int64(st, 5),
                .labels = store_column_text(st, 6),
                .first_seen = (usec_t) sqlite3_column_int64(st, 7),
                .last_seen = (usec_t) sqlite3_column_int64(st, 8),
                .ip = store_column_text(st, 9),
                .platform = store_column_text(st, 10),
                .version = store_column_text(st, 11),
                .sketch_md5 = store_column_text(st, 12),
                .free_space = sqlite3_column_int64(st, 13),
                .chip_size = sqlite3_column_int64(st, 14),
                .sdk = store_column_text(st, 15),
                .last_status = sqlite3_column_int(st, 16),
                .last_reason = store_column_text(st, 17),
                .last_checkin_id = sqlite3_column_int64(st, 18),
                .polls = sqlite3_column_int64(st, 19),
                .ap_mac = store_column_text(st, 20),
                .fs_version = store_column_text(st, 21),
                .fs_md5 = store_column_text(st, 22),
                .sketch_updated = (usec_t) sqlite3_column_int64(st, 23),
                .fs_updated = (usec_t) sqlite3_column_int64(st, 24),
        };
}

static int run_device_query(sqlite3_stmt *st, DeviceCallback cb, void *userdata) {
        int r, n = 0;

        while ((r = sqlite3_step(st)) == SQLITE_ROW) {
                Device d;
                device_from_row(st, &d);
                int k = cb(&d, userdata);
                if (k < 0)
                        return k;
                n++;
        }
        return r == SQLITE_DONE ? n : store_errno(r);
}

int lite_devices_list(Store *s, const DeviceFilter *f, DeviceCallback cb, void *userdata) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = store_prepare(s,
                              "SELECT " DEVICE_COLUMNS " FROM devices d"
                              " WHERE (?1 IS NULL OR d.product = ?1) AND (?2 IS NULL OR d.version = ?2)"
                              " AND (?3 IS NULL OR EXISTS (SELECT 1 FROM device_labels l"
                              "      WHERE l.device_id = d.id AND l.label = ?3))"
                              /* a range on the key, so a page costs its own rows, not all before it */
                              " AND d.last_seen >= ?4 AND d.id > coalesce(?5, '')"
                              " AND (?7 = 0 OR d.assigned_release_id = ?7)"
                              " ORDER BY d.id LIMIT ?6",
                              &st);

        if (r < 0)
                return r;
        store_bind_text(st, 1, f->product);
        store_bind_text(st, 2, f->version);
        store_bind_text(st, 3, f->label);
        sqlite3_bind_int64(st, 4, (sqlite3_int64) f->seen_since);
        store_bind_text(st, 5, f->after);
        sqlite3_bind_int64(st, 6, (sqlite3_int64) f->limit);
        sqlite3_bind_int64(st, 7, f->assigned);
        return run_device_query(st, cb, userdata);
}

int lite_device_get(Store *s, const char *id, DeviceCallback cb, void *userdata) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = store_prepare(s, "SELECT " DEVICE_COLUMNS " FROM devices d WHERE d.id = ?", &st);

        if (r < 0)
                return r;
        store_bind_text(st, 1, id);
        r = run_device_query(st, cb, userdata);
        return r == 0 ? -ENOENT : r < 0 ? r : 0;
}

static int ensure_device(Store *s, const char *id) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = store_prepare(s, "INSERT INTO devices (id) VALUES (?) ON CONFLICT (id) DO NOTHING", &st);

        if (r < 0)
                return r;
        store_bind_text(st, 1, id);
        return store_step_done(st);
}

/* Runs sql (binding ?1 = id, ?2 = value) on a device row that is created when missing. */
static int update_device(Store *s, const char *id, const char *sql, int64_t ival, const char *sval) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = store_prepare(s, sql, &st);

        if (r < 0)
                return r;
        r = lite_begin(s);
        if (r < 0)
                return r;
        r = ensure_device(s, id);
        if (r == 0) {
                store_bind_text(st, 1, id);
                if (sval || ival == 0)
                        store_bind_text(st, 2, sval);
                else
                        sqlite3_bind_int64(st, 2, ival);
                r = store_step_done(st);
        }
        return lite_end(s, r);
}

int lite_device_set_pin(Store *s, const char *id, int64_t release_id) {
        return update_device(s, id, "UPDATE devices SET pin_release_id = ?2 WHERE id = ?1", release_id,
                             NULL);
}

int lite_device_set_channel(Store *s, const char *id, const char *channel) {
        return update_device(s, id, "UPDATE devices SET channel = ?2 WHERE id = ?1", 0, channel);
}

int lite_device_set_labels(Store *s, const char *id, char *const *labels, size_t n) {
        return store_labels_replace(s, "INSERT INTO devices (id) VALUES (?) ON CONFLICT (id) DO NOTHING", id,
                                    labels, n);
}

int lite_assign(Store *s, int64_t release_id, char *const *ids, size_t n) {
        _cleanup_stmt_ sqlite3_stmt *ens = NULL, *set = NULL;
        int r;

        r = store_prepare(s, "INSERT INTO devices (id) VALUES (?) ON CONFLICT (id) DO NOTHING", &ens);
        if (r == 0)
                r = store_prepare(s, "UPDATE devices SET assigned_release_id = ?2 WHERE id = ?1", &set);
        if (r < 0)
                return r;
        r = lite_begin(s);
        if (r < 0)
                return r;
        for (size_t i = 0; r == 0 && i < n; i++) {
                sqlite3_reset(ens);
                sqlite3_reset(set);
                store_bind_text(ens, 1, ids[i]);
                store_bind_text(set, 1, ids[i]);
                if (release_id > 0)
                        sqlite3_bind_int64(set, 2, release_id);
                else
                        sqlite3_bind_null(set, 2);
                if (release_id > 0)
                        r = store_step_done(ens);
                if (r == 0)
                        r = store_step_done(set);
        }
        return lite_end(s, r);
}
