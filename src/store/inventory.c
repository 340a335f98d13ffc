/* SPDX-License-Identifier: MIT */
/* flota's inventory database: schema, identity merge, version history, cursors, audit. */
#include "flota/inventory.h"

#include <errno.h>

#include "flota/alloc.h"
#include "flota/strutil.h"
#include "store-internal.h"

static const char *const inventory_migrations[] = {
        /* 0 -> 1 */
        "CREATE TABLE devices ("
        "  id TEXT PRIMARY KEY,"
        "  name TEXT NOT NULL DEFAULT '',"
        "  product TEXT NOT NULL DEFAULT '',"
        "  platform TEXT NOT NULL DEFAULT '',"
        "  version TEXT NOT NULL DEFAULT '',"
        "  sketch_md5 TEXT NOT NULL DEFAULT '',"
        "  ip TEXT NOT NULL DEFAULT '',"
        "  first_seen INTEGER NOT NULL,"
        "  last_seen INTEGER NOT NULL,"
        "  sources TEXT NOT NULL DEFAULT '') WITHOUT ROWID;"
        "CREATE TABLE device_labels ("
        "  device_id TEXT NOT NULL,"
        "  label TEXT NOT NULL,"
        "  PRIMARY KEY (device_id, label)) WITHOUT ROWID;"
        "CREATE TABLE version_history ("
        "  id INTEGER PRIMARY KEY,"
        "  device_id TEXT NOT NULL,"
        "  version TEXT NOT NULL,"
        "  sketch_md5 TEXT NOT NULL,"
        "  at INTEGER NOT NULL,"
        "  source TEXT NOT NULL);"
        "CREATE INDEX version_history_device ON version_history(device_id, id);"
        "CREATE TABLE sources ("
        "  name TEXT PRIMARY KEY,"
        "  cursor TEXT NOT NULL,"
        "  ingested INTEGER NOT NULL DEFAULT 0,"
        "  updated INTEGER NOT NULL);"
        "CREATE TABLE audit ("
        "  id INTEGER PRIMARY KEY,"
        "  at INTEGER NOT NULL,"
        "  action TEXT NOT NULL,"
        "  detail TEXT NOT NULL);",
};

int inventory_open(const char *path, Store **ret) {
        return store_open_schema(path, inventory_migrations, ELEMENTSOF(inventory_migrations), ret);
}


int inventory_record(Store *s, const Sighting *x) {
        _cleanup_stmt_ sqlite3_stmt *up = NULL, *hist = NULL;
        _cleanup_free_ char *known = NULL;
        int r;

        r = store_get_text(s, "SELECT version FROM devices WHERE id = ?", x->device, &known);
        if (r < 0 && r != -ENOENT)
                return r;
        if (!isempty(x->version) && (!known || !streq(known, x->version))) {
                r = store_prepare(s,
                                  "INSERT INTO version_history (device_id, version, sketch_md5, at, source)"
                                  " VALUES (?, ?, ?, ?, ?)",
                                  &hist);
                if (r < 0)
                        return r;
                store_bind_text(hist, 1, x->device);
                store_bind_text(hist, 2, x->version);
                store_bind_text(hist, 3, x->sketch_md5 ? x->sketch_md5 : "");
                sqlite3_bind_int64(hist, 4, (sqlite3_int64) x->at);
                store_bind_text(hist, 5, x->source);
                r = store_step_done(hist);
                if (r < 0)
                        return r;
        }
        /* the newest sighting wins; empty fields never erase what another source said */
        r = store_prepare(s,
                          "INSERT INTO devices (id, product, platform, version, sketch_md5, ip, first_seen, last_seen,"
                          " sources) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?8)"
                          " ON CONFLICT (id) DO UPDATE SET"
                          " product = CASE WHEN ?2 <> '' THEN ?2 ELSE product END,"
                          " platform = CASE WHEN ?3 <> '' THEN ?3 ELSE platform END,"
                          " version = CASE WHEN ?4 <> '' THEN ?4 ELSE version END,"
                          " sketch_md5 = CASE WHEN ?5 <> '' THEN ?5 ELSE sketch_md5 END,"
                          " ip = CASE WHEN ?6 <> '' THEN ?6 ELSE ip END,"
                          " first_seen = min(first_seen, ?7), last_seen = max(last_seen, ?7),"
                          " sources = CASE WHEN instr(',' || sources || ',', ',' || ?8 || ',') > 0 THEN sources"
                          "   WHEN sources = '' THEN ?8 ELSE sources || ',' || ?8 END",
                          &up);
        if (r < 0)
                return r;
        store_bind_text(up, 1, x->device);
        store_bind_text(up, 2, x->product ? x->product : "");
        store_bind_text(up, 3, x->platform ? x->platform : "");
        store_bind_text(up, 4, x->version ? x->version : "");
        store_bind_text(up, 5, x->sketch_md5 ? x->sketch_md5 : "");
        store_bind_text(up, 6, x->ip ? x->ip : "");
        sqlite3_bind_int64(up, 7, (sqlite3_int64) x->at);
        store_bind_text(up, 8, x->source);
        return store_step_done(up);
}

int inventory_cursor(Store *s, const char *source, char **ret) {
        return store_get_text(s, "SELECT cursor FROM sources WHERE name = ?", source, ret);
}

int inventory_advance(Store *s, const char *source, const char *cursor, uint64_t n) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = store_prepare(s,
                              "INSERT INTO sources (name, cursor, ingested, updated) VALUES (?1, ?2, ?3, ?4)"
                              " ON CONFLICT (name) DO UPDATE SET cursor = ?2, ingested = ingested + ?3, updated = ?4",
                              &st);

        if (r < 0)
                return r;
        store_bind_text(st, 1, source);
        store_bind_text(st, 2, cursor);
        sqlite3_bind_int64(st, 3, (sqlite3_int64) n);
        sqlite3_bind_int64(st, 4, (sqlite3_int64) now_usec(CLOCK_REALTIME));
        return store_step_done(st);
}

int64_t inventory_ingested(Store *s, const char *source) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = store_prepare(s, "SELECT ingested FROM sources WHERE name = ?", &st);

        if (r < 0)
                return r;
        store_bind_text(st, 1, source);
        r = sqlite3_step(st);
        if (r == SQLITE_DONE)
                return 0;
        return r == SQLITE_ROW ? sqlite3_column_int64(st, 0) : store_errno(r);
}

int inventory_audit(Store *s, const char *action, const char *detail) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = store_prepare(s, "INSERT INTO audit (at, action, detail) VALUES (?, ?, ?)", &st);

        if (r < 0)
                return r;
        sqlite3_bind_int64(st, 1, (sqlite3_int64) now_usec(CLOCK_REALTIME));
        store_bind_text(st, 2, action);
        store_bind_text(st, 3, detail);
        return store_step_done(st);
}

int inventory_summary(Store *s, usec_t online_since, InventorySummary *ret) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = store_prepare(s,
                              "SELECT count(*), coalesce(sum(last_seen >= ?), 0), coalesce(max(last_seen), 0)"
                              " FROM devices",
                              &st);

        if (r < 0)
                return r;
        sqlite3_bind_int64(st, 1, (sqlite3_int64) online_since);
        r = sqlite3_step(st);
        if (r != SQLITE_ROW)
                return store_errno(r);
        *ret = (InventorySummary) {
                .devices = sqlite3_column_int64(st, 0),
                .online = sqlite3_column_int64(st, 1),
                .last_seen = (usec_t) sqlite3_column_int64(st, 2),
        };
        return 0;
}

int inventory_count_by(Store *s, const char *column, int (*cb)(const char *key, int64_t n, void *userdata),
                       void *userdata) {
        static const char *const sql[] = {
                "SELECT product, count(*) FROM devices GROUP BY product ORDER BY 2 DESC, 1",
                "SELECT version, count(*) FROM devices GROUP BY version ORDER BY 2 DESC, 1",
                "SELECT platform, count(*) FROM devices GROUP BY platform ORDER BY 2 DESC, 1",
        };
        static const char *const columns[] = { "product", "version", "platform" };
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = -EINVAL;

        for (size_t i = 0; i < ELEMENTSOF(columns); i++)
                if (streq(column, columns[i]))
                        r = store_prepare(s, sql[i], &st);
        if (r < 0)
                return r;
        while ((r = sqlite3_step(st)) == SQLITE_ROW) {
                int k = cb(store_column_text(st, 0), sqlite3_column_int64(st, 1), userdata);
                if (k < 0)
                        return k;
        }
        return r == SQLITE_DONE ? 0 : store_errno(r);
}

int inventory_history(Store *s, const char *device,
                      int (*cb)(const char *version, usec_t at, const char *source, void *userdata), void *userdata) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = store_prepare(s, "SELECT version, at, source FROM version_history WHERE device_id = ? ORDER BY id DESC",
                              &st);

        if (r < 0)
                return r;
        store_bind_text(st, 1, device);
        while ((r = sqlite3_step(st)) == SQLITE_ROW) {
                int k = cb(store_column_text(st, 0), (usec_t) sqlite3_column_int64(st, 1), store_column_text(st, 2),
                           userdata);
                if (k < 0)
                        return k;
        }
        return r == SQLITE_DONE ? 0 : store_errno(r);
}
