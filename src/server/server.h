/* SPDX-License-Identifier: MIT */
/*
 * flotad's shared state and the glue between libmicrohttpd and the handlers.
 * Threading: request handlers run on MHD's worker threads. The served catalog is
 * read under catalog_lock (read side) and swapped whole after each management
 * write (write side). Management calls run one at a time under api_lock on
 * api_store. Check-ins go through the queue to their own connection.
 */
#pragma once

#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>

#include "auth-limit.h"
#include "checkin-queue.h"
#include "conn-guard.h"
#include "config.h"
#include "respond.h"
#include "flota/catalog.h"
#include "flota/json-encode.h"
#include "flota/store.h"

/*
 * The catalog plus, per release (same index as catalog->releases), an open descriptor of its
 * image (-1 when the file is missing). Each 200 answer gets its own response on a dup() of it:
 * libmicrohttpd locks a response while sending from its file, so one shared response would
 * make the worker threads take turns.
 */
typedef struct Served {
        Catalog *catalog;
        int *image_fds;
} Served;

typedef struct Server Server;

/*
 * Builds the 200 answer for release r from its open image descriptor. NULL on failure. With
 * --image-delivery x-accel the answer carries the same headers but no body, and an
 * X-Accel-Redirect to the image under FLOTAD_X_ACCEL_PREFIX for nginx to send.
 */
struct MHD_Response *image_response(Server *srv, const Release *r, int fd);
/* The image's bytes from fd (a copy of it), whatever the delivery: for the API's download. NULL on failure.
 */
struct MHD_Response *image_file_response(const Release *r, int fd);

/* Room for the API route table's rows in the metrics (plus one for "no route"). */
#define API_ROUTES_MAX 32

typedef struct Metrics {
        atomic_uint_fast64_t polls_by_status[6]; /* 200, 304, 400, 401, 403, 404 ... see metrics.c */
        atomic_uint_fast64_t polls_other;
        atomic_uint_fast64_t reasons[_REASON_MAX];
        atomic_uint_fast64_t bytes_served;
        atomic_uint_fast64_t api_requests;
        atomic_uint_fast64_t api_errors_4xx;
        atomic_uint_fast64_t api_errors_5xx;
        atomic_uint_fast64_t releases_uploaded;
        atomic_uint_fast64_t api_calls[API_ROUTES_MAX + 1][4]; /* by route, by status class 2xx..5xx */
        /* refused polls (401, 404): counted, logged a few a minute, never recorded on a device */
        atomic_uint_fast64_t refused_log_minute;
        atomic_uint_fast64_t refused_logged;
} Metrics;

/*
 * With a database that several replicas share, a thread of its own watches the catalog
 * version (on its own connection, so a slow database never holds the API lock) and reloads
 * when another replica changed the catalog.
 */
typedef struct CatalogWatch {
        pthread_t thread;
        bool running;
        bool stopping;
        pthread_mutex_t lock;
        pthread_cond_t wake;
        Store *store;
        unsigned interval_ms;
        atomic_uint_fast64_t reloads; /* reloads for a change made elsewhere */
        /* how a change is taken: the server's catalog reload (so that this file calls nothing of server.c's)
         */
        int (*reload)(struct Server *srv, Store *store);
} CatalogWatch;

struct Server {
        Config *config;
        char *db_path; /* the database: a SQLite path or a postgresql:// URL */
        char *images_dir;
        struct MHD_Daemon *daemon;
        int listen_fd;
        char listen_url[96];

        pthread_rwlock_t catalog_lock;
        Served *served;
        int64_t served_version; /* the catalog version served (under catalog_lock) */
        bool shared_database;   /* several replicas may use the database: PostgreSQL */
        CatalogWatch watch;

        pthread_mutex_t api_lock;
        Store *api_store;

        atomic_bool catalog_stale; /* an API write committed but the reload after it failed */

        CheckinQueue checkins;
        CheckinLog checkin_log;         /* fd -1 when not configured */
        CheckinJournal checkin_journal; /* fd -1 when there is none */
        Metrics metrics;
        AuthLimit auth_limit; /* failed product keys and API tokens, per client address */
        ConnGuard guard;      /* connection limit and request-head deadline */
        usec_t started;

        struct MHD_Response *not_modified;
};

/* Loads the catalog from api_store and swaps it in. Caller holds api_lock. 0 or -errno. */
int server_reload_catalog(Server *srv);
/*
 * Loads the catalog from store and swaps it in, unless a newer one is already served (another
 * thread's reload). Caller holds api_lock: API handlers read srv->served under it alone.
 * 0 or -errno.
 */
int server_reload_catalog_from(Server *srv, Store *store);

/* The catalog watch (catalog-watch.c): started only for a shared database; reload takes a change. */
int catalog_watch_start(Server *srv, int (*reload)(Server *srv, Store *store));
void catalog_watch_stop(Server *srv);

/*
 * After an API write has committed: reloads the catalog so that polls see the change. When
 * that fails the catalog is marked stale (reloaded again before every later API call,
 * reported by /healthz) and -errno is returned, so that the caller does not answer 2xx for
 * a change that is not served. Caller holds api_lock.
 */
int server_catalog_changed(Server *srv);
/*
 * With a shared database: reloads when the database's catalog version is not the one served
 * (another replica changed it since the catalog watch last looked). Caller holds api_lock.
 */
void server_catalog_sync(Server *srv);
/* Reloads a catalog marked stale; a no-op otherwise. Caller holds api_lock. */
void server_catalog_retry(Server *srv);

/* Path of the stored image with this SHA-256 (malloc'ed). */
char *server_image_path(Server *srv, const char *sha256);

/*
 * What libmicrohttpd keeps per request (its con_cls): every per-request state starts with
 * this tag, so the completion callback knows what it is finishing.
 */
typedef enum RequestKind {
        REQUEST_API,     /* ApiCall (api.h) */
        REQUEST_IMAGE,   /* ImageTransfer: a 200 answer whose check-in waits for the transfer's end */
        REQUEST_REFUSED, /* a static marker: the raw URI is refused before routing (%00) */
} RequestKind;

typedef struct ImageTransfer {
        RequestKind kind;
        Checkin checkin;
        uint64_t size;
} ImageTransfer;

/* Records the check-in of a finished image transfer: "update" when it completed, "update-aborted" if not. */
void image_transfer_done(Server *srv, ImageTransfer *t, bool completed);

/*
 * The device endpoint. product is NULL for the query form. For a 200 with an image it sets
 * *con_cls to an ImageTransfer, whose check-in is recorded when the transfer ends.
 */
enum MHD_Result device_handle(Server *srv, struct MHD_Connection *conn, const char *method,
                              const char *product, void **con_cls);

/* /metrics and /healthz */
enum MHD_Result metrics_handle(Server *srv, struct MHD_Connection *conn);
enum MHD_Result healthz_handle(Server *srv, struct MHD_Connection *conn);
void metrics_count_poll(Metrics *m, unsigned status);

/* Lifecycle (server.c). */
int server_start(Server *srv, Config *config);
/* After SIGHUP: reopen the log file and the check-in log (for rotation). */
void server_reopen_logs(Server *srv);
void server_stop(Server *srv);
