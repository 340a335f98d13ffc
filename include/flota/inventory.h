/* SPDX-License-Identifier: MIT */
/*
 * Layer: store. flota's own database, the inventory: every device any source has seen (one
 * row per MAC or chip id), the history of the versions each ran, the resume point and the
 * count of every ingest source, and an audit log of what flota did. A Store opened with
 * inventory_open(); the functions below run inside the caller's transaction when there is one.
 */
#pragma once

#include "flota/device-request.h"
#include "flota/store.h"

#define INVENTORY_SCHEMA_VERSION 6

int inventory_open(const char *path, Store **ret);

/* One observation of a device by a source ("flotad", "log:/var/log/nginx/access.log", "mdns"). */
typedef struct Sighting {
        const char *device;  /* canonical MAC or chip id */
        const char *product; /* "" when the source does not say */
        const char *platform;
        const char *version;
        const char *sketch_md5;
        const char *ip;
        usec_t at;    /* when (the last time, for a sighting that sums up several) */
        usec_t first; /* the first time, or 0: the same as at */
        const char *source;
} Sighting;

/* Merges a sighting into its device row; a new version also goes into the history. */
int inventory_record(Store *s, const Sighting *x);

/* The same for many sightings: the statements are prepared once. Use inside a transaction. */
typedef struct InventoryWriter InventoryWriter;
int inventory_writer_new(Store *s, InventoryWriter **ret);
InventoryWriter *inventory_writer_free(InventoryWriter *w);
DEFINE_TRIVIAL_CLEANUP_FUNC(InventoryWriter *, inventory_writer_free);
int inventory_writer_record(InventoryWriter *w, const Sighting *x);
/*
 * The two halves, for callers that track versions themselves: the device row, a history row.
 * Merging a MAC also absorbs a row mDNS made for the MAC's last bytes ("esp8266-1a2b3c").
 * The history records changes in time order whatever order sightings come in: a history row
 * is added only when the device ran another version at x->at, and a later row that repeats
 * x->version then goes (the change happened at x->at). inventory_writer_record() does the same.
 */
int inventory_writer_merge(InventoryWriter *w, const Sighting *x);
int inventory_writer_history(InventoryWriter *w, const Sighting *x);

/*
 * After sightings older than what the inventory holds (a backfilled log): drops the history
 * rows that repeat the version the device ran just before them in time.
 */
int inventory_history_tidy(Store *s);

/* Every device and the version the inventory holds for it ("" when none). */
int inventory_versions(Store *s, int (*cb)(const char *device, const char *version, void *userdata),
                       void *userdata);

/* How far a log file (known by its fingerprint, see log-reader.h) has been read. */
typedef struct LogFileState {
        uint64_t offset; /* content bytes read */
        uint64_t lines;
        uint64_t bad;
        bool complete; /* rotated away and read to its end */
} LogFileState;
/* -ENOENT for a file never read. */
int inventory_log_file(Store *s, const char *fingerprint, LogFileState *ret);
int inventory_log_file_save(Store *s, const char *fingerprint, const char *source, const char *path,
                            const LogFileState *state);

/*
 * Replaces a device's labels (n == 0 clears them). Runs in its own transaction. A device not in
 * the inventory gets its row, never seen (first_seen and last_seen 0, until a sighting), as
 * store_device_set_labels() does on flotad: the same writer (src/store/labels.c).
 */
int inventory_set_labels(Store *s, const char *device, char *const *labels, size_t n);
/* A device's labels joined with ',' ("" when none); *ret is malloc'ed. */
int inventory_labels(Store *s, const char *device, char **ret);

/* What an mDNS announcement says of a device (see mdns-device.h). */
typedef struct MdnsSighting {
        const char *device; /* mdns_device_id(): a MAC, "esp8266-1a2b3c", or a host name */
        const char *name;
        const char *kind; /* "arduino-ota", "esphome", ... */
        const char *host;
        const char *board;
        const char *txt; /* the TXT record as key=value lines */
        const char *ip;
        const char *platform;
        const char *version;
        const char *framework; /* ESPHome's release ("2024.11.0"); "" or NULL when not announced */
        unsigned port;
        usec_t at;
} MdnsSighting;

/*
 * Merges an announcement and marks the device announced. An id of only the MAC's last bytes,
 * exactly "esp8266-" or "tasmota-" and six lowercase hex digits ("esp8266-1a2b3c"), is merged
 * into the one device whose MAC ends in them (1A:2B:3C, compared exactly) when there is exactly
 * one; otherwise it stays a row of its own until that MAC is seen (see inventory_writer_merge()).
 * Any other host name ("lamp-1a2b3c", "a_b_c_-d_e_f_") is a row of its own. ret_id gets the id
 * the row has. Runs in its own transaction.
 */
int inventory_mdns_seen(Store *s, const MdnsSighting *x, char ret_id[static DEVICE_ID_MAX + 1]);
/* A goodbye, or an announcement that expired: the device is no longer announced. */
int inventory_mdns_gone(Store *s, const char *device);

/* What mDNS last said of a device (strings borrowed for the call). */
typedef struct MdnsRecord {
        const char *kind;
        const char *host;
        const char *board;
        const char *txt; /* key=value lines */
        unsigned port;
        bool announced; /* now */
} MdnsRecord;
/* cb with the device's mDNS record; -ENOENT when it never announced itself. */
int inventory_mdns_record(Store *s, const char *device, int (*cb)(const MdnsRecord *m, void *userdata),
                          void *userdata);

/* A source's resume point. -ENOENT when it has none yet; *ret is malloc'ed. */
int inventory_cursor(Store *s, const char *source, char **ret);
/* Sets the resume point and adds n to the source's count of ingested records. */
int inventory_advance(Store *s, const char *source, const char *cursor, uint64_t n);
/* How many records a source has ingested in all. */
int64_t inventory_ingested(Store *s, const char *source);

int inventory_audit(Store *s, const char *action, const char *detail);
/* The audit log, newest first, at most limit entries. */
int inventory_audit_list(Store *s, size_t limit,
                         int (*cb)(usec_t at, const char *action, const char *detail, void *userdata),
                         void *userdata);

typedef struct InventorySummary {
        int64_t devices;
        int64_t online; /* seen since the given time */
        usec_t last_seen;
} InventorySummary;

int inventory_summary(Store *s, usec_t online_since, InventorySummary *ret);

/* Counts devices by "product", "version" or "platform" (anything else: -EINVAL), largest first. */
int inventory_count_by(Store *s, const char *column, int (*cb)(const char *key, int64_t n, void *userdata),
                       void *userdata);

/* A device's versions, newest first: cb(version, at, source). */
int inventory_history(Store *s, const char *device,
                      int (*cb)(const char *version, usec_t at, const char *source, void *userdata),
                      void *userdata);

/* What a push needs to know of a device (inventory_push_target()). */
typedef struct InventoryTarget {
        char id[DEVICE_ID_MAX + 1]; /* the row's id: a MAC, or a host name mDNS gave */
        char product[PRODUCT_NAME_MAX + 1];
        char platform[16];
        char version[VERSION_MAX + 1];
        char ip[IP_STR_MAX];
        char host[DEVICE_ID_MAX + 1]; /* mDNS host name, "" when none */
        char kind[32];                /* mDNS kind ("arduino-ota", ...), "" when none */
        unsigned port;                /* the port mDNS announced, 0 when none */
} InventoryTarget;

/*
 * The one device that key names: its id (a MAC, canonical or not), its mDNS host name (with or
 * without ".local") or name, or its address (a numeric IP). -ENOENT when none does, -ENOTUNIQ
 * when several do.
 */
int inventory_push_target(Store *s, const char *key, InventoryTarget *ret);
