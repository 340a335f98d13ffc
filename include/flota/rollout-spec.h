/* SPDX-License-Identifier: MIT */
/*
 * Layer: model. What a rollout is asked to do (ROLLOUTS.md): the release, the selection, the
 * waves, the gates between them, the windows and the rate of offers. Built from "key=value"
 * settings (the command line's long options and the INI file use the same keys) and kept in
 * the inventory as the canonical text rollout_spec_format() writes, so a rollout reads back
 * exactly as it was created.
 */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "flota/macro.h"
#include "flota/time-util.h"

#define ROLLOUT_NAME_MAX 64
#define ROLLOUT_WAVES_MAX 32
#define ROLLOUT_WINDOWS_MAX 8
#define ROLLOUT_SPEC_ERROR_MAX 160
/* Ratios are kept in basis points: 9500 is 95 %. */
#define BASIS_POINTS 10000u

typedef struct RolloutWave {
        bool is_percent;
        uint32_t value; /* a device count, or basis points of the eligible population */
} RolloutWave;

/* Local wall-clock minutes [start, end); end <= start spans midnight. days: bit 0 Sunday .. bit 6 Saturday.
 */
typedef struct RolloutWindow {
        uint16_t start;
        uint16_t end;
        uint8_t days;
} RolloutWindow;

typedef enum OnFailure {
        ON_FAILURE_HALT,
        ON_FAILURE_ROLLBACK,
        _ON_FAILURE_MAX,
        _ON_FAILURE_INVALID = -EINVAL,
} OnFailure;

typedef enum ApproveMode {
        APPROVE_NONE,  /* waves follow each other when their gates pass */
        APPROVE_FIRST, /* a human approves the wave after the first, then it runs on */
        APPROVE_EACH,  /* every wave after the first waits for a human */
        _APPROVE_MODE_MAX,
        _APPROVE_MODE_INVALID = -EINVAL,
} ApproveMode;

typedef enum Transport {
        TRANSPORT_PULL,   /* flotad assignments: devices fetch on their next poll */
        TRANSPORT_ESPOTA, /* flota uploads over ArduinoOTA's espota (flota/push.h) */
        TRANSPORT_WEB,    /* flota POSTs to the device's web updater */
        _TRANSPORT_MAX,
        _TRANSPORT_INVALID = -EINVAL,
} Transport;

typedef struct RolloutSpec {
        int64_t release_id; /* 0: not set */
        char *select;       /* selection expression (see selection.h); "" selects all */
        RolloutWave waves[ROLLOUT_WAVES_MAX];
        size_t n_waves; /* the last wave is always 100 % */
        usec_t soak;
        uint32_t min_success; /* basis points */
        uint32_t max_failure;
        uint32_t max_silent;
        uint32_t min_sample;
        RolloutWindow windows[ROLLOUT_WINDOWS_MAX];
        size_t n_windows; /* 0: any time */
        uint32_t rate;    /* offers per minute; 0: no limit */
        double ramp;      /* the rate is multiplied by this after each passed wave; 1: none */
        OnFailure on_failure;
        char *promote; /* channel to point at the release at the end; NULL: none */
        ApproveMode approve;
        Transport transport;
        uint32_t silent_after; /* K: silent after K x the device's poll interval */
        uint32_t stuck_polls;  /* N: failed after N polls still on the old version, or N aborts */
        /* push transports only */
        char *image;        /* the release's image file here (its MD5 is checked); NULL: none */
        uint32_t parallel;  /* pushes at once (default 4) */
        uint32_t push_port; /* the devices' port; 0: announced, else the core's default */
} RolloutSpec;

/* Fills the defaults: waves 1,5%,25%,100%, soak 30m, success 95 %, failure 2 %, silent 5 %, sample 5, K=N=3.
 */
void rollout_spec_init(RolloutSpec *s);
void rollout_spec_done(RolloutSpec *s);

/*
 * Sets one key ("release", "select", "waves", "soak", "min-success", "max-failure",
 * "min-sample", "max-silent", "window" (adds one; "none" clears), "rate", "ramp",
 * "on-failure", "promote", "approve", "transport", "silent-after", "stuck-polls", and for the
 * push transports "image", "parallel", "push-port").
 * 0, or -EINVAL with a sentence in err naming the key and what it accepts; s is unchanged then.
 */
int rollout_spec_set(RolloutSpec *s, const char *key, const char *value,
                     char err[static ROLLOUT_SPEC_ERROR_MAX]);

/* Checks what no single key can: a release is set. 0 or -EINVAL with err. */
int rollout_spec_check(const RolloutSpec *s, char err[static ROLLOUT_SPEC_ERROR_MAX]);

/* The canonical "key=value\n" text; rollout_spec_parse() of it gives the same spec. Owned. */
char *rollout_spec_format(const RolloutSpec *s);
/* Parses "key=value" lines (blank lines and '#'/';' comments allowed). reterr_line on failure. */
int rollout_spec_parse(const char *text, RolloutSpec *ret, char err[static ROLLOUT_SPEC_ERROR_MAX]);

/* The single-value parsers, exported for the tests and the dashboard's form. 0 or -EINVAL. */
int rollout_waves_parse(const char *s, RolloutWave ret[static ROLLOUT_WAVES_MAX], size_t *ret_n);
int ratio_parse(const char *s, uint32_t *ret_basis_points);
int rollout_window_parse(const char *s, RolloutWindow *ret);
int rate_parse(const char *s, uint32_t *ret_per_minute);
/* "95%" / "2.5%" for a ratio in basis points. buf holds 16 bytes. */
char *ratio_format(char buf[static 16], uint32_t basis_points);

const char *on_failure_to_string(OnFailure f);
OnFailure on_failure_from_string(const char *s);
const char *approve_mode_to_string(ApproveMode m);
ApproveMode approve_mode_from_string(const char *s);
const char *transport_to_string(Transport t);
Transport transport_from_string(const char *s);

/* A rollout's name: 1..64 bytes of [A-Za-z0-9._-], not starting with '-'. */
bool rollout_name_is_valid(const char *s);
