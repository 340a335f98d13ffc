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
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flota/alloc.h"
#include "flota/strutil.h"
#include "pg-internal.h"

/* Rows per transaction: the index must fit the position's low 16 bits. */
#define BATCH_MAX STORE_CHECKINS_BATCH_MAX
static_assert(BATCH_MAX <= 65536, "a batch's index fits 16 bits");

#define CHECKIN_COLUMNS                                                                               \
        "id, at, ip, product, device_id, mac, chip_id, platform, version, sketch_md5, sketch_sha256," \
        " free_space, sketch_size, chip_size, sdk, mode, user_agent, status, reason, release_id, source"

static const char *platform_text(Platform p) {
        const char *s = platform_to_string(p);
        return s ? s : "";
}

/*
 * $15: a filesystem-mode poll (its version is the filesystem image's); $16 the AP MAC; $17 an
 * image was sent in full; $18 the release sent.
 */
static const char upsert_device_sql[] =
        "INSERT INTO devices AS d (id, product, mac, first_seen, last_seen, ip, platform, version, "
        "sketch_md5,"
        " free_space, chip_size, sdk, last_status, last_reason, last_checkin_id, polls, ap_mac, fs_version, "
        "fs_md5,"
        " sketch_updated, fs_updated)"
        " VALUES ($1, $2, $3, $4::bigint, $4::bigint, $5, $6, CASE WHEN $15::boolean THEN '' ELSE $7 END, "
        "$8, $9, $10, $11, $12,"
        " $13, $14, 1, $16, CASE WHEN $15::boolean THEN $7 ELSE '' END,"
        " CASE WHEN $15::boolean AND $17::boolean THEN coalesce((SELECT md5 FROM releases WHERE id = "
        "$18::bigint), '')"
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
        " fs_updated = CASE WHEN $17::boolean AND $15::boolean THEN excluded.last_seen ELSE d.fs_updated "
        "END,"
        " sketch_md5 = excluded.sketch_md5, free_space = excluded.free_space, chip_size = "
        "excluded.chip_size,"
        " sdk = excluded.sdk, last_status = excluded.last_status, last_reason = excluded.last_reason,"
        " last_checkin_id = excluded.last_checkin_id, polls = d.polls + 1";

static const char insert_checkin_sql[] =
        "INSERT INTO checkins (at, ip, product, device_id, mac, chip_id, platform, version, sketch_md5,"
        " sketch_sha256, free_space, sketch_size, chip_size, sdk, mode, user_agent, status, reason, "
        "release_id,"
        " source, prev_id, id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, "
        "$16, $17,"
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

/*
 * What a batch knows of one of its devices: its last check-in, as the database had it (read
 * once for the whole batch) or as an earlier poll of the batch left it, and the polls that
 * only touch it. The enum fields compare in their stored text form, as the rows hold them.
 */
typedef struct LastRow {
        const char *device_id; /* borrowed from the batch */
        bool has_row;          /* a last check-in that retention kept */
        int64_t last_id;       /* the device's last_checkin_id; 0: none */
        Checkin last;
        char platform[16], mode[16], reason[32], source[16];
        usec_t touch_at; /* the latest poll that only touches the device */
        int64_t touches;
} LastRow;

static const char *nn(const char *s) {
        return s ? s : "";
}

static int cmp_row(const void *a, const void *b) {
        return strcmp(((const LastRow *) a)->device_id, ((const LastRow *) b)->device_id);
}

static LastRow *find_row(LastRow *rows, size_t n, const char *id) {
        LastRow key = { .device_id = id };
        return bsearch(&key, rows, n, sizeof(LastRow), cmp_row);
}

static void remember(LastRow *e, const Checkin *c) {
        e->has_row = true;
        e->last_id = c->id;
        e->last = *c;
        strscpy(e->platform, sizeof(e->platform), platform_text(c->platform));
        strscpy(e->mode, sizeof(e->mode), nn(update_mode_to_string(c->mode)));
        strscpy(e->reason, sizeof(e->reason), nn(reason_to_string(c->reason)));
        strscpy(e->source, sizeof(e->source), nn(target_source_to_string(c->source)));
}

/* True when c says nothing that its device's last check-in did not. */
static bool repeats_last_row(const Store *s, const LastRow *e, const Checkin *c) {
        const Checkin *l = &e->last;

        if (s->checkin_heartbeat == 0 || !e->has_row)
                return false;
        if (c->status == 200 || c->at < l->at || c->at - l->at >= s->checkin_heartbeat)
                return false;
        return streq(l->product, c->product) && streq(l->mac, c->mac) &&
               streq(e->platform, platform_text(c->platform)) && streq(l->version, c->version) &&
               streq(l->sketch_md5, c->sketch_md5) && streq(l->sketch_sha256, c->sketch_sha256) &&
               l->free_space == c->free_space && l->chip_size == c->chip_size && streq(l->sdk, c->sdk) &&
               streq(e->mode, nn(update_mode_to_string(c->mode))) && l->status == c->status &&
               streq(e->reason, nn(reason_to_string(c->reason))) &&
               l->release_id == (c->release_id > 0 ? c->release_id : 0) && streq(l->ip, c->ip) &&
               streq(e->source, nn(target_source_to_string(c->source)));
}

/* Appends s to an array literal being written to f ('{' already written), quoted. */
static void array_add_text(FILE *f, bool first, const char *s) {
        fputs(first ? "\"" : ",\"", f);
        for (; *s; s++) {
                if (*s == '"' || *s == '\\')
                        fputc('\\', f);
                fputc(*s, f);
        }
        fputc('"', f);
}

/* The batch's distinct devices, sorted by id, each with its last check-in from the database. */
static int load_last_rows(Store *s, const Checkin *c, size_t n, LastRow **ret, size_t *ret_n) {
        _cleanup_pgresult_ PGresult *res = NULL;
        _cleanup_free_ char *ids = NULL;
        size_t ids_len = 0, k = 0;
        LastRow *rows = xcalloc(n ? n : 1, sizeof(LastRow));
        PgParams p = {};
        int r;

        for (size_t i = 0; i < n; i++)
                rows[i].device_id = c[i].device_id;
        qsort(rows, n, sizeof(LastRow), cmp_row);
        for (size_t i = 0; i < n; i++)
                if (k == 0 || !streq(rows[k - 1].device_id, rows[i].device_id))
                        rows[k++] = rows[i];
        FILE *f = open_memstream(&ids, &ids_len);
        fputc('{', f);
        for (size_t i = 0; i < k; i++)
                array_add_text(f, i == 0, rows[i].device_id);
        fputc('}', f);
        fclose(f);

        /* locked in id order, so that replicas writing the same devices take the locks alike */
        pg_param_text(&p, ids);
        r = pg_query(s,
                     "SELECT d.id, d.last_checkin_id, c.at, c.product, c.mac, c.platform, c.version, "
                     "c.sketch_md5,"
                     " c.sketch_sha256, c.free_space, c.chip_size, c.sdk, c.mode, c.status, c.reason, "
                     "c.release_id,"
                     " c.ip, c.source FROM devices d LEFT JOIN checkins c ON c.id = d.last_checkin_id"
                     " WHERE d.id = ANY ($1::text[]) ORDER BY d.id FOR UPDATE OF d",
                     &p, &res);
        if (r < 0) {
                free(rows);
                return r;
        }
        for (int i = 0; i < PQntuples(res); i++) {
                LastRow *e = find_row(rows, k, pg_text(res, i, 0));
                if (!e)
                        continue;
                e->last_id = pg_int(res, i, 1);
                e->has_row = !PQgetisnull(res, i, 2);
                if (!e->has_row)
                        continue;
                Checkin *l = &e->last;
                l->at = (usec_t) pg_int(res, i, 2);
                strscpy(l->product, sizeof(l->product), pg_text(res, i, 3));
                strscpy(l->mac, sizeof(l->mac), pg_text(res, i, 4));
                strscpy(e->platform, sizeof(e->platform), pg_text(res, i, 5));
                strscpy(l->version, sizeof(l->version), pg_text(res, i, 6));
                strscpy(l->sketch_md5, sizeof(l->sketch_md5), pg_text(res, i, 7));
                strscpy(l->sketch_sha256, sizeof(l->sketch_sha256), pg_text(res, i, 8));
                l->free_space = pg_int(res, i, 9);
                l->chip_size = pg_int(res, i, 10);
                strscpy(l->sdk, sizeof(l->sdk), pg_text(res, i, 11));
                strscpy(e->mode, sizeof(e->mode), pg_text(res, i, 12));
                l->status = (int) pg_int(res, i, 13);
                strscpy(e->reason, sizeof(e->reason), pg_text(res, i, 14));
                l->release_id = pg_int(res, i, 15);
                strscpy(l->ip, sizeof(l->ip), pg_text(res, i, 16));
                strscpy(e->source, sizeof(e->source), pg_text(res, i, 17));
        }
        *ret = rows;
        *ret_n = k;
        return 0;
}

/* The polls that changed nothing, one statement for the batch: last_seen and polls. */
static int touch_devices(Store *s, const LastRow *rows, size_t n) {
        _cleanup_free_ char *ids = NULL, *ats = NULL, *counts = NULL;
        size_t l1 = 0, l2 = 0, l3 = 0;
        FILE *fi = open_memstream(&ids, &l1), *fa = open_memstream(&ats, &l2),
             *fc = open_memstream(&counts, &l3);
        bool first = true;
        PgParams p = {};

        fputc('{', fi);
        fputc('{', fa);
        fputc('{', fc);
        for (size_t i = 0; i < n; i++) {
                if (rows[i].touches == 0)
                        continue;
                array_add_text(fi, first, rows[i].device_id);
                fprintf(fa, "%s%" PRIu64, first ? "" : ",", (uint64_t) rows[i].touch_at);
                fprintf(fc, "%s%" PRId64, first ? "" : ",", rows[i].touches);
                first = false;
        }
        fputc('}', fi);
        fputc('}', fa);
        fputc('}', fc);
        fclose(fi);
        fclose(fa);
        fclose(fc);
        if (first)
                return 0;
        pg_param_text(&p, ids);
        pg_param_text(&p, ats);
        pg_param_text(&p, counts);
        int r = pg_command(
                s,
                "UPDATE devices AS d SET last_seen = greatest(d.last_seen, t.at), polls = d.polls + t.n"
                " FROM unnest($1::text[], $2::bigint[], $3::bigint[]) AS t (id, at, n) WHERE d.id = t.id",
                &p);
        return r < 0 ? r : 0;
}

/* Records how far into its journal the batch being written reaches. */
static int journal_mark_set(Store *s, const JournalMark *m) {
        PgParams p = {};

        pg_param_text(&p, m->journal);
        pg_param_int(&p, m->generation);
        pg_param_int(&p, m->end);
        pg_param_int(&p, (int64_t) now_usec(CLOCK_REALTIME));
        int r = pg_command(s,
                           "INSERT INTO checkin_journals (journal, generation, end_offset, updated)"
                           " VALUES ($1, $2, $3, $4) ON CONFLICT (journal) DO UPDATE SET"
                           " generation = excluded.generation, end_offset = excluded.end_offset,"
                           " updated = excluded.updated",
                           &p);
        return r < 0 ? r : 0;
}

/*
 * Writes one transaction's worth (n <= BATCH_MAX): the devices' last check-ins are read in one
 * statement, a poll that repeats its device's last one only counts (one statement for all of
 * them at the end), every other poll gets its row and its device's upsert, in arrival order.
 */
static int write_chunk(Store *s, Checkin *c, size_t n, const JournalMark *mark) {
        _cleanup_pgresult_ PGresult *res = NULL;
        _cleanup_free_ LastRow *rows = NULL;
        size_t n_rows = 0;
        int64_t index = 0, base;
        int r;

        r = pg_command_idempotent(s, "BEGIN", NULL);
        if (r < 0)
                return r;
        /* the batch's transaction id: taking it makes this transaction hold the feed's horizon */
        r = pg_query(s, "SELECT pg_current_xact_id()::text::bigint + xid_base FROM meta", NULL, &res);
        if (r >= 0 && PQntuples(res) != 1)
                r = -EIO;
        base = r >= 0 ? pg_int(res, 0, 0) : 0;
        if (r >= 0)
                r = load_last_rows(s, c, n, &rows, &n_rows);
        for (size_t i = 0; r >= 0 && i < n; i++) {
                LastRow *e = find_row(rows, n_rows, c[i].device_id);
                assert(e);
                if (repeats_last_row(s, e, &c[i])) {
                        c[i].id = 0;
                        e->touches++;
                        if (c[i].at > e->touch_at)
                                e->touch_at = c[i].at;
                        continue;
                }
                c[i].id = base * BATCH_MAX + index++;
                r = upsert_device(s, &c[i]);
                if (r >= 0)
                        r = insert_checkin(s, &c[i], e->last_id);
                if (r >= 0)
                        remember(e, &c[i]);
        }
        if (r >= 0)
                r = touch_devices(s, rows, n_rows);
        if (r >= 0 && mark)
                r = journal_mark_set(s, mark);
        return pg_tx_end(s, 1, r < 0 ? r : 0);
}

int pg_journal_mark(Store *s, const char *journal, JournalMark *ret) {
        _cleanup_pgresult_ PGresult *res = NULL;
        PgParams p = {};

        pg_param_text(&p, journal);
        int r = pg_query_idempotent(
                s, "SELECT generation, end_offset FROM checkin_journals WHERE journal = $1", &p, &res);
        if (r < 0)
                return r;
        if (PQntuples(res) == 0)
                return 0;
        *ret = (JournalMark) { .generation = pg_int(res, 0, 0), .end = pg_int(res, 0, 1) };
        strscpy(ret->journal, sizeof(ret->journal), journal);
        return 1;
}

int pg_checkins_write(Store *s, Checkin *c, size_t n, const JournalMark *mark) {
        assert(n <= BATCH_MAX);
        return write_chunk(s, c, n, mark);
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
        r = pg_query_idempotent(
                s,
                "SELECT " CHECKIN_COLUMNS " FROM checkins WHERE id > $1 AND id <"
                " (pg_snapshot_xmin(pg_current_snapshot())::text::bigint + (SELECT xid_base FROM "
                "meta)) * 65536"
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
        r = pg_query_idempotent(s, "SELECT last_checkin_id FROM devices WHERE id = $1", &p, &last);
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
                r = pg_query_idempotent(s, "SELECT " CHECKIN_COLUMNS ", prev_id FROM checkins WHERE id = $1",
                                        &q, &res);
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
        int r = pg_query_idempotent(s, "SELECT count(*) FROM checkins", NULL, &res);

        if (r < 0)
                return r;
        return pg_int(res, 0, 0);
}

int pg_checkins_prune(Store *s, usec_t before, size_t max_rows) {
        _cleanup_pgresult_ PGresult *lock = NULL;
        PgParams p = {}, k = {};
        int r;

        r = pg_command_idempotent(s, "BEGIN", NULL);
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
