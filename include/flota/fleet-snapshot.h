/* SPDX-License-Identifier: MIT */
/*
 * Layer: rollout. One snapshot of the inventory (every device with its rollout target and
 * state, per-product version counts, the rollouts with per-wave counts, recent events), and
 * the fleet table over it. Two renderers show the same rows: the dashboard's Fleet view
 * (built off its UI thread, then owned by the UI) and `flota devices`. Sorting and filtering
 * work on an index over the rows, so the rows themselves never move.
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

/*
 * The fleet table's columns: id, header, name (for --sort and JSON), the dashboard's width
 * (room for the sort arrow) and drop order when narrow (0: never; 1 goes first).
 */
#define FLEET_COLUMNS(X)                          \
        X(ID, "ID", "id", 17, 0)                  \
        X(NAME, "NAME", "name", 14, 2)            \
        X(PRODUCT, "PRODUCT", "product", 10, 0)   \
        X(PLATFORM, "PLATFORM", "platform", 9, 6) \
        X(VERSION, "VERSION", "version", 12, 0)   \
        X(TARGET, "TARGET", "target", 10, 5)      \
        X(STATE, "STATE", "state", 11, 0)         \
        X(SOURCES, "SOURCES", "sources", 9, 4)    \
        X(ONLINE, "ONLINE", "online", 6, 1)       \
        X(SEEN, "LAST SEEN", "last-seen", 10, 0)  \
        X(LABELS, "LABELS", "labels", 16, 3)

typedef enum FleetColumn {
#define X(id, title, name, width, drop) FLEET_COL_##id,
        /* clang-format off */
        FLEET_COLUMNS(X)
#undef X
        _FLEET_COL_MAX,
        /* clang-format on */
} FleetColumn;

const char *fleet_column_title(FleetColumn c);
/* A column by its name ("last-seen"), or -EINVAL. */
int fleet_column_from_name(const char *name);
const char *fleet_column_name(FleetColumn c);

/* The sources that saw a device. */
typedef enum FleetSource {
        FLEET_SOURCE_POLL = 1 << 0, /* polled flotad (its check-in feed) */
        FLEET_SOURCE_LOG = 1 << 1,  /* in a poll log */
        FLEET_SOURCE_MDNS = 1 << 2, /* announced by mDNS, now or before */
} FleetSource;

typedef struct FleetRow {
        char *id;   /* owned, raw (escape before drawing) */
        char *name; /* the announced name, else the mDNS host name, else "" */
        char *ip;
        char *product;
        char *platform;
        char *version;
        char *labels;
        const char *target;    /* borrowed from the snapshot's rollouts; NULL: none */
        const char *rollout;   /* the name of that rollout; NULL: none */
        int state;             /* DeviceRolloutState in an active rollout, or -1 */
        uint32_t version_rank; /* the version's place among the snapshot's, by version_compare() */
        uint32_t target_rank;  /* the same for the target ("" when none) */
        usec_t last_seen;
        uint64_t polls;
        unsigned sources; /* FleetSource bits */
        bool announced;
        bool pinned;
        bool online;
        bool marked; /* the UI's; carried from one snapshot to the next */
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
        char *what; /* "rollout r1 wave 2: offered" or "audit promote" */
        char *detail;
} EventRow;

/* Keeps the newest max of n rows (oldest first), freeing the others. */
void event_rows_keep_newest(EventRow *rows, size_t *n, size_t max);

typedef struct Snapshot {
        usec_t taken;   /* realtime */
        FleetRow *rows; /* in id order */
        size_t n_rows;
        uint64_t online;
        ProductMeter *products; /* largest first */
        size_t n_products;
        RolloutInfo *rollouts; /* oldest first */
        size_t n_rollouts;
        EventRow *events; /* oldest first */
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
 * into s->rows, sorted by column, descending when reverse (ties by id, ascending either way). *ret_idx is
 * owned. -EINVAL with a sentence in err for a bad expression (ret_* untouched).
 */
int fleet_view_build(const Snapshot *s, const char *expr, usec_t now, FleetColumn sort, bool reverse,
                     size_t **ret_idx, size_t *ret_n, char err[static SELECTION_ERROR_MAX]);
/* Sorts an index over s->rows in place. */
void fleet_sort(const Snapshot *s, size_t *idx, size_t n, FleetColumn sort, bool reverse);

/* Sources of a row as text ("poll log mdns"), into buf of 32 bytes. */
const char *fleet_row_sources(const FleetRow *r, char buf[static 32]);

/*
 * A cell of the table as text: raw outside text for the string columns (escape it before it
 * reaches a terminal), formatted values for the others (the age for LAST SEEN); dash stands
 * for a missing value. buf is 32 bytes for formatted values.
 */
const char *fleet_cell(const FleetRow *r, FleetColumn c, usec_t now, const char *dash, char buf[static 32]);

/* An age as "42s", "5m", "3h", "2d"; "-" for never (t == 0). */
const char *fleet_format_age(char buf[static 32], usec_t now, usec_t t);
