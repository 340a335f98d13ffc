/* SPDX-License-Identifier: MIT */
/*
 * The dashboard's model: one snapshot of the inventory (every device with its rollout target
 * and state, per-product version counts, the rollouts with per-wave counts, recent events),
 * built off the UI thread and then owned by the UI. Sorting and filtering work on an index
 * over the rows, so the rows themselves never move. No curses here: unit-testable.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "flota/rollout-store.h"
#include "flota/selection.h"
#include "flota/time-util.h"

/* A device is online when seen within this long, or announced by mDNS (as flota status counts). */
#define SNAPSHOT_ONLINE_WINDOW (10 * 60 * USEC_PER_SEC)
#define SNAPSHOT_EVENTS_MAX 500
#define SNAPSHOT_TOP_VERSIONS 3

/* The Fleet table's columns: id, header, width (room for the sort arrow), drop order when narrow (0: never). */
#define FLEET_COLUMNS(X)                                    \
        X(ID, "ID", 17, 0)                                  \
        X(PRODUCT, "PRODUCT", 10, 0)                        \
        X(PLATFORM, "PLATFORM", 9, 4)                       \
        X(VERSION, "VERSION", 12, 0)                        \
        X(TARGET, "TARGET", 10, 3)                          \
        X(STATE, "STATE", 11, 0)                            \
        X(SOURCES, "SOURCES", 9, 2)                         \
        X(SEEN, "LAST SEEN", 10, 0)                         \
        X(LABELS, "LABELS", 16, 1)

typedef enum FleetColumn {
#define X(id, title, width, drop) FLEET_COL_##id,
        FLEET_COLUMNS(X)
#undef X
        _FLEET_COL_MAX,
} FleetColumn;

const char *fleet_column_title(FleetColumn c);

typedef struct FleetRow {
        char *id;                       /* owned, raw (escape before drawing) */
        char *product;
        char *platform;
        char *version;
        char *labels;
        const char *target;             /* borrowed from the snapshot's rollouts; NULL: none */
        int state;                      /* DeviceRolloutState in an active rollout, or -1 */
        uint32_t version_rank;          /* the version's place among the snapshot's, by version_compare() */
        uint32_t target_rank;           /* the same for the target ("" when none) */
        usec_t last_seen;
        uint64_t polls;
        bool announced;
        bool pinned;
        bool online;
        bool marked;                    /* the UI's; carried from one snapshot to the next */
} FleetRow;

typedef struct VersionCount {
        char *version;
        uint64_t n;
} VersionCount;

typedef struct ProductMeter {
        char *product;
        uint64_t total;
        VersionCount top[SNAPSHOT_TOP_VERSIONS]; /* the most common versions, largest first */
        size_t n_top;
        uint64_t other;
} ProductMeter;

typedef struct RolloutInfo {
        char name[ROLLOUT_NAME_MAX + 1];
        char product[PRODUCT_NAME_MAX + 1];
        char version[DEVICE_VERSION_MAX + 1];
        RolloutState state;
        uint32_t wave;
        size_t n_waves;
        uint64_t targets[ROLLOUT_WAVES_MAX];
        RolloutCounts total;
        RolloutCounts per_wave[ROLLOUT_WAVES_MAX];
        char hold[ROLLOUT_HOLD_MAX];
        usec_t updated;
} RolloutInfo;

typedef struct EventRow {
        usec_t at;
        char *what;                     /* "rollout r1 wave 2: offered" or "audit promote" */
        char *detail;
} EventRow;

typedef struct Snapshot {
        usec_t taken;                   /* realtime */
        FleetRow *rows;                 /* in id order */
        size_t n_rows;
        uint64_t online;
        ProductMeter *products;         /* largest first */
        size_t n_products;
        RolloutInfo *rollouts;          /* oldest first */
        size_t n_rollouts;
        EventRow *events;               /* oldest first */
        size_t n_events;
} Snapshot;

/* Reads the inventory into a new snapshot. 0 or -errno (from the store). */
int snapshot_build(Store *s, usec_t now, Snapshot **ret);
Snapshot *snapshot_free(Snapshot *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(Snapshot *, snapshot_free);

/* Copies the marks of old's rows onto the rows of s with the same id. */
void snapshot_carry_marks(Snapshot *s, const Snapshot *old);
/* The row of a device, or NULL. */
FleetRow *snapshot_find(const Snapshot *s, const char *id);
/* Whether a rollout is active (running, scheduled, paused or halted). */
bool rollout_info_is_active(const RolloutInfo *r);

/*
 * The rows of s matching expr (selection.h syntax; NULL or "" matches every row) as an index
 * into s->rows, sorted by column (ties by id), descending when reverse. *ret_idx is owned.
 * -EINVAL with a sentence in err for a bad expression (ret_* untouched).
 */
int fleet_view_build(const Snapshot *s, const char *expr, usec_t now, FleetColumn sort, bool reverse,
                     size_t **ret_idx, size_t *ret_n, char err[static SELECTION_ERROR_MAX]);
/* Sorts an index over s->rows in place. */
void fleet_sort(const Snapshot *s, size_t *idx, size_t n, FleetColumn sort, bool reverse);

/* Sources of a row as text ("poll mdns"), into buf of 32 bytes. */
const char *fleet_row_sources(const FleetRow *r, char buf[static 32]);
