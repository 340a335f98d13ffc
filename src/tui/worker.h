/* SPDX-License-Identifier: MIT */
/*
 * The dashboard's worker thread: everything that waits on flotad or on the rollout lock. It
 * has its own inventory handle (the same file; SQLite WAL lets the UI read meanwhile) and its
 * own API client. Every few seconds it follows flotad's feed and ticks the rollouts (under
 * rollout_lock(), so a cron tick and the dashboard never act at once), then reads a fresh
 * Snapshot; operators' actions go through rollout_act() under the same lock. Results come
 * back as WorkerEvents; worker_fd() turns readable when one is waiting, for the UI's loop.
 *
 * Threading: every function here is called from the UI thread only.
 */
#pragma once

#include <stdbool.h>

#include "flota/json-decode.h"
#include "flota/inventory.h"
#include "flota/log-format.h"
#include "flota/rollout.h"
#include "flota/fleet-snapshot.h"

typedef struct WorkerOptions {
        const char *inventory_path;
        const char *server; /* NULL: no flotad, the inventory only */
        const char *token;
        unsigned timeout_sec;    /* for each request to flotad */
        usec_t interval;         /* between passes over the feed */
        bool tick;               /* step running rollouts on each pass (not only the feed) */
        const char *const *logs; /* poll logs read into the inventory on each pass and when they change */
        const LogFormat *const *log_formats; /* borrowed: they outlive the worker */
        size_t n_logs;
        /* push transports' passwords (RolloutEngine's; called on the worker thread) */
        const char *(*push_password)(const char *device, const char *host, const char *product,
                                     void *userdata);
        void *push_userdata;
        const char *push_user;
} WorkerOptions;

typedef enum WorkerEventKind {
        WORKER_SNAPSHOT, /* snapshot is set */
        WORKER_PASS,     /* a pass over flotad ended: ok, message */
        WORKER_ACTION,   /* an action ended: ok, message */
        WORKER_DEVICE,   /* flotad's record of the watched device: device, detail or message */
        WORKER_RELEASES, /* flotad's releases and channels: releases, channels */
        WORKER_CHECKINS, /* check-ins new since the last such event (at most 100): recent */
        WORKER_PLAN,     /* a rollout plan preview: preview, or message when it could not be made */
        WORKER_TOKEN,    /* flotad said what the token may do: denied (read-only), message */
        WORKER_LOG,      /* a log was read: ok, checkins (its new polls), message (its path, or why not) */
} WorkerEventKind;

/* What a new rollout would do (rollout_plan_build()'s counts), for the create form's live preview. */
typedef struct PlanPreview {
        uint64_t seq;      /* the request's, so a late answer to an old form is told apart */
        uint64_t selected; /* devices the selection matches */
        uint64_t eligible;
        uint64_t offline; /* eligible but not seen lately */
        uint64_t excluded[_EXCLUDE_MAX];
        uint64_t targets[ROLLOUT_WAVES_MAX]; /* cumulative devices after each wave */
        size_t n_waves;
} PlanPreview;

#define WORKER_MESSAGE_MAX (ROLLOUT_ERROR_MAX + 128)

typedef struct WorkerEvent {
        WorkerEventKind kind;
        Snapshot *snapshot; /* owned */
        usec_t build_usec;  /* how long reading the snapshot took */
        bool ok;
        bool denied;       /* flotad refused the token (read-only): -EACCES */
        uint64_t checkins; /* read from the feed in this pass */
        char message[WORKER_MESSAGE_MAX];
        char device[DEVICE_ID_MAX + 1];
        DeviceDetail *detail;     /* owned; NULL when flotad could not say (message) */
        ApiReleaseList *releases; /* owned */
        ApiChannelList *channels; /* owned */
        ApiCheckinPage *recent;   /* owned, oldest first */
        PlanPreview preview;
        char rollout[ROLLOUT_NAME_MAX + 1]; /* WORKER_ACTION of a create or start: the rollout */
} WorkerEvent;

WorkerEvent *worker_event_free(WorkerEvent *e);
DEFINE_TRIVIAL_CLEANUP_FUNC(WorkerEvent *, worker_event_free);

typedef struct Worker Worker;

/* Starts the thread (which makes a first snapshot at once). The options are copied. 0 or -errno. */
int worker_start(const WorkerOptions *o, Worker **ret);
/*
 * Asks the thread to stop and waits for it: for the step it is in (a pass over the feed or an
 * action, whose requests each give up after timeout_sec), not for more requests. Frees everything.
 */
Worker *worker_stop(Worker *w);
DEFINE_TRIVIAL_CLEANUP_FUNC(Worker *, worker_stop);

int worker_fd(Worker *w);
/* The next event, or NULL when none is waiting (clears worker_fd()'s readiness when empty). */
WorkerEvent *worker_next(Worker *w);

/* Queues an action on a rollout (one at a time: -EBUSY while one is queued or running). */
int worker_act(Worker *w, const char *rollout, RolloutAction a);
/*
 * Queues a promotion: product's channel to release_id (api_channel_put(), audited as 'flota
 * promote' is). Ends as a WORKER_ACTION event. -EBUSY while another action is queued or running.
 */
int worker_promote(Worker *w, const char *product, const char *channel, int64_t release_id);

typedef enum BulkKind {
        BULK_LABEL, /* replace the devices' labels (on flotad and in the inventory) */
        BULK_PIN,   /* pin them to a release */
        BULK_UNPIN,
        BULK_ASSIGN, /* assign them a release */
        _BULK_MAX,
} BulkKind;

const char *bulk_kind_to_string(BulkKind k);

/*
 * Queues a change to many devices (the Fleet view's marked rows), audited as the CLI's verbs
 * are. ids (n) and labels (n_labels, for BULK_LABEL) are copied. Ends as a WORKER_ACTION
 * event saying how many devices changed. -EBUSY while another action is queued or running.
 */
int worker_bulk(Worker *w, BulkKind kind, char *const *ids, size_t n, int64_t release_id,
                char *const *labels, size_t n_labels);
/*
 * Follows one device's record on flotad (its recent check-ins): fetched at once and after
 * every pass, as WORKER_DEVICE events. NULL stops.
 */
void worker_watch_device(Worker *w, const char *id);
/*
 * Asks for a plan preview of a rollout that does not exist yet: spec_text in rollout_spec_parse()'s
 * form, over the worker's inventory. Only the latest request is kept; it ends as a WORKER_PLAN
 * event with the same seq. The strings are copied.
 */
void worker_plan(Worker *w, uint64_t seq, const char *name, const char *spec_text,
                 const RolloutRelease *release);
/*
 * Queues the creation of a rollout (rollout_create()) and, when start, its start; ends as a
 * WORKER_ACTION event naming the rollout. -EBUSY while another action is queued or running.
 */
int worker_create(Worker *w, const char *name, const char *spec_text, bool start);
/*
 * Queues the upload of an image file as a new release of product (version NULL or "": the
 * image's own), audited as 'flota release upload' is. Ends as a WORKER_ACTION event. -EBUSY as above.
 */
int worker_upload(Worker *w, const char *path, const char *product, const char *version);
/* Queues the start of a draft rollout (rollout_start()). -EBUSY as above. */
int worker_start_rollout(Worker *w, const char *name);
/*
 * Hands an mDNS sighting (its strings copied) or a goodbye (gone: only device is read) to the
 * worker, which writes it into the inventory: the UI thread never waits for the disk.
 */
void worker_mdns(Worker *w, const MdnsSighting *x, bool gone);
/* Asks for the logs to be read now (one of them changed: the UI watches them with inotify). */
void worker_logs_changed(Worker *w);
/* Asks for a new snapshot now (after a change in the UI's own inventory handle, e.g.). */
void worker_refresh(Worker *w);
