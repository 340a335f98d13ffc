/* SPDX-License-Identifier: MIT */
/* flota's inventory database: schema, identity merge, version history, cursors, audit. */
#include "flota/inventory.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "flota/alloc.h"
#include "flota/strutil.h"
#include "store-internal.h"

const char *const inventory_migrations[] = {
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
        /* 1 -> 2: every log file read, by the fingerprint of its first line */
        "CREATE TABLE log_files ("
        "  fingerprint TEXT PRIMARY KEY,"
        "  source TEXT NOT NULL,"
        "  path TEXT NOT NULL,"
        "  offset INTEGER NOT NULL,"
        "  lines INTEGER NOT NULL,"
        "  bad INTEGER NOT NULL,"
        "  complete INTEGER NOT NULL,"
        "  updated INTEGER NOT NULL) WITHOUT ROWID;",
        /* 2 -> 3: what mDNS says of a device, and whether it is announced now */
        "ALTER TABLE devices ADD COLUMN mdns_kind TEXT NOT NULL DEFAULT '';"
        "ALTER TABLE devices ADD COLUMN mdns_host TEXT NOT NULL DEFAULT '';"
        "ALTER TABLE devices ADD COLUMN mdns_port INTEGER NOT NULL DEFAULT 0;"
        "ALTER TABLE devices ADD COLUMN mdns_txt TEXT NOT NULL DEFAULT '';"
        "ALTER TABLE devices ADD COLUMN board TEXT NOT NULL DEFAULT '';"
        "ALTER TABLE devices ADD COLUMN announced INTEGER NOT NULL DEFAULT 0;",
        /* 3 -> 4: rollouts, their devices and events; what flotad's feed says of each device's polls */
        "ALTER TABLE devices ADD COLUMN free_space INTEGER NOT NULL DEFAULT -1;"
        "ALTER TABLE devices ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0;"
        "ALTER TABLE devices ADD COLUMN polls INTEGER NOT NULL DEFAULT 0;"
        "ALTER TABLE devices ADD COLUMN first_poll INTEGER NOT NULL DEFAULT 0;"
        "ALTER TABLE devices ADD COLUMN last_poll INTEGER NOT NULL DEFAULT 0;"
        "ALTER TABLE devices ADD COLUMN fs_version TEXT NOT NULL DEFAULT '';"
        "CREATE TABLE rollouts ("
        "  id INTEGER PRIMARY KEY,"
        "  name TEXT NOT NULL UNIQUE,"
        "  server TEXT NOT NULL,"
        "  spec TEXT NOT NULL,"
        "  release_id INTEGER NOT NULL,"
        "  product TEXT NOT NULL,"
        "  platform TEXT NOT NULL,"
        "  version TEXT NOT NULL,"
        "  md5 TEXT NOT NULL,"
        "  size INTEGER NOT NULL,"
        "  state TEXT NOT NULL,"
        "  wave INTEGER NOT NULL DEFAULT 0,"
        "  approved INTEGER NOT NULL DEFAULT 0,"
        "  passed INTEGER NOT NULL DEFAULT 0,"
        "  targets TEXT NOT NULL DEFAULT '',"
        "  hold TEXT NOT NULL DEFAULT '',"
        "  last_offer INTEGER NOT NULL DEFAULT 0,"
        "  created INTEGER NOT NULL,"
        "  started INTEGER NOT NULL DEFAULT 0,"
        "  updated INTEGER NOT NULL);"
        "CREATE TABLE rollout_devices ("
        "  rollout_id INTEGER NOT NULL REFERENCES rollouts(id) ON DELETE CASCADE,"
        "  device_id TEXT NOT NULL,"
        "  hash INTEGER NOT NULL,"
        "  wave INTEGER NOT NULL,"
        "  state INTEGER NOT NULL,"
        "  reason TEXT NOT NULL DEFAULT '',"
        "  from_version TEXT NOT NULL DEFAULT '',"
        "  from_release INTEGER NOT NULL DEFAULT 0,"
        "  offered_at INTEGER NOT NULL DEFAULT 0,"
        "  served_at INTEGER NOT NULL DEFAULT 0,"
        "  decided_at INTEGER NOT NULL DEFAULT 0,"
        "  last_seen INTEGER NOT NULL DEFAULT 0,"
        "  stuck INTEGER NOT NULL DEFAULT 0,"
        "  aborts INTEGER NOT NULL DEFAULT 0,"
        "  saw_target INTEGER NOT NULL DEFAULT 0,"
        "  PRIMARY KEY (rollout_id, device_id)) WITHOUT ROWID;"
        "CREATE INDEX rollout_devices_device ON rollout_devices(device_id);"
        "CREATE INDEX rollout_devices_order ON rollout_devices(rollout_id, state, wave, hash);"
        "CREATE TABLE rollout_events ("
        "  id INTEGER PRIMARY KEY,"
        "  rollout_id INTEGER NOT NULL REFERENCES rollouts(id) ON DELETE CASCADE,"
        "  at INTEGER NOT NULL,"
        "  wave INTEGER NOT NULL,"
        "  event TEXT NOT NULL,"
        "  detail TEXT NOT NULL);"
        "CREATE INDEX rollout_events_rollout ON rollout_events(rollout_id, id);",
        /* 4 -> 5: the history is kept and read in time order, whatever order sources come in */
        "CREATE INDEX version_history_time ON version_history(device_id, at, id);"
        "DROP INDEX version_history_device;",
        /* 5 -> 6 (discovery): the framework release a device announces (ESPHome's TXT version) */
        "ALTER TABLE devices ADD COLUMN framework TEXT NOT NULL DEFAULT '';",
};

const size_t inventory_n_migrations = ELEMENTSOF(inventory_migrations);

int inventory_open(const char *path, Store **ret) {
        /* 16 KiB pages: an ingest rewrites the rows of every device it saw in one commit, and
         * bigger pages make that a quarter of the writes */
        return store_open_schema(path, inventory_migrations, inventory_n_migrations, 16384, ret);
}

struct InventoryWriter {
        Store *store;
        sqlite3_stmt *merge, *history, *version;
        sqlite3_stmt *before, *after, *drop; /* the history around a time */
        char **partials; /* ids of rows named by a MAC's last bytes, sorted: merges look here */
        size_t n_partials;
};

static const char partial_select[] = "SELECT id FROM devices WHERE id GLOB 'esp8266-[0-9a-f]*' OR id GLOB "
                                     "'tasmota-[0-9a-f]*' ORDER BY id";

static bool has_partials(Store *s) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        return store_prepare(s, partial_select, &st) == 0 && sqlite3_step(st) == SQLITE_ROW;
}

/* The partial ids, sorted, so that a merge can tell in memory whether its MAC has one. */
static int load_partials(InventoryWriter *w) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        size_t allocated = 0;
        int r = store_prepare(w->store, partial_select, &st);

        if (r < 0)
                return r;
        while ((r = sqlite3_step(st)) == SQLITE_ROW) {
                w->partials = xgrow(w->partials, &allocated, w->n_partials + 1, sizeof(char *));
                w->partials[w->n_partials++] = xstrdup(store_column_text(st, 0));
        }
        return r == SQLITE_DONE ? 0 : store_errno(r);
}

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* The partial ids a MAC's row absorbs: "esp8266-" and "tasmota-" + its last 3 bytes. */
static void partial_ids(const char *mac, char ids[2][DEVICE_ID_MAX + 1]) {
        size_t n = strlen(mac);
        char hex[7] = "";

        if (n == 17)
                snprintf(hex, sizeof(hex), "%c%c%c%c%c%c", mac[9], mac[10], mac[12], mac[13], mac[15],
                         mac[16]);
        ascii_strlower(hex);
        snprintf(ids[0], DEVICE_ID_MAX + 1, "esp8266-%s", hex);
        snprintf(ids[1], DEVICE_ID_MAX + 1, "tasmota-%s", hex);
}

/* Moves the row, history and labels of partial into full (both exist), then drops partial. */
static int absorb(Store *s, const char *full, const char *partial) {
        static const char *const steps[] = {
                "UPDATE devices AS d SET"
                " name = CASE WHEN d.name = '' THEN p.name ELSE d.name END,"
                " platform = CASE WHEN d.platform = '' THEN p.platform ELSE d.platform END,"
                " board = CASE WHEN d.board = '' THEN p.board ELSE d.board END,"
                " mdns_kind = p.mdns_kind, mdns_host = p.mdns_host, mdns_port = p.mdns_port, mdns_txt = "
                "p.mdns_txt,"
                " announced = p.announced,"
                " first_seen = CASE WHEN d.first_seen = 0 THEN p.first_seen WHEN p.first_seen = 0 THEN "
                "d.first_seen"
                "   ELSE min(d.first_seen, p.first_seen) END,"
                " last_seen = max(d.last_seen, p.last_seen),"
                " sources = CASE WHEN instr(',' || d.sources || ',', ',' || p.sources || ',') > 0 THEN "
                "d.sources"
                "   ELSE d.sources || ',' || p.sources END"
                " FROM devices AS p WHERE d.id = ?1 AND p.id = ?2",
                "UPDATE version_history SET device_id = ?1 WHERE device_id = ?2",
                "INSERT OR IGNORE INTO device_labels (device_id, label) SELECT ?1, label FROM device_labels"
                " WHERE device_id = ?2",
                "DELETE FROM device_labels WHERE device_id = ?2",
                "DELETE FROM devices WHERE id = ?2",
        };
        for (size_t i = 0; i < ELEMENTSOF(steps); i++) {
                _cleanup_stmt_ sqlite3_stmt *st = NULL;
                int r = store_prepare(s, steps[i], &st);
                if (r < 0)
                        return r;
                store_bind_text(st, 1, full);
                store_bind_text(st, 2, partial);
                r = store_step_done(st);
                if (r < 0)
                        return r;
        }
        return 0;
}

static bool row_exists(Store *s, const char *id) {
        _cleanup_free_ char *v = NULL;
        return store_get_text(s, "SELECT id FROM devices WHERE id = ?", id, &v) == 0;
}

static int absorb_partials(Store *s, const char *mac) {
        char ids[2][DEVICE_ID_MAX + 1];

        partial_ids(mac, ids);
        for (size_t i = 0; i < 2; i++)
                if (row_exists(s, ids[i])) {
                        int r = absorb(s, mac, ids[i]);
                        if (r < 0)
                                return r;
                }
        return 0;
}

int inventory_writer_new(Store *s, InventoryWriter **ret) {
        InventoryWriter *w = xcalloc(1, sizeof(InventoryWriter));
        int r;

        w->store = s;
        /* the newest sighting wins; empty fields never erase what another source said, and an
         * older sighting (a backfilled log) only fills fields nobody has filled yet */
        r = store_prepare(
                s,
                "INSERT INTO devices (id, product, platform, version, sketch_md5, ip, first_seen, last_seen,"
                " sources) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?9, ?7, ?8)"
                " ON CONFLICT (id) DO UPDATE SET"
                " product = CASE WHEN ?2 <> '' AND (?7 >= last_seen OR product = '') THEN ?2 ELSE product "
                "END,"
                " platform = CASE WHEN ?3 <> '' AND (?7 >= last_seen OR platform = '') THEN ?3"
                "   ELSE platform END,"
                " version = CASE WHEN ?4 <> '' AND (?7 >= last_seen OR version = '') THEN ?4 ELSE version "
                "END,"
                " sketch_md5 = CASE WHEN ?5 <> '' AND (?7 >= last_seen OR sketch_md5 = '') THEN ?5"
                "   ELSE sketch_md5 END,"
                " ip = CASE WHEN ?6 <> '' AND (?7 >= last_seen OR ip = '') THEN ?6 ELSE ip END,"
                " first_seen = CASE WHEN first_seen = 0 THEN ?9 ELSE min(first_seen, ?9) END,"
                " last_seen = max(last_seen, ?7),"
                " sources = CASE WHEN instr(',' || sources || ',', ',' || ?8 || ',') > 0 THEN sources"
                "   WHEN sources = '' THEN ?8 ELSE sources || ',' || ?8 END",
                &w->merge);
        if (r == 0)
                r = store_prepare(s,
                                  "INSERT INTO version_history (device_id, version, sketch_md5, at, source)"
                                  " VALUES (?, ?, ?, ?, ?)",
                                  &w->history);
        if (r == 0)
                r = store_prepare(s, "SELECT version, last_seen FROM devices WHERE id = ?", &w->version);
        if (r == 0)
                r = store_prepare(s,
                                  "SELECT version FROM version_history WHERE device_id = ?1 AND at <= ?2"
                                  " ORDER BY at DESC, id DESC LIMIT 1",
                                  &w->before);
        if (r == 0)
                r = store_prepare(s,
                                  "SELECT id, version FROM version_history WHERE device_id = ?1 AND at > ?2"
                                  " ORDER BY at, id LIMIT 1",
                                  &w->after);
        if (r == 0)
                r = store_prepare(s, "DELETE FROM version_history WHERE id = ?", &w->drop);
        if (r < 0) {
                inventory_writer_free(w);
                return r;
        }
        r = load_partials(w);
        if (r < 0) {
                inventory_writer_free(w);
                return r;
        }
        *ret = w;
        return 0;
}

InventoryWriter *inventory_writer_free(InventoryWriter *w) {
        if (!w)
                return NULL;
        sqlite3_finalize(w->merge);
        sqlite3_finalize(w->history);
        sqlite3_finalize(w->version);
        sqlite3_finalize(w->before);
        sqlite3_finalize(w->after);
        sqlite3_finalize(w->drop);
        for (size_t i = 0; i < w->n_partials; i++)
                free(w->partials[i]);
        free(w->partials);
        free(w);
        return NULL;
}

static const char *or_empty(const char *s) {
        return s ? s : "";
}

int inventory_writer_merge(InventoryWriter *w, const Sighting *x) {
        sqlite3_stmt *st = w->merge;

        sqlite3_reset(st);
        store_bind_text(st, 1, x->device);
        store_bind_text(st, 2, or_empty(x->product));
        store_bind_text(st, 3, or_empty(x->platform));
        store_bind_text(st, 4, or_empty(x->version));
        store_bind_text(st, 5, or_empty(x->sketch_md5));
        store_bind_text(st, 6, or_empty(x->ip));
        sqlite3_bind_int64(st, 7, (sqlite3_int64) x->at);
        store_bind_text(st, 8, x->source);
        sqlite3_bind_int64(st, 9, (sqlite3_int64) (x->first && x->first < x->at ? x->first : x->at));
        int r = store_step_done(st);
        if (r < 0 || w->n_partials == 0 || strlen(x->device) != 17)
                return r;
        char ids[2][DEVICE_ID_MAX + 1];
        partial_ids(x->device, ids);
        for (size_t i = 0; i < 2; i++) {
                const char *key = ids[i];
                if (bsearch(&key, w->partials, w->n_partials, sizeof(char *), cmp_str))
                        return absorb_partials(w->store, x->device);
        }
        return 0;
}

/* 1 when the history says the device ran version at time at (its last change at or before at), else 0. */
static int history_runs(InventoryWriter *w, const char *device, usec_t at, const char *version) {
        sqlite3_stmt *st = w->before;
        int r;

        sqlite3_reset(st);
        store_bind_text(st, 1, device);
        sqlite3_bind_int64(st, 2, (sqlite3_int64) at);
        r = sqlite3_step(st);
        if (r == SQLITE_DONE)
                return 0;
        if (r != SQLITE_ROW)
                return store_errno(r);
        return streq(store_column_text(st, 0), version);
}

/* After a change to version at time at: the next change, when it is to the same version, is not one. */
static int drop_repeat_after(InventoryWriter *w, const char *device, usec_t at, const char *version) {
        sqlite3_stmt *st = w->after;
        int64_t id;
        int r;

        sqlite3_reset(st);
        store_bind_text(st, 1, device);
        sqlite3_bind_int64(st, 2, (sqlite3_int64) at);
        r = sqlite3_step(st);
        if (r == SQLITE_DONE)
                return 0;
        if (r != SQLITE_ROW)
                return store_errno(r);
        if (!streq(store_column_text(st, 1), version))
                return 0;
        id = sqlite3_column_int64(st, 0);
        sqlite3_reset(st);
        sqlite3_reset(w->drop);
        sqlite3_bind_int64(w->drop, 1, id);
        return store_step_done(w->drop);
}

int inventory_writer_history(InventoryWriter *w, const Sighting *x) {
        sqlite3_stmt *st = w->history;
        int r;

        /* a change only where it is one in time order, whatever order the sources come in */
        r = history_runs(w, x->device, x->at, x->version);
        if (r != 0)
                return r < 0 ? r : 0;
        sqlite3_reset(st);
        store_bind_text(st, 1, x->device);
        store_bind_text(st, 2, x->version);
        store_bind_text(st, 3, or_empty(x->sketch_md5));
        sqlite3_bind_int64(st, 4, (sqlite3_int64) x->at);
        store_bind_text(st, 5, x->source);
        r = store_step_done(st);
        if (r < 0)
                return r;
        return drop_repeat_after(w, x->device, x->at, x->version);
}

/*
 * The version the inventory holds for a device and when it was last seen: 1 and *ret borrowed
 * until the next call, or 0 when unknown.
 */
static int writer_known_version(InventoryWriter *w, const char *device, const char **ret, usec_t *ret_seen) {
        sqlite3_stmt *st = w->version;
        int r;

        sqlite3_reset(st);
        store_bind_text(st, 1, device);
        r = sqlite3_step(st);
        if (r == SQLITE_DONE)
                return 0;
        if (r != SQLITE_ROW)
                return store_errno(r);
        *ret = store_column_text(st, 0);
        *ret_seen = (usec_t) sqlite3_column_int64(st, 1);
        return 1;
}

int inventory_writer_record(InventoryWriter *w, const Sighting *x) {
        const char *known = NULL;
        usec_t seen = 0;
        int r;

        r = writer_known_version(w, x->device, &known, &seen);
        if (r < 0)
                return r;
        /* in time order (the common case) a change is a version other than the row's; a sighting
         * older than the row's (another source read later) is placed by the history itself */
        if (!isempty(x->version) && (r == 0 || x->at < seen || !streq(known, x->version))) {
                r = inventory_writer_history(w, x);
                if (r < 0)
                        return r;
        }
        return inventory_writer_merge(w, x);
}

int inventory_record(Store *s, const Sighting *x) {
        _cleanup_(inventory_writer_freep) InventoryWriter *w = NULL;
        int r = inventory_writer_new(s, &w);

        return r < 0 ? r : inventory_writer_record(w, x);
}

int inventory_history_tidy(Store *s) {
        return store_exec(s, "DELETE FROM version_history WHERE id IN (SELECT id FROM (SELECT id, version,"
                             " lag(version) OVER (PARTITION BY device_id ORDER BY at, id) AS previous"
                             " FROM version_history) WHERE previous = version)");
}

int inventory_versions(Store *s, int (*cb)(const char *device, const char *version, void *userdata),
                       void *userdata) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = store_prepare(s, "SELECT id, version FROM devices", &st);

        if (r < 0)
                return r;
        while ((r = sqlite3_step(st)) == SQLITE_ROW) {
                int k = cb(store_column_text(st, 0), store_column_text(st, 1), userdata);
                if (k < 0)
                        return k;
        }
        return r == SQLITE_DONE ? 0 : store_errno(r);
}

int inventory_log_file(Store *s, const char *fingerprint, LogFileState *ret) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = store_prepare(s, "SELECT offset, lines, bad, complete FROM log_files WHERE fingerprint = ?",
                              &st);

        if (r < 0)
                return r;
        store_bind_text(st, 1, fingerprint);
        r = sqlite3_step(st);
        if (r == SQLITE_DONE)
                return -ENOENT;
        if (r != SQLITE_ROW)
                return store_errno(r);
        *ret = (LogFileState) {
                .offset = (uint64_t) sqlite3_column_int64(st, 0),
                .lines = (uint64_t) sqlite3_column_int64(st, 1),
                .bad = (uint64_t) sqlite3_column_int64(st, 2),
                .complete = sqlite3_column_int(st, 3) != 0,
        };
        return 0;
}

int inventory_log_file_save(Store *s, const char *fingerprint, const char *source, const char *path,
                            const LogFileState *state) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = store_prepare(
                s,
                "INSERT OR REPLACE INTO log_files (fingerprint, source, path, offset, lines, bad, complete,"
                " updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                &st);

        if (r < 0)
                return r;
        store_bind_text(st, 1, fingerprint);
        store_bind_text(st, 2, source);
        store_bind_text(st, 3, path);
        sqlite3_bind_int64(st, 4, (sqlite3_int64) state->offset);
        sqlite3_bind_int64(st, 5, (sqlite3_int64) state->lines);
        sqlite3_bind_int64(st, 6, (sqlite3_int64) state->bad);
        sqlite3_bind_int(st, 7, state->complete);
        sqlite3_bind_int64(st, 8, (sqlite3_int64) now_usec(CLOCK_REALTIME));
        return store_step_done(st);
}

int inventory_set_labels(Store *s, const char *device, char *const *labels, size_t n) {
        /* a row never seen: first_seen and last_seen 0, which the first sighting replaces */
        return store_labels_replace(s,
                                    "INSERT INTO devices (id, first_seen, last_seen) VALUES (?, 0, 0)"
                                    " ON CONFLICT (id) DO NOTHING",
                                    device, labels, n);
}

int inventory_labels(Store *s, const char *device, char **ret) {
        int r = store_get_text(s,
                               "SELECT coalesce(group_concat(label, ','), '') FROM"
                               " (SELECT label FROM device_labels WHERE device_id = ? ORDER BY label)",
                               device, ret);
        return r;
}

/*
 * The MAC suffix ("1A:2B:3C") an id of a default host name names: exactly "esp8266-" (ArduinoOTA's
 * ESP8266 default) or "tasmota-" (the partial ids partial_ids() absorbs) and six lowercase hex
 * digits, as mdns_device_id() writes them. Any other host name names no MAC: false.
 */
static bool partial_suffix(const char *id, char ret[static 9]) {
        const char *hex = startswith(id, "esp8266-");

        if (!hex)
                hex = startswith(id, "tasmota-");
        if (!hex || strlen(hex) != 6 || strspn(hex, "0123456789abcdef") != 6)
                return false;
        snprintf(ret, 9, "%.2s:%.2s:%.2s", hex, hex + 2, hex + 4);
        ascii_strupper(ret);
        return true;
}

/* "esp8266-1a2b3c" -> the one MAC ending in 1A:2B:3C, when there is exactly one (compared exactly). */
static int resolve_partial(Store *s, const char *id, char ret[static DEVICE_ID_MAX + 1]) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        char suffix[9];
        int r, found = 0;

        if (!partial_suffix(id, suffix))
                return 0;
        r = store_prepare(s,
                          "SELECT id FROM devices WHERE length(id) = 17 AND substr(id, 10) = ?"
                          " AND id GLOB '[0-9A-F][0-9A-F]:[0-9A-F][0-9A-F]:[0-9A-F][0-9A-F]:*' LIMIT 2",
                          &st);
        if (r < 0)
                return r;
        store_bind_text(st, 1, suffix);
        while ((r = sqlite3_step(st)) == SQLITE_ROW)
                if (found++ == 0)
                        (void) strscpy(ret, DEVICE_ID_MAX + 1, store_column_text(st, 0));
        if (r != SQLITE_DONE)
                return store_errno(r);
        return found == 1;
}

static int mdns_upsert(Store *s, const MdnsSighting *x, const char *id) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = store_prepare(
                s,
                "INSERT INTO devices (id, name, platform, version, ip, first_seen, last_seen, sources,"
                " mdns_kind, mdns_host, mdns_port, mdns_txt, board, framework, announced)"
                " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, 'mdns', ?7, ?8, ?9, ?10, ?11, ?12, 1)"
                " ON CONFLICT (id) DO UPDATE SET"
                " name = CASE WHEN ?2 <> '' THEN ?2 ELSE name END,"
                " platform = CASE WHEN platform = '' THEN ?3 ELSE platform END,"
                " version = CASE WHEN version = '' THEN ?4 ELSE version END,"
                " ip = CASE WHEN ?5 <> '' THEN ?5 ELSE ip END,"
                " first_seen = CASE WHEN first_seen = 0 THEN ?6 ELSE min(first_seen, ?6) END,"
                " last_seen = max(last_seen, ?6),"
                " sources = CASE WHEN instr(',' || sources || ',', ',mdns,') > 0 THEN sources"
                "   WHEN sources = '' THEN 'mdns' ELSE sources || ',mdns' END,"
                " mdns_kind = ?7, mdns_host = ?8, mdns_port = ?9, mdns_txt = ?10,"
                " board = CASE WHEN ?11 <> '' THEN ?11 ELSE board END,"
                " framework = CASE WHEN ?12 <> '' THEN ?12 ELSE framework END, announced = 1",
                &st);
        if (r < 0)
                return r;
        store_bind_text(st, 1, id);
        store_bind_text(st, 2, or_empty(x->name));
        store_bind_text(st, 3, or_empty(x->platform));
        store_bind_text(st, 4, or_empty(x->version));
        store_bind_text(st, 5, or_empty(x->ip));
        sqlite3_bind_int64(st, 6, (sqlite3_int64) x->at);
        store_bind_text(st, 7, or_empty(x->kind));
        store_bind_text(st, 8, or_empty(x->host));
        sqlite3_bind_int(st, 9, (int) x->port);
        store_bind_text(st, 10, or_empty(x->txt));
        store_bind_text(st, 11, or_empty(x->board));
        store_bind_text(st, 12, or_empty(x->framework));
        return store_step_done(st);
}

int inventory_mdns_seen(Store *s, const MdnsSighting *x, char ret_id[static DEVICE_ID_MAX + 1]) {
        int r = store_begin(s);

        if (r < 0)
                return r;
        (void) strscpy(ret_id, DEVICE_ID_MAX + 1, x->device);
        r = resolve_partial(s, x->device, ret_id);
        if (r >= 0)
                r = mdns_upsert(s, x, ret_id);
        if (r >= 0 && strlen(ret_id) == 17 && has_partials(s))
                r = absorb_partials(s, ret_id);
        return store_end(s, r < 0 ? r : 0);
}

int inventory_mdns_gone(Store *s, const char *device) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = store_prepare(s, "UPDATE devices SET announced = 0 WHERE id = ?", &st);

        if (r < 0)
                return r;
        store_bind_text(st, 1, device);
        return store_step_done(st);
}

int inventory_mdns_record(Store *s, const char *device, int (*cb)(const MdnsRecord *m, void *userdata),
                          void *userdata) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = store_prepare(
                s,
                "SELECT mdns_kind, mdns_host, board, mdns_txt, mdns_port, announced FROM devices"
                " WHERE id = ? AND mdns_kind <> ''",
                &st);

        if (r < 0)
                return r;
        store_bind_text(st, 1, device);
        r = sqlite3_step(st);
        if (r != SQLITE_ROW)
                return r == SQLITE_DONE ? -ENOENT : store_errno(r);
        MdnsRecord m = {
                .kind = store_column_text(st, 0),
                .host = store_column_text(st, 1),
                .board = store_column_text(st, 2),
                .txt = store_column_text(st, 3),
                .port = (unsigned) sqlite3_column_int(st, 4),
                .announced = sqlite3_column_int(st, 5) != 0,
        };
        return cb(&m, userdata);
}

int inventory_cursor(Store *s, const char *source, char **ret) {
        return store_get_text(s, "SELECT cursor FROM sources WHERE name = ?", source, ret);
}

int inventory_advance(Store *s, const char *source, const char *cursor, uint64_t n) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = store_prepare(
                s,
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

int inventory_audit_list(Store *s, size_t limit,
                         int (*cb)(usec_t at, const char *action, const char *detail, void *userdata),
                         void *userdata) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = store_prepare(s, "SELECT at, action, detail FROM audit ORDER BY id DESC LIMIT ?", &st);

        if (r < 0)
                return r;
        sqlite3_bind_int64(st, 1, (sqlite3_int64) limit);
        while ((r = sqlite3_step(st)) == SQLITE_ROW) {
                int k = cb((usec_t) sqlite3_column_int64(st, 0), store_column_text(st, 1),
                           store_column_text(st, 2), userdata);
                if (k < 0)
                        return k;
        }
        return r == SQLITE_DONE ? 0 : store_errno(r);
}

int inventory_summary(Store *s, usec_t online_since, InventorySummary *ret) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = store_prepare(
                s,
                "SELECT count(*), coalesce(sum(last_seen >= ? OR announced), 0), coalesce(max(last_seen), 0)"
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
                      int (*cb)(const char *version, usec_t at, const char *source, void *userdata),
                      void *userdata) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = store_prepare(s,
                              "SELECT version, at, source FROM version_history WHERE device_id = ? ORDER BY "
                              "at DESC, id DESC",
                              &st);

        if (r < 0)
                return r;
        store_bind_text(st, 1, device);
        while ((r = sqlite3_step(st)) == SQLITE_ROW) {
                int k = cb(store_column_text(st, 0), (usec_t) sqlite3_column_int64(st, 1),
                           store_column_text(st, 2), userdata);
                if (k < 0)
                        return k;
        }
        return r == SQLITE_DONE ? 0 : store_errno(r);
}
