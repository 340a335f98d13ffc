/* SPDX-License-Identifier: MIT */
/* What the worker reads: flotad's feed and records, the logs, mDNS sightings, snapshots, plan previews. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "flota/alloc.h"
#include "flota/inventory.h"
#include "flota/log-ingest.h"
#include "flota/strutil.h"
#include "worker-internal.h"

static void worker_post_snapshot(Worker *w, Store *s) {
        usec_t t0 = now_usec(CLOCK_MONOTONIC);
        Snapshot *snap = NULL;
        int r = snapshot_build(s, now_usec(CLOCK_REALTIME), &snap);
        WorkerEvent *e = worker_event_new(WORKER_SNAPSHOT);

        e->build_usec = now_usec(CLOCK_MONOTONIC) - t0;
        e->ok = r >= 0;
        e->snapshot = snap;
        if (r < 0)
                snprintf(e->message, sizeof(e->message), "cannot read the inventory: %s", strerror(-r));
        worker_post(w, e);
}

static int newest_rollout(const Rollout *r, void *userdata) {
        Fingerprint *f = userdata;
        f->rollouts++;
        if (r->updated > f->rollouts_updated)
                f->rollouts_updated = r->updated;
        return 0;
}

static int fingerprint(Store *s, Fingerprint *ret) {
        InventorySummary sum;
        Fingerprint f = {};
        int r = inventory_summary(s, 0, &sum);

        if (r >= 0)
                r = rollout_list(s, newest_rollout, &f);
        if (r < 0)
                return r;
        f.devices = sum.devices;
        f.last_seen = sum.last_seen;
        *ret = f;
        return 0;
}

/*
 * Reads and posts a snapshot when asked to (an action, a refresh), when the inventory changed
 * (devices, sightings, rollouts), or when the last one is SNAPSHOT_MAX_AGE old: an idle
 * 100,000-device inventory is not read again every pass.
 */
void worker_maybe_snapshot(Worker *w, Store *s, bool force) {
        usec_t now = now_usec(CLOCK_MONOTONIC);
        Fingerprint f;
        bool same = fingerprint(s, &f) >= 0 && f.devices == w->seen.devices &&
                    f.last_seen == w->seen.last_seen && f.rollouts == w->seen.rollouts &&
                    f.rollouts_updated == w->seen.rollouts_updated;

        if (!force && same && now < w->last_snapshot + SNAPSHOT_MAX_AGE)
                return;
        if (!same)
                w->seen = f;
        w->last_snapshot = now;
        worker_post_snapshot(w, s);
}

/* One pass over flotad: the feed, and the tick when asked for. Skipped while another flota holds the lock.
 */
void worker_pass(Worker *w, Store *s, ApiClient *api) {
        WorkerEvent *e = worker_event_new(WORKER_PASS);
        char err[ROLLOUT_ERROR_MAX] = "";
        TickResult res = {};
        int r;

        int fd = rollout_lock(w->path, 0);
        if (fd < 0) {
                e->ok = true;
                snprintf(e->message, sizeof(e->message), "%s",
                         fd == -EWOULDBLOCK ? "another flota holds the rollout lock"
                                            : "cannot take the rollout lock");
                worker_post(w, e);
                return;
        }
        RolloutEngine eng = worker_engine(w, s, api);
        if (w->tick)
                r = rollout_tick(&eng, NULL, NULL, &res, err);
        else
                r = rollout_feed_ingest(&eng, &res.checkins, err);
        close(fd);
        /* a read-only token reads the feed but may not reconcile: flotad is up all the same */
        e->ok = r >= 0 || r == -EACCES;
        e->denied = r == -EACCES;
        e->checkins = res.checkins;
        if (r < 0)
                snprintf(e->message, sizeof(e->message), "%s", err[0] ? err : strerror(-r));
        worker_post(w, e);
}

/*
 * The newest check-ins the pass just read (the feed's cursor is the last id), for the Events
 * view's live stream: at most RECENT_CHECKINS, and none handed over before.
 */
#define RECENT_CHECKINS 100
void worker_fetch_checkins(Worker *w, Store *s, ApiClient *api) {
        _cleanup_free_ char *source = xasprintf("flotad:%s", w->server ? w->server : "");
        _cleanup_free_ char *text = NULL;
        char err[API_CLIENT_ERROR_MAX];
        int64_t cursor;

        if (!api || inventory_cursor(s, source, &text) < 0 || parse_i64(text, &cursor) < 0 ||
            cursor <= w->last_checkin)
                return;
        int64_t after =
                cursor - RECENT_CHECKINS > w->last_checkin ? cursor - RECENT_CHECKINS : w->last_checkin;
        ApiCheckinPage *page = xcalloc(1, sizeof(ApiCheckinPage));
        if (api_checkins_page(api, after, RECENT_CHECKINS, page, err) < 0) {
                free(page);
                return;
        }
        w->last_checkin = cursor;
        if (page->n == 0) {
                api_checkin_page_done(page);
                free(page);
                return;
        }
        WorkerEvent *e = worker_event_new(WORKER_CHECKINS);
        e->ok = true;
        e->recent = page;
        worker_post(w, e);
}

/* flotad's releases and channels, for the Releases view */
void worker_fetch_releases(Worker *w, ApiClient *api) {
        char err[API_CLIENT_ERROR_MAX] = "";
        ApiReleaseList *rl = xcalloc(1, sizeof(ApiReleaseList));
        ApiChannelList *cl = xcalloc(1, sizeof(ApiChannelList));

        if (!api || api_releases_list(api, NULL, rl, err) < 0 || api_channels_list(api, cl, err) < 0) {
                api_release_list_done(rl);
                free(rl);
                free(cl);
                return;
        }
        WorkerEvent *e = worker_event_new(WORKER_RELEASES);
        e->ok = true;
        e->releases = rl;
        e->channels = cl;
        worker_post(w, e);
}

/*
 * What is new in each followed log, into the inventory (log_ingest(): resumable, rotation-aware).
 * Under the rollout lock, as the feed is, so a cron 'flota ingest --log' and the dashboard do
 * not read the same lines at once; skipped while another flota holds it.
 */
void worker_ingest_logs(Worker *w, Store *s) {
        if (w->n_logs == 0)
                return;
        int fd = rollout_lock(w->path, 0);
        if (fd < 0)
                return;
        for (size_t i = 0; i < w->n_logs && !worker_stopping(w); i++) {
                LogIngestOptions o = { .path = w->logs[i], .format = w->log_formats[i] };
                LogIngestStats st;
                int r = log_ingest(s, &o, &st);
                if (r >= 0 && st.polls == 0 && !st.truncated && !st.rotated_lost)
                        continue;
                WorkerEvent *e = worker_event_new(WORKER_LOG);
                e->ok = r >= 0;
                e->checkins = st.polls;
                if (r < 0)
                        snprintf(e->message, sizeof(e->message), "%s: %s", w->logs[i], strerror(-r));
                else if (st.rotated_lost)
                        snprintf(e->message, sizeof(e->message),
                                 "%s was rotated and its predecessor is gone: what it "
                                 "logged meanwhile is lost",
                                 w->logs[i]);
                else if (st.truncated)
                        snprintf(e->message, sizeof(e->message),
                                 "%s was truncated: read again from the start", w->logs[i]);
                else
                        snprintf(e->message, sizeof(e->message), "%s", w->logs[i]);
                worker_post(w, e);
        }
        close(fd);
}

/* The sightings and goodbyes the UI handed over, into the inventory (each in its own transaction). */
void worker_write_mdns(Worker *w, Store *s) {
        pthread_mutex_lock(&w->lock);
        MdnsNote *v = TAKE_PTR(w->mdns);
        size_t n = w->n_mdns;
        w->n_mdns = w->mdns_allocated = 0;
        pthread_mutex_unlock(&w->lock);
        for (size_t i = 0; i < n; i++) {
                const MdnsNote *m = &v[i];
                char id[DEVICE_ID_MAX + 1];
                if (m->gone)
                        (void) inventory_mdns_gone(s, m->device);
                else {
                        MdnsSighting x = { .device = m->device,
                                           .name = m->name,
                                           .kind = m->kind,
                                           .host = m->host,
                                           .board = m->board,
                                           .txt = m->txt,
                                           .ip = m->ip,
                                           .platform = m->platform,
                                           .version = m->version,
                                           .framework = m->framework,
                                           .port = m->port,
                                           .at = m->at };
                        (void) inventory_mdns_seen(s, &x, id);
                }
                worker_mdns_note_done(&v[i]);
        }
        free(v);
}

/* The plan preview asked for last (nothing when none is waiting). Reads the inventory only. */
void worker_preview(Worker *w, Store *s) {
        char name[ROLLOUT_NAME_MAX + 1], msg[ROLLOUT_SPEC_ERROR_MAX], err[ROLLOUT_ERROR_MAX] = "";
        RolloutRelease release;
        RolloutSpec spec;
        RolloutPlan plan;

        pthread_mutex_lock(&w->lock);
        if (!w->has_plan) {
                pthread_mutex_unlock(&w->lock);
                return;
        }
        w->has_plan = false;
        _cleanup_free_ char *text = TAKE_PTR(w->plan_spec);
        uint64_t seq = w->plan_seq;
        memcpy(name, w->plan_name, sizeof(name));
        release = w->plan_release;
        pthread_mutex_unlock(&w->lock);

        WorkerEvent *e = worker_event_new(WORKER_PLAN);
        e->preview.seq = seq;
        if (rollout_spec_parse(text, &spec, msg) < 0) {
                snprintf(e->message, sizeof(e->message), "%s", msg);
                worker_post(w, e);
                return;
        }
        int k = rollout_plan_build(s, &spec, &release, name, now_usec(CLOCK_REALTIME), &plan, err);
        rollout_spec_done(&spec);
        if (k < 0) {
                snprintf(e->message, sizeof(e->message), "%s", err[0] ? err : strerror(-k));
                worker_post(w, e);
                return;
        }
        e->ok = true;
        e->preview.selected = plan.n;
        e->preview.eligible = plan.n_eligible;
        e->preview.offline = plan.offline;
        memcpy(e->preview.excluded, plan.excluded, sizeof(plan.excluded));
        memcpy(e->preview.targets, plan.targets, sizeof(plan.targets));
        e->preview.n_waves = plan.n_waves;
        rollout_plan_done(&plan);
        worker_post(w, e);
}

/* flotad's record of the watched device, if any */
void worker_fetch_device(Worker *w, ApiClient *api) {
        char id[DEVICE_ID_MAX + 1], err[API_CLIENT_ERROR_MAX] = "";

        pthread_mutex_lock(&w->lock);
        memcpy(id, w->device, sizeof(id));
        w->device_now = false;
        pthread_mutex_unlock(&w->lock);
        if (!id[0] || !api)
                return;
        WorkerEvent *e = worker_event_new(WORKER_DEVICE);
        memcpy(e->device, id, sizeof(id));
        DeviceDetail *d = xcalloc(1, sizeof(DeviceDetail));
        int r = api_device_detail(api, id, d, err);
        if (r < 0) {
                free(d);
                snprintf(e->message, sizeof(e->message), "%s",
                         r == -ENOENT ? "flotad has no record of this device"
                         : err[0]     ? err
                                      : strerror(-r));
        } else {
                e->ok = true;
                e->detail = d;
        }
        worker_post(w, e);
}
