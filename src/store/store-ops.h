/* SPDX-License-Identifier: MIT */
/*
 * Private to src/store: the backend seam. A Store is one connection to flotad's database
 * through a backend: SQLite (db.c and its neighbours; also flota's own inventory) or
 * PostgreSQL (src/store/pg/, the only user of libpq). The public store_*() functions of
 * flota/store.h dispatch through s->ops (store.c); each backend writes its own SQL, none
 * is shared. This header names no library's types, so either backend can include it.
 */
#pragma once

#include "flota/store.h"

typedef struct StoreOps {
        const char *name;
        void (*free)(Store *s);
        const char *(*last_error)(Store *s);
        int (*schema_version)(Store *s);
        int (*begin)(Store *s);
        int (*commit)(Store *s);
        void (*rollback)(Store *s);
        int (*quick_check)(Store *s, char **ret_problem);
        int (*tune_for_checkins)(Store *s);
        void (*set_busy_timeout)(Store *s, unsigned ms);

        int (*catalog_load)(Store *s, Catalog **ret);
        int (*catalog_version)(Store *s, int64_t *ret);
        int (*catalog_wait)(Store *s, unsigned timeout_ms);
        int (*product_create)(Store *s, const char *name, const char *key_sha256, Platform platform,
                              int64_t *ret_id);
        int (*product_set_signing_key)(Store *s, int64_t product_id, const char *pem);
        int (*release_insert)(Store *s, Release *r);
        int (*release_delete)(Store *s, int64_t id, const char **reterr_user);
        int (*blob_in_use)(Store *s, const char *sha256);
        int (*channel_set)(Store *s, int64_t product_id, const char *name, ImageKind kind,
                           int64_t release_id, const char *actor);
        int (*channel_history)(Store *s, const char *product, const char *name, size_t limit,
                               int (*cb)(const ChannelChange *c, void *userdata), void *userdata);

        int (*devices_list)(Store *s, const DeviceFilter *f, DeviceCallback cb, void *userdata);
        int (*device_get)(Store *s, const char *id, DeviceCallback cb, void *userdata);
        int (*device_checkins)(Store *s, const char *id, size_t limit, CheckinCallback cb, void *userdata);
        int (*device_set_pin)(Store *s, const char *id, int64_t release_id);
        int (*device_set_channel)(Store *s, const char *id, const char *channel);
        int (*device_set_labels)(Store *s, const char *id, char *const *labels, size_t n);
        int (*assign)(Store *s, int64_t release_id, char *const *ids, size_t n);

        int (*checkins_write)(Store *s, Checkin *c, size_t n, const JournalMark *mark);
        int (*journal_mark)(Store *s, const char *journal, JournalMark *ret);
        int (*checkins_after)(Store *s, int64_t after, size_t limit, CheckinCallback cb, void *userdata);
        int64_t (*checkins_count)(Store *s);
        int (*checkins_prune)(Store *s, usec_t before, size_t max_rows);

        int (*token_create)(Store *s, const char *name, TokenRole role, const char *sha256);
        int (*token_delete)(Store *s, const char *name);
        int (*tokens_list)(Store *s, int (*cb)(const Token *t, void *userdata), void *userdata);
} StoreOps;

struct sqlite3;
struct sqlite3_stmt;
struct PgStore;

struct Store {
        const StoreOps *ops;
        usec_t checkin_heartbeat; /* store_set_checkin_heartbeat() */

        /* SQLite backend */
        struct sqlite3 *db;
        struct sqlite3_stmt *insert_checkin;
        struct sqlite3_stmt *upsert_device;
        struct sqlite3_stmt *last_checkin;
        struct sqlite3_stmt *touch_device;

        /* PostgreSQL backend (src/store/pg/) */
        struct PgStore *pg;
};

extern const StoreOps store_lite_ops;
extern const StoreOps store_pg_ops;

/* Opens flotad's database on a PostgreSQL server (src/store/pg/). */
int store_pg_open(const char *url, Store **ret);
