/* SPDX-License-Identifier: MIT */
/* The PostgreSQL backend's connection: open, reconnect, errors, transactions, migrations. */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flota/alloc.h"
#include "flota/log.h"
#include "flota/strutil.h"
#include "pg-internal.h"

void pg_param_text(PgParams *p, const char *s) {
        assert(p->n < PG_PARAMS_MAX);
        p->values[p->n++] = s;
}

void pg_param_int(PgParams *p, int64_t v) {
        assert(p->n < PG_PARAMS_MAX);
        snprintf(p->numbers[p->n], sizeof(p->numbers[p->n]), "%" PRId64, v);
        p->values[p->n] = p->numbers[p->n];
        p->n++;
}

void pg_param_ref(PgParams *p, int64_t v) {
        if (v > 0)
                pg_param_int(p, v);
        else
                pg_param_text(p, NULL);
}

void pg_param_bool(PgParams *p, bool v) {
        pg_param_text(p, v ? "t" : "f");
}

const char *pg_text(const PGresult *res, int row, int col) {
        return PQgetisnull(res, row, col) ? "" : PQgetvalue(res, row, col);
}

int64_t pg_int(const PGresult *res, int row, int col) {
        int64_t v = 0;
        if (!PQgetisnull(res, row, col))
                (void) sscanf(PQgetvalue(res, row, col), "%" SCNd64, &v);
        return v;
}

bool pg_bool(const PGresult *res, int row, int col) {
        return !PQgetisnull(res, row, col) && PQgetvalue(res, row, col)[0] == 't';
}

static void set_error(PgStore *pg, const char *msg) {
        strscpy(pg->error, sizeof(pg->error), msg ? msg : "");
        /* libpq's messages end in a newline */
        size_t n = strlen(pg->error);
        while (n > 0 && (pg->error[n - 1] == '\n' || pg->error[n - 1] == ' '))
                pg->error[--n] = 0;
}

/* Maps an SQLSTATE to -errno (store.h's contract). */
static int sqlstate_errno(const char *state) {
        if (!state)
                return -EBUSY; /* no server answer: the connection is down */
        if (streq(state, "23505"))
                return -EEXIST;
        if (streq(state, "23503"))
                return -ENOLINK;
        if (streq(state, "23502") || streq(state, "23514") || startswith(state, "22"))
                return -EINVAL;
        if (streq(state, "40001") || streq(state, "40P01") || streq(state, "55P03") ||
            startswith(state, "08") || startswith(state, "57P"))
                return -EBUSY;
        if (streq(state, "53100"))
                return -ENOSPC;
        return -EIO;
}

/*
 * The session's settings, on a new connection (the first, or one replacing a broken one):
 * a stuck transaction of ours must not hold the feed's horizon (and locks) for long, and
 * what store_set_busy_timeout() and store_tune_for_checkins() asked.
 */
static int apply_settings(PgStore *pg) {
        char lock[48] = "", sql[160];

        if (pg->has_lock_timeout)
                snprintf(lock, sizeof(lock), "; SET lock_timeout = %u", pg->lock_timeout_ms);
        snprintf(sql, sizeof(sql), "SET idle_in_transaction_session_timeout = '10s'%s%s", lock,
                 pg->synchronous_commit ? "; SET synchronous_commit = on" : "");
        _cleanup_pgresult_ PGresult *res = PQexec(pg->conn, sql);
        if (PQresultStatus(res) == PGRES_COMMAND_OK)
                return 0;
        set_error(pg, res ? PQresultErrorMessage(res) : PQerrorMessage(pg->conn));
        return -EBUSY;
}

/* Replaces a broken connection, with the session's settings. */
static int reconnect(Store *s) {
        PgStore *pg = s->pg;

        PQreset(pg->conn);
        pg->listening = false;
        pg->closing = false;
        if (PQstatus(pg->conn) != CONNECTION_OK) {
                set_error(pg, PQerrorMessage(pg->conn));
                return -EBUSY;
        }
        int r = apply_settings(pg);
        if (r < 0)
                return r;
        log_info("database connection re-established");
        return 0;
}

/*
 * Takes what the server sent on an idle connection since the last statement: a server that
 * closed it (restarted, backend terminated) has sent a FATAL notice and then end of file, so
 * the connection shows as closing or bad now, before a statement goes out on it. Bounded: a
 * stream of notifications is left for the next round.
 */
static void take_pending_input(PgStore *pg) {
        for (int i = 0; i < 8 && PQstatus(pg->conn) == CONNECTION_OK; i++) {
                struct pollfd pfd = { .fd = PQsocket(pg->conn), .events = POLLIN };
                if (pfd.fd < 0 || poll(&pfd, 1, 0) <= 0)
                        return;
                if (!PQconsumeInput(pg->conn))
                        return; /* end of file or an error: PQstatus() says bad */
                /* parses it: notifications are queued, a FATAL goes to notice_receiver() */
                (void) PQisBusy(pg->conn);
        }
}

/* Before a statement outside a transaction: a connection that broke or is closing is replaced. */
static int ensure_connected(Store *s) {
        PgStore *pg = s->pg;

        take_pending_input(pg);
        if (PQstatus(pg->conn) == CONNECTION_OK && !pg->closing)
                return 0;
        return reconnect(s);
}

static PGresult *exec(PgStore *pg, const char *sql, const PgParams *p) {
        /* without parameters, the simple protocol: it also runs several statements (migrations) */
        return p ? PQexecParams(pg->conn, sql, p->n, NULL, p->values, NULL, NULL, 0) : PQexec(pg->conn, sql);
}

static bool succeeded(const PGresult *res) {
        ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
        return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
}

typedef enum RunFlags {
        RUN_IDEMPOTENT = 1 << 0, /* harmless to run twice: sent again after a lost connection */
        RUN_COMMIT = 1 << 1,     /* the COMMIT of a transaction: its outcome is unknown when lost */
} RunFlags;

/* The error of a statement whose connection broke after it was sent, and that is not sent again. */
static int lost(PgStore *pg, bool in_transaction, RunFlags flags) {
        /* inside a transaction the statement took the transaction with it; a commit may have happened */
        const char *outcome = in_transaction && !(flags & RUN_COMMIT)
                                      ? "the transaction was rolled back"
                                      : "the change may or may not have been made";
        char *text = xasprintf("database connection lost, %s: %s", outcome, PQerrorMessage(pg->conn));

        set_error(pg, text);
        free(text);
        return -EBUSY;
}

static int run(Store *s, const char *sql, const PgParams *p, RunFlags flags, PGresult **ret) {
        PgStore *pg = s->pg;
        PGTransactionStatusType t = PQtransactionStatus(pg->conn);
        bool idle = t == PQTRANS_IDLE || t == PQTRANS_UNKNOWN;
        int r;

        if (idle) {
                r = ensure_connected(s);
                if (r < 0)
                        return r;
        }
        PGresult *res = exec(pg, sql, p);
        if (!succeeded(res) && PQstatus(pg->conn) == CONNECTION_BAD) {
                PQclear(res);
                res = NULL;
                /*
                 * The connection broke while the statement ran. Outside a transaction the
                 * server may have committed it before: only a statement that is harmless
                 * twice goes again, on a new connection; any other is reported, not repeated.
                 */
                if (!idle || !(flags & RUN_IDEMPOTENT))
                        return lost(pg, !idle, flags);
                if (reconnect(s) < 0)
                        return -EBUSY;
                res = exec(pg, sql, p);
        }
        if (succeeded(res)) {
                if (ret)
                        *ret = res;
                else
                        PQclear(res);
                return 0;
        }
        set_error(pg, res ? PQresultErrorMessage(res) : PQerrorMessage(pg->conn));
        if (!pg->error[0])
                set_error(pg, PQerrorMessage(pg->conn));
        r = sqlstate_errno(res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL);
        PQclear(res);
        return r;
}

/* A statement's row count, or -errno. */
static int run_command(Store *s, const char *sql, const PgParams *p, RunFlags flags) {
        _cleanup_pgresult_ PGresult *res = NULL;
        int r = run(s, sql, p, flags, &res);

        if (r < 0)
                return r;
        const char *n = PQcmdTuples(res);
        return n && *n ? atoi(n) : 0;
}

int pg_query(Store *s, const char *sql, const PgParams *p, PGresult **ret) {
        return run(s, sql, p, 0, ret);
}

int pg_query_idempotent(Store *s, const char *sql, const PgParams *p, PGresult **ret) {
        return run(s, sql, p, RUN_IDEMPOTENT, ret);
}

int pg_command_idempotent(Store *s, const char *sql, const PgParams *p) {
        return run_command(s, sql, p, RUN_IDEMPOTENT);
}

int pg_command(Store *s, const char *sql, const PgParams *p) {
        return run_command(s, sql, p, 0);
}

static int pg_begin(Store *s) {
        int r = pg_command_idempotent(s, "BEGIN", NULL);
        return r < 0 ? r : 0;
}

static int pg_commit(Store *s) {
        int r = run_command(s, "COMMIT", NULL, RUN_COMMIT);
        return r < 0 ? r : 0;
}

static void pg_rollback(Store *s) {
        PGTransactionStatusType t = PQtransactionStatus(s->pg->conn);
        if (t == PQTRANS_INTRANS || t == PQTRANS_INERROR)
                PQclear(PQexec(s->pg->conn, "ROLLBACK"));
}

int pg_tx_begin(Store *s) {
        PGTransactionStatusType t = PQtransactionStatus(s->pg->conn);

        if (t == PQTRANS_INTRANS)
                return 0;
        int r = pg_command_idempotent(s, "BEGIN", NULL);
        return r < 0 ? r : 1;
}

int pg_tx_end(Store *s, int owned, int r) {
        if (!owned)
                return r;
        if (r >= 0) {
                int k = pg_commit(s);
                if (k < 0)
                        r = k;
        }
        if (r < 0)
                pg_rollback(s);
        return r;
}

int pg_catalog_bump(Store *s) {
        /* the NOTIFY is delivered at commit, to replicas waiting in pg_catalog_wait(): a hint only */
        int r = pg_command(s, "UPDATE meta SET catalog_version = catalog_version + 1; NOTIFY flota_catalog",
                           NULL);
        return r < 0 ? r : 0;
}

/* Takes the notifications libpq has read; true when there was one. */
static bool drain_notifies(PGconn *conn) {
        bool any = false;
        PGnotify *n;

        while ((n = PQnotifies(conn))) {
                any = true;
                PQfreemem(n);
        }
        return any;
}

int pg_catalog_wait(Store *s, unsigned timeout_ms) {
        PgStore *pg = s->pg;
        int r;

        if (!pg->listening) {
                r = pg_command_idempotent(s, "LISTEN flota_catalog", NULL);
                if (r < 0)
                        return r;
                pg->listening = true;
        }
        if (drain_notifies(pg->conn))
                return 1;
        struct pollfd pfd = { .fd = PQsocket(pg->conn), .events = POLLIN };
        if (pfd.fd < 0)
                return -EBUSY;
        r = poll(&pfd, 1, (int) timeout_ms);
        if (r < 0)
                return errno == EINTR ? 0 : -errno;
        if (r == 0)
                return 0;
        if (!PQconsumeInput(pg->conn)) {
                set_error(pg, PQerrorMessage(pg->conn));
                return -EBUSY;
        }
        return drain_notifies(pg->conn) ? 1 : 0;
}

int pg_catalog_version(Store *s, int64_t *ret) {
        _cleanup_pgresult_ PGresult *res = NULL;
        int r = pg_query_idempotent(s, "SELECT catalog_version FROM meta", NULL, &res);

        if (r < 0)
                return r;
        if (PQntuples(res) != 1)
                return -EIO;
        *ret = pg_int(res, 0, 0);
        return 0;
}

static const char *pg_last_error(Store *s) {
        return s->pg->error;
}

static int pg_schema_version(Store *s) {
        _cleanup_pgresult_ PGresult *exists = NULL, *res = NULL;
        int r = pg_query_idempotent(s, "SELECT to_regclass('meta') IS NOT NULL", NULL, &exists);

        if (r < 0)
                return r;
        if (!pg_bool(exists, 0, 0))
                return 0; /* an empty database */
        r = pg_query_idempotent(s, "SELECT schema_version FROM meta", NULL, &res);
        if (r < 0)
                return r;
        return PQntuples(res) == 1 ? (int) pg_int(res, 0, 0) : -EIO;
}

/*
 * Feed positions are ((xid + xid_base) << 16) | index. A logical dump and restore starts the
 * transaction ids again from low numbers: raise the base so that every new position is above
 * every stored one. Runs under the migration lock.
 */
static int raise_xid_base(Store *s) {
        int r = pg_command(s,
                           "UPDATE meta SET xid_base = greatest(xid_base,"
                           " (SELECT coalesce(max(id), 0) FROM checkins) / 65536 + 1"
                           " - pg_current_xact_id()::text::bigint)",
                           NULL);
        return r < 0 ? r : 0;
}

/* Applies the missing steps, one transaction each, while holding the migration lock. */
static int migrate_locked(Store *s) {
        int version = pg_schema_version(s);

        if (version < 0)
                return version;
        if ((size_t) version > pg_n_migrations) {
                snprintf(s->pg->error, sizeof(s->pg->error),
                         "database schema %d is newer than this program's %zu", version, pg_n_migrations);
                return -EPROTO;
        }
        for (size_t v = (size_t) version; v < pg_n_migrations; v++) {
                PgParams p = {};
                int r = pg_command_idempotent(s, "BEGIN", NULL);
                if (r >= 0)
                        r = pg_command(s, pg_migrations[v], NULL);
                pg_param_int(&p, (int64_t) v + 1);
                if (r >= 0)
                        r = pg_command(s, "UPDATE meta SET schema_version = $1", &p);
                if (r >= 0)
                        r = pg_commit(s);
                if (r < 0) {
                        pg_rollback(s);
                        return r;
                }
                log_debug("database: schema step %zu applied", v + 1);
        }
        return raise_xid_base(s) < 0 ? -EIO : 0;
}

static int migrate(Store *s) {
        PgParams p = {};
        int r;

        /*
         * several replicas starting at once: one migrates, the others wait and find it done
         * (a session lock: one taken on a connection that broke went with it)
         */
        pg_param_int(&p, PG_LOCK_MIGRATE);
        r = pg_command_idempotent(s, "SELECT pg_advisory_lock($1)", &p);
        if (r < 0)
                return r;
        r = migrate_locked(s);
        (void) pg_command_idempotent(s, "SELECT pg_advisory_unlock($1)", &p);
        return r;
}

static void pg_free(Store *s) {
        if (s->pg) {
                PQfinish(s->pg->conn);
                free(s->pg->url);
                free(s->pg);
        }
        free(s);
}

static int pg_quick_check(Store *s, char **ret_problem) {
        /* the server owns its storage's integrity */
        return 0;
}

static int pg_tune_for_checkins(Store *s) {
        /* an acknowledged check-in row must survive a server crash before a follower can read it */
        s->pg->synchronous_commit = true;
        int r = pg_command_idempotent(s, "SET synchronous_commit = on", NULL);
        return r < 0 ? r : 0;
}

static void pg_set_busy_timeout(Store *s, unsigned ms) {
        char sql[64];
        s->pg->has_lock_timeout = true;
        s->pg->lock_timeout_ms = ms;
        snprintf(sql, sizeof(sql), "SET lock_timeout = %u", ms);
        (void) pg_command_idempotent(s, sql, NULL);
}

/* The server's notices, at debug level; a FATAL one is the server closing the connection. */
static void notice_receiver(void *arg, const PGresult *res) {
        PgStore *pg = arg;
        const char *severity = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);

        if (severity && (streq(severity, "FATAL") || streq(severity, "PANIC")))
                pg->closing = true;
        log_debug("database: %s", PQresultErrorMessage(res));
}

int store_pg_open(const char *url, Store **ret) {
        Store *s = xcalloc(1, sizeof(Store));
        int r;

        s->ops = &store_pg_ops;
        s->pg = xcalloc(1, sizeof(PgStore));
        s->pg->url = xstrdup(url);
        /*
         * Defaults the URL may override (its own values come later and win): a server that
         * does not answer must not hold a writer or an API call for long, and a dead peer
         * is noticed on an idle connection.
         */
        static const char *const keys[] = { "connect_timeout", "keepalives_idle", "application_name",
                                            "dbname", NULL };
        const char *values[] = { "5", "30", "flotad", url, NULL };
        s->pg->conn = PQconnectdbParams(keys, values, 1);
        if (!s->pg->conn || PQstatus(s->pg->conn) != CONNECTION_OK) {
                /* not the URL: it may hold a password */
                log_debug("database: %s", s->pg->conn ? PQerrorMessage(s->pg->conn) : "out of memory");
                r = s->pg->conn && strstr(PQerrorMessage(s->pg->conn), "invalid") ? -EINVAL : -ECONNREFUSED;
                pg_free(s);
                return r;
        }
        PQsetNoticeReceiver(s->pg->conn, notice_receiver, s->pg);
        r = apply_settings(s->pg);
        if (r >= 0)
                r = migrate(s);
        if (r < 0) {
                log_debug("database: %s", s->pg->error);
                pg_free(s);
                return r;
        }
        *ret = s;
        return 0;
}

const StoreOps store_pg_ops = {
        .name = "postgresql",
        .free = pg_free,
        .last_error = pg_last_error,
        .schema_version = pg_schema_version,
        .begin = pg_begin,
        .commit = pg_commit,
        .rollback = pg_rollback,
        .quick_check = pg_quick_check,
        .tune_for_checkins = pg_tune_for_checkins,
        .set_busy_timeout = pg_set_busy_timeout,
        .catalog_load = pg_catalog_load,
        .catalog_version = pg_catalog_version,
        .catalog_wait = pg_catalog_wait,
        .product_create = pg_product_create,
        .product_set_signing_key = pg_product_set_signing_key,
        .release_insert = pg_release_insert,
        .release_delete = pg_release_delete,
        .blob_in_use = pg_blob_in_use,
        .channel_set = pg_channel_set,
        .channel_history = pg_channel_history,
        .devices_list = pg_devices_list,
        .device_get = pg_device_get,
        .device_checkins = pg_device_checkins,
        .device_set_pin = pg_device_set_pin,
        .device_set_channel = pg_device_set_channel,
        .device_set_labels = pg_device_set_labels,
        .assign = pg_assign,
        .checkins_write = pg_checkins_write,
        .journal_mark = pg_journal_mark,
        .checkins_after = pg_checkins_after,
        .checkins_count = pg_checkins_count,
        .checkins_prune = pg_checkins_prune,
        .token_create = pg_token_create,
        .token_delete = pg_token_delete,
        .tokens_list = pg_tokens_list,
};
