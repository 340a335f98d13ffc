/* SPDX-License-Identifier: MIT */
/* Private to src/store: the SQLite backend's connection, statement helpers and error mapping. */
#pragma once

#include <sqlite3.h>

#include "flota/store.h"
#include "store-ops.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(sqlite3_stmt *, sqlite3_finalize);
#define _cleanup_stmt_ _cleanup_(sqlite3_finalizep)

/* Maps a SQLite result code to -errno. */
int store_errno(int rc);

/* Prepares sql; refuses trailing SQL after the first statement. 0 or -errno. */
int store_prepare(Store *s, const char *sql, sqlite3_stmt **ret);

/* Runs sql (one text parameter, key) and copies the first column of its first row into *ret. -ENOENT: no
 * row. */
int store_get_text(Store *s, const char *sql, const char *key, char **ret);

/* Runs a prepared statement that returns no rows. 0 or -errno. */
int store_step_done(sqlite3_stmt *st);

/* Runs one or more statements without results. 0 or -errno. */
int store_exec(Store *s, const char *sql);

/* Binds text, or NULL for a NULL pointer. */
void store_bind_text(sqlite3_stmt *st, int idx, const char *s);
/* Column text that is never NULL ("" instead). */
const char *store_column_text(sqlite3_stmt *st, int col);

/*
 * Opens path with the given migration ladder (flotad's, or flota's inventory). page_size (0:
 * SQLite's default) applies to a database this call creates; an existing one keeps its own.
 */
int store_open_schema(const char *path, const char *const *migrations, size_t n_migrations, size_t page_size,
                      Store **ret);

/*
 * Replaces a device's labels (n 0: none) in one transaction (labels.c), creating the device's
 * row first with ensure_device (one parameter, the id; nothing when the row exists). 0 or -errno.
 */
int store_labels_replace(Store *s, const char *ensure_device, const char *id, char *const *labels, size_t n);

/* Migration steps, index i brings the schema from version i to i+1. */
extern const char *const store_migrations[];
extern const size_t store_n_migrations;
/* The same for flota's inventory (inventory.c). */
extern const char *const inventory_migrations[];
extern const size_t inventory_n_migrations;

/* The SQLite backend's operations (store_lite_ops, lite-ops.c): the implementations behind flota/store.h. */
void lite_free(Store *s);
const char *lite_last_error(Store *s);
int lite_schema_version(Store *s);
int lite_begin(Store *s);
int lite_commit(Store *s);
void lite_rollback(Store *s);
/* Commits when r >= 0, else rolls back; returns r (or the commit's error). The SQLite files' store_end(). */
int lite_end(Store *s, int r);
int lite_quick_check(Store *s, char **ret_problem);
int lite_tune_for_checkins(Store *s);
void lite_set_busy_timeout(Store *s, unsigned ms);
int lite_catalog_load(Store *s, Catalog **ret);
int lite_product_create(Store *s, const char *name, const char *key_sha256, Platform platform,
                        int64_t *ret_id);
int lite_product_set_signing_key(Store *s, int64_t product_id, const char *pem);
int lite_release_insert(Store *s, Release *r);
int lite_release_delete(Store *s, int64_t id, const char **reterr_user);
int lite_blob_in_use(Store *s, const char *sha256);
int lite_channel_set(Store *s, int64_t product_id, const char *name, ImageKind kind, int64_t release_id,
                     const char *actor);
int lite_channel_history(Store *s, const char *product, const char *name, size_t limit,
                         int (*cb)(const ChannelChange *c, void *userdata), void *userdata);
int lite_devices_list(Store *s, const DeviceFilter *f, DeviceCallback cb, void *userdata);
int lite_device_get(Store *s, const char *id, DeviceCallback cb, void *userdata);
int lite_device_checkins(Store *s, const char *id, size_t limit, CheckinCallback cb, void *userdata);
int lite_device_set_pin(Store *s, const char *id, int64_t release_id);
int lite_device_set_channel(Store *s, const char *id, const char *channel);
int lite_device_set_labels(Store *s, const char *id, char *const *labels, size_t n);
int lite_assign(Store *s, int64_t release_id, char *const *ids, size_t n);
int lite_checkins_write(Store *s, Checkin *c, size_t n, const JournalMark *mark);
int lite_journal_mark(Store *s, const char *journal, JournalMark *ret);
int lite_checkins_after(Store *s, int64_t after, size_t limit, CheckinCallback cb, void *userdata);
int64_t lite_checkins_count(Store *s);
int lite_checkins_prune(Store *s, usec_t before, size_t max_rows);
int lite_token_create(Store *s, const char *name, TokenRole role, const char *sha256);
int lite_token_delete(Store *s, const char *name);
int lite_tokens_list(Store *s, int (*cb)(const Token *t, void *userdata), void *userdata);
