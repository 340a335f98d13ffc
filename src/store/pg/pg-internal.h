/* SPDX-License-Identifier: MIT */
/*
 * Private to src/store/pg: flotad's database on a PostgreSQL server through libpq. This
 * directory is the only user of libpq (tests/lint/check-layering.sh); it writes its own SQL
 * and shares none with the SQLite backend.
 */
#pragma once

#include <libpq-fe.h>

#include "../store-ops.h"

typedef struct PgStore {
        PGconn *conn;
        char *url;
        char error[512]; /* the last error's text: store_last_error() */
        bool listening;  /* LISTEN flota_catalog issued on this connection (lost on reconnect) */
        bool closing;    /* the server sent a FATAL notice: it is closing this connection */
        /* session settings (SET), made again on a new connection */
        bool has_lock_timeout;
        unsigned lock_timeout_ms;
        bool synchronous_commit;
} PgStore;

/* Query parameters, as text (libpq's text format); a NULL value is SQL NULL. */
#define PG_PARAMS_MAX 24
typedef struct PgParams {
        const char *values[PG_PARAMS_MAX];
        char numbers[PG_PARAMS_MAX][24];
        int n;
} PgParams;

void pg_param_text(PgParams *p, const char *s);
void pg_param_int(PgParams *p, int64_t v);
/* v, or NULL when v <= 0 (an absent reference). */
void pg_param_ref(PgParams *p, int64_t v);
void pg_param_bool(PgParams *p, bool v);

/*
 * Runs sql with p (may be NULL). On success *ret holds the result (caller PQclear()s; may be
 * NULL when the caller wants none); on failure the error text is kept for store_last_error()
 * and -errno returned: -EEXIST unique violation, -ENOLINK foreign key, -EINVAL not-null,
 * check or bad value, -EBUSY serialization failure, deadlock, lock timeout or a connection
 * that is down (retry later), -ENOSPC disk full, -EIO anything else.
 *
 * A lost connection: outside a transaction, one that broke or that the server closed while
 * idle (restart, terminated backend) is replaced before the statement is sent. One that
 * breaks after the statement was sent is not retried: the server may have committed it just
 * before (autocommit, or a COMMIT), and a write must not be applied twice. The call returns
 * -EBUSY, "database connection lost, the change may or may not have been made" (or "the
 * transaction was rolled back", inside a transaction); the caller finds out by reading.
 */
int pg_query(Store *s, const char *sql, const PgParams *p, PGresult **ret);
/* pg_query for a statement without rows; returns the number of rows it affected, or -errno. */
int pg_command(Store *s, const char *sql, const PgParams *p);
/*
 * pg_query and pg_command for a statement that is harmless to run twice: a read (SELECT
 * without side effects, or a session advisory lock, which went with the broken connection),
 * BEGIN, SET, LISTEN. Outside a transaction, when the connection breaks after it was sent,
 * it is sent once more on a new connection. Inside one it is not (the transaction is gone).
 */
int pg_query_idempotent(Store *s, const char *sql, const PgParams *p, PGresult **ret);
int pg_command_idempotent(Store *s, const char *sql, const PgParams *p);

DEFINE_TRIVIAL_CLEANUP_FUNC(PGresult *, PQclear);
#define _cleanup_pgresult_ _cleanup_(PQclearp)

/* Column helpers: text is never NULL ("" instead); numbers are 0 when NULL. */
const char *pg_text(const PGresult *res, int row, int col);
int64_t pg_int(const PGresult *res, int row, int col);
bool pg_bool(const PGresult *res, int row, int col);

/*
 * Starts a transaction unless the caller's store_begin() already did. Returns 1 when this
 * call started one (end it with pg_tx_end), 0 when inside the caller's, or -errno.
 */
int pg_tx_begin(Store *s);
/* Ends what pg_tx_begin started (owned = its return): commits when r >= 0, else rolls back. */
int pg_tx_end(Store *s, int owned, int r);

/* Bumps the catalog version inside the current transaction: replicas reload on their next check. */
int pg_catalog_bump(Store *s);

/* The operations, by file. */
int pg_catalog_load(Store *s, Catalog **ret);
int pg_catalog_version(Store *s, int64_t *ret);
int pg_catalog_wait(Store *s, unsigned timeout_ms);
int pg_product_create(Store *s, const char *name, const char *key_sha256, Platform platform,
                      int64_t *ret_id);
int pg_product_set_signing_key(Store *s, int64_t product_id, const char *pem);
int pg_release_insert(Store *s, Release *r);
int pg_release_delete(Store *s, int64_t id, const char **reterr_user);
int pg_blob_in_use(Store *s, const char *sha256);
int pg_channel_set(Store *s, int64_t product_id, const char *name, ImageKind kind, int64_t release_id,
                   const char *actor);
int pg_channel_history(Store *s, const char *product, const char *name, size_t limit,
                       int (*cb)(const ChannelChange *c, void *userdata), void *userdata);
int pg_token_create(Store *s, const char *name, TokenRole role, const char *sha256);
int pg_token_delete(Store *s, const char *name);
int pg_tokens_list(Store *s, int (*cb)(const Token *t, void *userdata), void *userdata);

int pg_devices_list(Store *s, const DeviceFilter *f, DeviceCallback cb, void *userdata);
int pg_device_get(Store *s, const char *id, DeviceCallback cb, void *userdata);
int pg_device_set_pin(Store *s, const char *id, int64_t release_id);
int pg_device_set_channel(Store *s, const char *id, const char *channel);
int pg_device_set_labels(Store *s, const char *id, char *const *labels, size_t n);
int pg_assign(Store *s, int64_t release_id, char *const *ids, size_t n);

int pg_checkins_write(Store *s, Checkin *c, size_t n, const JournalMark *mark);
int pg_journal_mark(Store *s, const char *journal, JournalMark *ret);
int pg_checkins_after(Store *s, int64_t after, size_t limit, CheckinCallback cb, void *userdata);
int pg_device_checkins(Store *s, const char *id, size_t limit, CheckinCallback cb, void *userdata);
int64_t pg_checkins_count(Store *s);
int pg_checkins_prune(Store *s, usec_t before, size_t max_rows);

/* Schema (pg-migrations.c): step i brings version i to i + 1. */
extern const char *const pg_migrations[];
extern const size_t pg_n_migrations;
/* Advisory lock keys: schema migrations, and cluster-wide jobs (one replica at a time). */
#define PG_LOCK_MIGRATE 0x666c6f7461000001LL
#define PG_LOCK_PRUNE 0x666c6f7461000002LL
