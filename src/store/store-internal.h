/* SPDX-License-Identifier: MIT */
/* Private to src/store: the connection, statement helpers and error mapping. */
#pragma once

#include <sqlite3.h>

#include "flota/store.h"

struct Store {
        sqlite3 *db;
        sqlite3_stmt *insert_checkin;
        sqlite3_stmt *upsert_device;
        sqlite3_stmt *last_checkin;
        sqlite3_stmt *touch_device;
        usec_t checkin_heartbeat;     /* store_set_checkin_heartbeat() */
};

DEFINE_TRIVIAL_CLEANUP_FUNC(sqlite3_stmt *, sqlite3_finalize);
#define _cleanup_stmt_ _cleanup_(sqlite3_finalizep)

/* Maps a SQLite result code to -errno. */
int store_errno(int rc);

/* Prepares sql; refuses trailing SQL after the first statement. 0 or -errno. */
int store_prepare(Store *s, const char *sql, sqlite3_stmt **ret);

/* Runs sql (one text parameter, key) and copies the first column of its first row into *ret. -ENOENT: no row. */
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
