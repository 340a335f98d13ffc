/* SPDX-License-Identifier: MIT */
/*
 * Layer: model. The rules of ROLLOUTS.md as pure functions of their inputs and of 'now': who
 * is in which wave, what a check-in does to a device's state, when a device is silent, whether
 * a wave's gate passes, holds or fails, and when windows and the rate allow offers. The
 * engine (src/rollout) feeds them from the inventory and flotad; nothing here does I/O.
 */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "flota/checkin.h"
#include "flota/rollout-spec.h"

/* Per-device states (ROLLOUTS.md §2). Stored by number: never renumber. */
typedef enum DeviceRolloutState {
        DR_PENDING = 0,
        DR_OFFERED = 1,
        DR_DOWNLOADING = 2,
        DR_UPDATED = 3,
        DR_FAILED = 4,
        DR_SILENT = 5,
        DR_EXCLUDED = 6,
        DR_ROLLED_BACK = 7, /* given its previous release back after the rollout failed */
        _DR_MAX,
        _DR_INVALID = -EINVAL,
} DeviceRolloutState;

const char *device_rollout_state_to_string(DeviceRolloutState s);
DeviceRolloutState device_rollout_state_from_string(const char *s);

/* Rollout states (ROLLOUTS.md, DESIGN.md §1). */
typedef enum RolloutState {
        ROLLOUT_DRAFT,
        ROLLOUT_SCHEDULED,
        ROLLOUT_RUNNING,
        ROLLOUT_PAUSED,
        ROLLOUT_COMPLETED,
        ROLLOUT_HALTED,
        ROLLOUT_ABORTED,
        _ROLLOUT_STATE_MAX,
        _ROLLOUT_STATE_INVALID = -EINVAL,
} RolloutState;

const char *rollout_state_to_string(RolloutState s);
RolloutState rollout_state_from_string(const char *s);
/* Completed, halted and aborted rollouts make no more offers. */
bool rollout_state_is_final(RolloutState s);

/* ---- waves ---- */

/*
 * A stable 64-bit key for ordering devices within a rollout: SipHash-2-4 of the device id,
 * keyed by the rollout's name (so a plan made before the rollout exists shows its real order).
 */
uint64_t rollout_device_hash(const char *rollout, const char *device_id);

/*
 * The cumulative device count each wave reaches over 'eligible' devices: percentages round up,
 * every wave offers at least one more device than the one before while any is left, the last
 * is all. Writes n_waves counts into ret.
 */
void rollout_wave_targets(const RolloutWave *waves, size_t n_waves, uint64_t eligible, uint64_t *ret);

/* The wave (0-based) of the device at 0-based position pos in hash order, given the targets. */
size_t rollout_wave_of(const uint64_t *targets, size_t n_waves, uint64_t pos);

/* ---- a device's state ---- */

/* What a device in a rollout has shown so far; kept per device in the inventory. */
typedef struct DeviceProgress {
        DeviceRolloutState state;
        usec_t offered_at;
        usec_t served_at; /* the first 200 with the target after the offer; 0: none */
        usec_t decided_at;
        usec_t last_seen; /* the newest check-in after the offer */
        uint32_t stuck;   /* polls on the old version after being served */
        uint32_t aborts;  /* update-aborted answers after the offer */
        bool saw_target;  /* reported the target after the offer */
        char reason[64];  /* why failed, excluded or silent */
} DeviceProgress;

/* What the rollout moves devices to. */
typedef struct RolloutTarget {
        int64_t release_id;
        const char *version;
        const char *md5;
        const char *from_version; /* the device's version before (for rollback: what it goes back to) */
        bool rolling_back;        /* the device was given from_version back: watch for that instead */
} RolloutTarget;

/*
 * Applies one check-in of the device (in feed order) to its progress. Check-ins from before
 * the offer's second (check-in times have whole seconds), and devices not yet offered, change
 * nothing. Returns true when p changed.
 */
bool device_progress_observe(DeviceProgress *p, const Checkin *c, const RolloutTarget *t,
                             uint32_t stuck_polls);

/*
 * Another source (an mDNS announcement, a poll log) saw the device run 'version' at 'at':
 * the target after the offer makes it updated, as a check-in would. Returns true when p changed.
 */
bool device_progress_seen(DeviceProgress *p, const char *version, usec_t at, const RolloutTarget *t);

/* A device offered but not heard from for K x its interval is silent. Returns true when p changed. */
bool device_progress_check_silent(DeviceProgress *p, usec_t interval, uint32_t k, usec_t now);

/* A device's usual poll interval from its poll count between two times; 1 h when unknown. */
usec_t poll_interval(uint64_t polls, usec_t first, usec_t last);

/* ---- gates ---- */

typedef struct RolloutCounts {
        uint64_t eligible; /* population minus excluded */
        uint64_t pending;
        uint64_t offered; /* ever offered: everything but pending and excluded */
        uint64_t downloading;
        uint64_t updated;
        uint64_t failed;
        uint64_t silent;
        uint64_t excluded;
        uint64_t rolled_back;
} RolloutCounts;

static inline uint64_t rollout_counts_decided(const RolloutCounts *c) {
        return c->updated + c->failed + c->silent + c->rolled_back;
}

typedef enum GateVerdict {
        GATE_PASS,
        GATE_WAIT, /* not yet: soak, sample or success ratio */
        GATE_FAIL, /* failure or silent ratio over its limit */
} GateVerdict;

typedef struct GateInput {
        RolloutCounts counts;    /* over the rollout so far, all waves */
        bool wave_fully_offered; /* every device of this and earlier waves has been offered */
        bool last_wave;          /* no wave after this one: a pass completes the rollout */
        usec_t wave_last_offer;
} GateInput;

/* The verdict on the current wave, with a sentence for the operator in why (128 bytes). */
GateVerdict rollout_gate(const RolloutSpec *spec, const GateInput *in, usec_t now, char why[static 128]);

/* ---- time ---- */

/* True when 'now' (local time) falls inside one of the windows; no windows: always. */
bool rollout_window_open(const RolloutWindow *w, size_t n, usec_t now);
/* The next time at or after now that a window opens (now itself when open); USEC_INFINITY when none. */
usec_t rollout_window_next(const RolloutWindow *w, size_t n, usec_t now);

/* Offers allowed now under rate (per minute, 0: no limit) given the offers made in the last minute. */
uint64_t rollout_rate_allowance(uint32_t rate, uint64_t offers_last_minute);
/* The rate after 'passed' waves passed with ramp factor f (capped at 1,000,000/min). */
uint32_t rollout_rate_ramped(uint32_t rate, double ramp, size_t passed);

/* ---- gated promotion between channels (ROLLOUTS.md §6) ---- */

#define PROMOTE_CHANNEL_MAX 64

typedef struct PromoteGate {
        char from[PROMOTE_CHANNEL_MAX + 1]; /* the channel the release must have run on */
        usec_t soak;                        /* how long at least */
        uint32_t healthy;                   /* basis points of the devices offered it there that run it */
        uint32_t min;                       /* devices on the channel that report it, at least */
} PromoteGate;

/* "from=beta,soak=7d,healthy=98%,min=20" (from is required; the rest default to 0). 0 or -EINVAL with err.
 */
int promote_gate_parse(const char *s, PromoteGate *ret, char err[static ROLLOUT_SPEC_ERROR_MAX]);

/* What the source channel shows of the release. */
typedef struct PromoteEvidence {
        bool on_channel;  /* the source channel serves the release now */
        usec_t since;     /* since when */
        uint64_t offered; /* devices on the channel that polled since then and could take it */
        uint64_t running; /* of those, the ones that report it */
} PromoteEvidence;

/* GATE_PASS, or GATE_WAIT with the condition that holds it in why (160 bytes). */
GateVerdict promote_gate_check(const PromoteGate *g, const PromoteEvidence *ev, usec_t now,
                               char why[static 160]);
