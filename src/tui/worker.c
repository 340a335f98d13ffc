/* SPDX-License-Identifier: MIT */
/* The dashboard's worker thread: flotad's feed, the tick, rollout actions, snapshots. */
#include "worker.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "flota/alloc.h"
#include "flota/inventory.h"
#include "flota/log-ingest.h"
#include "flota/strutil.h"

/* a snapshot is read again when the inventory changed, and at least this often (ages, online) */
#define SNAPSHOT_MAX_AGE (30 * USEC_PER_SEC)

/* how long an action waits for the rollout lock that a cron tick holds */
#define ACTION_LOCK_WAIT_SEC 10

/* An mDNS sighting or goodbye waiting for the worker, its strings owned. */
typedef struct MdnsNote {
        bool gone;
        char *device, *name, *kind, *host, *board, *txt, *ip, *platform, *version, *framework;
        unsigned port;
        usec_t at;
} MdnsNote;

static void mdns_note_done(MdnsNote *n) {
        free(n->device);
        free(n->name);
        free(n->kind);
        free(n->host);
        free(n->board);
        free(n->txt);
        free(n->ip);
        free(n->platform);
        free(n->version);
        free(n->framework);
}

typedef enum ActionKind {
        ACT_ROLLOUT, /* rollout_act() */
        ACT_PROMOTE,
        ACT_BULK,
        ACT_CREATE,
        ACT_START,
        ACT_UPLOAD,
} ActionKind;

/* What tells, cheaply, that the inventory changed since the last snapshot. */
typedef struct Fingerprint {
        int64_t devices;
        usec_t last_seen;
        size_t rollouts;
        usec_t rollouts_updated;
} Fingerprint;

struct Worker {
        char *path, *server, *token;
        unsigned timeout_sec;
        usec_t interval;
        bool tick;
        char **logs;
        const LogFormat *const *log_formats;
        size_t n_logs;
        bool logs_now;  /* a log changed: read the logs without waiting for the next pass */
        MdnsNote *mdns; /* sightings and goodbyes for the inventory, oldest first */
        size_t n_mdns, mdns_allocated;
        const char *(*push_password)(const char *device, const char *host, const char *product,
                                     void *userdata);
        void *push_userdata;
        char *push_user;

        pthread_t thread;
        bool started;
        pthread_mutex_t lock;
        pthread_cond_t cond;
        bool quit, wake;
        bool has_action;
        ActionKind kind; /* what the queued action is */
        char action_rollout[ROLLOUT_NAME_MAX + 1];
        RolloutAction action;
        char *create_spec;    /* ACT_CREATE: the spec's text, owned while queued */
        char *upload_path;    /* ACT_UPLOAD: owned while queued (product in promote_product, */
        char *upload_version; /* version may be "") */
        bool create_start;
        char promote_product[PRODUCT_NAME_MAX + 1];
        char promote_channel[CHANNEL_NAME_MAX + 1];
        int64_t promote_release;
        BulkKind bulk_kind;
        char **bulk_ids, **bulk_labels; /* owned while queued */
        size_t n_bulk_ids, n_bulk_labels;
        int64_t bulk_release;
        char device[DEVICE_ID_MAX + 1]; /* the watched device, "" for none */
        bool has_plan;                  /* a plan preview is asked for (the fields below) */
        uint64_t plan_seq;
        char plan_name[ROLLOUT_NAME_MAX + 1];
        char *plan_spec;
        RolloutRelease plan_release;
        bool device_now; /* fetch it without waiting for the next pass */

        int64_t last_checkin; /* the newest check-in handed to the UI */
        Fingerprint seen;     /* the inventory as the last snapshot read it */
        usec_t last_snapshot; /* monotonic */

        int efd;
        WorkerEvent **events; /* the queue to the UI */
        size_t n_events, events_allocated;
};

WorkerEvent *worker_event_free(WorkerEvent *e) {
        if (!e)
                return NULL;
        snapshot_free(e->snapshot);
        if (e->detail) {
                device_detail_done(e->detail);
                free(e->detail);
        }
        if (e->releases) {
                api_release_list_done(e->releases);
                free(e->releases);
        }
        if (e->channels) {
                api_channel_list_done(e->channels);
                free(e->channels);
        }
        if (e->recent) {
                api_checkin_page_done(e->recent);
                free(e->recent);
        }
        free(e);
        return NULL;
}

static void post(Worker *w, WorkerEvent *e) {
        uint64_t one = 1;

        pthread_mutex_lock(&w->lock);
        w->events = xgrow(w->events, &w->events_allocated, w->n_events + 1, sizeof(WorkerEvent *));
        w->events[w->n_events++] = e;
        pthread_mutex_unlock(&w->lock);
        if (write(w->efd, &one, sizeof(one)) < 0) {
                /* the counter cannot overflow in practice; the UI drains the queue anyway */
        }
}

static WorkerEvent *event_new(WorkerEventKind kind) {
        WorkerEvent *e = xcalloc(1, sizeof(WorkerEvent));
        e->kind = kind;
        return e;
}

static void post_snapshot(Worker *w, Store *s) {
        usec_t t0 = now_usec(CLOCK_MONOTONIC);
        Snapshot *snap = NULL;
        int r = snapshot_build(s, now_usec(CLOCK_REALTIME), &snap);
        WorkerEvent *e = event_new(WORKER_SNAPSHOT);

        e->build_usec = now_usec(CLOCK_MONOTONIC) - t0;
        e->ok = r >= 0;
        e->snapshot = snap;
        if (r < 0)
                snprintf(e->message, sizeof(e->message), "cannot read the inventory: %s", strerror(-r));
        post(w, e);
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
static void maybe_snapshot(Worker *w, Store *s, bool force) {
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
        post_snapshot(w, s);
}

static bool stopping(Worker *w);

static RolloutEngine engine(Worker *w, Store *s, ApiClient *api) {
        return (RolloutEngine) {
                .inventory = s,
                .api = api,
                .server = w->server ? w->server : "",
                .now = now_usec(CLOCK_REALTIME),
                .push_password = w->push_password,
                .push_userdata = w->push_userdata,
                .push_user = w->push_user,
        };
}

/* One pass over flotad: the feed, and the tick when asked for. Skipped while another flota holds the lock.
 */
static void pass(Worker *w, Store *s, ApiClient *api) {
        WorkerEvent *e = event_new(WORKER_PASS);
        char err[ROLLOUT_ERROR_MAX] = "";
        TickResult res = {};
        int r;

        int fd = rollout_lock(w->path, 0);
        if (fd < 0) {
                e->ok = true;
                snprintf(e->message, sizeof(e->message), "%s",
                         fd == -EWOULDBLOCK ? "another flota holds the rollout lock"
                                            : "cannot take the rollout lock");
                post(w, e);
                return;
        }
        RolloutEngine eng = engine(w, s, api);
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
        post(w, e);
}

static void act(Worker *w, Store *s, ApiClient *api, const char *name, RolloutAction a) {
        WorkerEvent *e = event_new(WORKER_ACTION);
        char err[ROLLOUT_ERROR_MAX] = "";
        int r;

        if (!api) {
                snprintf(e->message, sizeof(e->message), "%s %s: no flotad configured (--server)",
                         rollout_action_to_string(a), name);
                post(w, e);
                return;
        }
        int fd = rollout_lock(w->path, ACTION_LOCK_WAIT_SEC);
        if (fd < 0) {
                snprintf(e->message, sizeof(e->message), "%s %s: %s", rollout_action_to_string(a), name,
                         fd == -EWOULDBLOCK ? "another flota holds the rollout lock" : strerror(-fd));
                post(w, e);
                return;
        }
        RolloutEngine eng = engine(w, s, api);
        r = rollout_act(&eng, name, a, err);
        close(fd);
        e->ok = r >= 0;
        e->denied = r == -EACCES;
        if (r < 0)
                snprintf(e->message, sizeof(e->message), "%s %s: %s", rollout_action_to_string(a), name,
                         err[0] ? err : strerror(-r));
        else
                snprintf(e->message, sizeof(e->message), "%s %s: done", rollout_action_to_string(a), name);
        post(w, e);
}

/*
 * The newest check-ins the pass just read (the feed's cursor is the last id), for the Events
 * view's live stream: at most RECENT_CHECKINS, and none handed over before.
 */
#define RECENT_CHECKINS 100
static void fetch_checkins(Worker *w, Store *s, ApiClient *api) {
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
        WorkerEvent *e = event_new(WORKER_CHECKINS);
        e->ok = true;
        e->recent = page;
        post(w, e);
}

/* flotad's releases and channels, for the Releases view */
static void fetch_releases(Worker *w, ApiClient *api) {
        char err[API_CLIENT_ERROR_MAX] = "";
        ApiReleaseList *rl = xcalloc(1, sizeof(ApiReleaseList));
        ApiChannelList *cl = xcalloc(1, sizeof(ApiChannelList));

        if (!api || api_releases_list(api, NULL, rl, err) < 0 || api_channels_list(api, cl, err) < 0) {
                api_release_list_done(rl);
                free(rl);
                free(cl);
                return;
        }
        WorkerEvent *e = event_new(WORKER_RELEASES);
        e->ok = true;
        e->releases = rl;
        e->channels = cl;
        post(w, e);
}

static void promote(Worker *w, Store *s, ApiClient *api, const char *product, const char *channel,
                    int64_t release) {
        WorkerEvent *e = event_new(WORKER_ACTION);
        char err[API_CLIENT_ERROR_MAX] = "";

        int r = api ? api_channel_put(api, product, channel, release, err) : -ENOTCONN;
        e->ok = r >= 0;
        e->denied = r == -EACCES;
        if (r < 0)
                snprintf(e->message, sizeof(e->message), "promote %s/%s: %s", product, channel,
                         !api     ? "no flotad configured (--server)"
                         : err[0] ? err
                                  : strerror(-r));
        else {
                snprintf(e->message, sizeof(e->message), "promote %s/%s: release %" PRId64 ", done", product,
                         channel, release);
                _cleanup_free_ char *detail = xasprintf("%s/%s -> release %" PRId64 " on %s", product,
                                                        channel, release, w->server ? w->server : "-");
                (void) inventory_audit(s, "promote", detail);
        }
        post(w, e);
}

static const char *const bulk_names[_BULK_MAX] = {
        [BULK_LABEL] = "label",
        [BULK_PIN] = "pin",
        [BULK_UNPIN] = "unpin",
        [BULK_ASSIGN] = "assign",
};

const char *bulk_kind_to_string(BulkKind k) {
        return (unsigned) k < _BULK_MAX ? bulk_names[k] : NULL;
}

static void strv_free(char **v, size_t n) {
        for (size_t i = 0; v && i < n; i++)
                free(v[i]);
        free(v);
}

static char **strv_copy(char *const *v, size_t n) {
        char **c = xcalloc(n ? n : 1, sizeof(char *));
        for (size_t i = 0; i < n; i++)
                c[i] = xstrdup(v[i]);
        return c;
}

static void audit(Worker *w, Store *s, const char *action, const char *what) {
        _cleanup_free_ char *detail = xasprintf("%s on %s", what, w->server ? w->server : "-");
        (void) inventory_audit(s, action, detail);
}

/* One device's label, pin or unpin; 0 or -errno with err set. */
static int bulk_one(Worker *w, Store *s, ApiClient *api, BulkKind k, const char *id, int64_t release,
                    char **labels, size_t n_labels, char err[static API_CLIENT_ERROR_MAX]) {
        _cleanup_free_ char *what = NULL;
        int r;

        switch (k) {
        case BULK_LABEL: {
                _cleanup_free_ char *joined = NULL;
                r = api_device_labels(api, id, (const char *const *) labels, n_labels, NULL, err);
                if (r < 0)
                        return r;
                (void) inventory_set_labels(s, id, labels, n_labels);
                (void) inventory_labels(s, id, &joined);
                what = xasprintf("%s: %s", id, n_labels ? joined ? joined : "" : "(none)");
                break;
        }
        case BULK_PIN:
        case BULK_UNPIN:
                r = api_device_pin(api, id, k == BULK_PIN ? release : 0, NULL, err);
                if (r < 0)
                        return r;
                what = k == BULK_PIN ? xasprintf("%s -> release %" PRId64, id, release) : xstrdup(id);
                break;
        default: return -EINVAL;
        }
        audit(w, s, bulk_kind_to_string(k), what);
        return 0;
}

static void bulk(Worker *w, Store *s, ApiClient *api, BulkKind k, char **ids, size_t n, int64_t release,
                 char **labels, size_t n_labels) {
        WorkerEvent *e = event_new(WORKER_ACTION);
        char err[API_CLIENT_ERROR_MAX] = "";
        size_t done = 0;
        int r = 0;

        if (!api) {
                snprintf(e->message, sizeof(e->message), "%s: no flotad configured (--server)",
                         bulk_kind_to_string(k));
                post(w, e);
                return;
        }
        if (k == BULK_ASSIGN) {
                uint64_t changed = 0;
                for (size_t at = 0; at < n && r >= 0; at += API_ASSIGN_MAX) {
                        size_t chunk = n - at < API_ASSIGN_MAX ? n - at : API_ASSIGN_MAX;
                        uint64_t c = 0;
                        r = api_assign_count(api, release, (const char *const *) ids + at, chunk, &c, err);
                        if (r >= 0) {
                                done += chunk;
                                changed += c;
                        }
                }
                if (done > 0) {
                        _cleanup_free_ char *what =
                                xasprintf("%" PRIu64 " devices -> release %" PRId64, changed, release);
                        audit(w, s, "assign", what);
                }
        } else
                for (size_t i = 0; i < n && r >= 0; i++) {
                        r = bulk_one(w, s, api, k, ids[i], release, labels, n_labels, err);
                        if (r >= 0)
                                done++;
                }
        e->ok = r >= 0;
        e->denied = r == -EACCES;
        if (r < 0)
                snprintf(e->message, sizeof(e->message), "%s: %zu of %zu devices done, then: %s",
                         bulk_kind_to_string(k), done, n, err[0] ? err : strerror(-r));
        else
                snprintf(e->message, sizeof(e->message), "%s: %zu device%s done", bulk_kind_to_string(k), n,
                         n == 1 ? "" : "s");
        post(w, e);
}

/*
 * What is new in each followed log, into the inventory (log_ingest(): resumable, rotation-aware).
 * Under the rollout lock, as the feed is, so a cron 'flota ingest --log' and the dashboard do
 * not read the same lines at once; skipped while another flota holds it.
 */
static void ingest_logs(Worker *w, Store *s) {
        if (w->n_logs == 0)
                return;
        int fd = rollout_lock(w->path, 0);
        if (fd < 0)
                return;
        for (size_t i = 0; i < w->n_logs && !stopping(w); i++) {
                LogIngestOptions o = { .path = w->logs[i], .format = w->log_formats[i] };
                LogIngestStats st;
                int r = log_ingest(s, &o, &st);
                if (r >= 0 && st.polls == 0 && !st.truncated && !st.rotated_lost)
                        continue;
                WorkerEvent *e = event_new(WORKER_LOG);
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
                post(w, e);
        }
        close(fd);
}

static char *dup_or_null(const char *s) {
        return s ? xstrdup(s) : NULL;
}

/* The sightings and goodbyes the UI handed over, into the inventory (each in its own transaction). */
static void write_mdns(Worker *w, Store *s) {
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
                mdns_note_done(&v[i]);
        }
        free(v);
}

/* Creates a rollout from the form, and starts it when asked to. */
static void create(Worker *w, Store *s, ApiClient *api, const char *name, const char *spec_text,
                   bool start) {
        WorkerEvent *e = event_new(WORKER_ACTION);
        char err[ROLLOUT_ERROR_MAX] = "", msg[ROLLOUT_SPEC_ERROR_MAX];
        RolloutSpec spec;
        Rollout r = {};
        int k;

        (void) strscpy(e->rollout, sizeof(e->rollout), name);
        if (!api) {
                snprintf(e->message, sizeof(e->message), "create %s: no flotad configured (--server)", name);
                post(w, e);
                return;
        }
        if (rollout_spec_parse(spec_text, &spec, msg) < 0) {
                snprintf(e->message, sizeof(e->message), "create %s: %s", name, msg);
                post(w, e);
                return;
        }
        int fd = rollout_lock(w->path, ACTION_LOCK_WAIT_SEC);
        if (fd < 0) {
                snprintf(e->message, sizeof(e->message), "create %s: %s", name,
                         fd == -EWOULDBLOCK ? "another flota holds the rollout lock" : strerror(-fd));
                rollout_spec_done(&spec);
                post(w, e);
                return;
        }
        RolloutEngine eng = engine(w, s, api);
        k = rollout_create(&eng, name, &spec, &r, err);
        if (k >= 0)
                rollout_done(&r);
        if (k >= 0 && start)
                k = rollout_start(&eng, name, err);
        close(fd);
        rollout_spec_done(&spec);
        e->ok = k >= 0;
        e->denied = k == -EACCES;
        if (k < 0)
                snprintf(e->message, sizeof(e->message), "create %s: %s", name, err[0] ? err : strerror(-k));
        else
                snprintf(e->message, sizeof(e->message), "%s %s: done",
                         start ? "create and start" : "create", name);
        post(w, e);
}

static void start_rollout(Worker *w, Store *s, ApiClient *api, const char *name) {
        WorkerEvent *e = event_new(WORKER_ACTION);
        char err[ROLLOUT_ERROR_MAX] = "";

        (void) strscpy(e->rollout, sizeof(e->rollout), name);
        int fd = api ? rollout_lock(w->path, ACTION_LOCK_WAIT_SEC) : -ENOTCONN;
        if (fd < 0) {
                snprintf(e->message, sizeof(e->message), "start %s: %s", name,
                         !api                 ? "no flotad configured (--server)"
                         : fd == -EWOULDBLOCK ? "another flota holds the rollout lock"
                                              : strerror(-fd));
                post(w, e);
                return;
        }
        RolloutEngine eng = engine(w, s, api);
        int k = rollout_start(&eng, name, err);
        close(fd);
        e->ok = k >= 0;
        e->denied = k == -EACCES;
        if (k < 0)
                snprintf(e->message, sizeof(e->message), "start %s: %s", name, err[0] ? err : strerror(-k));
        else
                snprintf(e->message, sizeof(e->message), "start %s: done", name);
        post(w, e);
}

static void upload(Worker *w, Store *s, ApiClient *api, const char *path, const char *product,
                   const char *version) {
        WorkerEvent *e = event_new(WORKER_ACTION);
        char err[API_CLIENT_ERROR_MAX] = "";
        ApiReleaseUpload u = { .product = product, .version = isempty(version) ? NULL : version };
        Release rel = {};
        struct stat st;
        int r;

        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || fstat(fd, &st) < 0) {
                r = -errno;
                snprintf(err, sizeof(err), "cannot read %s: %s", path, strerror(-r));
        } else if (!S_ISREG(st.st_mode)) {
                r = -EINVAL;
                snprintf(err, sizeof(err), "%s is not a regular file", path);
        } else if (!api) {
                r = -ENOTCONN;
                snprintf(err, sizeof(err), "no flotad configured (--server)");
        } else
                r = api_release_upload(api, &u, fd, (uint64_t) st.st_size, NULL, NULL, &rel, err);
        e->ok = r >= 0;
        e->denied = r == -EACCES;
        if (r < 0)
                snprintf(e->message, sizeof(e->message), "upload %s: %s", path, err[0] ? err : strerror(-r));
        else {
                snprintf(e->message, sizeof(e->message), "upload: release %" PRId64 ", %s %s, done", rel.id,
                         rel.product, rel.version);
                _cleanup_free_ char *what = xasprintf("release %" PRId64 ": %s %s from %s", rel.id,
                                                      rel.product, rel.version, path);
                audit(w, s, "release upload", what);
                release_done(&rel);
        }
        post(w, e);
}

/* The plan preview asked for last (nothing when none is waiting). Reads the inventory only. */
static void preview(Worker *w, Store *s) {
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

        WorkerEvent *e = event_new(WORKER_PLAN);
        e->preview.seq = seq;
        if (rollout_spec_parse(text, &spec, msg) < 0) {
                snprintf(e->message, sizeof(e->message), "%s", msg);
                post(w, e);
                return;
        }
        int k = rollout_plan_build(s, &spec, &release, name, now_usec(CLOCK_REALTIME), &plan, err);
        rollout_spec_done(&spec);
        if (k < 0) {
                snprintf(e->message, sizeof(e->message), "%s", err[0] ? err : strerror(-k));
                post(w, e);
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
        post(w, e);
}

/* flotad's record of the watched device, if any */
static void fetch_device(Worker *w, ApiClient *api) {
        char id[DEVICE_ID_MAX + 1], err[API_CLIENT_ERROR_MAX] = "";

        pthread_mutex_lock(&w->lock);
        memcpy(id, w->device, sizeof(id));
        w->device_now = false;
        pthread_mutex_unlock(&w->lock);
        if (!id[0] || !api)
                return;
        WorkerEvent *e = event_new(WORKER_DEVICE);
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
        post(w, e);
}

static bool stopping(Worker *w) {
        pthread_mutex_lock(&w->lock);
        bool q = w->quit;
        pthread_mutex_unlock(&w->lock);
        return q;
}

static struct timespec deadline_after(usec_t d) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        usec_t t = (usec_t) ts.tv_sec * USEC_PER_SEC + (usec_t) ts.tv_nsec / 1000 + d;
        return (struct timespec) { .tv_sec = (time_t) (t / USEC_PER_SEC),
                                   .tv_nsec = (long) (t % USEC_PER_SEC) * 1000 };
}

static void *run(void *userdata) {
        Worker *w = userdata;
        _cleanup_(store_freep) Store *s = NULL;
        _cleanup_(api_client_freep) ApiClient *api = NULL;
        char err[API_CLIENT_ERROR_MAX];

        int r = inventory_open(w->path, &s);
        if (r < 0) {
                WorkerEvent *e = event_new(WORKER_SNAPSHOT);
                snprintf(e->message, sizeof(e->message), "cannot open the inventory: %s", strerror(-r));
                post(w, e);
                return NULL;
        }
        if (w->server && api_client_new(w->server, w->token, w->timeout_sec, &api, err) < 0) {
                WorkerEvent *e = event_new(WORKER_PASS);
                snprintf(e->message, sizeof(e->message), "%s", err);
                post(w, e);
        }
        /* what the token may do, up front: a read-only one shows admin actions as unavailable */
        TokenInfo token;
        if (api && api_token_info(api, &token, err) == 0) {
                WorkerEvent *e = event_new(WORKER_TOKEN);
                e->ok = true;
                e->denied = !token.admin;
                snprintf(e->message, sizeof(e->message), "token %s may only read: actions are unavailable",
                         token.name);
                post(w, e);
        }
        /* paint from the inventory at once, then the first pass over flotad without waiting */
        maybe_snapshot(w, s, true);
        for (bool first = true;; first = false) {
                bool do_action = false, create_start = false;
                ActionKind kind = ACT_ROLLOUT;
                BulkKind bk = 0;
                char **ids = NULL, **labels = NULL, *spec = NULL, *upload_path = NULL,
                     *upload_version = NULL;
                size_t n_ids = 0, n_labels = 0;
                char name[ROLLOUT_NAME_MAX + 1], product[PRODUCT_NAME_MAX + 1],
                        channel[CHANNEL_NAME_MAX + 1];
                RolloutAction a = 0;
                int64_t release = 0;

                pthread_mutex_lock(&w->lock);
                struct timespec until = deadline_after(w->interval);
                while (!first && !w->quit && !w->wake && !w->has_action && !w->device_now && !w->has_plan &&
                       !w->logs_now && w->n_mdns == 0)
                        if (pthread_cond_timedwait(&w->cond, &w->lock, &until) == ETIMEDOUT)
                                break;
                bool quit = w->quit, wake = w->wake || w->device_now;
                /* woken for a plan preview or a changed log only: that, and back to waiting */
                bool logs_now = w->logs_now, mdns_now = w->n_mdns > 0;
                bool plan_only = (w->has_plan || logs_now || mdns_now) && !wake && !w->has_action;
                w->logs_now = false;
                if (w->has_action) {
                        do_action = true;
                        kind = w->kind;
                        memcpy(name, w->action_rollout, sizeof(name));
                        a = w->action;
                        memcpy(product, w->promote_product, sizeof(product));
                        memcpy(channel, w->promote_channel, sizeof(channel));
                        release = w->promote_release;
                        spec = TAKE_PTR(w->create_spec);
                        upload_path = TAKE_PTR(w->upload_path);
                        upload_version = TAKE_PTR(w->upload_version);
                        create_start = w->create_start;
                        if (kind == ACT_BULK) {
                                bk = w->bulk_kind;
                                ids = TAKE_PTR(w->bulk_ids);
                                labels = TAKE_PTR(w->bulk_labels);
                                n_ids = w->n_bulk_ids;
                                n_labels = w->n_bulk_labels;
                                release = w->bulk_release;
                        }
                }
                w->wake = false;
                pthread_mutex_unlock(&w->lock);
                if (quit)
                        break;
                preview(w, s);
                if (mdns_now)
                        write_mdns(w, s);
                if (logs_now)
                        ingest_logs(w, s);
                if ((logs_now || mdns_now) && !stopping(w))
                        maybe_snapshot(w, s, mdns_now);
                if (plan_only)
                        continue;
                if (do_action) {
                        switch (kind) {
                        case ACT_BULK:
                                bulk(w, s, api, bk, ids, n_ids, release, labels, n_labels);
                                strv_free(ids, n_ids);
                                strv_free(labels, n_labels);
                                break;
                        case ACT_PROMOTE: promote(w, s, api, product, channel, release); break;
                        case ACT_CREATE: create(w, s, api, name, spec, create_start); break;
                        case ACT_START: start_rollout(w, s, api, name); break;
                        case ACT_UPLOAD: upload(w, s, api, upload_path, product, upload_version); break;
                        default: act(w, s, api, name, a);
                        }
                        free(spec);
                        free(upload_path);
                        free(upload_version);
                        pthread_mutex_lock(&w->lock);
                        w->has_action = false;
                        pthread_mutex_unlock(&w->lock);
                } else if (!wake) {
                        if (api) {
                                pass(w, s, api);
                                if (!stopping(w))
                                        fetch_checkins(w, s, api);
                        }
                        if (!stopping(w))
                                ingest_logs(w, s);
                }
                /* a quit asked for meanwhile does not wait for more requests to a slow flotad */
                if (!stopping(w))
                        fetch_device(w, api);
                if (!wake && !stopping(w))
                        fetch_releases(w, api);
                if (!stopping(w))
                        maybe_snapshot(w, s, do_action || wake);
        }
        return NULL;
}

int worker_start(const WorkerOptions *o, Worker **ret) {
        Worker *w = xcalloc(1, sizeof(Worker));
        pthread_condattr_t ca;

        w->path = xstrdup(o->inventory_path);
        w->server = o->server ? xstrdup(o->server) : NULL;
        w->token = o->token ? xstrdup(o->token) : NULL;
        w->timeout_sec = o->timeout_sec;
        w->interval = o->interval;
        w->tick = o->tick;
        w->logs = strv_copy((char *const *) o->logs, o->n_logs);
        w->log_formats = o->log_formats;
        w->n_logs = o->n_logs;
        w->push_password = o->push_password;
        w->push_userdata = o->push_userdata;
        w->push_user = o->push_user ? xstrdup(o->push_user) : NULL;
        pthread_mutex_init(&w->lock, NULL);
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&w->cond, &ca);
        pthread_condattr_destroy(&ca);
        w->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (w->efd < 0) {
                int r = -errno;
                worker_stop(w);
                return r;
        }
        int r = pthread_create(&w->thread, NULL, run, w);
        if (r != 0) {
                worker_stop(w);
                return -r;
        }
        w->started = true;
        *ret = w;
        return 0;
}

Worker *worker_stop(Worker *w) {
        if (!w)
                return NULL;
        if (w->started) {
                pthread_mutex_lock(&w->lock);
                w->quit = true;
                pthread_cond_signal(&w->cond);
                pthread_mutex_unlock(&w->lock);
                pthread_join(w->thread, NULL);
        }
        for (size_t i = 0; i < w->n_events; i++)
                worker_event_free(w->events[i]);
        strv_free(w->bulk_ids, w->n_bulk_ids);
        strv_free(w->bulk_labels, w->n_bulk_labels);
        strv_free(w->logs, w->n_logs);
        free(w->push_user);
        for (size_t i = 0; i < w->n_mdns; i++)
                mdns_note_done(&w->mdns[i]);
        free(w->mdns);
        free(w->create_spec);
        free(w->upload_path);
        free(w->upload_version);
        free(w->plan_spec);
        free(w->events);
        if (w->efd >= 0)
                close(w->efd);
        pthread_cond_destroy(&w->cond);
        pthread_mutex_destroy(&w->lock);
        free(w->path);
        free(w->server);
        free(w->token);
        free(w);
        return NULL;
}

int worker_fd(Worker *w) {
        return w->efd;
}

WorkerEvent *worker_next(Worker *w) {
        WorkerEvent *e = NULL;
        uint64_t n;

        pthread_mutex_lock(&w->lock);
        if (w->n_events > 0) {
                e = w->events[0];
                memmove(w->events, w->events + 1, (w->n_events - 1) * sizeof(WorkerEvent *));
                w->n_events--;
        }
        if (w->n_events == 0 && read(w->efd, &n, sizeof(n)) < 0) {
                /* EAGAIN: already drained */
        }
        pthread_mutex_unlock(&w->lock);
        return e;
}

/* Takes the worker's single action slot for a new action (-EBUSY while one is pending); call with the lock
 * held. */
static int claim_action(Worker *w, ActionKind kind) {
        if (w->has_action)
                return -EBUSY;
        w->has_action = true;
        w->kind = kind;
        return 0;
}

int worker_act(Worker *w, const char *rollout, RolloutAction a) {
        pthread_mutex_lock(&w->lock);
        int r = claim_action(w, ACT_ROLLOUT);
        if (r == 0) {
                (void) strscpy(w->action_rollout, sizeof(w->action_rollout), rollout);
                w->action = a;
                pthread_cond_signal(&w->cond);
        }
        pthread_mutex_unlock(&w->lock);
        return r;
}

int worker_promote(Worker *w, const char *product, const char *channel, int64_t release_id) {
        pthread_mutex_lock(&w->lock);
        int r = claim_action(w, ACT_PROMOTE);
        if (r == 0) {
                (void) strscpy(w->promote_product, sizeof(w->promote_product), product);
                (void) strscpy(w->promote_channel, sizeof(w->promote_channel), channel);
                w->promote_release = release_id;
                pthread_cond_signal(&w->cond);
        }
        pthread_mutex_unlock(&w->lock);
        return r;
}

int worker_bulk(Worker *w, BulkKind kind, char *const *ids, size_t n, int64_t release_id,
                char *const *labels, size_t n_labels) {
        pthread_mutex_lock(&w->lock);
        int r = claim_action(w, ACT_BULK);
        if (r == 0) {
                w->bulk_kind = kind;
                w->bulk_ids = strv_copy(ids, n);
                w->n_bulk_ids = n;
                w->bulk_labels = strv_copy(labels, n_labels);
                w->n_bulk_labels = n_labels;
                w->bulk_release = release_id;
                pthread_cond_signal(&w->cond);
        }
        pthread_mutex_unlock(&w->lock);
        return r;
}

int worker_create(Worker *w, const char *name, const char *spec_text, bool start) {
        pthread_mutex_lock(&w->lock);
        int r = claim_action(w, ACT_CREATE);
        if (r == 0) {
                (void) strscpy(w->action_rollout, sizeof(w->action_rollout), name);
                free(w->create_spec);
                w->create_spec = xstrdup(spec_text);
                w->create_start = start;
                pthread_cond_signal(&w->cond);
        }
        pthread_mutex_unlock(&w->lock);
        return r;
}

int worker_upload(Worker *w, const char *path, const char *product, const char *version) {
        pthread_mutex_lock(&w->lock);
        int r = claim_action(w, ACT_UPLOAD);
        if (r == 0) {
                free(w->upload_path);
                free(w->upload_version);
                w->upload_path = xstrdup(path);
                w->upload_version = xstrdup(version ? version : "");
                (void) strscpy(w->promote_product, sizeof(w->promote_product), product);
                pthread_cond_signal(&w->cond);
        }
        pthread_mutex_unlock(&w->lock);
        return r;
}

int worker_start_rollout(Worker *w, const char *name) {
        pthread_mutex_lock(&w->lock);
        int r = claim_action(w, ACT_START);
        if (r == 0) {
                (void) strscpy(w->action_rollout, sizeof(w->action_rollout), name);
                pthread_cond_signal(&w->cond);
        }
        pthread_mutex_unlock(&w->lock);
        return r;
}

void worker_plan(Worker *w, uint64_t seq, const char *name, const char *spec_text,
                 const RolloutRelease *release) {
        pthread_mutex_lock(&w->lock);
        free(w->plan_spec);
        w->plan_spec = xstrdup(spec_text);
        w->plan_seq = seq;
        (void) strscpy(w->plan_name, sizeof(w->plan_name), name);
        w->plan_release = *release;
        w->has_plan = true;
        pthread_cond_signal(&w->cond);
        pthread_mutex_unlock(&w->lock);
}

void worker_watch_device(Worker *w, const char *id) {
        pthread_mutex_lock(&w->lock);
        (void) strscpy(w->device, sizeof(w->device), id ? id : "");
        w->device_now = id != NULL;
        pthread_cond_signal(&w->cond);
        pthread_mutex_unlock(&w->lock);
}

void worker_mdns(Worker *w, const MdnsSighting *x, bool gone) {
        pthread_mutex_lock(&w->lock);
        w->mdns = xgrow(w->mdns, &w->mdns_allocated, w->n_mdns + 1, sizeof(MdnsNote));
        w->mdns[w->n_mdns++] = (MdnsNote) {
                .gone = gone,
                .device = xstrdup(x->device),
                .name = dup_or_null(x->name),
                .kind = dup_or_null(x->kind),
                .host = dup_or_null(x->host),
                .board = dup_or_null(x->board),
                .txt = dup_or_null(x->txt),
                .ip = dup_or_null(x->ip),
                .platform = dup_or_null(x->platform),
                .version = dup_or_null(x->version),
                .framework = dup_or_null(x->framework),
                .port = x->port,
                .at = x->at,
        };
        pthread_cond_signal(&w->cond);
        pthread_mutex_unlock(&w->lock);
}

void worker_logs_changed(Worker *w) {
        pthread_mutex_lock(&w->lock);
        w->logs_now = true;
        pthread_cond_signal(&w->cond);
        pthread_mutex_unlock(&w->lock);
}

void worker_refresh(Worker *w) {
        pthread_mutex_lock(&w->lock);
        w->wake = true;
        pthread_cond_signal(&w->cond);
        pthread_mutex_unlock(&w->lock);
}
