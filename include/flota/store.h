/* SPDX-License-Identifier: MIT */
/*
 * Layer: store. flotad's database: schema migrations, management writes, batched
 * check-ins and the catalog snapshot. A Store is one connection and is not thread-safe:
 * callers serialise access (flotad uses one Store per thread role). Two backends behind
 * one contract: SQLite (a file; the default, and the only one for flota's own inventory)
 * and PostgreSQL (a postgresql:// URL, for several flotad replicas on one database). The
 * SQLite-only calls (store_cache_size, store_open_schema users) never see a server store.
 *
 * Returns: 0 on success, -ENOENT not found, -EEXIST uniqueness conflict, -ENOLINK a
 * reference to a row that does not exist (or a row still referred to), -EINVAL a
 * missing (NOT NULL) or out-of-range (CHECK) value, -EBUSY locked or in use, -ENOSPC
 * disk full, -EBADMSG corrupt database, -EPROTO database newer than this program,
 * -EIO anything else (text in store_last_error()).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "flota/catalog.h"
#include "flota/channel.h"
#include "flota/checkin.h"
#include "flota/device.h"

typedef struct Store Store;

/* The schema version this program writes. */
#define STORE_SCHEMA_VERSION 6

/* Opens (creating and migrating) the SQLite database at path. */
int store_open(const char *path, Store **ret);

/*
 * Opens flotad's database by its address: "postgresql://..." or "postgres://..." (libpq
 * URL) on a PostgreSQL server, where the schema is migrated under an advisory lock; anything
 * else, optionally prefixed "sqlite:", is a SQLite file path. -EPROTO when the schema is
 * newer than this program's, -ECONNREFUSED when the server cannot be reached.
 */
int store_open_url(const char *url, Store **ret);
bool store_url_is_postgresql(const char *url);
/* "sqlite" or "postgresql". */
const char *store_backend_name(Store *s);

/*
 * The catalog's version: it grows with every committed catalog write (products, releases,
 * channels, device pins, channels and assignments) through any connection, so a replica
 * that polls it knows when to reload. Always 0 on SQLite (one server per file). 0 or -errno.
 */
int store_catalog_version(Store *s, int64_t *ret);
/*
 * Waits up to timeout_ms for a hint that the catalog changed (PostgreSQL: a NOTIFY that every
 * catalog write sends; the version stays the truth, a hint only comes sooner). 1 hinted, 0
 * timed out, -EBUSY the connection is down, -EOPNOTSUPP on SQLite.
 */
int store_catalog_wait(Store *s, unsigned timeout_ms);

/* Sets the page cache of this connection to kib KiB (work over a whole large fleet wants more). */
int store_cache_size(Store *s, size_t kib);

/*
 * Tunes a connection used only for batched check-in writes: synchronous=NORMAL (in WAL mode
 * a commit survives a crash of the process, only a power loss can take the last batches)
 * and a larger page cache for the random device-row updates. 0 or -errno.
 */
int store_tune_for_checkins(Store *s);
/*
 * A poll that changes nothing about its device (version, MD5/SHA-256, answer, reason,
 * release, address, free space, mode, product) only updates the device's last_seen and
 * polls counter; a check-in row is still written when the device's last one is older
 * than the heartbeat, and for every 200 answer. 0 writes a row for every poll.
 */
#define STORE_CHECKIN_HEARTBEAT_DEFAULT (15 * 60 * USEC_PER_SEC)
void store_set_checkin_heartbeat(Store *s, usec_t heartbeat);

/* How long a write waits for another writer's lock before -EBUSY (default 10 s). */
void store_set_busy_timeout(Store *s, unsigned ms);

/*
 * Runs SQLite's quick_check over the whole database. 0 when it is sound; -EBADMSG with the
 * first problem reported in *ret_problem (caller frees) when it is corrupt; other -errno.
 */
int store_quick_check(Store *s, char **ret_problem);

Store *store_free(Store *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(Store *, store_free);
/* Text of the last SQLite error on this connection; borrowed until the next call. */
const char *store_last_error(Store *s);
int store_schema_version(Store *s);

int store_begin(Store *s);
int store_commit(Store *s);
void store_rollback(Store *s);
/* Ends the transaction store_begin() opened: commits when r >= 0, else rolls back. Returns the outcome. */
int store_end(Store *s, int r);

/* Loads products, releases, channels and device overrides into a sealed snapshot. */
int store_catalog_load(Store *s, Catalog **ret);

/* key_sha256 may be NULL (devices need no key); platform may be _PLATFORM_INVALID (any). */
int store_product_create(Store *s, const char *name, const char *key_sha256, Platform platform,
                         int64_t *ret_id);

/* Sets (pem) or clears (NULL) the public key the product's releases must be signed for. */
int store_product_set_signing_key(Store *s, int64_t product_id, const char *pem);

/* Inserts r (id and created are set on success). -EEXIST for a duplicate product+kind+version. */
int store_release_insert(Store *s, Release *r);
/* -ENOENT, or -EBUSY with a reason in *reterr_user ("channel stable", "pinned by 3 devices"). */
int store_release_delete(Store *s, int64_t id, const char **reterr_user);
/* True when another release still refers to the content with this SHA-256. */
int store_blob_in_use(Store *s, const char *sha256);

int store_channel_set(Store *s, int64_t product_id, const char *name, ImageKind kind, int64_t release_id,
                      const char *actor);
/* Calls cb for each change, newest first; product/name NULL for all. Borrowed strings. */
int store_channel_history(Store *s, const char *product, const char *name, size_t limit,
                          int (*cb)(const ChannelChange *c, void *userdata), void *userdata);

typedef struct DeviceFilter {
        const char *product;
        const char *version;
        const char *label;
        usec_t seen_since; /* 0: any */
        int64_t assigned;  /* > 0: only the devices assigned this release */
        const char *after; /* paging: ids greater than this */
        size_t limit;
} DeviceFilter;

typedef int (*DeviceCallback)(const Device *d, void *userdata);
typedef int (*CheckinCallback)(const Checkin *c, void *userdata);

/* Lists devices ordered by id. Returns the number of rows passed to cb, or -errno. */
int store_devices_list(Store *s, const DeviceFilter *f, DeviceCallback cb, void *userdata);
int store_device_get(Store *s, const char *id, DeviceCallback cb, void *userdata);
int store_device_checkins(Store *s, const char *id, size_t limit, CheckinCallback cb, void *userdata);

/* Creates the device row when missing. release_id 0 clears. */
int store_device_set_pin(Store *s, const char *id, int64_t release_id);
int store_device_set_channel(Store *s, const char *id, const char *channel);
int store_device_set_labels(Store *s, const char *id, char *const *labels, size_t n);
/* Sets (release_id > 0) or clears (0) the assignment of every listed device, in one transaction. */
int store_assign(Store *s, int64_t release_id, char *const *ids, size_t n);

/*
 * Writes a batch of check-ins and updates their devices, one transaction per
 * STORE_CHECKINS_BATCH_MAX; sets c[i].id.
 */
int store_checkins_write(Store *s, Checkin *c, size_t n);

/* A check-in journal's id: 32 hex digits. */
#define JOURNAL_ID_LEN 32
/* The most check-ins store_checkins_write_marked() takes at once. */
#define STORE_CHECKINS_BATCH_MAX 65536

/*
 * How far into a check-in journal (flotad's checkin-journal.h) the database holds: every
 * record of generation `generation` that ends at or before byte `end`, and every record of
 * an earlier generation.
 */
typedef struct JournalMark {
        char journal[JOURNAL_ID_LEN + 1];
        int64_t generation;
        int64_t end;
} JournalMark;

/*
 * store_checkins_write(), n <= STORE_CHECKINS_BATCH_MAX, that also records mark for its
 * journal in the same transaction: the batch and the mark commit together or not at all.
 */
int store_checkins_write_marked(Store *s, Checkin *c, size_t n, const JournalMark *mark);
/* The mark last recorded for journal (JOURNAL_ID_LEN hex digits): 1, 0 when there is none, or -errno. */
int store_journal_mark(Store *s, const char *journal, JournalMark *ret);
/*
 * Check-ins with id > after, ascending, at most limit. Returns the count or -errno. Ids are
 * the feed's positions: with several writers (PostgreSQL) a row is returned only once every
 * transaction that could still commit a lower id has ended, so a follower that keeps the
 * last id it saw misses nothing and sees nothing twice.
 */
int store_checkins_after(Store *s, int64_t after, size_t limit, CheckinCallback cb, void *userdata);
int64_t store_checkins_count(Store *s);
/* Deletes up to max_rows check-ins older than before, oldest first. Returns the number deleted or -errno. */
int store_checkins_prune(Store *s, usec_t before, size_t max_rows);

typedef enum TokenRole {
        TOKEN_ROLE_READ,
        TOKEN_ROLE_ADMIN,
        _TOKEN_ROLE_MAX,
        _TOKEN_ROLE_INVALID = -EINVAL,
} TokenRole;

const char *token_role_to_string(TokenRole r);
TokenRole token_role_from_string(const char *s);

typedef struct Token {
        int64_t id;
        const char *name;
        TokenRole role;
        const char *sha256;
        usec_t created;
} Token;

int store_token_create(Store *s, const char *name, TokenRole role, const char *sha256);
int store_token_delete(Store *s, const char *name);
int store_tokens_list(Store *s, int (*cb)(const Token *t, void *userdata), void *userdata);
