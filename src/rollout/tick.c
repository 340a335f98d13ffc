/* SPDX-License-Identifier: MIT */
/*
 * The tick (ROLLOUTS.md §5): for each running rollout, silent devices, late joiners, the gate,
 * the offers of the current wave under window and rate, in one transaction; then flotad's
 * assignments are reconciled with what the rollout wants, and one line says where it stands.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "flota/alloc.h"
#include "flota/selection.h"
#include "flota/strutil.h"
#include "reconcile.h"

/* ---- silent devices ---- */

typedef struct Waiting {
        RolloutDevice *items; /* the devices whose progress changed */
        size_t n, allocated;
        uint32_t k;
        usec_t now;
        const Rollout *r;
        const AssignedSet *held; /* flotad's record of the devices it holds the release for */
} Waiting;

static void keep(Waiting *w, const RolloutDevice *d) {
        w->items = xgrow(w->items, &w->allocated, w->n + 1, sizeof(RolloutDevice));
        w->items[w->n++] = *d;
}

/*
 * Another source saw the device on the target: updated. Otherwise flotad's own record of
 * it (exact even when its feed skips polls that change nothing) says when it last polled
 * and how often it polls; without one, what the inventory learned from the feed.
 */
static int check_waiting(const RolloutDevice *d, const DeviceFacts *f, void *userdata) {
        Waiting *w = userdata;
        RolloutDevice x = *d;
        RolloutTarget t = { .release_id = w->r->release_id,
                            .version = w->r->version,
                            .md5 = w->r->md5,
                            .rolling_back = d->from_release > 0 };
        usec_t interval = f->interval;

        if (device_progress_seen(&x.p, f->version, f->last_seen, &t)) {
                keep(w, &x);
                return 0;
        }
        const AssignedDevice *a = assigned_find(w->held, d->device_id);
        if (a) {
                if (a->polls >= 2)
                        interval = poll_interval(a->polls, a->first_seen, a->last_seen);
                if (a->last_seen > x.p.last_seen && a->last_seen + USEC_PER_SEC > x.p.offered_at)
                        x.p.last_seen = a->last_seen;
        }
        bool silent = device_progress_check_silent(&x.p, interval, w->k, w->now);
        if (silent || x.p.last_seen != d->p.last_seen)
                keep(w, &x);
        return 0;
}

static int mark_silent(RolloutEngine *e, const Rollout *r, const RolloutSpec *spec,
                       const AssignedSet *held) {
        Waiting w = { .k = spec->silent_after, .now = e->now, .r = r, .held = held };
        int q = rollout_devices_waiting(e->inventory, r->id, check_waiting, &w);

        /* written after the read: the rows are not changed under a running query */
        for (size_t i = 0; q >= 0 && !e->dry_run && i < w.n; i++)
                q = rollout_device_save(e->inventory, r->id, &w.items[i]);
        free(w.items);
        return q < 0 ? q : 0;
}

/* ---- late joiners ---- */

typedef struct Joiners {
        RolloutEngine *e;
        const Rollout *r;
        RolloutRelease release;
        const Selection *sel;
        const uint64_t *targets;
        size_t n_waves;
        size_t joined;
} Joiners;

/* A device seen lately that is not in the rollout joins it when it matches and may take the release. */
static int maybe_join(const FleetDevice *d, void *userdata) {
        Joiners *j = userdata;
        SelectDevice sd = fleet_select_view(d, j->e->now);

        if (rollout_exclusion(d, &j->release) != EXCLUDE_NONE || !selection_matches(j->sel, &sd))
                return 0;
        RolloutMember m = { .device_id = d->id,
                            .hash = rollout_device_hash(j->r->name, d->id),
                            .from_version = d->version };
        int64_t before = rollout_devices_before(j->e->inventory, j->r->id, m.hash);
        m.wave = (uint32_t) rollout_wave_of(j->targets, j->n_waves, before < 0 ? 0 : (uint64_t) before);
        int k = rollout_devices_add(j->e->inventory, j->r->id, &m, 1);
        if (k < 0)
                return k;
        j->joined++;
        return 0;
}

/*
 * An excluded device whose reason went away (unpinned, its version dropped back, room freed)
 * joins as a late joiner would, in the wave its hash puts it in.
 */
static int maybe_readmit(const FleetDevice *d, void *userdata) {
        Joiners *j = userdata;
        SelectDevice sd = fleet_select_view(d, j->e->now);

        if (rollout_exclusion(d, &j->release) != EXCLUDE_NONE || !selection_matches(j->sel, &sd))
                return 0;
        uint64_t hash = rollout_device_hash(j->r->name, d->id);
        int64_t before = rollout_devices_before(j->e->inventory, j->r->id, hash);
        uint32_t wave =
                (uint32_t) rollout_wave_of(j->targets, j->n_waves, before < 0 ? 0 : (uint64_t) before);
        int k = rollout_device_readmit(j->e->inventory, j->r->id, d->id, wave, d->version);
        if (k < 0)
                return k;
        j->joined++;
        return 0;
}

static int add_late_joiners(RolloutEngine *e, const Rollout *r, const RolloutSpec *spec, size_t *ret_n) {
        _cleanup_(selection_freep) Selection *sel = NULL;
        char msg[SELECTION_ERROR_MAX];
        uint64_t targets[ROLLOUT_WAVES_MAX];
        size_t n = rollout_targets_parse(r->targets, targets);

        if (selection_parse(spec->select, e->now, &sel, msg) < 0 || n == 0)
                return -EINVAL;
        Joiners j = { .e = e,
                      .r = r,
                      .release = rollout_release_of(r),
                      .sel = sel,
                      .targets = targets,
                      .n_waves = n };
        /* a device joins when a source sees it: look at those seen since the last step (with
         * ten minutes' slack for clocks that differ), not at the whole fleet every tick */
        usec_t slack = 10 * 60 * USEC_PER_SEC, since = r->updated > slack ? r->updated - slack : 0;
        int k = fleet_devices_outside(e->inventory, r->id, since, maybe_join, &j);
        if (k >= 0)
                k = fleet_devices_excluded(e->inventory, r->id, since, maybe_readmit, &j);
        *ret_n = j.joined;
        return k;
}

/* ---- gate and waves ---- */

static int resolve_rollback(RolloutEngine *e, Rollout *r, size_t *ret_n, size_t *ret_missing);

static int fail_rollout(RolloutEngine *e, Rollout *r, const RolloutSpec *spec, const char *why) {
        size_t n = 0, missing = 0;

        r->state = ROLLOUT_HALTED;
        if (spec->on_failure == ON_FAILURE_ROLLBACK) {
                int k = resolve_rollback(e, r, &n, &missing);
                if (k < 0)
                        return k;
                snprintf(r->hold, sizeof(r->hold), "rolled back %zu devices: %s", n, why);
                if (missing > 0)
                        (void) rollout_note(
                                e, r, "rollback-missing",
                                "%zu devices ran a version flotad has no release for; they keep %s", missing,
                                r->version);
        } else
                snprintf(r->hold, sizeof(r->hold), "halted: %s", why);
        return rollout_note(e, r, spec->on_failure == ON_FAILURE_ROLLBACK ? "rolled-back" : "halted",
                            "wave %u: %s", r->wave + 1, why);
}

/*
 * Whether a completed rollout's release may be promoted: some device runs it, updated by the
 * rollout or already on it. A rollout that reached nobody (an empty selection, a fleet not
 * yet known) promotes nothing: that would send the release to a channel no device vouched for.
 */
static bool release_ran_somewhere(RolloutEngine *e, const Rollout *r) {
        RolloutCounts c;

        if (rollout_count(e->inventory, r->id, &c, NULL, 0) < 0)
                return false;
        return c.updated > 0 ||
               rollout_devices_excluded_for(e->inventory, r->id,
                                            exclude_reason_to_string(EXCLUDE_ON_TARGET)) > 0;
}

static int complete_rollout(RolloutEngine *e, Rollout *r, const RolloutSpec *spec,
                            char err[static ROLLOUT_ERROR_MAX]) {
        bool promote = spec->promote && release_ran_somewhere(e, r);

        if (spec->promote && !promote) {
                r->state = ROLLOUT_COMPLETED;
                snprintf(r->hold, sizeof(r->hold), "no device runs %.40s: %.24s/%.24s not promoted",
                         r->version, r->product, spec->promote);
                return rollout_note(e, r, "completed", "%s", r->hold);
        }
        if (promote && !e->dry_run) {
                char msg[API_CLIENT_ERROR_MAX];
                int k = api_channel_put(e->api, r->product, spec->promote, r->release_id, msg);
                if (k < 0) {
                        snprintf(err, ROLLOUT_ERROR_MAX, "promoting %.64s/%.64s failed: %.300s", r->product,
                                 spec->promote, msg);
                        return k;
                }
        }
        r->state = ROLLOUT_COMPLETED;
        if (spec->promote)
                snprintf(r->hold, sizeof(r->hold), "%.24s/%.24s promoted to %.40s", r->product,
                         spec->promote, r->version);
        else
                snprintf(r->hold, sizeof(r->hold), "every device offered has a verdict");
        return rollout_note(e, r, "completed", "%s", r->hold);
}

static bool needs_approval(const RolloutSpec *spec, uint32_t next_wave) {
        return spec->approve == APPROVE_EACH || (spec->approve == APPROVE_FIRST && next_wave == 1);
}

/* Evaluates the gate of the current wave, moving on through waves that pass. */
static int advance(RolloutEngine *e, Rollout *r, const RolloutSpec *spec, size_t n_waves,
                   char err[static ROLLOUT_ERROR_MAX]) {
        for (size_t guard = 0; guard <= n_waves; guard++) {
                RolloutCounts c;
                GateInput in = {};
                bool pending;
                char why[128];
                int k = rollout_count(e->inventory, r->id, &c, NULL, 0);
                if (k >= 0)
                        k = rollout_wave_pending(e->inventory, r->id, r->wave, &pending);
                in.wave_last_offer = r->last_offer;
                if (k < 0)
                        return k;
                if (c.eligible == 0)
                        return complete_rollout(e, r, spec, err);
                in.counts = c;
                in.wave_fully_offered = !pending;
                in.last_wave = r->wave + 1 >= n_waves;
                GateVerdict v = rollout_gate(spec, &in, e->now, why);
                if (v == GATE_FAIL)
                        return fail_rollout(e, r, spec, why);
                if (v == GATE_WAIT) {
                        snprintf(r->hold, sizeof(r->hold), "%s", why);
                        return 0;
                }
                if (r->wave + 1 >= n_waves) {
                        /* the last wave ends when every device offered has a verdict, not before */
                        uint64_t undecided = c.offered - rollout_counts_decided(&c);
                        if (undecided > 0) {
                                snprintf(r->hold, sizeof(r->hold),
                                         "waiting for %" PRIu64 " devices to report", undecided);
                                return 0;
                        }
                        return complete_rollout(e, r, spec, err);
                }
                if (needs_approval(spec, r->wave + 1) && r->approved < r->wave + 1) {
                        snprintf(r->hold, sizeof(r->hold),
                                 "wave %u waits for approval (flota rollout approve %s)", r->wave + 2,
                                 r->name);
                        return 0;
                }
                (void) rollout_note(e, r, "wave-passed",
                                    "wave %u passed: %" PRIu64 " updated of %" PRIu64 " offered",
                                    r->wave + 1, c.updated, c.offered);
                r->wave++;
                r->passed++;
        }
        return 0;
}

/* ---- offers ---- */

static void format_local(char buf[static 32], usec_t t) {
        time_t s = (time_t) (t / USEC_PER_SEC);
        struct tm tm;
        localtime_r(&s, &tm);
        strftime(buf, 32, "%a %H:%M", &tm);
}

static int make_offers(RolloutEngine *e, Rollout *r, const RolloutSpec *spec, size_t *ret_n) {
        *ret_n = 0;
        if (!rollout_window_open(spec->windows, spec->n_windows, e->now)) {
                char at[32];
                usec_t next = rollout_window_next(spec->windows, spec->n_windows, e->now);
                format_local(at, next);
                snprintf(r->hold, sizeof(r->hold), "outside its windows; next opens %s", at);
                return 0;
        }
        uint32_t rate = rollout_rate_ramped(spec->rate, spec->ramp, r->passed);
        /* the sliding minute's offers are counted only when a rate limits them */
        int64_t recent = 0;
        if (rate > 0) {
                recent = rollout_offers_since(e->inventory, r->id,
                                              e->now > 60 * USEC_PER_SEC ? e->now - 60 * USEC_PER_SEC + 1
                                                                         : 1);
                if (recent < 0)
                        return (int) recent;
        }
        uint64_t allowance = rollout_rate_allowance(rate, (uint64_t) recent);
        if (allowance == 0) {
                snprintf(r->hold, sizeof(r->hold), "rate limit (%u/min)", rate);
                return 0;
        }
        /* a dry run makes the offers too: the caller rolls the transaction back */
        int64_t n = rollout_offer_next(e->inventory, r->id, r->wave, allowance, e->now);
        if (n < 0)
                return (int) n;
        if (n > 0) {
                r->state = ROLLOUT_RUNNING;
                r->last_offer = e->now;
                (void) rollout_note(e, r, "offered", "wave %u: offered %" PRId64 " device%s", r->wave + 1, n,
                                    n == 1 ? "" : "s");
        }
        *ret_n = (size_t) n;
        return 0;
}

/* ---- rollback ---- */

typedef struct Rollback {
        RolloutEngine *e;
        const Rollout *r;
        const ApiReleaseList *releases;
        size_t n, missing;
} Rollback;

static int64_t release_for(const Rollback *b, const char *version) {
        for (size_t i = 0; i < b->releases->n; i++) {
                const Release *x = &b->releases->items[i];
                const char *platform = platform_to_string(x->platform);
                if (streq(x->version, version) && streq(x->product, b->r->product) &&
                    x->kind == IMAGE_KIND_SKETCH && (!platform || streq(platform, b->r->platform)))
                        return x->id;
        }
        return 0;
}

static int roll_back_one(const RolloutDevice *d, void *userdata) {
        Rollback *b = userdata;
        RolloutDevice x = *d;

        if (d->p.state == DR_PENDING || d->p.state == DR_EXCLUDED || d->from_release > 0)
                return 0;
        x.from_release = release_for(b, d->from_version);
        if (x.from_release == 0) {
                b->missing++;
                return 0;
        }
        b->n++;
        return b->e->dry_run ? 0 : rollout_device_save(b->e->inventory, b->r->id, &x);
}

static int resolve_rollback(RolloutEngine *e, Rollout *r, size_t *ret_n, size_t *ret_missing) {
        ApiReleaseList list = {};
        char msg[API_CLIENT_ERROR_MAX];
        int k = api_releases_list(e->api, r->product, &list, msg);

        if (k < 0)
                return k;
        Rollback b = { .e = e, .r = r, .releases = &list };
        k = rollout_devices_each(e->inventory, r->id, _DR_INVALID, UINT32_MAX, SIZE_MAX, roll_back_one, &b);
        api_release_list_done(&list);
        *ret_n = b.n;
        *ret_missing = b.missing;
        return k;
}

int rollout_act_remote(RolloutEngine *e, Rollout *r, RolloutAction a, char err[static ROLLOUT_ERROR_MAX]) {
        RolloutSpec spec;
        int k = rollout_load_spec(r, &spec, err);

        if (k < 0)
                return k;
        if (a == ROLLOUT_ACTION_PROMOTE && !spec.promote) {
                snprintf(err, ROLLOUT_ERROR_MAX, "rollout %s has no --promote CHANNEL; use flota promote",
                         r->name);
                k = -EINVAL;
        } else if (r->state == ROLLOUT_DRAFT || r->state == ROLLOUT_ABORTED ||
                   r->state == ROLLOUT_COMPLETED) {
                snprintf(err, ROLLOUT_ERROR_MAX, "rollout %s is %s: it cannot %s", r->name,
                         rollout_state_to_string(r->state), rollout_action_to_string(a));
                k = -EBUSY;
        }
        if (k >= 0)
                k = store_begin(e->inventory);
        if (k >= 0) {
                if (a == ROLLOUT_ACTION_PROMOTE)
                        k = complete_rollout(e, r, &spec, err);
                else {
                        spec.on_failure = ON_FAILURE_ROLLBACK;
                        k = fail_rollout(e, r, &spec, "by the operator");
                }
                r->updated = e->now;
                if (k >= 0)
                        k = rollout_save(e->inventory, r);
                k = store_end(e->inventory, k);
        }
        rollout_spec_done(&spec);
        return k;
}

/* ---- one rollout ---- */

static int step_locked(RolloutEngine *e, Rollout *r, const RolloutSpec *spec,
                       char err[static ROLLOUT_ERROR_MAX]) {
        uint64_t targets[ROLLOUT_WAVES_MAX];
        size_t n_waves = rollout_targets_parse(r->targets, targets), joined = 0, offered = 0;
        int k = add_late_joiners(e, r, spec, &joined);

        if (k >= 0 && joined > 0)
                (void) rollout_note(e, r, "joined", "%zu device%s joined late", joined,
                                    joined == 1 ? "" : "s");
        if (k >= 0)
                k = advance(e, r, spec, n_waves, err);
        if (k >= 0 && (r->state == ROLLOUT_RUNNING || r->state == ROLLOUT_SCHEDULED))
                k = make_offers(e, r, spec, &offered);
        r->step_offers = offered;
        if (k >= 0 && offered > 0 && r->state == ROLLOUT_RUNNING) {
                /* the hold said "offering": say what the gate waits for now */
                bool pending;
                if (rollout_wave_pending(e->inventory, r->id, r->wave, &pending) >= 0 && !pending)
                        snprintf(r->hold, sizeof(r->hold), "wave %u offered", r->wave + 1);
        }
        r->updated = e->now;
        if (k >= 0 && !e->dry_run)
                k = rollout_save(e->inventory, r);
        return k;
}

int rollout_step(RolloutEngine *e, Rollout *r, char err[static ROLLOUT_ERROR_MAX]) {
        RolloutSpec spec;
        AssignedSet held = {};
        bool have_held = false, moving = r->state == ROLLOUT_RUNNING || r->state == ROLLOUT_SCHEDULED;
        int k = rollout_load_spec(r, &spec, err);

        /* what flotad holds, read once: silence is learned from it and reconciled against it */
        if (k >= 0 && e->api && r->state != ROLLOUT_DRAFT) {
                k = assigned_fetch(e->api, r->release_id, &held, err);
                have_held = k >= 0;
        }
        if (k >= 0)
                k = store_begin(e->inventory);
        if (k >= 0) {
                if (moving) {
                        k = mark_silent(e, r, &spec, have_held ? &held : NULL);
                        if (k >= 0)
                                k = step_locked(e, r, &spec, err);
                        if (k < 0 && err[0] == 0)
                                snprintf(err, ROLLOUT_ERROR_MAX, "stepping %s failed: %s", r->name,
                                         store_last_error(e->inventory));
                }
                if (e->dry_run) {
                        store_rollback(e->inventory);
                        k = k < 0 ? k : 0;
                } else
                        k = store_end(e->inventory, k);
        }
        /* push transports upload to the devices offered; flotad assigns nothing (a rollback
         * still goes through flotad's assignments) */
        if (k >= 0 && spec.transport != TRANSPORT_PULL && r->state == ROLLOUT_RUNNING)
                k = rollout_push_offered(e, r, &spec, err);
        if (k >= 0 && e->api && r->state != ROLLOUT_DRAFT)
                k = rollout_reconcile(e, r, have_held ? &held : NULL, NULL, err);
        assigned_set_done(&held);
        rollout_spec_done(&spec);
        return k;
}

/* ---- the summary line ---- */

int rollout_summary(Store *inventory, const Rollout *r, usec_t now, char buf[static 256]) {
        uint64_t targets[ROLLOUT_WAVES_MAX];
        size_t n_waves = rollout_targets_parse(r->targets, targets);
        RolloutCounts c = {};
        int k = rollout_count(inventory, r->id, &c, NULL, 0);

        if (k < 0)
                return k;
        if (r->state == ROLLOUT_DRAFT) {
                snprintf(buf, 256, "%s draft: not started", r->name);
                return 0;
        }
        snprintf(buf, 256,
                 "%s wave %u/%zu %s: %" PRIu64 " updated, %" PRIu64 " failed, %" PRIu64 " silent of %" PRIu64
                 " offered; %.100s",
                 r->name, r->wave + 1, n_waves ? n_waves : 1, rollout_state_to_string(r->state), c.updated,
                 c.failed, c.silent, c.offered, r->hold[0] ? r->hold : "-");
        return 0;
}

/* ---- the tick ---- */

typedef struct TickList {
        Rollout *items;
        size_t n, allocated;
} TickList;

static int collect_rollout(const Rollout *r, void *userdata) {
        TickList *l = userdata;

        if (r->state != ROLLOUT_RUNNING && r->state != ROLLOUT_SCHEDULED && r->state != ROLLOUT_PAUSED &&
            r->state != ROLLOUT_HALTED)
                return 0;
        l->items = xgrow(l->items, &l->allocated, l->n + 1, sizeof(Rollout));
        Rollout *x = &l->items[l->n++];
        *x = *r;
        x->server = xstrdup(r->server);
        x->spec_text = xstrdup(r->spec_text);
        return 0;
}

int rollout_tick(RolloutEngine *e, void (*line)(const Rollout *r, const char *text, void *userdata),
                 void *userdata, TickResult *ret, char err[static ROLLOUT_ERROR_MAX]) {
        TickList l = {};
        TickResult res = {};
        int k = 0;

        err[0] = 0;
        if (!e->dry_run)
                k = rollout_feed_ingest(e, &res.checkins, err);
        if (k >= 0)
                k = rollout_list(e->inventory, collect_rollout, &l);
        for (size_t i = 0; k >= 0 && i < l.n; i++) {
                Rollout *r = &l.items[i];
                if (!streq(r->server, e->server))
                        continue;
                k = rollout_step(e, r, err);
                if (k < 0)
                        break;
                res.rollouts++;
                res.halted += r->state == ROLLOUT_HALTED;
                char text[256];
                if (line && rollout_summary(e->inventory, r, e->now, text) >= 0) {
                        if (e->dry_run) {
                                size_t len = strlen(text);
                                snprintf(text + len, sizeof(text) - len, " (dry run: would offer %zu)",
                                         r->step_offers);
                        }
                        line(r, text, userdata);
                }
        }
        for (size_t i = 0; i < l.n; i++)
                rollout_done(&l.items[i]);
        free(l.items);
        if (k < 0)
                return k;
        if (ret)
                *ret = res;
        return 0;
}
