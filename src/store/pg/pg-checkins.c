/* SPDX-License-Identifier: MIT */
/*
 * Check-ins on PostgreSQL: the batched writer and the feed, for several writers at once.
 *
 * Feed positions. With several replicas writing, ids taken from a counter would commit out
 * of order: a follower reading "id > cursor" would step over a row that commits after a
 * higher one (a lost row). So a check-in's id is its feed position,
 *     ((transaction id of the batch + meta.xid_base) << 16) | index in the batch,
 * and the feed returns only rows below the horizon of its own snapshot,
 *     (pg_snapshot_xmin(pg_current_snapshot()) + xid_base) << 16:
 * every transaction with a lower id has ended (committed or not), and every one still open
 * or yet to start will write above it. A follower that keeps the last position it saw thus
 * sees each row once, in position order. The price: the feed waits for the oldest open
 * writing transaction in the cluster (flotad's are short; idle_in_transaction_session_timeout
 * bounds a stuck one).
 *
 * Storage grows with changes, as on SQLite: a poll that repeats its device's last row
 * within the heartbeat only bumps last_seen and polls.
 */
#include <errno.h>

#include "flota/strutil.h"
#include "pg-internal.h"

/* Rows per transaction: the index must fit the position's low 16 bits. */
#define BATCH_MAX 65536

#define CHECKIN_COLUMNS                                                                                     \
        "id, at, ip, product, device_id, mac, chip_id, platform, version, sketch_md5, sketch_sha256,"       \
        " free_space, sketch_size, chip_size, sdk, mode, user_agent, status, reason, release_id, source"

static const char *platform_text(Platform p) {
        const char *s = platform_to_string(p);
        return s ? s : "";
}

static bool text_is(const PGresult *res, int col, const char *s) {
        return streq(pg_text(res, 0, col), s ? s : "");
}

/* True when c says nothing that its device's last row (res, from last_row_sql) did not. */
static bool repeats_last_row(Store *s, const PGresult *res, const Checkin *c) {
        if (s->checkin_heartbeat == 0 || PQgetisnull(res, 0, 1))
                return false;
        usec_t last = (usec_t) pg_int(res, 0, 1);
        if (c->status == 200 || c->at < last || c->at - last >= s->checkin_heartbeat)
                return false;
        return text_is(res, 2, c->product) && text_is(res, 3, c->mac) && text_is(res, 4, platform_text(c->platform)) &&
               text_is(res, 5, c->version) && text_is(res, 6, c->sketch_md5) && text_is(res, 7, c->sketch_sha256) &&
               pg_int(res, 0, 8) == c->free_space && pg_int(res, 0, 9) == c->chip_size && text_is(res, 10, c->sdk) &&
               text_is(res, 11, update_mode_to_string(c->mode)) && pg_int(res, 0, 12) == c->status &&
               text_is(res, 13, reason_to_string(c->reason)) &&
               pg_int(res, 0, 14) == (c->release_id > 0 ? c->release_id : 0) && text_is(res, 15, c->ip) &&
               text_is(res, 16, target_source_to_string(c->source));
}

/* The device's last check-in, its row locked so that two replicas writing one device keep its chain. */
static const char last_row_sql[] =
        "SELECT d.last_checkin_id, c.at, c.product, c.mac, c.platform, c.version, c.sketch_md5, c.sketch_sha256,"
        " c.free_space, c.chip_size, c.sdk, c.mode, c.status, c.reason, c.release_id, c.ip, c.source"
        " FROM devices d LEFT JOIN checkins c ON c.id = d.last_checkin_id WHERE d.id = $1 FOR UPDATE OF d";

/*
 * $15: a filesystem-mode poll (its version is the filesystem image's); $16 the AP MAC; $17 an
 * image was sent in full; $18 the release sent.
 */
static const char upsert_device_sql[] =
        "INSERT INTO devices AS d (id, product, mac, first_seen, last_seen, ip, platform, version, sketch_md5,"
        " free_space, chip_size, sdk, last_status, last_reason, last_checkin_id, polls, ap_mac, fs_version, fs_md5,"
        " sketch_updated, fs_updated)"
        " VALUES ($1, $2, $3, $4::bigint, $4::bigint, $5, $6, CASE WHEN $15::boolean THEN '' ELSE $7 END, $8, $9, $10, $11, $12,"
        " $13, $14, 1, $16, CASE WHEN $15::boolean THEN $7 ELSE '' END,"
        " CASE WHEN $15::boolean AND $17::boolean THEN coalesce((SELECT md5 FROM releases WHERE id = $18::bigint), '')"
        " ELSE '' END,"
        " CASE WHEN $17::boolean AND NOT $15::boolean THEN $4::bigint ELSE 0 END,"
        " CASE WHEN $17::boolean AND $15::boolean THEN $4::bigint ELSE 0 END)"
        " ON CONFLICT (id) DO UPDATE SET product = excluded.product,"
        " mac = CASE WHEN excluded.mac <> '' THEN excluded.mac ELSE d.mac END,"
        " ap_mac = CASE WHEN excluded.ap_mac <> '' THEN excluded.ap_mac ELSE d.ap_mac END,"
        " first_seen = CASE WHEN d.first_seen = 0 THEN excluded.first_seen ELSE d.first_seen END,"
        " last_seen = excluded.last_seen, ip = excluded.ip, platform = excluded.platform,"
        " version = CASE WHEN $15::boolean THEN d.version ELSE excluded.version END,"
        " fs_version = CASE WHEN $15::boolean THEN excluded.fs_version ELSE d.fs_version END,"
        " fs_md5 = CASE WHEN $15::boolean AND $17::boolean THEN excluded.fs_md5 ELSE d.fs_md5 END,"
        " sketch_updated = CASE WHEN $17::boolean AND NOT $15::boolean THEN excluded.last_seen"
        "   ELSE d.sketch_updated END,"
        " fs_updated = CASE WHEN $17::boolean AND $15::boolean THEN excluded.last_seen ELSE d.fs_updated END,"
        " sketch_md5 = excluded.sketch_md5, free_space = excluded.free_space, chip_size = excluded.chip_size,"
        " sdk = excluded.sdk, last_status = excluded.last_status, last_reason = excluded.last_reason,"
        " last_checkin_id = excluded.last_checkin_id, polls = d.polls + 1";

static const char insert_checkin_sql[] =
        "INSERT INTO checkins (at, ip, product, device_id, mac, chip_id, platform, version, sketch_md5,"
        " sketch_sha256, free_space, sketch_size, chip_size, sdk, mode, user_agent, status, reason, release_id,"
        " source, prev_id, id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,"
        " $18, $19, $20, $21, $22)";

static int upsert_device(Store *s, const Checkin *c) {
        PgParams p = {};

        pg_param_text(&p, c->device_id);
        pg_param_text(&p, c->product);
        pg_param_text(&p, c->mac);
        pg_param_int(&p, (int64_t) c->at);
        pg_param_text(&p, c->ip);
        pg_param_text(&p, platform_text(c->platform));
        pg_param_text(&p, c->version);
        pg_param_text(&p, c->sketch_md5);
        pg_param_int(&p, c->free_space);
        pg_param_int(&p, c->chip_size);
        pg_param_text(&p, c->sdk);
        pg_param_int(&p, c->status);
        pg_param_text(&p, reason_to_string(c->reason));
        pg_param_int(&p, c->id);
        pg_param_bool(&p, update_mode_image_kind(c->mode) == IMAGE_KIND_FILESYSTEM);
        pg_param_text(&p, c->ap_mac);
        pg_param_bool(&p, c->reason == REASON_UPDATE);
        pg_param_int(&p, c->release_id);
        int r = pg_command(s, upsert_device_sql, &p);
        return r < 0 ? r : 0;
}

static int insert_checkin(Store *s, const Checkin *c, int64_t prev) {
        PgParams p = {};

        pg_param_int(&p, (int64_t) c->at);
        pg_param_text(&p, c->ip);
        pg_param_text(&p, c->product);
        pg_param_text(&p, c->device_id);
        pg_param_text(&p, c->mac);
        if (c->has_chip_id)
                pg_param_int(&p, c->chip_id);
        else
                pg_param_text(&p, NULL);
        pg_param_text(&p, platform_text(c->platform));
        pg_param_text(&p, c->version);
        pg_param_text(&p, c->sketch_md5);
        pg_param_text(&p, c->sketch_sha256);
        pg_param_int(&p, c->free_space);
        pg_param_int(&p, c->sketch_size);
        pg_param_int(&p, c->chip_size);
        pg_param_text(&p, c->sdk);
        pg_param_text(&p, update_mode_to_string(c->mode));
        pg_param_text(&p, c->user_agent);
        pg_param_int(&p, c->status);
        pg_param_text(&p, reason_to_string(c->reason));
        pg_param_ref(&p, c->release_id);
        pg_param_text(&p, target_source_to_string(c->source));
        pg_param_int(&p, prev);
        pg_param_int(&p, c->id);
        int r = pg_command(s, insert_checkin_sql, &p);
        return r < 0 ? r : 0;
}

static int record(Store *s, Checkin *c, int64_t base, int64_t *index) {
        _cleanup_pgresult_ PGresult *last = NULL;
        PgParams p = {};
        int64_t prev = 0;
        int r;

        pg_param_text(&p, c->device_id);
        r = pg_query(s, last_row_sql, &p, &last);
        if (r < 0)
                return r;
        if (PQntuples(last) == 1) {
                prev = pg_int(last, 0, 0);
                if (repeats_last_row(s, last, c)) {
                        PgParams q = {};
                        c->id = 0;
                        pg_param_text(&q, c->device_id);
                        pg_param_int(&q, (int64_t) c->at);
                        r = pg_command(s, "UPDATE devices SET last_seen = $2, polls = polls + 1 WHERE id = $1", &q);
                        return r < 0 ? r : 0;
                }
        }
        c->id = base * BATCH_MAX + (*index)++;
        r = upsert_device(s, c);
        if (r == 0)
                r = insert_checkin(s, c, prev);
        return r;
}

/* Writes one transaction's worth (n <= BATCH_MAX). */
static int write_chunk(Store *s, Checkin *c, size_t n) {
        _cleanup_pgresult_ PGresult *res = NULL;
        int64_t index = 0, base;
        int r;

        r = pg_command(s, "BEGIN", NULL);
        if (r < 0)
                return r;
        /* the batch's transaction id: taking it makes this transaction hold the feed's horizon */
        r = pg_query(s, "SELECT pg_current_xact_id()::text::bigint + xid_base FROM meta", NULL, &res);
        if (r >= 0 && PQntuples(res) != 1)
                r = -EIO;
        base = r >= 0 ? pg_int(res, 0, 0) : 0;
        for (size_t i = 0; r >= 0 && i < n; i++)
                r = record(s, &c[i], base, &index);
        return pg_tx_end(s, 1, r < 0 ? r : 0);
}

int pg_checkins_write(Store *s, Checkin *c, size_t n) {
        for (size_t done = 0; done < n;) {
                size_t k = n - done < BATCH_MAX ? n - done : BATCH_MAX;
                int r = write_chunk(s, c + done, k);
                if (r < 0)
                        return r;
                done += k;
        }
        return 0;
}

static void checkin_from_row(const PGresult *res, int i, Checkin *c) {
        *c = (Checkin) {
                .id = pg_int(res, i, 0),
                .at = (usec_t) pg_int(res, i, 1),
                .has_chip_id = !PQgetisnull(res, i, 6),
                .chip_id = (uint32_t) pg_int(res, i, 6),
                .platform = platform_from_string(pg_text(res, i, 7)),
                .free_space = pg_int(res, i, 11),
                .sketch_size = pg_int(res, i, 12),
                .chip_size = pg_int(res, i, 13),
                .mode = update_mode_from_string(pg_text(res, i, 15)),
                .status = (int) pg_int(res, i, 17),
                .reason = reason_from_string(pg_text(res, i, 18)),
                .release_id = pg_int(res, i, 19),
                .source = TARGET_NONE,
        };
        strscpy(c->ip, sizeof(c->ip), pg_text(res, i, 2));
        strscpy(c->product, sizeof(c->product), pg_text(res, i, 3));
        strscpy(c->device_id, sizeof(c->device_id), pg_text(res, i, 4));
        strscpy(c->mac, sizeof(c->mac), pg_text(res, i, 5));
        strscpy(c->version, sizeof(c->version), pg_text(res, i, 8));
        strscpy(c->sketch_md5, sizeof(c->sketch_md5), pg_text(res, i, 9));
        strscpy(c->sketch_sha256, sizeof(c->sketch_sha256), pg_text(res, i, 10));
        strscpy(c->sdk, sizeof(c->sdk), pg_text(res, i, 14));
        strscpy(c->user_agent, sizeof(c->user_agent), pg_text(res, i, 16));
        const char *src = pg_text(res, i, 20);
        for (int k = 0; k < _TARGET_SOURCE_MAX; k++)
                if (streq(src, target_source_to_string((TargetSource) k)))
                        c->source = (TargetSource) k;
}

int pg_checkins_after(Store *s, int64_t after, size_t limit, CheckinCallback cb, void *userdata) {
        _cleanup_pgresult_ PGresult *res = NULL;
        PgParams p = {};
        int r;

        pg_param_int(&p, after);
        pg_param_int(&p, (int64_t) limit);
        /* one statement: the rows and the horizon come from the same snapshot */
        r = pg_query(s,
                     "SELECT " CHECKIN_COLUMNS " FROM checkins WHERE id > $1 AND id <"
                     " (pg_snapshot_xmin(pg_current_snapshot())::text::bigint + (SELECT xid_base FROM meta)) * 65536"
                     " ORDER BY id LIMIT $2",
                     &p, &res);
        if (r < 0)
                return r;
        for (int i = 0; i < PQntuples(res); i++) {
                Checkin c;
                checkin_from_row(res, i, &c);
                int k = cb(&c, userdata);
                if (k < 0)
                        return k;
        }
        return PQntuples(res);
}

int pg_device_checkins(Store *s, const char *id, size_t limit, CheckinCallback cb, void *userdata) {
        _cleanup_pgresult_ PGresult *last = NULL;
        PgParams p = {};
        int64_t next;
        int r, n = 0;

        pg_param_text(&p, id);
        r = pg_query(s, "SELECT last_checkin_id FROM devices WHERE id = $1", &p, &last);
        if (r < 0)
                return r;
        if (PQntuples(last) != 1)
                return -ENOENT;
        next = pg_int(last, 0, 0);
        /* newest first, until the limit or the first check-in lost to retention */
        while (next > 0 && (size_t) n < limit) {
                _cleanup_pgresult_ PGresult *res = NULL;
                PgParams q = {};
                Checkin c;

                pg_param_int(&q, next);
                r = pg_query(s, "SELECT " CHECKIN_COLUMNS ", prev_id FROM checkins WHERE id = $1", &q, &res);
                if (r < 0)
                        return r;
                if (PQntuples(res) != 1)
                        break;
                checkin_from_row(res, 0, &c);
                next = pg_int(res, 0, 21);
                int k = cb(&c, userdata);
                if (k < 0)
                        return k;
                n++;
        }
        return n;
}

int64_t pg_checkins_count(Store *s) {
        _cleanup_pgresult_ PGresult *res = NULL;
        int r = pg_query(s, "SELECT count(*) FROM checkins", NULL, &res);

        if (r < 0)
                return r;
        return pg_int(res, 0, 0);
}

int pg_checkins_prune(Store *s, usec_t before, size_t max_rows) {
        _cleanup_pgresult_ PGresult *lock = NULL;
        PgParams p = {}, k = {};
        int r;

        r = pg_command(s, "BEGIN", NULL);
        if (r < 0)
                return r;
        /* a cluster-wide job: one replica at a time, the others skip this round */
        pg_param_int(&k, PG_LOCK_PRUNE);
        r = pg_query(s, "SELECT pg_try_advisory_xact_lock($1)", &k, &lock);
        if (r >= 0 && !pg_bool(lock, 0, 0))
                return pg_tx_end(s, 1, 0);
        pg_param_int(&p, (int64_t) before);
        pg_param_int(&p, (int64_t) max_rows);
        if (r >= 0)
                r = pg_command(s,
                               "DELETE FROM checkins WHERE id IN"
                               " (SELECT id FROM checkins WHERE at < $1 ORDER BY id LIMIT $2)",
                               &p);
        return pg_tx_end(s, 1, r);
}
