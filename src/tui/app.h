/* SPDX-License-Identifier: MIT */
/*
 * The dashboard's state shared by its views (tig's view_ops): each view draws from the App
 * and handles actions, returning what changed; only the loop in tui.c redraws.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "flota/discovery.h"
#include "flota/loop.h"
#include "flota/rollout.h"
#include "keymap.h"
#include "layout.h"
#include "flota/fleet-snapshot.h"
#include "term.h"
#include "worker.h"

#define APP_FILTER_MAX 256
#define APP_STATUS_MAX 1024
#define APP_INPUT_SAMPLES 4096

/* what a handler changed */
enum {
        CHANGE_NONE = 0,
        CHANGE_REDRAW = 1 << 0,
        CHANGE_VIEW = 1 << 1, /* the fleet's index must be rebuilt (filter, sort, snapshot) */
};

/* what the status line's prompt asks for */
typedef enum EditFor {
        EDIT_FILTER,
        EDIT_CHANNEL,     /* the channel of a promotion */
        EDIT_LABELS,      /* labels for the bulk change */
        EDIT_RELEASE,     /* the release to pin or assign */
        EDIT_EVENTS,      /* the Events view's filter */
        EDIT_COMMAND,     /* a flota verb to run */
        EDIT_UPLOAD_PATH, /* the image file to upload (Tab completes) */
        EDIT_UPLOAD_PRODUCT,
        EDIT_UPLOAD_VERSION,
} EditFor;

typedef enum ConfirmFor {
        CONFIRM_ROLLOUT, /* confirm_rollout, confirm_action */
        CONFIRM_PROMOTE, /* promote_* */
        CONFIRM_BULK,    /* bulk_* */
        CONFIRM_VIEW,    /* the current view's own question: its confirmed() hook */
        CONFIRM_START,   /* confirm_rollout: start the draft */
        CONFIRM_UPLOAD,  /* upload_* */
} ConfirmFor;

typedef struct CreateForm CreateForm;

typedef struct DetailLine {
        Role role;
        char *label; /* owned; "" for a continuation line */
        char *text;  /* owned, raw */
} DetailLine;

typedef struct App {
        Loop *loop;
        Worker *worker;
        Store *store; /* the UI's own read handle, for the device detail */
        const char *inventory_path;
        const char *server;
        const char *token;
        bool tick;

        Snapshot *snap;
        usec_t snap_build_usec;
        View view, back_view;
        Layout layout;

        /* Fleet */
        size_t *idx;
        size_t n_idx;
        size_t cursor, top;
        FleetColumn sort;
        bool reverse;
        char filter[APP_FILTER_MAX];
        bool editing;     /* a prompt is open on the status line */
        EditFor edit_for; /* what it asks for */
        char edit[APP_FILTER_MAX];

        /* Device */
        char device[DEVICE_ID_MAX + 1];
        DetailLine *detail;
        size_t n_detail, detail_top;
        DeviceDetail *record; /* flotad's record with recent check-ins (the worker's), or NULL */
        char record_msg[WORKER_MESSAGE_MAX]; /* why there is none */

        /* Releases: flotad's, from the worker */
        ApiReleaseList *releases;
        ApiChannelList *channels;
        size_t release_cursor;
        char upload_path[APP_FILTER_MAX];
        char upload_product[PRODUCT_NAME_MAX + 1];
        char upload_version[DEVICE_VERSION_MAX + 1];

        /* Rollouts */
        size_t rollout_cursor;
        char rollout_pick[ROLLOUT_NAME_MAX + 1]; /* a rollout to put the cursor on once a snapshot has it */
        CreateForm *form; /* the New rollout form, kept while the operator looks elsewhere */

        /* Events: the snapshot's (rollouts, audit) and flotad's check-ins, merged by time */
        EventRow *live; /* owned: the newest check-ins, oldest first */
        size_t n_live;
        const EventRow **merged; /* owned array, borrowed rows */
        size_t n_merged;
        size_t events_top;
        bool follow;
        char events_filter[APP_FILTER_MAX];

        /* Help */
        size_t help_top;

        /* Output: a ':' command (command.c) */
        pid_t cmd_pid; /* 0: none running */
        int cmd_fd;    /* its output, -1 when closed */
        char *cmd_line;
        int cmd_status;
        char **out; /* its lines, escaped when drawn */
        size_t n_out, out_allocated, out_top;
        bool out_cut;
        char *partial; /* a line still without its newline */

        /* the status line: flotad's health, messages, the confirmation prompt */
        bool have_pass, server_ok;
        bool read_only;       /* flotad refused the token a change: admin actions are shown unavailable */
        Discovery *discovery; /* mDNS on the UI's loop (it never blocks it); NULL: off */
        bool mdns_down;       /* avahi-daemon does not answer */
        usec_t last_pass;     /* monotonic */
        char server_msg[WORKER_MESSAGE_MAX];
        char status[APP_STATUS_MAX];
        Role status_role;
        bool confirming;
        char confirm_text[APP_STATUS_MAX];
        char confirm_rollout[ROLLOUT_NAME_MAX + 1];
        RolloutAction confirm_action;
        ConfirmFor confirm_for;
        char promote_product[PRODUCT_NAME_MAX + 1];
        char promote_channel[CHANNEL_NAME_MAX + 1];
        int64_t promote_release;
        BulkKind bulk_kind; /* a bulk change being asked for */
        char **bulk_ids;    /* owned: the devices it changes */
        size_t n_bulk_ids;
        char bulk_labels[APP_FILTER_MAX];
        int64_t bulk_release;

        /* where the bottom bar put each key, for clicks (htop's FunctionBar_synthesizeEvent) */
        struct {
                int x0, x1; /* columns [x0, x1) */
                Action action;
        } bar_hits[24];
        size_t n_bar_hits;

        bool quit;
        usec_t started; /* monotonic, for the first paint's time */
        usec_t quit_at; /* monotonic; 0: only when the operator quits */
        usec_t first_paint_usec;
        usec_t last_draw_usec;
        usec_t max_draw_usec, sum_draw_usec;
        uint64_t n_draws;
        usec_t max_input_usec, sum_input_usec; /* keys read to screen drawn */
        uint64_t n_inputs;
        usec_t input_usec[APP_INPUT_SAMPLES]; /* the first keys' times, for --stats' p99 */
} App;

typedef struct ViewOps {
        void (*draw)(App *a);
        /* returns CHANGE_* bits; CHANGE_NONE also for actions the view does not handle */
        int (*act)(App *a, Action action);
        /* a click at (y, x) in the view's area (may be NULL); returns CHANGE_* bits */
        int (*click)(App *a, int y, int x);
        /* the hooks of a view with state of its own (may be NULL): */
        /* a key before the key table sees it (text typed into a form): CHANGE_* bits, or -1 for the table */
        int (*key)(App *a, int key);
        /* every worker event, after the loop took it */
        void (*event)(App *a, WorkerEvent *e);
        /* the operator said y to the view's own question (CONFIRM_VIEW) */
        void (*confirmed)(App *a);
        /* the dashboard ends: free what the view holds */
        void (*done)(App *a);
} ViewOps;

extern const ViewOps view_fleet_ops;
extern const ViewOps view_device_ops;
extern const ViewOps view_releases_ops;
extern const ViewOps view_rollouts_ops;
extern const ViewOps view_events_ops;
extern const ViewOps view_create_ops;
extern const ViewOps view_output_ops;
extern const ViewOps view_help_ops;

/* shared by the views (tui.c) */
/* n with thousands separators: "100,000" */
const char *group_digits(char buf[static 32], uint64_t n);
void app_status(App *a, Role role, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void app_draw_title(App *a);
void app_draw_bar(App *a);
void app_rebuild_fleet(App *a, const char *keep);
void app_open_device(App *a, const char *id);
void app_set_view(App *a, View v);
/* Moves a cursor over n rows by the action; returns true when it handled the action. */
bool app_move(Action action, size_t *cursor, size_t n, size_t page);

/* the device detail's lines (view-device.c) */
void device_detail_load(App *a);
void device_detail_clear(App *a);
/* Takes flotad's record of the device from a WORKER_DEVICE event (when it is still the one shown). */
void device_record_take(App *a, WorkerEvent *e);
void device_record_clear(App *a);
Role device_state_role(int state);
/* bulk changes to the marked devices (or the one under the cursor or shown), view-fleet.c */
int bulk_start(App *a, BulkKind kind);
void bulk_entered(App *a, const char *text);
void bulk_clear(App *a);
/* Draws the screen now (for callbacks outside the key path). */
void app_redraw(App *a);
/* ':' commands (command.c): runs "flota LINE" and opens the Output view; stop kills it. */
int command_start(App *a, const char *line);
void command_stop(App *a);
void command_clear(App *a);
/* the Releases view's upload prompts (view-releases.c): each step's text entered */
void releases_upload_entered(App *a, EditFor step, const char *text);
/* Tab in the file prompt: completes a->edit as far as the matches agree, and names them. */
void releases_upload_complete(App *a);
/* the New rollout form (view-create.c; the rest through view_create_ops' hooks) */
int create_form_open(App *a);
/* the Events view (view-events.c) */
/* Adds a live event (a discovery change): what and detail are copied, and shown escaped. */
void events_add(App *a, usec_t at, const char *what, const char *detail);
void events_take_checkins(App *a, WorkerEvent *e);
/* Merges the snapshot's events and the live check-ins again (after either changed). */
void events_merge(App *a);
void events_clear(App *a);
/* the Releases view (view-releases.c) */
void releases_take(App *a, WorkerEvent *e);
void releases_clear(App *a);
/* The channel prompt ended with Enter: ask whether to promote the selected release there. */
void releases_channel_entered(App *a, const char *channel);
Role rollout_state_role(RolloutState s);
