/* SPDX-License-Identifier: MIT */
/* Private to src/rollout: reconciling flotad's assignments with a rollout's wishes, and shared helpers. */
#pragma once

#include "flota/rollout.h"

/* The devices flotad holds assigned a release, sorted by id. */
typedef struct AssignedSet {
        AssignedDevice *items;
        size_t n, allocated;
} AssignedSet;

int assigned_fetch(ApiClient *api, int64_t release, AssignedSet *ret, char err[static ROLLOUT_ERROR_MAX]);
const AssignedDevice *assigned_find(const AssignedSet *s, const char *id);
void assigned_set_done(AssignedSet *s);

typedef struct ReconcileResult {
        size_t added;
        size_t removed;
} ReconcileResult;

/*
 * Makes flotad hold exactly the assignments the rollout wants for its devices: its release
 * (held: what flotad holds of it, when the caller read it already; NULL: read here), and the
 * releases devices roll back to. Devices outside the rollout are never touched. With
 * e->dry_run only counts. 0 or -errno with err.
 */
int rollout_reconcile(RolloutEngine *e, const Rollout *r, const AssignedSet *held, ReconcileResult *ret,
                      char err[static ROLLOUT_ERROR_MAX]);

/* The rollout's settings back from their stored text. */
int rollout_load_spec(const Rollout *r, RolloutSpec *ret, char err[static ROLLOUT_ERROR_MAX]);

/* The wave targets kept on the rollout ("1,3,10"). Returns how many. */
size_t rollout_targets_parse(const char *text, uint64_t ret[static ROLLOUT_WAVES_MAX]);
void rollout_targets_format(const uint64_t *targets, size_t n, char *buf, size_t size);

/* Records an event on the rollout and the same in the audit log. */
int rollout_note(RolloutEngine *e, const Rollout *r, const char *event, const char *fmt, ...) _printf_(4, 5);

/*
 * Push transports (push-wave.c): sends the release's image to the rollout's offered devices not
 * yet pushed; failed pushes make the devices failed, OKs mark them served. Nothing with
 * e->dry_run or the pull transport. 0 or -errno with err.
 */
int rollout_push_offered(RolloutEngine *e, const Rollout *r, const RolloutSpec *spec,
                         char err[static ROLLOUT_ERROR_MAX]);

/* The actions that talk to flotad before they are recorded: rollback and promote. */
int rollout_act_remote(RolloutEngine *e, Rollout *r, RolloutAction a, char err[static ROLLOUT_ERROR_MAX]);
