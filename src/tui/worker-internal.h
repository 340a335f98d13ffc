/* SPDX-License-Identifier: MIT */
/*
 * The worker thread's private parts, shared by its files: worker.c (the thread, its requests),
 * worker-fleet.c (what it reads: flotad's feed and records, logs, mDNS, snapshots, previews),
 * worker-actions.c (what it changes for the operator) and worker-core.c (the event queue and
 * the helpers below them all, calling none of them).
 */
#pragma once

#include <pthread.h>
#include <stdbool.h>

#include "worker.h"

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

/* worker-core.c */
void worker_post(Worker *w, WorkerEvent *e);
WorkerEvent *worker_event_new(WorkerEventKind kind);
RolloutEngine worker_engine(Worker *w, Store *s, ApiClient *api);
bool worker_stopping(Worker *w);
void worker_audit(Worker *w, Store *s, const char *action, const char *what);
void worker_strv_free(char **v, size_t n);
char **worker_strv_copy(char *const *v, size_t n);
char *worker_dup_or_null(const char *s);
void worker_mdns_note_done(MdnsNote *n);

/* worker-fleet.c: what the worker reads */
void worker_maybe_snapshot(Worker *w, Store *s, bool force);
void worker_pass(Worker *w, Store *s, ApiClient *api);
void worker_fetch_checkins(Worker *w, Store *s, ApiClient *api);
void worker_fetch_releases(Worker *w, ApiClient *api);
void worker_fetch_device(Worker *w, ApiClient *api);
void worker_ingest_logs(Worker *w, Store *s);
void worker_write_mdns(Worker *w, Store *s);
void worker_preview(Worker *w, Store *s);

/* worker-actions.c: what it changes; each ends as a WORKER_ACTION event */
void worker_do_act(Worker *w, Store *s, ApiClient *api, const char *name, RolloutAction a);
void worker_do_promote(Worker *w, Store *s, ApiClient *api, const char *product, const char *channel,
                       int64_t release);
void worker_do_bulk(Worker *w, Store *s, ApiClient *api, BulkKind k, char **ids, size_t n, int64_t release,
                    char **labels, size_t n_labels);
void worker_do_create(Worker *w, Store *s, ApiClient *api, const char *name, const char *spec_text,
                      bool start);
void worker_do_start(Worker *w, Store *s, ApiClient *api, const char *name);
void worker_do_upload(Worker *w, Store *s, ApiClient *api, const char *path, const char *product,
                      const char *version);
