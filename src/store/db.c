/* SPDX-License-Identifier: MIT */
/* Connection setup, pragmas, migrations and statement helpers. */
#include "store-internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "flota/alloc.h"
#include "flota/log.h"
#include "flota/strutil.h"

int store_errno(int rc) {
        switch (rc) {
        case SQLITE_CONSTRAINT_FOREIGNKEY: return -ENOLINK;
        case SQLITE_CONSTRAINT_NOTNULL:
        case SQLITE_CONSTRAINT_CHECK:
        case SQLITE_CONSTRAINT_DATATYPE: return -EINVAL;
        default: break;
        }
        switch (rc & 0xff) {
        case SQLITE_OK:
        case SQLITE_DONE:
        case SQLITE_ROW: return 0;
        case SQLITE_CONSTRAINT: return -EEXIST;
        case SQLITE_BUSY:
        case SQLITE_LOCKED: return -EBUSY;
        case SQLITE_FULL: return -ENOSPC;
        case SQLITE_NOTFOUND: return -ENOENT;
        case SQLITE_READONLY:
        case SQLITE_PERM:
        case SQLITE_AUTH: return -EACCES;
        case SQLITE_CANTOPEN: return -ENOENT;
        case SQLITE_NOTADB:
        case SQLITE_CORRUPT: return -EBADMSG;
        default: return -EIO;
        }
}

int store_prepare(Store *s, const char *sql, sqlite3_stmt **ret) {
        const char *tail = NULL;
        sqlite3_stmt *st = NULL;
        int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, &tail);

        if (rc != SQLITE_OK)
                return store_errno(rc);
        while (tail && (*tail == ' ' || *tail == '\n' || *tail == ';'))
                tail++;
        if (tail && *tail) {
                sqlite3_finalize(st);
                return -EINVAL;
        }
        *ret = st;
        return 0;
}

int store_get_text(Store *s, const char *sql, const char *key, char **ret) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = store_prepare(s, sql, &st);

        if (r < 0)
                return r;
        store_bind_text(st, 1, key);
        r = sqlite3_step(st);
        if (r == SQLITE_DONE)
                return -ENOENT;
        if (r != SQLITE_ROW)
                return store_errno(r);
        *ret = xstrdup(store_column_text(st, 0));
        return 0;
}

int store_step_done(sqlite3_stmt *st) {
        int rc = sqlite3_step(st);
        return rc == SQLITE_DONE ? 0 : store_errno(rc);
}

int store_exec(Store *s, const char *sql) {
        return store_errno(sqlite3_exec(s->db, sql, NULL, NULL, NULL));
}

void store_bind_text(sqlite3_stmt *st, int idx, const char *s) {
        if (s)
                sqlite3_bind_text(st, idx, s, -1, SQLITE_STATIC);
        else
                sqlite3_bind_null(st, idx);
}

const char *store_column_text(sqlite3_stmt *st, int col) {
        const unsigned char *t = sqlite3_column_text(st, col);
        return t ? (const char *) t : "";
}

const char *lite_last_error(Store *s) {
        return sqlite3_errmsg(s->db);
}

int lite_begin(Store *s) {
        return store_exec(s, "BEGIN IMMEDIATE");
}

int lite_commit(Store *s) {
        return store_exec(s, "COMMIT");
}

void lite_rollback(Store *s) {
        if (!sqlite3_get_autocommit(s->db))
                (void) store_exec(s, "ROLLBACK");
}

int lite_end(Store *s, int r) {
        if (r >= 0)
                r = lite_commit(s);
        if (r < 0)
                lite_rollback(s);
        return r;
}

int lite_schema_version(Store *s) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = store_prepare(s, "PRAGMA user_version", &st);

        if (r < 0)
                return r;
        r = sqlite3_step(st);
        if (r != SQLITE_ROW)
                return r == SQLITE_DONE ? -EIO : store_errno(r);
        return sqlite3_column_int(st, 0);
}

/* Reads the schema version and refuses a newer one, before anything writes to the file. */
static int check_version(Store *s, size_t n_migrations, size_t *ret) {
        int version = lite_schema_version(s);

        if (version < 0)
                return version;
        if ((size_t) version > n_migrations) {
                log_debug("database schema %d is newer than this program's %zu", version, n_migrations);
                return -EPROTO;
        }
        *ret = (size_t) version;
        return 0;
}

/*
 * One step per transaction, the version stamped inside it. The version is read again under the
 * write lock, so two programs opening the same old database do not both run a step.
 */
static int migrate(Store *s, const char *const *migrations, size_t n_migrations) {
        for (;;) {
                char stamp[64];
                size_t v;
                int r = lite_begin(s);

                if (r < 0)
                        return r;
                r = check_version(s, n_migrations, &v);
                if (r < 0 || v == n_migrations)
                        return lite_end(s, r);
                snprintf(stamp, sizeof(stamp), "PRAGMA user_version = %zu", v + 1);
                r = store_exec(s, migrations[v]);
                if (r == 0)
                        r = store_exec(s, stamp);
                r = lite_end(s, r);
                if (r < 0)
                        return r;
        }
}

static int setup(Store *s, const char *const *migrations, size_t n_migrations, size_t page_size) {
        static const char pragmas[] = "PRAGMA foreign_keys = ON;"
                                      "PRAGMA synchronous = FULL;"
                                      "PRAGMA cache_size = -8192;"
                                      "PRAGMA temp_store = MEMORY;";
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        size_t version;
        int r;

        sqlite3_busy_timeout(s->db, 10000);
        sqlite3_extended_result_codes(s->db, 1);
        /* first, so that a newer program's database is left as it was: not even switched to WAL */
        r = check_version(s, n_migrations, &version);
        if (r < 0)
                return r;
        if (page_size) {
                /* only takes on a new database: before the first table and before WAL */
                _cleanup_free_ char *sql = xasprintf("PRAGMA page_size = %zu", page_size);
                r = store_exec(s, sql);
                if (r < 0)
                        return r;
        }
        r = store_prepare(s, "PRAGMA journal_mode = WAL", &st);
        if (r < 0)
                return r;
        if (sqlite3_step(st) != SQLITE_ROW)
                return store_errno(sqlite3_errcode(s->db));
        if (!strcaseeq(store_column_text(st, 0), "wal"))
                return -EIO;
        sqlite3_reset(st);
        r = store_exec(s, pragmas);
        if (r < 0 || version == n_migrations)
                return r;
        return migrate(s, migrations, n_migrations);
}

int store_open_schema(const char *path, const char *const *migrations, size_t n_migrations, size_t page_size,
                      Store **ret) {
        Store *s = xcalloc(1, sizeof(*s));
        s->ops = &store_lite_ops;
        int rc = sqlite3_open_v2(path, &s->db,
                                 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
        int r = store_errno(rc);

        if (r == 0)
                r = setup(s, migrations, n_migrations, page_size);
        if (r < 0) {
                if (s->db)
                        log_debug("store %s: %s", path, sqlite3_errmsg(s->db));
                lite_free(s);
                return r;
        }
        *ret = s;
        return 0;
}

int store_open(const char *path, Store **ret) {
        int r = store_open_schema(path, store_migrations, store_n_migrations, 0, ret);

        if (r == 0)
                (*ret)->checkin_heartbeat = STORE_CHECKIN_HEARTBEAT_DEFAULT;
        return r;
}

void lite_set_busy_timeout(Store *s, unsigned ms) {
        sqlite3_busy_timeout(s->db, (int) ms);
}

int lite_quick_check(Store *s, char **ret_problem) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = store_prepare(s, "PRAGMA quick_check(1)", &st);

        if (r == -EBADMSG)
                *ret_problem = xstrdup(sqlite3_errmsg(s->db));
        if (r < 0)
                return r;
        r = sqlite3_step(st);
        if (r == SQLITE_ROW && streq(store_column_text(st, 0), "ok"))
                return 0;
        if (r == SQLITE_ROW || (r & 0xff) == SQLITE_CORRUPT || (r & 0xff) == SQLITE_NOTADB) {
                *ret_problem = xstrdup(r == SQLITE_ROW ? store_column_text(st, 0) : sqlite3_errmsg(s->db));
                return -EBADMSG;
        }
        return store_errno(r);
}

int lite_tune_for_checkins(Store *s) {
        return store_exec(s, "PRAGMA synchronous = NORMAL; PRAGMA cache_size = -16384;");
}

void lite_free(Store *s) {
        sqlite3_finalize(s->insert_checkin);
        sqlite3_finalize(s->upsert_device);
        sqlite3_finalize(s->last_checkin);
        sqlite3_finalize(s->touch_device);
        sqlite3_close_v2(s->db);
        free(s);
}

int store_cache_size(Store *s, size_t kib) {
        _cleanup_free_ char *sql = xasprintf("PRAGMA cache_size = -%zu", kib);
        return store_exec(s, sql);
}
