/* SPDX-License-Identifier: MIT */
/*
 * Layer: store. Rollouts in the inventory database: the rollout rows, each device's place and
 * progress in a rollout, the rollout's events, and what flotad's feed says of each device's
 * polls. The engine (src/rollout) decides; these functions only read and write, inside the
 * caller's transaction when there is one.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "flota/inventory.h"
#include "flota/rollout-rules.h"
#include "flota/store.h"

#define ROLLOUT_HOLD_MAX 128

typedef struct Rollout {
        int64_t id;
        char name[ROLLOUT_NAME_MAX + 1];
        char *server;    /* owned: the flotad the rollout works through */
        char *spec_text; /* owned: rollout_spec_format() text */
        int64_t release_id;
        char product[PRODUCT_NAME_MAX + 1];
        char platform[16];
        char version[DEVICE_VERSION_MAX + 1];
        char md5[MD5_HEX_LEN + 1];
        uint64_t size;
        RolloutState state;
        uint32_t wave;                        /* the current wave, 0-based */
        uint32_t approved;                    /* waves up to this index may start without a human */
        uint32_t passed;                      /* waves whose gate passed (for the rate's ramp) */
        char targets[ROLLOUT_WAVES_MAX * 21]; /* the cumulative counts fixed at start, "1,3,10,40" */
        char hold[ROLLOUT_HOLD_MAX];          /* why it waits or stopped */
        usec_t last_offer;                    /* the newest offer (the soak counts from it) */
        usec_t created;
        usec_t started;
        usec_t updated;
        size_t step_offers; /* not stored: offers the last step made (or would make, dry) */
} Rollout;

void rollout_done(Rollout *r);

/* Inserts r (r->id is set). -EEXIST when the name is taken. */
int rollout_insert(Store *s, Rollout *r);
/* -ENOENT when there is no rollout of that name. */
int rollout_get(Store *s, const char *name, Rollout *ret);
/* Writes the mutable fields: state, wave, approved, passed, targets, hold, last_offer, started, updated. */
int rollout_save(Store *s, const Rollout *r);
/* Every rollout, oldest first; cb's Rollout is borrowed for the call. */
int rollout_list(Store *s, int (*cb)(const Rollout *r, void *userdata), void *userdata);
int rollout_delete(Store *s, int64_t id);

/* One device's row in a rollout. */
typedef struct RolloutDevice {
        char device_id[DEVICE_ID_MAX + 1];
        uint64_t hash;
        uint32_t wave;
        char from_version[DEVICE_VERSION_MAX + 1];
        int64_t from_release;
        DeviceProgress p;
} RolloutDevice;

/* A device joining a rollout: strings are borrowed. */
typedef struct RolloutMember {
        const char *device_id;
        uint64_t hash;
        uint32_t wave;
        DeviceRolloutState state; /* DR_PENDING, or DR_EXCLUDED with a reason */
        const char *reason;
        const char *from_version;
} RolloutMember;

/* Adds devices to a rollout (existing rows are left as they are); fastest in device id order. */
int rollout_devices_add(Store *s, int64_t rollout_id, const RolloutMember *m, size_t n);
/* Writes a device's progress (state, times, counters, reason, from_release). */
int rollout_device_save(Store *s, int64_t rollout_id, const RolloutDevice *d);
/* -ENOENT when the device is not in the rollout. */
int rollout_device_get(Store *s, int64_t rollout_id, const char *device_id, RolloutDevice *ret);
/*
 * The devices of a rollout that may want an assignment (offered or later, or rolling back), in
 * id order: the pending and excluded, most of a large rollout early on, are not read.
 */
int rollout_devices_holding(Store *s, int64_t rollout_id, int (*cb)(const RolloutDevice *d, void *userdata),
                            void *userdata);
/* Sets member[i] to whether ids[i] is a device of the rollout. */
int rollout_members(Store *s, int64_t rollout_id, const char *const *ids, size_t n, bool *member);
/* Devices of a rollout in the given state (any: _DR_INVALID), wave <= max_wave, in hash order, at most
 * limit. */
int rollout_devices_each(Store *s, int64_t rollout_id, DeviceRolloutState state, uint32_t max_wave,
                         size_t limit, int (*cb)(const RolloutDevice *d, void *userdata), void *userdata);
/*
 * Offers the next pending devices of waves <= max_wave, in wave then hash order, at most limit:
 * they become offered at 'at'. Returns how many, or -errno.
 */
int64_t rollout_offer_next(Store *s, int64_t rollout_id, uint32_t max_wave, uint64_t limit, usec_t at);
/* How many devices of the rollout have a hash below h (a late joiner's place in the order). */
int64_t rollout_devices_before(Store *s, int64_t rollout_id, uint64_t hash);

/* Counts over the whole rollout, and per wave when per_wave is not NULL (n_waves entries). */
int rollout_count(Store *s, int64_t rollout_id, RolloutCounts *ret, RolloutCounts *per_wave, size_t n_waves);
/* Offers made at or after since. */
int64_t rollout_offers_since(Store *s, int64_t rollout_id, usec_t since);
/* Whether a device of a wave <= wave is still pending (not yet offered). */
int rollout_wave_pending(Store *s, int64_t rollout_id, uint32_t wave, bool *ret_pending);

/* The rollouts (id) a device is in whose state is running, paused or halted: for the feed. */
typedef struct RolloutLookup RolloutLookup;
int rollout_lookup_new(Store *s, RolloutLookup **ret);
RolloutLookup *rollout_lookup_free(RolloutLookup *l);
DEFINE_TRIVIAL_CLEANUP_FUNC(RolloutLookup *, rollout_lookup_free);
/* Calls cb for each active rollout the device is in, with its row; cb may change *d and return 1 to save it.
 */
int rollout_lookup_device(RolloutLookup *l, const char *device_id,
                          int (*cb)(int64_t rollout_id, RolloutDevice *d, void *userdata), void *userdata);

int rollout_event(Store *s, int64_t rollout_id, usec_t at, uint32_t wave, const char *event,
                  const char *detail);
/* Events newest first, at most limit. */
int rollout_events_list(Store *s, int64_t rollout_id, size_t limit,
                        int (*cb)(usec_t at, uint32_t wave, const char *event, const char *detail,
                                  void *userdata),
                        void *userdata);

/* ---- the inventory's devices as rollouts see them ---- */

typedef struct FleetDevice {
        const char *id;
        const char *product;
        const char *platform;
        const char *version;
        const char *sketch_md5;
        const char *labels; /* comma-separated */
        usec_t last_seen;
        bool announced;
        bool pinned;        /* flotad's last check-in answered from a pin */
        int64_t free_space; /* -1: unknown */
        uint64_t polls;
        usec_t first_poll;
        usec_t last_poll;
        const char *name;    /* the name mDNS announced ("" when none) */
        const char *host;    /* the mDNS host name ("" when none) */
        const char *ip;      /* the last address any source saw */
        const char *sources; /* the sources that saw it, comma-separated ("flotad,log:PATH,mdns") */
} FleetDevice;

/* Every inventory device (borrowed for the call), in id order. */
int fleet_devices_each(Store *s, int (*cb)(const FleetDevice *d, void *userdata), void *userdata);
/* The devices any source saw at or after since that are not (yet) in the rollout, in id order. */
int fleet_devices_outside(Store *s, int64_t rollout_id, usec_t since,
                          int (*cb)(const FleetDevice *d, void *userdata), void *userdata);
/* The rollout's excluded devices that a source saw at or after since, in id order. */
int fleet_devices_excluded(Store *s, int64_t rollout_id, usec_t since,
                           int (*cb)(const FleetDevice *d, void *userdata), void *userdata);
/* How many of the rollout's devices are excluded for reason (its text, as the plan wrote it). */
int64_t rollout_devices_excluded_for(Store *s, int64_t rollout_id, const char *reason);
/* Takes an excluded device back into the rollout: pending in wave, moving from from_version. */
int rollout_device_readmit(Store *s, int64_t rollout_id, const char *device_id, uint32_t wave,
                           const char *from_version);
/* One device; -ENOENT when unknown. */
int fleet_device_get(Store *s, const char *id, int (*cb)(const FleetDevice *d, void *userdata),
                     void *userdata);

/* What one of flotad's check-ins says of the device's polls: counts it and keeps free space and pin. */
typedef struct PollWriter PollWriter;
int poll_writer_new(Store *s, PollWriter **ret);
PollWriter *poll_writer_free(PollWriter *w);
DEFINE_TRIVIAL_CLEANUP_FUNC(PollWriter *, poll_writer_free);
int poll_writer_record(PollWriter *w, const char *device_id, usec_t at, int64_t free_space, bool pinned);
/* A filesystem-mode poll: the filesystem image's version, kept apart from the sketch's. */
int poll_writer_filesystem(PollWriter *w, const char *device_id, const char *version);
/* Sets a device's poll count and times from flotad's own record of it (exact when the feed skips polls). */
int fleet_device_set_polls(Store *s, const char *device_id, uint64_t polls, usec_t first, usec_t last);

/* What the inventory knows of a device in a rollout, from every source (feed, logs, mDNS). */
typedef struct DeviceFacts {
        usec_t interval;     /* poll_interval() of its polls */
        const char *version; /* the version the inventory holds */
        usec_t last_seen;    /* by any source */
} DeviceFacts;

/*
 * The rollout's devices still waiting for a verdict or open to a late success (offered,
 * downloading, failed, silent) with what the inventory knows of each: the candidates for
 * silent, and for an update another source saw (an mDNS re-announce with the new version).
 */
int rollout_devices_waiting(Store *s, int64_t rollout_id,
                            int (*cb)(const RolloutDevice *d, const DeviceFacts *f, void *userdata),
                            void *userdata);
