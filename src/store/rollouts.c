/* SPDX-License-Identifier: MIT */
/* Rollout rows, rollout devices and events, and the poll facts rollouts read, in the inventory database. */
#include "flota/rollout-store.h"

#include <inttypes.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "flota/alloc.h"
#include "flota/strutil.h"
#include "store-internal.h"

void rollout_done(Rollout *r) {
        free(r->server);
        free(r->spec_text);
        r->server = r->spec_text = NULL;
}

#define ROLLOUT_COLUMNS                                                                                     \
        "id, name, server, spec, release_id, product, platform, version, md5, size, state, wave, approved," \
        " passed, targets, hold, created, started, updated, last_offer"

static void read_rollout(sqlite3_stmt *st, Rollout *r) {
        *r = (Rollout) {
                .id = sqlite3_column_int64(st, 0),
                .server = xstrdup(store_column_text(st, 2)),
                .spec_text = xstrdup(store_column_text(st, 3)),
                .release_id = sqlite3_column_int64(st, 4),
                .size = (uint64_t) sqlite3_column_int64(st, 9),
                .state = rollout_state_from_string(store_column_text(st, 10)),
                .wave = (uint32_t) sqlite3_column_int64(st, 11),
                .approved = (uint32_t) sqlite3_column_int64(st, 12),
                .passed = (uint32_t) sqlite3_column_int64(st, 13),
                .created = (usec_t) sqlite3_column_int64(st, 16),
                .started = (usec_t) sqlite3_column_int64(st, 17),
                .updated = (usec_t) sqlite3_column_int64(st, 18),
                .last_offer = (usec_t) sqlite3_column_int64(st, 19),
        };
        strscpy(r->name, sizeof(r->name), store_column_text(st, 1));
        strscpy(r->product, sizeof(r->product), store_column_text(st, 5));
        strscpy(r->platform, sizeof(r->platform), store_column_text(st, 6));
        strscpy(r->version, sizeof(r->version), store_column_text(st, 7));
        strscpy(r->md5, sizeof(r->md5), store_column_text(st, 8));
        strscpy(r->targets, sizeof(r->targets), store_column_text(st, 14));
        strscpy(r->hold, sizeof(r->hold), store_column_text(st, 15));
}

int rollout_insert(Store *s, Rollout *r) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int k = store_prepare(
                s,
                "INSERT INTO rollouts (name, server, spec, release_id, product, platform, version, md5,"
                " size, state, wave, approved, passed, targets, hold, created, started, updated)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                &st);
        if (k < 0)
                return k;
        store_bind_text(st, 1, r->name);
        store_bind_text(st, 2, r->server);
        store_bind_text(st, 3, r->spec_text);
        sqlite3_bind_int64(st, 4, r->release_id);
        store_bind_text(st, 5, r->product);
        store_bind_text(st, 6, r->platform);
        store_bind_text(st, 7, r->version);
        store_bind_text(st, 8, r->md5);
        sqlite3_bind_int64(st, 9, (sqlite3_int64) r->size);
        store_bind_text(st, 10, rollout_state_to_string(r->state));
        sqlite3_bind_int64(st, 11, r->wave);
        sqlite3_bind_int64(st, 12, r->approved);
        sqlite3_bind_int64(st, 13, r->passed);
        store_bind_text(st, 14, r->targets);
        store_bind_text(st, 15, r->hold);
        sqlite3_bind_int64(st, 16, (sqlite3_int64) r->created);
        sqlite3_bind_int64(st, 17, (sqlite3_int64) r->started);
        sqlite3_bind_int64(st, 18, (sqlite3_int64) r->updated);
        k = store_step_done(st);
        if (k < 0)
                return k;
        r->id = sqlite3_last_insert_rowid(sqlite3_db_handle(st));
        return 0;
}

int rollout_get(Store *s, const char *name, Rollout *ret) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = store_prepare(s, "SELECT " ROLLOUT_COLUMNS " FROM rollouts WHERE name = ?", &st);

        if (r < 0)
                return r;
        store_bind_text(st, 1, name);
        r = sqlite3_step(st);
        if (r == SQLITE_DONE)
                return -ENOENT;
        if (r != SQLITE_ROW)
                return store_errno(r);
        read_rollout(st, ret);
        return 0;
}

int rollout_save(Store *s, const Rollout *r) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int k = store_prepare(
                s,
                "UPDATE rollouts SET state = ?, wave = ?, approved = ?, passed = ?, targets = ?,"
                " hold = ?, started = ?, updated = ?, last_offer = ? WHERE id = ?",
                &st);
        if (k < 0)
                return k;
        store_bind_text(st, 1, rollout_state_to_string(r->state));
        sqlite3_bind_int64(st, 2, r->wave);
        sqlite3_bind_int64(st, 3, r->approved);
        sqlite3_bind_int64(st, 4, r->passed);
        store_bind_text(st, 5, r->targets);
        store_bind_text(st, 6, r->hold);
        sqlite3_bind_int64(st, 7, (sqlite3_int64) r->started);
        sqlite3_bind_int64(st, 8, (sqlite3_int64) r->updated);
        sqlite3_bind_int64(st, 9, (sqlite3_int64) r->last_offer);
        sqlite3_bind_int64(st, 10, r->id);
        return store_step_done(st);
}

int rollout_list(Store *s, int (*cb)(const Rollout *r, void *userdata), void *userdata) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = store_prepare(s, "SELECT " ROLLOUT_COLUMNS " FROM rollouts ORDER BY id", &st);

        if (r < 0)
                return r;
        while ((r = sqlite3_step(st)) == SQLITE_ROW) {
                Rollout ro;
                read_rollout(st, &ro);
                int k = cb(&ro, userdata);
                rollout_done(&ro);
                if (k < 0)
                        return k;
        }
        return r == SQLITE_DONE ? 0 : store_errno(r);
}

int rollout_delete(Store *s, int64_t id) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = store_prepare(s, "DELETE FROM rollouts WHERE id = ?", &st);

        if (r < 0)
                return r;
        sqlite3_bind_int64(st, 1, id);
        return store_step_done(st);
}

/* ---- devices ---- */

int rollout_devices_add(Store *s, int64_t rollout_id, const RolloutMember *m, size_t n) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = store_prepare(
                s,
                "INSERT INTO rollout_devices (rollout_id, device_id, hash, wave, state, reason,"
                " from_version) VALUES (?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (rollout_id, device_id) DO NOTHING",
                &st);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                sqlite3_bind_int64(st, 1, rollout_id);
                store_bind_text(st, 2, m[i].device_id);
                /* stored as the signed reinterpretation; ordering is on the signed value, stable all the
                 * same */
                sqlite3_bind_int64(st, 3, (sqlite3_int64) m[i].hash);
                sqlite3_bind_int64(st, 4, m[i].wave);
                sqlite3_bind_int(st, 5, m[i].state);
                store_bind_text(st, 6, m[i].reason ? m[i].reason : "");
                store_bind_text(st, 7, m[i].from_version ? m[i].from_version : "");
                r = store_step_done(st);
                if (r < 0)
                        return r;
                sqlite3_reset(st);
        }
        return 0;
}

static void bind_progress(sqlite3_stmt *st, const RolloutDevice *d) {
        sqlite3_bind_int(st, 1, d->p.state);
        store_bind_text(st, 2, d->p.reason);
        sqlite3_bind_int64(st, 3, (sqlite3_int64) d->p.offered_at);
        sqlite3_bind_int64(st, 4, (sqlite3_int64) d->p.served_at);
        sqlite3_bind_int64(st, 5, (sqlite3_int64) d->p.decided_at);
        sqlite3_bind_int64(st, 6, (sqlite3_int64) d->p.last_seen);
        sqlite3_bind_int64(st, 7, d->p.stuck);
        sqlite3_bind_int64(st, 8, d->p.aborts);
        sqlite3_bind_int(st, 9, d->p.saw_target);
        sqlite3_bind_int64(st, 10, d->from_release);
}

#define SAVE_PROGRESS_SQL                                                                                  \
        "UPDATE rollout_devices SET state = ?1, reason = ?2, offered_at = ?3, served_at = ?4, decided_at " \
        "= ?5,"                                                                                            \
        " last_seen = ?6, stuck = ?7, aborts = ?8, saw_target = ?9, from_release = ?10"                    \
        " WHERE rollout_id = ?11 AND device_id = ?12"

int rollout_device_save(Store *s, int64_t rollout_id, const RolloutDevice *d) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = store_prepare(s, SAVE_PROGRESS_SQL, &st);

        if (r < 0)
                return r;
        bind_progress(st, d);
        sqlite3_bind_int64(st, 11, rollout_id);
        store_bind_text(st, 12, d->device_id);
        return store_step_done(st);
}

#define DEVICE_COLUMNS                                                                              \
        "device_id, hash, wave, state, reason, from_version, from_release, offered_at, served_at, " \
        "decided_at,"                                                                               \
        " last_seen, stuck, aborts, saw_target"

static void read_device(sqlite3_stmt *st, int col, RolloutDevice *d) {
        *d = (RolloutDevice) {
                .hash = (uint64_t) sqlite3_column_int64(st, col + 1),
                .wave = (uint32_t) sqlite3_column_int64(st, col + 2),
                .from_release = sqlite3_column_int64(st, col + 6),
                .p = {
                        .state = sqlite3_column_int(st, col + 3),
                        .offered_at = (usec_t) sqlite3_column_int64(st, col + 7),
                        .served_at = (usec_t) sqlite3_column_int64(st, col + 8),
                        .decided_at = (usec_t) sqlite3_column_int64(st, col + 9),
                        .last_seen = (usec_t) sqlite3_column_int64(st, col + 10),
                        .stuck = (uint32_t) sqlite3_column_int64(st, col + 11),
                        .aborts = (uint32_t) sqlite3_column_int64(st, col + 12),
                        .saw_target = sqlite3_column_int(st, col + 13) != 0,
                },
        };
        strscpy(d->device_id, sizeof(d->device_id), store_column_text(st, col));
        strscpy(d->p.reason, sizeof(d->p.reason), store_column_text(st, col + 4));
        strscpy(d->from_version, sizeof(d->from_version), store_column_text(st, col + 5));
}

int rollout_device_get(Store *s, int64_t rollout_id, const char *device_id, RolloutDevice *ret) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = store_prepare(
                s, "SELECT " DEVICE_COLUMNS " FROM rollout_devices WHERE rollout_id = ? AND device_id = ?",
                &st);
        if (r < 0)
                return r;
        sqlite3_bind_int64(st, 1, rollout_id);
        store_bind_text(st, 2, device_id);
        r = sqlite3_step(st);
        if (r == SQLITE_DONE)
                return -ENOENT;
        if (r != SQLITE_ROW)
                return store_errno(r);
        read_device(st, 0, ret);
        return 0;
}

int rollout_devices_holding(Store *s, int64_t rollout_id, int (*cb)(const RolloutDevice *d, void *userdata),
                            void *userdata) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = store_prepare(s,
                              "SELECT " DEVICE_COLUMNS " FROM rollout_devices WHERE rollout_id = ?"
                              " AND (state NOT IN (0, 6) OR from_release > 0) ORDER BY device_id",
                              &st);
        if (r < 0)
                return r;
        sqlite3_bind_int64(st, 1, rollout_id);
        while ((r = sqlite3_step(st)) == SQLITE_ROW) {
                RolloutDevice d;
                read_device(st, 0, &d);
                int k = cb(&d, userdata);
                if (k < 0)
                        return k;
        }
        return r == SQLITE_DONE ? 0 : store_errno(r);
}

int rollout_members(Store *s, int64_t rollout_id, const char *const *ids, size_t n, bool *member) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = store_prepare(s, "SELECT 1 FROM rollout_devices WHERE rollout_id = ? AND device_id = ?",
                              &st);

        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                sqlite3_reset(st);
                sqlite3_bind_int64(st, 1, rollout_id);
                store_bind_text(st, 2, ids[i]);
                r = sqlite3_step(st);
                if (r != SQLITE_ROW && r != SQLITE_DONE)
                        return store_errno(r);
                member[i] = r == SQLITE_ROW;
        }
        return 0;
}

int rollout_devices_each(Store *s, int64_t rollout_id, DeviceRolloutState state, uint32_t max_wave,
                         size_t limit, int (*cb)(const RolloutDevice *d, void *userdata), void *userdata) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = store_prepare(s,
                              "SELECT " DEVICE_COLUMNS " FROM rollout_devices WHERE rollout_id = ?1"
                              " AND (?2 < 0 OR state = ?2) AND wave <= ?3 ORDER BY wave, hash LIMIT ?4",
                              &st);
        if (r < 0)
                return r;
        sqlite3_bind_int64(st, 1, rollout_id);
        sqlite3_bind_int(st, 2, state);
        sqlite3_bind_int64(st, 3, max_wave);
        sqlite3_bind_int64(st, 4, limit > INT64_MAX ? INT64_MAX : (sqlite3_int64) limit);
        while ((r = sqlite3_step(st)) == SQLITE_ROW) {
                RolloutDevice d;
                read_device(st, 0, &d);
                int k = cb(&d, userdata);
                if (k < 0)
                        return k;
        }
        return r == SQLITE_DONE ? 0 : store_errno(r);
}

int64_t rollout_offer_next(Store *s, int64_t rollout_id, uint32_t max_wave, uint64_t limit, usec_t at) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        /* one statement for the whole batch: a 25 % wave of a large fleet is a quarter million rows */
        int r = store_prepare(
                s,
                "UPDATE rollout_devices SET state = 1, offered_at = ?1"
                " WHERE rollout_id = ?2 AND device_id IN (SELECT device_id FROM rollout_devices"
                "   WHERE rollout_id = ?2 AND state = 0 AND wave <= ?3 ORDER BY wave, hash LIMIT ?4)",
                &st);
        if (r < 0)
                return r;
        sqlite3_bind_int64(st, 1, (sqlite3_int64) at);
        sqlite3_bind_int64(st, 2, rollout_id);
        sqlite3_bind_int64(st, 3, max_wave);
        sqlite3_bind_int64(st, 4, limit > INT64_MAX ? INT64_MAX : (sqlite3_int64) limit);
        r = store_step_done(st);
        return r < 0 ? r : sqlite3_changes(sqlite3_db_handle(st));
}

static int64_t count_query(Store *s, const char *sql, int64_t a, int64_t b) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = store_prepare(s, sql, &st);

        if (r < 0)
                return r;
        sqlite3_bind_int64(st, 1, a);
        sqlite3_bind_int64(st, 2, b);
        r = sqlite3_step(st);
        return r == SQLITE_ROW ? sqlite3_column_int64(st, 0) : store_errno(r);
}

int64_t rollout_devices_before(Store *s, int64_t rollout_id, uint64_t hash) {
        return count_query(s, "SELECT count(*) FROM rollout_devices WHERE rollout_id = ? AND hash < ?",
                           rollout_id, (int64_t) hash);
}

int64_t rollout_devices_excluded_for(Store *s, int64_t rollout_id, const char *reason) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = store_prepare(
                s, "SELECT count(*) FROM rollout_devices WHERE rollout_id = ? AND state = ? AND reason = ?",
                &st);

        if (r < 0)
                return r;
        sqlite3_bind_int64(st, 1, rollout_id);
        sqlite3_bind_int(st, 2, DR_EXCLUDED);
        store_bind_text(st, 3, reason);
        r = sqlite3_step(st);
        return r == SQLITE_ROW ? sqlite3_column_int64(st, 0) : store_errno(r);
}

int64_t rollout_offers_since(Store *s, int64_t rollout_id, usec_t since) {
        return count_query(s,
                           "SELECT count(*) FROM rollout_devices WHERE rollout_id = ? AND offered_at >= ?",
                           rollout_id, (int64_t) (since ? since : 1));
}

static void count_into(RolloutCounts *c, DeviceRolloutState state, uint64_t n) {
        switch (state) {
        case DR_PENDING: c->pending += n; break;
        case DR_OFFERED: break;
        case DR_DOWNLOADING: c->downloading += n; break;
        case DR_UPDATED: c->updated += n; break;
        case DR_FAILED: c->failed += n; break;
        case DR_SILENT: c->silent += n; break;
        case DR_EXCLUDED: c->excluded += n; return;
        case DR_ROLLED_BACK: c->rolled_back += n; break;
        default: return;
        }
        c->eligible += n;
        if (state != DR_PENDING)
                c->offered += n;
}

int rollout_count(Store *s, int64_t rollout_id, RolloutCounts *ret, RolloutCounts *per_wave,
                  size_t n_waves) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        RolloutCounts all = {};
        int r = store_prepare(s,
                              "SELECT wave, state, count(*) FROM rollout_devices WHERE rollout_id = ?"
                              " GROUP BY state, wave",
                              &st);
        if (r < 0)
                return r;
        if (per_wave)
                memset(per_wave, 0, n_waves * sizeof(*per_wave));
        sqlite3_bind_int64(st, 1, rollout_id);
        while ((r = sqlite3_step(st)) == SQLITE_ROW) {
                uint64_t wave = (uint64_t) sqlite3_column_int64(st, 0),
                         n = (uint64_t) sqlite3_column_int64(st, 2);
                DeviceRolloutState state = sqlite3_column_int(st, 1);
                count_into(&all, state, n);
                if (per_wave && n_waves > 0)
                        count_into(&per_wave[wave < n_waves ? wave : n_waves - 1], state, n);
        }
        if (r != SQLITE_DONE)
                return store_errno(r);
        *ret = all;
        return 0;
}

int rollout_wave_pending(Store *s, int64_t rollout_id, uint32_t wave, bool *ret_pending) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        /* the (rollout_id, state, wave, hash) index answers this without reading the other rows */
        int r = store_prepare(
                s,
                "SELECT EXISTS (SELECT 1 FROM rollout_devices WHERE rollout_id = ? AND state = 0"
                " AND wave <= ?)",
                &st);
        if (r < 0)
                return r;
        sqlite3_bind_int64(st, 1, rollout_id);
        sqlite3_bind_int64(st, 2, wave);
        r = sqlite3_step(st);
        if (r != SQLITE_ROW)
                return store_errno(r);
        *ret_pending = sqlite3_column_int(st, 0) != 0;
        return 0;
}

/* ---- the feed's lookup ---- */

struct RolloutLookup {
        Store *store;
        sqlite3_stmt *find, *save;
};

int rollout_lookup_new(Store *s, RolloutLookup **ret) {
        RolloutLookup *l = xcalloc(1, sizeof(RolloutLookup));
        int r;

        l->store = s;
        r = store_prepare(
                s,
                "SELECT rd.rollout_id, rd.device_id, rd.hash, rd.wave, rd.state, rd.reason, rd.from_version,"
                " rd.from_release, rd.offered_at, rd.served_at, rd.decided_at, rd.last_seen, rd.stuck,"
                " rd.aborts, rd.saw_target FROM rollout_devices rd"
                " JOIN rollouts r ON r.id = rd.rollout_id"
                " WHERE rd.device_id = ? AND rd.state != 0 AND r.state IN ('running', 'paused', 'halted')",
                &l->find);
        if (r == 0)
                r = store_prepare(s, SAVE_PROGRESS_SQL, &l->save);
        if (r < 0) {
                rollout_lookup_free(l);
                return r;
        }
        *ret = l;
        return 0;
}

RolloutLookup *rollout_lookup_free(RolloutLookup *l) {
        if (!l)
                return NULL;
        sqlite3_finalize(l->find);
        sqlite3_finalize(l->save);
        free(l);
        return NULL;
}

int rollout_lookup_device(RolloutLookup *l, const char *device_id,
                          int (*cb)(int64_t rollout_id, RolloutDevice *d, void *userdata), void *userdata) {
        int r;

        sqlite3_reset(l->find);
        store_bind_text(l->find, 1, device_id);
        while ((r = sqlite3_step(l->find)) == SQLITE_ROW) {
                int64_t id = sqlite3_column_int64(l->find, 0);
                RolloutDevice d;
                read_device(l->find, 1, &d);
                int k = cb(id, &d, userdata);
                if (k < 0)
                        return k;
                if (k > 0) {
                        sqlite3_reset(l->save);
                        bind_progress(l->save, &d);
                        sqlite3_bind_int64(l->save, 11, id);
                        store_bind_text(l->save, 12, d.device_id);
                        k = store_step_done(l->save);
                        if (k < 0)
                                return k;
                }
        }
        return r == SQLITE_DONE ? 0 : store_errno(r);
}

/* ---- events ---- */

int rollout_event(Store *s, int64_t rollout_id, usec_t at, uint32_t wave, const char *event,
                  const char *detail) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = store_prepare(
                s, "INSERT INTO rollout_events (rollout_id, at, wave, event, detail) VALUES (?, ?, ?, ?, ?)",
                &st);
        if (r < 0)
                return r;
        sqlite3_bind_int64(st, 1, rollout_id);
        sqlite3_bind_int64(st, 2, (sqlite3_int64) at);
        sqlite3_bind_int64(st, 3, wave);
        store_bind_text(st, 4, event);
        store_bind_text(st, 5, detail);
        return store_step_done(st);
}

int rollout_events_list(Store *s, int64_t rollout_id, size_t limit,
                        int (*cb)(usec_t at, uint32_t wave, const char *event, const char *detail,
                                  void *userdata),
                        void *userdata) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = store_prepare(s,
                              "SELECT at, wave, event, detail FROM rollout_events WHERE rollout_id = ?"
                              " ORDER BY id DESC LIMIT ?",
                              &st);
        if (r < 0)
                return r;
        sqlite3_bind_int64(st, 1, rollout_id);
        sqlite3_bind_int64(st, 2, (sqlite3_int64) limit);
        while ((r = sqlite3_step(st)) == SQLITE_ROW) {
                int k = cb((usec_t) sqlite3_column_int64(st, 0), (uint32_t) sqlite3_column_int64(st, 1),
                           store_column_text(st, 2), store_column_text(st, 3), userdata);
                if (k < 0)
                        return k;
        }
        return r == SQLITE_DONE ? 0 : store_errno(r);
}

/* ---- fleet devices ---- */

#define FLEET_SQL                                                                                         \
        "SELECT d.id, d.product, d.platform, d.version, d.sketch_md5,"                                    \
        " (SELECT coalesce(group_concat(label, ','), '') FROM device_labels l WHERE l.device_id = d.id)," \
        " d.last_seen, d.announced, d.pinned, d.free_space, d.polls, d.first_poll, d.last_poll,"          \
        " d.name, d.mdns_host, d.ip, d.sources FROM devices d"

static int run_fleet(sqlite3_stmt *st, int (*cb)(const FleetDevice *d, void *userdata), void *userdata) {
        int r, n = 0;

        while ((r = sqlite3_step(st)) == SQLITE_ROW) {
                FleetDevice d = {
                        .id = store_column_text(st, 0),
                        .product = store_column_text(st, 1),
                        .platform = store_column_text(st, 2),
                        .version = store_column_text(st, 3),
                        .sketch_md5 = store_column_text(st, 4),
                        .labels = store_column_text(st, 5),
                        .last_seen = (usec_t) sqlite3_column_int64(st, 6),
                        .announced = sqlite3_column_int(st, 7) != 0,
                        .pinned = sqlite3_column_int(st, 8) != 0,
                        .free_space = sqlite3_column_int64(st, 9),
                        .polls = (uint64_t) sqlite3_column_int64(st, 10),
                        .first_poll = (usec_t) sqlite3_column_int64(st, 11),
                        .last_poll = (usec_t) sqlite3_column_int64(st, 12),
                        .name = store_column_text(st, 13),
                        .host = store_column_text(st, 14),
                        .ip = store_column_text(st, 15),
                        .sources = store_column_text(st, 16),
                };
                int k = cb(&d, userdata);
                if (k < 0)
                        return k;
                n++;
        }
        return r == SQLITE_DONE ? n : store_errno(r);
}

int fleet_devices_each(Store *s, int (*cb)(const FleetDevice *d, void *userdata), void *userdata) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = store_prepare(s, FLEET_SQL " ORDER BY d.id", &st);

        if (r < 0)
                return r;
        r = run_fleet(st, cb, userdata);
        return r < 0 ? r : 0;
}

int fleet_devices_outside(Store *s, int64_t rollout_id, usec_t since,
                          int (*cb)(const FleetDevice *d, void *userdata), void *userdata) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = store_prepare(s,
                              FLEET_SQL
                              " WHERE d.last_seen >= ?1 AND NOT EXISTS (SELECT 1 FROM rollout_devices rd"
                              " WHERE rd.rollout_id = ?2 AND rd.device_id = d.id) ORDER BY d.id",
                              &st);
        if (r < 0)
                return r;
        sqlite3_bind_int64(st, 1, (sqlite3_int64) since);
        sqlite3_bind_int64(st, 2, rollout_id);
        r = run_fleet(st, cb, userdata);
        return r < 0 ? r : 0;
}

int fleet_devices_excluded(Store *s, int64_t rollout_id, usec_t since,
                           int (*cb)(const FleetDevice *d, void *userdata), void *userdata) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = store_prepare(
                s,
                FLEET_SQL
                " WHERE d.last_seen >= ?1 AND EXISTS (SELECT 1 FROM rollout_devices rd"
                " WHERE rd.rollout_id = ?2 AND rd.device_id = d.id AND rd.state = ?3) ORDER BY d.id",
                &st);
        if (r < 0)
                return r;
        sqlite3_bind_int64(st, 1, (sqlite3_int64) since);
        sqlite3_bind_int64(st, 2, rollout_id);
        sqlite3_bind_int(st, 3, DR_EXCLUDED);
        r = run_fleet(st, cb, userdata);
        return r < 0 ? r : 0;
}

int rollout_device_readmit(Store *s, int64_t rollout_id, const char *device_id, uint32_t wave,
                           const char *from_version) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = store_prepare(
                s,
                "UPDATE rollout_devices SET state = ?1, reason = '', wave = ?2, from_version = ?3"
                " WHERE rollout_id = ?4 AND device_id = ?5 AND state = ?6",
                &st);
        if (r < 0)
                return r;
        sqlite3_bind_int(st, 1, DR_PENDING);
        sqlite3_bind_int64(st, 2, wave);
        store_bind_text(st, 3, from_version);
        sqlite3_bind_int64(st, 4, rollout_id);
        store_bind_text(st, 5, device_id);
        sqlite3_bind_int(st, 6, DR_EXCLUDED);
        return store_step_done(st);
}

int fleet_device_get(Store *s, const char *id, int (*cb)(const FleetDevice *d, void *userdata),
                     void *userdata) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = store_prepare(s, FLEET_SQL " WHERE d.id = ?", &st);

        if (r < 0)
                return r;
        store_bind_text(st, 1, id);
        r = run_fleet(st, cb, userdata);
        return r < 0 ? r : r == 0 ? -ENOENT : 0;
}

struct PollWriter {
        sqlite3_stmt *update;
        sqlite3_stmt *filesystem;
};

int poll_writer_new(Store *s, PollWriter **ret) {
        PollWriter *w = xcalloc(1, sizeof(PollWriter));
        int r = store_prepare(
                s,
                "UPDATE devices SET polls = polls + 1,"
                " first_poll = CASE WHEN first_poll = 0 OR first_poll > ?2 THEN ?2 ELSE first_poll END,"
                " last_poll = max(last_poll, ?2),"
                " free_space = CASE WHEN ?2 >= last_poll AND ?3 >= 0 THEN ?3 ELSE free_space END,"
                " pinned = CASE WHEN ?2 >= last_poll THEN ?4 ELSE pinned END"
                " WHERE id = ?1",
                &w->update);
        if (r == 0)
                r = store_prepare(s, "UPDATE devices SET fs_version = ?2 WHERE id = ?1", &w->filesystem);
        if (r < 0) {
                poll_writer_free(w);
                return r;
        }
        *ret = w;
        return 0;
}

PollWriter *poll_writer_free(PollWriter *w) {
        if (!w)
                return NULL;
        sqlite3_finalize(w->update);
        sqlite3_finalize(w->filesystem);
        free(w);
        return NULL;
}

int poll_writer_record(PollWriter *w, const char *device_id, usec_t at, int64_t free_space, bool pinned) {
        sqlite3_reset(w->update);
        store_bind_text(w->update, 1, device_id);
        sqlite3_bind_int64(w->update, 2, (sqlite3_int64) at);
        sqlite3_bind_int64(w->update, 3, free_space);
        sqlite3_bind_int(w->update, 4, pinned);
        return store_step_done(w->update);
}

int poll_writer_filesystem(PollWriter *w, const char *device_id, const char *version) {
        sqlite3_reset(w->filesystem);
        store_bind_text(w->filesystem, 1, device_id);
        store_bind_text(w->filesystem, 2, version);
        return store_step_done(w->filesystem);
}

int fleet_device_set_polls(Store *s, const char *device_id, uint64_t polls, usec_t first, usec_t last) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = store_prepare(
                s,
                "UPDATE devices SET polls = ?, first_poll = ?, last_poll = max(last_poll, ?) WHERE id = ?",
                &st);
        if (r < 0)
                return r;
        sqlite3_bind_int64(st, 1, (sqlite3_int64) polls);
        sqlite3_bind_int64(st, 2, (sqlite3_int64) first);
        sqlite3_bind_int64(st, 3, (sqlite3_int64) last);
        store_bind_text(st, 4, device_id);
        return store_step_done(st);
}

int rollout_devices_waiting(Store *s, int64_t rollout_id,
                            int (*cb)(const RolloutDevice *d, const DeviceFacts *f, void *userdata),
                            void *userdata) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = store_prepare(
                s,
                "SELECT rd.device_id, rd.hash, rd.wave, rd.state, rd.reason, rd.from_version,"
                " rd.from_release, rd.offered_at, rd.served_at, rd.decided_at, rd.last_seen, rd.stuck,"
                " rd.aborts, rd.saw_target, coalesce(d.polls, 0), coalesce(d.first_poll, 0),"
                " coalesce(d.last_poll, 0), coalesce(d.version, ''), coalesce(d.last_seen, 0)"
                " FROM rollout_devices rd LEFT JOIN devices d ON d.id = rd.device_id"
                " WHERE rd.rollout_id = ? AND rd.state IN (1, 2, 4, 5)",
                &st);
        if (r < 0)
                return r;
        sqlite3_bind_int64(st, 1, rollout_id);
        while ((r = sqlite3_step(st)) == SQLITE_ROW) {
                RolloutDevice d;
                read_device(st, 0, &d);
                DeviceFacts f = {
                        .interval = poll_interval((uint64_t) sqlite3_column_int64(st, 14),
                                                  (usec_t) sqlite3_column_int64(st, 15),
                                                  (usec_t) sqlite3_column_int64(st, 16)),
                        .version = store_column_text(st, 17),
                        .last_seen = (usec_t) sqlite3_column_int64(st, 18),
                };
                int k = cb(&d, &f, userdata);
                if (k < 0)
                        return k;
        }
        return r == SQLITE_DONE ? 0 : store_errno(r);
}
