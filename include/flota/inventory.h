/* SPDX-License-Identifier: MIT */
/*
 * Layer: store. flota's own database, the inventory: every device any source has seen (one
 * row per MAC or chip id), the history of the versions each ran, the resume point and the
 * count of every ingest source, and an audit log of what flota did. A Store opened with
 * inventory_open(); the functions below run inside the caller's transaction when there is one.
 */
#pragma once

#include "flota/store.h"

#define INVENTORY_SCHEMA_VERSION 1

int inventory_open(const char *path, Store **ret);

/* One observation of a device by a source ("flotad", "log:/var/log/nginx/access.log", "mdns"). */
typedef struct Sighting {
        const char *device;           /* canonical MAC or chip id */
        const char *product;          /* "" when the source does not say */
        const char *platform;
        const char *version;
        const char *sketch_md5;
        const char *ip;
        usec_t at;
        const char *source;
} Sighting;

/* Merges a sighting into its device row; a new version also goes into the history. */
int inventory_record(Store *s, const Sighting *x);

/* A source's resume point. -ENOENT when it has none yet; *ret is malloc'ed. */
int inventory_cursor(Store *s, const char *source, char **ret);
/* Sets the resume point and adds n to the source's count of ingested records. */
int inventory_advance(Store *s, const char *source, const char *cursor, uint64_t n);
/* How many records a source has ingested in all. */
int64_t inventory_ingested(Store *s, const char *source);

int inventory_audit(Store *s, const char *action, const char *detail);

typedef struct InventorySummary {
        int64_t devices;
        int64_t online;               /* seen since the given time */
        usec_t last_seen;
} InventorySummary;

int inventory_summary(Store *s, usec_t online_since, InventorySummary *ret);

/* Counts devices by "product", "version" or "platform" (anything else: -EINVAL), largest first. */
int inventory_count_by(Store *s, const char *column, int (*cb)(const char *key, int64_t n, void *userdata),
                       void *userdata);

/* A device's versions, newest first: cb(version, at, source). */
int inventory_history(Store *s, const char *device, int (*cb)(const char *version, usec_t at, const char *source,
                                                               void *userdata),
                      void *userdata);
