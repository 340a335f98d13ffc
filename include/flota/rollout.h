/* SPDX-License-Identifier: MIT */
/*
 * Layer: rollout. The rollout engine: plans a rollout over the inventory, and steps it through
 * flotad's API as ROLLOUTS.md says. The CLI, the cron tick and the dashboard all drive it
 * through these calls; each takes 'now' so tests can move time. State lives in the inventory
 * (rollout-store.h); every step is one transaction, and what flotad holds is reconciled with
 * what the rollout wants on every tick, so a step killed anywhere is repaired by the next.
 *
 * Errors are -errno with a sentence in err (ROLLOUT_ERROR_MAX bytes); nothing is printed.
 */
#pragma once

#include <stdbool.h>
#include <stdio.h>

#include "flota/api-client.h"
#include "flota/api.h"
#include "flota/rollout-store.h"
#include "flota/selection.h"

#define ROLLOUT_ERROR_MAX 512

typedef struct RolloutEngine {
        Store *inventory;
        ApiClient *api;     /* NULL: offline (plan only) */
        const char *server; /* cursor and audit name of the server */
        usec_t now;
        bool dry_run;     /* decide and report, change nothing */
        size_t feed_page; /* check-ins asked per request; 0: 5,000 */
        /* push transports: the password for a device (NULL: none), and the web updater's user */
        const char *(*push_password)(const char *device, const char *host, const char *product,
                                     void *userdata);
        void *push_userdata;
        const char *push_user;
} RolloutEngine;

/* ---- planning ---- */

typedef enum ExcludeReason {
        EXCLUDE_NONE,
        EXCLUDE_WRONG_PRODUCT,
        EXCLUDE_WRONG_PLATFORM,
        EXCLUDE_PINNED,
        EXCLUDE_ON_TARGET,
        EXCLUDE_NO_SPACE,
        _EXCLUDE_MAX,
} ExcludeReason;

const char *exclude_reason_to_string(ExcludeReason r);

typedef struct PlanDevice {
        char id[DEVICE_ID_MAX + 1];
        char *version; /* owned: what it runs now */
        uint64_t hash;
        uint32_t wave;
        ExcludeReason excluded;
        bool online;
} PlanDevice;

typedef struct RolloutPlan {
        PlanDevice *devices; /* eligible in wave then hash order, then the excluded */
        size_t n;
        size_t n_eligible;
        uint64_t targets[ROLLOUT_WAVES_MAX];
        size_t n_waves;
        uint64_t excluded[_EXCLUDE_MAX];
        uint64_t offline; /* eligible devices not seen lately */
} RolloutPlan;

void rollout_plan_done(RolloutPlan *p);

/* The release a rollout moves to, as the rollout keeps it. */
typedef struct RolloutRelease {
        int64_t id;
        char product[PRODUCT_NAME_MAX + 1];
        char platform[16];
        char version[DEVICE_VERSION_MAX + 1];
        char md5[MD5_HEX_LEN + 1];
        uint64_t size;
} RolloutRelease;

/* The release a rollout row moves to. */
RolloutRelease rollout_release_of(const Rollout *r);
/* The same for one of flotad's releases (its payload MD5: what a device runs after it). */
RolloutRelease rollout_release_from(const Release *rel);

/* Why an inventory device may not take the release (EXCLUDE_NONE: it may). */
ExcludeReason rollout_exclusion(const FleetDevice *d, const RolloutRelease *r);

/* What a selection sees of an inventory device: online when announced, or seen within three of its poll
 * intervals. */
SelectDevice fleet_select_view(const FleetDevice *d, usec_t now);

/* Who the spec selects from the inventory, in which wave, and who is excluded and why. */
int rollout_plan_build(Store *inventory, const RolloutSpec *spec, const RolloutRelease *release,
                       const char *rollout, usec_t now, RolloutPlan *ret,
                       char err[static ROLLOUT_ERROR_MAX]);

/* ---- life cycle ---- */

/* Creates a draft: checks the spec and the selection, fetches the release from flotad. */
int rollout_create(RolloutEngine *e, const char *name, const RolloutSpec *spec, Rollout *ret,
                   char err[static ROLLOUT_ERROR_MAX]);

/* Fixes the population and waves and starts offering (the first step runs at once). */
int rollout_start(RolloutEngine *e, const char *name, char err[static ROLLOUT_ERROR_MAX]);

typedef enum RolloutAction {
        ROLLOUT_ACTION_PAUSE,
        ROLLOUT_ACTION_RESUME,
        ROLLOUT_ACTION_APPROVE,
        ROLLOUT_ACTION_ABORT,
        ROLLOUT_ACTION_RETRY_FAILED,
        ROLLOUT_ACTION_ROLLBACK,
        ROLLOUT_ACTION_PROMOTE,
        _ROLLOUT_ACTION_MAX,
} RolloutAction;

const char *rollout_action_to_string(RolloutAction a);

/* An operator's action; reconciles flotad afterwards. -EBUSY (with err) when the state does not allow it. */
int rollout_act(RolloutEngine *e, const char *name, RolloutAction a, char err[static ROLLOUT_ERROR_MAX]);

/* ---- the tick ---- */

typedef struct TickResult {
        uint64_t checkins; /* read from the feed */
        size_t rollouts;   /* rollouts stepped */
        size_t halted;     /* of which halted (now or before) and waiting for a human */
} TickResult;

/*
 * One pass: ingests the feed, then steps every running rollout as far as its gates allow and
 * reconciles flotad. line(rollout, text) is called with one line per rollout (may be NULL).
 */
int rollout_tick(RolloutEngine *e, void (*line)(const Rollout *r, const char *text, void *userdata),
                 void *userdata, TickResult *ret, char err[static ROLLOUT_ERROR_MAX]);

/* One rollout's step (silent devices, late joiners, gate, offers) and reconciliation; r is updated. */
int rollout_step(RolloutEngine *e, Rollout *r, char err[static ROLLOUT_ERROR_MAX]);

/* Follows flotad's check-in feed into the inventory and the active rollouts. ret: check-ins read. */
int rollout_feed_ingest(RolloutEngine *e, uint64_t *ret, char err[static ROLLOUT_ERROR_MAX]);

/* The one-line summary the tick prints ("wave 2/4 running: 41 updated, ..."); buf of 256 bytes. */
int rollout_summary(Store *inventory, const Rollout *r, usec_t now, char buf[static 256]);

/*
 * Whether release may be promoted on product by gate g (ROLLOUTS.md §6): 0 when it passes, 1
 * when a condition holds it (named in why), -errno with err when flotad could not tell.
 */
int rollout_promote_gate(RolloutEngine *e, const char *product, int64_t release, const PromoteGate *g,
                         char why[static 160], char err[static ROLLOUT_ERROR_MAX]);

/*
 * Takes the rollout lock beside the inventory (path + ".lock"), waiting at most wait_sec.
 * Returns the lock's fd, or -EWOULDBLOCK when another process holds it that long.
 */
int rollout_lock(const char *inventory_path, unsigned wait_sec);
