/* SPDX-License-Identifier: MIT */
/*
 * Check-ins: batched writes (one transaction per batch) and the cursor feed.
 *
 * A device's history is a chain: each check-in row holds the id of the device's previous
 * check-in (prev_id) and the device row the id of its last one. Walking the chain costs a
 * few primary-key lookups, where an index on (device_id, id) would cost a random B-tree
 * insert on every poll.
 *
 * Storage grows with changes, not with polls: a poll that repeats the device's last row
 * (same answer, version, MD5, address, ...) within the heartbeat only bumps the device's
 * last_seen and polls; every change, every 200 answer and one row per heartbeat go in.
 *
 * Ids: the next id lives in the sequences row, read and written in the same transaction as
 * the rows, so an id is never reused (retention may empty the table) and writers take ids
 * in commit order: on a server database the read must lock the row (SELECT ... FOR UPDATE)
 * so that a feed follower never sees id N+1 committed before N.
 */
#include <errno.h>

#include "flota/strutil.h"
#include "store-internal.h"

static const char insert_checkin_sql[] =
        "INSERT INTO checkins (at, ip, product, device_id, mac, chip_id, platform, version, sketch_md5,"
        " sketch_sha256, free_space, sketch_size, chip_size, sdk, mode, user_agent, status, reason, "
        "release_id,"
        " source, prev_id, id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

/*
 * ?15: the poll is in filesystem mode: its version is the filesystem image's, not the
 * sketch's (its sketch MD5 is still the running sketch's). ?16: the AP MAC. ?17: an image
 * was sent in full (reason update), ?18 the release sent.
 */
static const char upsert_device_sql[] =
        "INSERT INTO devices (id, product, mac, first_seen, last_seen, ip, platform, version, sketch_md5,"
        " free_space, chip_size, sdk, last_status, last_reason, last_checkin_id, polls, ap_mac, fs_version, "
        "fs_md5,"
        " sketch_updated, fs_updated)"
        " VALUES (?1, ?2, ?3, ?4, ?4, ?5, ?6, CASE WHEN ?15 THEN '' ELSE ?7 END, ?8, ?9, ?10, ?11, ?12, "
        "?13, ?14, 1,"
        " ?16, CASE WHEN ?15 THEN ?7 ELSE '' END,"
        " CASE WHEN ?15 AND ?17 THEN coalesce((SELECT md5 FROM releases WHERE id = ?18), '') ELSE '' END,"
        " CASE WHEN ?17 AND NOT ?15 THEN ?4 ELSE 0 END, CASE WHEN ?17 AND ?15 THEN ?4 ELSE 0 END)"
        " ON CONFLICT (id) DO UPDATE SET product = excluded.product,"
        " mac = CASE WHEN excluded.mac <> '' THEN excluded.mac ELSE devices.mac END,"
        " ap_mac = CASE WHEN excluded.ap_mac <> '' THEN excluded.ap_mac ELSE devices.ap_mac END,"
        " first_seen = CASE WHEN devices.first_seen = 0 THEN excluded.first_seen ELSE devices.first_seen "
        "END,"
        " last_seen = excluded.last_seen, ip = excluded.ip, platform = excluded.platform,"
        " version = CASE WHEN ?15 THEN devices.version ELSE excluded.version END,"
        " fs_version = CASE WHEN ?15 THEN excluded.fs_version ELSE devices.fs_version END,"
        " fs_md5 = CASE WHEN ?15 AND ?17 THEN excluded.fs_md5 ELSE devices.fs_md5 END,"
        " sketch_updated = CASE WHEN ?17 AND NOT ?15 THEN excluded.last_seen ELSE devices.sketch_updated "
        "END,"
        " fs_updated = CASE WHEN ?17 AND ?15 THEN excluded.last_seen ELSE devices.fs_updated END,"
        " sketch_md5 = excluded.sketch_md5, free_space = excluded.free_space,"
        " chip_size = excluded.chip_size, sdk = excluded.sdk, last_status = excluded.last_status,"
        " last_reason = excluded.last_reason, last_checkin_id = excluded.last_checkin_id,"
        " polls = devices.polls + 1";

/* A poll that changed nothing: the device was seen, once more. */
static const char touch_device_sql[] = "UPDATE devices SET last_seen = ?2, polls = polls + 1 WHERE id = ?1";

/*
 * The device's last check-in row, to tell whether a poll changes anything. Read before the
 * upsert (which then finds the row's page cached); RETURNING would cost a temporary table.
 */
static const char last_checkin_sql[] =
        "SELECT d.last_checkin_id, c.at, c.product, c.mac, c.platform, c.version, c.sketch_md5, "
        "c.sketch_sha256,"
        " c.free_space, c.chip_size, c.sdk, c.mode, c.status, c.reason, c.release_id, c.ip, c.source"
        " FROM devices AS d LEFT JOIN checkins AS c ON c.id = d.last_checkin_id WHERE d.id = ?";

static const char *platform_text(Platform p) {
        const char *s = platform_to_string(p);
        return s ? s : "";
}

static void bind_checkin(sqlite3_stmt *st, const Checkin *c) {
        sqlite3_bind_int64(st, 1, (sqlite3_int64) c->at);
        store_bind_text(st, 2, c->ip);
        store_bind_text(st, 3, c->product);
        store_bind_text(st, 4, c->device_id);
        store_bind_text(st, 5, c->mac);
        if (c->has_chip_id)
                sqlite3_bind_int64(st, 6, c->chip_id);
        else
                sqlite3_bind_null(st, 6);
        store_bind_text(st, 7, platform_text(c->platform));
        store_bind_text(st, 8, c->version);
        store_bind_text(st, 9, c->sketch_md5);
        store_bind_text(st, 10, c->sketch_sha256);
        sqlite3_bind_int64(st, 11, c->free_space);
        sqlite3_bind_int64(st, 12, c->sketch_size);
        sqlite3_bind_int64(st, 13, c->chip_size);
        store_bind_text(st, 14, c->sdk);
        store_bind_text(st, 15, update_mode_to_string(c->mode));
        store_bind_text(st, 16, c->user_agent);
        sqlite3_bind_int(st, 17, c->status);
        store_bind_text(st, 18, reason_to_string(c->reason));
        if (c->release_id > 0)
                sqlite3_bind_int64(st, 19, c->release_id);
        else
                sqlite3_bind_null(st, 19);
        store_bind_text(st, 20, target_source_to_string(c->source));
        sqlite3_bind_int64(st, 22, c->id);
}

static void bind_device(sqlite3_stmt *st, const Checkin *c) {
        store_bind_text(st, 1, c->device_id);
        store_bind_text(st, 2, c->product);
        store_bind_text(st, 3, c->mac);
        sqlite3_bind_int64(st, 4, (sqlite3_int64) c->at);
        store_bind_text(st, 5, c->ip);
        store_bind_text(st, 6, platform_text(c->platform));
        store_bind_text(st, 7, c->version);
        store_bind_text(st, 8, c->sketch_md5);
        sqlite3_bind_int64(st, 9, c->free_space);
        sqlite3_bind_int64(st, 10, c->chip_size);
        store_bind_text(st, 11, c->sdk);
        sqlite3_bind_int(st, 12, c->status);
        store_bind_text(st, 13, reason_to_string(c->reason));
        sqlite3_bind_int64(st, 14, c->id);
        sqlite3_bind_int(st, 15, update_mode_image_kind(c->mode) == IMAGE_KIND_FILESYSTEM);
        store_bind_text(st, 16, c->ap_mac);
        sqlite3_bind_int(st, 17, c->reason == REASON_UPDATE);
        sqlite3_bind_int64(st, 18, c->release_id);
}

static int prepare_cached(Store *s, sqlite3_stmt **slot, const char *sql) {
        if (*slot)
                return 0;
        return store_prepare(s, sql, slot);
}

static int sequence_get(Store *s, int64_t *ret) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = store_prepare(s, "SELECT next FROM sequences WHERE name = 'checkins'", &st);

        if (r < 0)
                return r;
        r = sqlite3_step(st);
        if (r == SQLITE_DONE)
                return -EIO;
        if (r != SQLITE_ROW)
                return store_errno(r);
        *ret = sqlite3_column_int64(st, 0);
        return 0;
}

static int sequence_set(Store *s, int64_t next) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = store_prepare(s, "UPDATE sequences SET next = ? WHERE name = 'checkins'", &st);

        if (r < 0)
                return r;
        sqlite3_bind_int64(st, 1, next);
        return store_step_done(st);
}

static bool text_is(sqlite3_stmt *st, int col, const char *s) {
        return streq(store_column_text(st, col), s ? s : "");
}

/* True when c says nothing its device's last row (the current result of last_checkin) did not. */
static bool repeats_last_row(Store *s, const Checkin *c) {
        sqlite3_stmt *st = s->last_checkin;

        if (s->checkin_heartbeat == 0 || sqlite3_column_type(st, 1) == SQLITE_NULL)
                return false;
        if (c->status == 200 || c->at < (usec_t) sqlite3_column_int64(st, 1) ||
            c->at - (usec_t) sqlite3_column_int64(st, 1) >= s->checkin_heartbeat)
                return false;
        return text_is(st, 2, c->product) && text_is(st, 3, c->mac) &&
               text_is(st, 4, platform_text(c->platform)) && text_is(st, 5, c->version) &&
               text_is(st, 6, c->sketch_md5) && text_is(st, 7, c->sketch_sha256) &&
               sqlite3_column_int64(st, 8) == c->free_space && sqlite3_column_int64(st, 9) == c->chip_size &&
               text_is(st, 10, c->sdk) && text_is(st, 11, update_mode_to_string(c->mode)) &&
               sqlite3_column_int(st, 12) == c->status && text_is(st, 13, reason_to_string(c->reason)) &&
               sqlite3_column_int64(st, 14) == (c->release_id > 0 ? c->release_id : 0) &&
               text_is(st, 15, c->ip) && text_is(st, 16, target_source_to_string(c->source));
}

/*
 * Records c: either a new check-in row with the next id (upserting its device), or, when it
 * repeats the device's last row within the heartbeat, only last_seen and polls (c->id = 0).
 */
static int record(Store *s, Checkin *c, int64_t *next_id) {
        int64_t prev = 0;
        bool repeat = false;
        int r;

        sqlite3_reset(s->last_checkin);
        store_bind_text(s->last_checkin, 1, c->device_id);
        r = sqlite3_step(s->last_checkin);
        if (r == SQLITE_ROW) {
                prev = sqlite3_column_int64(s->last_checkin, 0);
                repeat = repeats_last_row(s, c);
        } else if (r != SQLITE_DONE)
                return store_errno(r);
        sqlite3_reset(s->last_checkin);

        if (repeat) {
                c->id = 0;
                sqlite3_reset(s->touch_device);
                store_bind_text(s->touch_device, 1, c->device_id);
                sqlite3_bind_int64(s->touch_device, 2, (sqlite3_int64) c->at);
                return store_step_done(s->touch_device);
        }
        c->id = (*next_id)++;
        sqlite3_reset(s->upsert_device);
        bind_device(s->upsert_device, c);
        r = store_step_done(s->upsert_device);
        if (r < 0)
                return r;
        sqlite3_reset(s->insert_checkin);
        bind_checkin(s->insert_checkin, c);
        sqlite3_bind_int64(s->insert_checkin, 21, prev);
        return store_step_done(s->insert_checkin);
}

/* Records how far into its journal the batch being written reaches. */
static int journal_mark_set(Store *s, const JournalMark *m) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = store_prepare(s,
                              "INSERT INTO checkin_journals (journal, generation, end_offset, updated)"
                              " VALUES (?, ?, ?, ?) ON CONFLICT (journal) DO UPDATE SET"
                              " generation = excluded.generation, end_offset = excluded.end_offset,"
                              " updated = excluded.updated",
                              &st);

        if (r < 0)
                return r;
        store_bind_text(st, 1, m->journal);
        sqlite3_bind_int64(st, 2, m->generation);
        sqlite3_bind_int64(st, 3, m->end);
        sqlite3_bind_int64(st, 4, (sqlite3_int64) now_usec(CLOCK_REALTIME));
        return store_step_done(st);
}

int lite_journal_mark(Store *s, const char *journal, JournalMark *ret) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = store_prepare(s, "SELECT generation, end_offset FROM checkin_journals WHERE journal = ?",
                              &st);

        if (r < 0)
                return r;
        store_bind_text(st, 1, journal);
        r = sqlite3_step(st);
        if (r == SQLITE_DONE)
                return 0;
        if (r != SQLITE_ROW)
                return store_errno(r);
        *ret = (JournalMark) { .generation = sqlite3_column_int64(st, 0),
                               .end = sqlite3_column_int64(st, 1) };
        strscpy(ret->journal, sizeof(ret->journal), journal);
        return 1;
}

int lite_checkins_write(Store *s, Checkin *c, size_t n, const JournalMark *mark) {
        int64_t next = 0;
        int r;

        r = prepare_cached(s, &s->insert_checkin, insert_checkin_sql);
        if (r == 0)
                r = prepare_cached(s, &s->upsert_device, upsert_device_sql);
        if (r == 0)
                r = prepare_cached(s, &s->last_checkin, last_checkin_sql);
        if (r == 0)
                r = prepare_cached(s, &s->touch_device, touch_device_sql);
        if (r < 0)
                return r;
        r = lite_begin(s);
        if (r < 0)
                return r;
        /* ids are taken in arrival order inside the write transaction, so the feed stays gap-free */
        r = sequence_get(s, &next);
        for (size_t i = 0; r == 0 && i < n; i++)
                r = record(s, &c[i], &next);
        if (r == 0)
                r = sequence_set(s, next);
        if (r == 0 && mark)
                r = journal_mark_set(s, mark);
        sqlite3_reset(s->insert_checkin);
        sqlite3_reset(s->upsert_device);
        sqlite3_reset(s->touch_device);
        return lite_end(s, r);
}

static void checkin_from_row(sqlite3_stmt *st, Checkin *c) {
        *c = (Checkin) {
                .id = sqlite3_column_int64(st, 0),
                .at = (usec_t) sqlite3_column_int64(st, 1),
                .has_chip_id = sqlite3_column_type(st, 6) != SQLITE_NULL,
                .chip_id = (uint32_t) sqlite3_column_int64(st, 6),
                .platform = platform_from_string(store_column_text(st, 7)),
                .free_space = sqlite3_column_int64(st, 11),
                .sketch_size = sqlite3_column_int64(st, 12),
                .chip_size = sqlite3_column_int64(st, 13),
                .mode = update_mode_from_string(store_column_text(st, 15)),
                .status = sqlite3_column_int(st, 17),
                .reason = reason_from_string(store_column_text(st, 18)),
                .release_id = sqlite3_column_int64(st, 19),
                .source = TARGET_NONE,
        };
        strscpy(c->ip, sizeof(c->ip), store_column_text(st, 2));
        strscpy(c->product, sizeof(c->product), store_column_text(st, 3));
        strscpy(c->device_id, sizeof(c->device_id), store_column_text(st, 4));
        strscpy(c->mac, sizeof(c->mac), store_column_text(st, 5));
        strscpy(c->version, sizeof(c->version), store_column_text(st, 8));
        strscpy(c->sketch_md5, sizeof(c->sketch_md5), store_column_text(st, 9));
        strscpy(c->sketch_sha256, sizeof(c->sketch_sha256), store_column_text(st, 10));
        strscpy(c->sdk, sizeof(c->sdk), store_column_text(st, 14));
        strscpy(c->user_agent, sizeof(c->user_agent), store_column_text(st, 16));
        const char *src = store_column_text(st, 20);
        for (int i = 0; i < _TARGET_SOURCE_MAX; i++)
                if (streq(src, target_source_to_string((TargetSource) i)))
                        c->source = (TargetSource) i;
}

#define CHECKIN_COLUMNS                                                                               \
        "id, at, ip, product, device_id, mac, chip_id, platform, version, sketch_md5, sketch_sha256," \
        " free_space, sketch_size, chip_size, sdk, mode, user_agent, status, reason, release_id, source"

static int run_checkin_query(sqlite3_stmt *st, CheckinCallback cb, void *userdata) {
        int r, n = 0;

        while ((r = sqlite3_step(st)) == SQLITE_ROW) {
                Checkin c;
                checkin_from_row(st, &c);
                int k = cb(&c, userdata);
                if (k < 0)
                        return k;
                n++;
        }
        return r == SQLITE_DONE ? n : store_errno(r);
}

int lite_checkins_after(Store *s, int64_t after, size_t limit, CheckinCallback cb, void *userdata) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = store_prepare(s, "SELECT " CHECKIN_COLUMNS " FROM checkins WHERE id > ? ORDER BY id LIMIT ?",
                              &st);

        if (r < 0)
                return r;
        sqlite3_bind_int64(st, 1, after);
        sqlite3_bind_int64(st, 2, (sqlite3_int64) limit);
        return run_checkin_query(st, cb, userdata);
}

int lite_device_checkins(Store *s, const char *id, size_t limit, CheckinCallback cb, void *userdata) {
        _cleanup_stmt_ sqlite3_stmt *last = NULL, *one = NULL;
        int64_t next = 0;
        int r, n = 0;

        r = store_prepare(s, "SELECT last_checkin_id FROM devices WHERE id = ?", &last);
        if (r == 0)
                r = store_prepare(s, "SELECT " CHECKIN_COLUMNS ", prev_id FROM checkins WHERE id = ?", &one);
        if (r < 0)
                return r;
        store_bind_text(last, 1, id);
        r = sqlite3_step(last);
        if (r == SQLITE_DONE)
                return -ENOENT;
        if (r != SQLITE_ROW)
                return store_errno(r);
        next = sqlite3_column_int64(last, 0);

        /* newest first, until the limit or the first check-in lost to retention */
        while (next > 0 && (size_t) n < limit) {
                Checkin c;
                sqlite3_reset(one);
                sqlite3_bind_int64(one, 1, next);
                r = sqlite3_step(one);
                if (r == SQLITE_DONE)
                        break;
                if (r != SQLITE_ROW)
                        return store_errno(r);
                checkin_from_row(one, &c);
                next = sqlite3_column_int64(one, 21);
                int k = cb(&c, userdata);
                if (k < 0)
                        return k;
                n++;
        }
        return n;
}

int lite_checkins_prune(Store *s, usec_t before, size_t max_rows) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        /* ids grow with time, so the oldest rows are the lowest ids: a range delete on the primary key */
        int r = store_prepare(s,
                              "DELETE FROM checkins WHERE id <= (SELECT max(id) FROM"
                              " (SELECT id FROM checkins WHERE at < ?1 ORDER BY id LIMIT ?2))",
                              &st);

        if (r < 0)
                return r;
        sqlite3_bind_int64(st, 1, (sqlite3_int64) before);
        sqlite3_bind_int64(st, 2, (sqlite3_int64) max_rows);
        r = store_step_done(st);
        return r < 0 ? r : sqlite3_changes(s->db);
}

int64_t lite_checkins_count(Store *s) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = store_prepare(s, "SELECT count(*) FROM checkins", &st);

        if (r < 0)
                return r;
        if (sqlite3_step(st) != SQLITE_ROW)
                return -EIO;
        return sqlite3_column_int64(st, 0);
}
