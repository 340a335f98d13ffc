/* SPDX-License-Identifier: MIT */
/*
 * Device rows on PostgreSQL: listing, detail, and the overrides (pin, channel, assignment,
 * labels) that API writes keep apart from the rows the check-in writer updates.
 */
#include <errno.h>

#include "flota/strutil.h"
#include "pg-internal.h"

#define DEVICE_COLUMNS                                                                                      \
        "d.id, d.product, d.mac, o.channel, o.pin_release_id, o.assigned_release_id,"                       \
        " coalesce((SELECT string_agg(l.label, ',' ORDER BY l.label) FROM device_labels l"                  \
        "   WHERE l.device_id = d.id), ''),"                                                                \
        " d.first_seen, d.last_seen, d.ip, d.platform, d.version, d.sketch_md5, d.free_space, d.chip_size," \
        " d.sdk, d.last_status, d.last_reason, d.last_checkin_id, d.polls, d.ap_mac, d.fs_version, "        \
        "d.fs_md5,"                                                                                         \
        " d.sketch_updated, d.fs_updated"

static void device_from_row(const PGresult *res, int i, Device *d) {
        *d = (Device) {
                .id = pg_text(res, i, 0),
                .product = pg_text(res, i, 1),
                .mac = pg_text(res, i, 2),
                .channel = PQgetisnull(res, i, 3) ? NULL : pg_text(res, i, 3),
                .pin_release_id = pg_int(res, i, 4),
                .assigned_release_id = pg_int(res, i, 5),
                .labels = pg_text(res, i, 6),
                .first_seen = (usec_t) pg_int(res, i, 7),
                .last_seen = (usec_t) pg_int(res, i, 8),
                .ip = pg_text(res, i, 9),
                .platform = pg_text(res, i, 10),
                .version = pg_text(res, i, 11),
                .sketch_md5 = pg_text(res, i, 12),
                .free_space = pg_int(res, i, 13),
                .chip_size = pg_int(res, i, 14),
                .sdk = pg_text(res, i, 15),
                .last_status = (int) pg_int(res, i, 16),
                .last_reason = pg_text(res, i, 17),
                .last_checkin_id = pg_int(res, i, 18),
                .polls = pg_int(res, i, 19),
                .ap_mac = pg_text(res, i, 20),
                .fs_version = pg_text(res, i, 21),
                .fs_md5 = pg_text(res, i, 22),
                .sketch_updated = (usec_t) pg_int(res, i, 23),
                .fs_updated = (usec_t) pg_int(res, i, 24),
        };
}

static int run_device_query(Store *s, const char *sql, const PgParams *p, DeviceCallback cb,
                            void *userdata) {
        _cleanup_pgresult_ PGresult *res = NULL;
        int r = pg_query_idempotent(s, sql, p, &res);

        if (r < 0)
                return r;
        for (int i = 0; i < PQntuples(res); i++) {
                Device d;
                device_from_row(res, i, &d);
                int k = cb(&d, userdata);
                if (k < 0)
                        return k;
        }
        return PQntuples(res);
}

int pg_devices_list(Store *s, const DeviceFilter *f, DeviceCallback cb, void *userdata) {
        PgParams p = {};

        pg_param_text(&p, f->product);
        pg_param_text(&p, f->version);
        pg_param_text(&p, f->label);
        pg_param_int(&p, (int64_t) f->seen_since);
        pg_param_text(&p, f->after);
        pg_param_int(&p, (int64_t) f->limit);
        pg_param_int(&p, f->assigned);
        return run_device_query(
                s,
                "SELECT " DEVICE_COLUMNS " FROM devices d"
                " LEFT JOIN device_overrides o ON o.device_id = d.id"
                " WHERE ($1::text IS NULL OR d.product = $1) AND ($2::text IS NULL OR d.version = $2)"
                " AND ($3::text IS NULL OR EXISTS (SELECT 1 FROM device_labels l"
                "      WHERE l.device_id = d.id AND l.label = $3))"
                " AND d.last_seen >= $4 AND d.id > coalesce($5::text, '')"
                " AND ($7::bigint = 0 OR o.assigned_release_id = $7)"
                " ORDER BY d.id LIMIT $6",
                &p, cb, userdata);
}

int pg_device_get(Store *s, const char *id, DeviceCallback cb, void *userdata) {
        PgParams p = {};

        pg_param_text(&p, id);
        int r = run_device_query(s,
                                 "SELECT " DEVICE_COLUMNS " FROM devices d"
                                 " LEFT JOIN device_overrides o ON o.device_id = d.id WHERE d.id = $1",
                                 &p, cb, userdata);
        return r == 0 ? -ENOENT : r < 0 ? r : 0;
}

/* The device row and its overrides row, created when missing (as a pin or label on an unseen device). */
static int ensure_device(Store *s, const char *id) {
        PgParams p = {};
        int r;

        pg_param_text(&p, id);
        r = pg_command(s, "INSERT INTO devices (id) VALUES ($1) ON CONFLICT (id) DO NOTHING", &p);
        if (r >= 0)
                r = pg_command(s,
                               "INSERT INTO device_overrides (device_id) VALUES ($1) ON CONFLICT DO NOTHING",
                               &p);
        return r < 0 ? r : 0;
}

static int set_override(Store *s, const char *id, const char *sql, const char *value, int64_t ref) {
        PgParams p = {};
        int owned = pg_tx_begin(s), r;

        if (owned < 0)
                return owned;
        pg_param_text(&p, id);
        if (value)
                pg_param_text(&p, value);
        else
                pg_param_ref(&p, ref);
        r = ensure_device(s, id);
        if (r >= 0)
                r = pg_command(s, sql, &p);
        if (r >= 0)
                r = pg_catalog_bump(s);
        return pg_tx_end(s, owned, r < 0 ? r : 0);
}

int pg_device_set_pin(Store *s, const char *id, int64_t release_id) {
        return set_override(s, id, "UPDATE device_overrides SET pin_release_id = $2 WHERE device_id = $1",
                            NULL, release_id);
}

int pg_device_set_channel(Store *s, const char *id, const char *channel) {
        return set_override(s, id, "UPDATE device_overrides SET channel = $2::text WHERE device_id = $1",
                            channel, 0);
}

int pg_device_set_labels(Store *s, const char *id, char *const *labels, size_t n) {
        PgParams p = {};
        int owned = pg_tx_begin(s), r;

        if (owned < 0)
                return owned;
        pg_param_text(&p, id);
        r = ensure_device(s, id);
        if (r >= 0)
                r = pg_command(s, "DELETE FROM device_labels WHERE device_id = $1", &p);
        for (size_t i = 0; r >= 0 && i < n; i++) {
                PgParams q = {};
                pg_param_text(&q, id);
                pg_param_text(&q, labels[i]);
                r = pg_command(s,
                               "INSERT INTO device_labels (device_id, label) VALUES ($1, $2) ON CONFLICT DO "
                               "NOTHING",
                               &q);
        }
        return pg_tx_end(s, owned, r < 0 ? r : 0);
}

int pg_assign(Store *s, int64_t release_id, char *const *ids, size_t n) {
        int owned = pg_tx_begin(s), r = 0;

        if (owned < 0)
                return owned;
        for (size_t i = 0; r >= 0 && i < n; i++) {
                PgParams p = {};
                pg_param_text(&p, ids[i]);
                pg_param_ref(&p, release_id);
                if (release_id > 0)
                        r = ensure_device(s, ids[i]);
                if (r >= 0)
                        r = pg_command(
                                s,
                                "UPDATE device_overrides SET assigned_release_id = $2 WHERE device_id = $1",
                                &p);
        }
        if (r >= 0)
                r = pg_catalog_bump(s);
        return pg_tx_end(s, owned, r < 0 ? r : 0);
}
