/* SPDX-License-Identifier: MIT */
/* The dashboard's loop: keys, resize, the worker's results and the clock on one poll(2) loop; drawing. */
#include "tui.h"

#include <curses.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "app.h"
#include "log-watch.h"
#include "flota/alloc.h"
#include "flota/inventory.h"
#include "flota/strutil.h"

#define CLOCK_TICK (1 * USEC_PER_SEC)
#define DEFAULT_INTERVAL (3 * USEC_PER_SEC)

static const ViewOps *const views[_VIEW_MAX] = {
        [VIEW_FLEET] = &view_fleet_ops,       [VIEW_DEVICE] = &view_device_ops,
        [VIEW_RELEASES] = &view_releases_ops, [VIEW_ROLLOUTS] = &view_rollouts_ops,
        [VIEW_EVENTS] = &view_events_ops,     [VIEW_CREATE] = &view_create_ops,
        [VIEW_OUTPUT] = &view_output_ops,     [VIEW_HELP] = &view_help_ops,
};

void app_status(App *a, Role role, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        (void) vsnprintf(a->status, sizeof(a->status), fmt, ap);
        va_end(ap);
        a->status_role = role;
}

bool app_move(Action action, size_t *cursor, size_t n, size_t page) {
        if (page == 0)
                page = 1;
        switch (action) {
        case ACTION_UP:
                if (*cursor > 0)
                        (*cursor)--;
                return true;
        case ACTION_DOWN:
                if (*cursor + 1 < n)
                        (*cursor)++;
                return true;
        case ACTION_PAGE_UP: *cursor = *cursor > page ? *cursor - page : 0; return true;
        case ACTION_PAGE_DOWN:
                *cursor = n == 0 ? 0 : *cursor + page < n ? *cursor + page : n - 1;
                return true;
        case ACTION_HOME: *cursor = 0; return true;
        case ACTION_END: *cursor = n > 0 ? n - 1 : 0; return true;
        default: return false;
        }
}

void app_set_view(App *a, View v) {
        if (v != VIEW_DEVICE && v != VIEW_HELP && a->view == VIEW_DEVICE) {
                worker_watch_device(a->worker, NULL);
                device_record_clear(a);
        }
        if (v != VIEW_HELP && v != VIEW_DEVICE && v != VIEW_OUTPUT)
                a->back_view = v;
        if (v == VIEW_HELP && a->view != VIEW_HELP) {
                a->back_view = a->view;
                a->help_top = 0;
        }
        a->view = v;
        a->status[0] = 0;
}

/* The device under the Fleet cursor, or NULL. */
static const char *cursor_device(App *a) {
        if (!a->snap || !a->idx || a->cursor >= a->n_idx)
                return NULL;
        return a->snap->rows[a->idx[a->cursor]].id;
}

/* Rebuilds the fleet's index after a new snapshot, filter or sort; the cursor stays on keep when given. */
void app_rebuild_fleet(App *a, const char *keep) {
        char err[SELECTION_ERROR_MAX];
        size_t *idx;
        size_t n;

        if (!a->snap)
                return;
        if (fleet_view_build(a->snap, a->filter, a->snap->taken, a->sort, a->reverse, &idx, &n, err) < 0) {
                app_status(a, ROLE_BAD, "filter: %s", err);
                a->filter[0] = 0;
                (void) fleet_view_build(a->snap, NULL, a->snap->taken, a->sort, a->reverse, &idx, &n, err);
        }
        free(a->idx);
        a->idx = idx;
        a->n_idx = n;
        if (keep)
                for (size_t i = 0; i < n; i++)
                        if (streq(a->snap->rows[idx[i]].id, keep)) {
                                a->cursor = i;
                                return;
                        }
        if (a->cursor >= n)
                a->cursor = n > 0 ? n - 1 : 0;
}

static void draw_status(App *a) {
        int y = LINES - 2;

        term_fill(y, 0, COLS, ROLE_NORMAL);
        if (a->confirming)
                term_print(y, 1, COLS - 1, ROLE_WARN, a->confirm_text);
        else if (a->editing) {
                int x = 1 + term_print(y, 1, COLS - 1, ROLE_ACCENT,
                                       a->edit_for == EDIT_CHANNEL ? "promote to channel: "
                                       : a->edit_for == EDIT_LABELS
                                               ? "labels (space-separated, none clears): "
                                       : a->edit_for == EDIT_RELEASE     ? "release id: "
                                       : a->edit_for == EDIT_EVENTS      ? "events containing: "
                                       : a->edit_for == EDIT_COMMAND     ? ":flota "
                                       : a->edit_for == EDIT_UPLOAD_PATH ? "upload image (Tab completes): "
                                       : a->edit_for == EDIT_UPLOAD_PRODUCT ? "product: "
                                       : a->edit_for == EDIT_UPLOAD_VERSION
                                               ? "version (empty: an ESP32 image's own): "
                                               : "filter: ");
                x += term_print(y, x, COLS - x - 1, ROLE_NORMAL, a->edit);
                term_print(y, x, 1, ROLE_ACCENT, " ");
        } else if (a->status[0])
                term_print(y, 1, COLS - 1, a->status_role, a->status);
        else if (a->have_pass && !a->server_ok && a->server_msg[0])
                term_printf(y, 1, COLS - 1, ROLE_BAD, "flotad: %s", a->server_msg);
        else if (a->view == VIEW_FLEET && a->filter[0])
                term_printf(y, 1, COLS - 1, ROLE_BUSY, "filter: %s   (Esc clears)", a->filter);
        else if (a->view == VIEW_EVENTS && a->events_filter[0])
                term_printf(y, 1, COLS - 1, ROLE_BUSY, "events containing: %s   (Esc clears)",
                            a->events_filter);
}

static void draw_too_small(void) {
        char msg[128];

        snprintf(msg, sizeof(msg), "flota needs at least %dx%d; this terminal is %dx%d", LAYOUT_MIN_COLS,
                 LAYOUT_MIN_LINES, COLS, LINES);
        int w = (int) strlen(msg);
        term_print(LINES / 2, w < COLS ? (COLS - w) / 2 : 0, COLS, ROLE_WARN, msg);
        if (LINES > 1)
                term_print(LINES / 2 + 1, COLS > 14 ? (COLS - 14) / 2 : 0, COLS, ROLE_DIM, "(q quits)");
}

static void draw(App *a) {
        usec_t t0 = now_usec(CLOCK_MONOTONIC);

        layout_compute(LINES, COLS, a->snap ? a->snap->n_products : 0, 0, &a->layout);
        if (a->snap && !a->layout.too_small) {
                size_t active = 0;
                for (size_t i = 0; i < a->snap->n_rollouts; i++)
                        active += rollout_info_is_active(&a->snap->rollouts[i]);
                layout_compute(LINES, COLS, a->snap->n_products, active, &a->layout);
        }
        erase();
        if (a->layout.too_small)
                draw_too_small();
        else {
                app_draw_title(a);
                if (a->snap)
                        views[a->view]->draw(a);
                else
                        term_print(LINES / 2, 2, COLS - 2, ROLE_DIM, "reading the inventory...");
                draw_status(a);
                app_draw_bar(a);
        }
        refresh();
        usec_t t1 = now_usec(CLOCK_MONOTONIC);
        a->last_draw_usec = t1 - t0;
        if (a->snap) {
                a->n_draws++;
                a->sum_draw_usec += t1 - t0;
                if (t1 - t0 > a->max_draw_usec)
                        a->max_draw_usec = t1 - t0;
        }
        if (a->snap && a->first_paint_usec == 0)
                a->first_paint_usec = t1 - a->started;
}

/* ---- input ---- */

static const char *const action_verbs[_ROLLOUT_ACTION_MAX] = {
        [ROLLOUT_ACTION_PAUSE] = "pause",
        [ROLLOUT_ACTION_RESUME] = "resume",
        [ROLLOUT_ACTION_APPROVE] = "approve",
        [ROLLOUT_ACTION_ABORT] = "abort",
        [ROLLOUT_ACTION_RETRY_FAILED] = "retry-failed",
        [ROLLOUT_ACTION_ROLLBACK] = "rollback",
        [ROLLOUT_ACTION_PROMOTE] = "promote",
};

static void confirm_key(App *a, int key) {
        a->confirming = false;
        if (key != 'y' && key != 'Y') {
                app_status(a, ROLE_DIM, "cancelled: nothing changed");
                bulk_clear(a);
                return;
        }
        if (a->confirm_for == CONFIRM_BULK) {
                char *labels[64];
                size_t n = 0;
                _cleanup_free_ char *copy = xstrdup(a->bulk_labels);
                for (char *save = NULL, *t = strtok_r(copy, " ,", &save); t && n < ELEMENTSOF(labels);
                     t = strtok_r(NULL, " ,", &save))
                        labels[n++] = t;
                int r = worker_bulk(a->worker, a->bulk_kind, a->bulk_ids, a->n_bulk_ids, a->bulk_release,
                                    labels, n);
                if (r == -EBUSY)
                        app_status(a, ROLE_WARN, "an action is still running; try again when it is done");
                else
                        app_status(a, ROLE_BUSY, "%s: working...", bulk_kind_to_string(a->bulk_kind));
                bulk_clear(a);
                return;
        }
        if (a->confirm_for == CONFIRM_VIEW) {
                if (views[a->view]->confirmed)
                        views[a->view]->confirmed(a);
                return;
        }
        if (a->confirm_for == CONFIRM_UPLOAD) {
                int r = worker_upload(a->worker, a->upload_path, a->upload_product, a->upload_version);
                if (r == -EBUSY)
                        app_status(a, ROLE_WARN, "an action is still running; try again when it is done");
                else
                        app_status(a, ROLE_BUSY, "upload %s: working...", a->upload_path);
                return;
        }
        if (a->confirm_for == CONFIRM_START) {
                int r = worker_start_rollout(a->worker, a->confirm_rollout);
                if (r == -EBUSY)
                        app_status(a, ROLE_WARN, "an action is still running; try again when it is done");
                else
                        app_status(a, ROLE_BUSY, "start %s: working...", a->confirm_rollout);
                return;
        }
        if (a->confirm_for == CONFIRM_PROMOTE) {
                int r = worker_promote(a->worker, a->promote_product, a->promote_channel,
                                       a->promote_release);
                if (r == -EBUSY)
                        app_status(a, ROLE_WARN, "an action is still running; try again when it is done");
                else
                        app_status(a, ROLE_BUSY, "promote %s/%s: working...", a->promote_product,
                                   a->promote_channel);
                return;
        }
        int r = worker_act(a->worker, a->confirm_rollout, a->confirm_action);
        if (r == -EBUSY)
                app_status(a, ROLE_WARN, "an action is still running; try again when it is done");
        else
                app_status(a, ROLE_BUSY, "%s %s: working...", action_verbs[a->confirm_action],
                           a->confirm_rollout);
}

static int edit_key(App *a, int key) {
        size_t len = strlen(a->edit);

        switch (key) {
        case 27:
                a->editing = false;
                bulk_clear(a);
                return CHANGE_REDRAW;
        case '\n':
        case '\r':
        case KEY_ENTER:
                a->editing = false;
                if (a->edit_for == EDIT_CHANNEL) {
                        releases_channel_entered(a, a->edit);
                        return CHANGE_REDRAW;
                }
                if (a->edit_for == EDIT_COMMAND)
                        return command_start(a, a->edit);
                if (a->edit_for == EDIT_UPLOAD_PATH || a->edit_for == EDIT_UPLOAD_PRODUCT ||
                    a->edit_for == EDIT_UPLOAD_VERSION) {
                        releases_upload_entered(a, a->edit_for, a->edit);
                        return CHANGE_REDRAW;
                }
                if (a->edit_for == EDIT_EVENTS) {
                        (void) strscpy(a->events_filter, sizeof(a->events_filter), a->edit);
                        events_merge(a);
                        return CHANGE_REDRAW;
                }
                if (a->edit_for == EDIT_LABELS || a->edit_for == EDIT_RELEASE) {
                        bulk_entered(a, a->edit);
                        return CHANGE_REDRAW;
                }
                (void) strscpy(a->filter, sizeof(a->filter), a->edit);
                a->cursor = a->top = 0;
                a->status[0] = 0;
                return CHANGE_VIEW;
        case KEY_BACKSPACE:
        case 127:
        case 8:
                if (len > 0)
                        a->edit[len - 1] = 0;
                return CHANGE_REDRAW;
        case 21: /* ^U */ a->edit[0] = 0; return CHANGE_REDRAW;
        case '\t':
                if (a->edit_for == EDIT_UPLOAD_PATH)
                        releases_upload_complete(a);
                return CHANGE_REDRAW;
        default:
                if (key >= 32 && key < 127 && len + 1 < sizeof(a->edit)) {
                        a->edit[len] = (char) key;
                        a->edit[len + 1] = 0;
                }
                return CHANGE_REDRAW;
        }
}

static int global_action(App *a, Action action) {
        static const View order[] = { VIEW_FLEET, VIEW_RELEASES, VIEW_ROLLOUTS, VIEW_EVENTS };

        switch (action) {
        case ACTION_QUIT:
                a->quit = true;
                loop_quit(a->loop);
                return CHANGE_REDRAW;
        case ACTION_HELP:
                app_set_view(a, a->view == VIEW_HELP ? a->back_view : VIEW_HELP);
                return CHANGE_REDRAW;
        case ACTION_VIEW_FLEET: app_set_view(a, VIEW_FLEET); return CHANGE_REDRAW;
        case ACTION_VIEW_RELEASES: app_set_view(a, VIEW_RELEASES); return CHANGE_REDRAW;
        case ACTION_VIEW_ROLLOUTS: app_set_view(a, VIEW_ROLLOUTS); return CHANGE_REDRAW;
        case ACTION_VIEW_EVENTS: app_set_view(a, VIEW_EVENTS); return CHANGE_REDRAW;
        case ACTION_NEXT_VIEW: {
                size_t i = 0;
                while (i < ELEMENTSOF(order) && order[i] != a->view)
                        i++;
                app_set_view(a, order[i < ELEMENTSOF(order) ? (i + 1) % ELEMENTSOF(order) : 0]);
                return CHANGE_REDRAW;
        }
        case ACTION_REFRESH:
                clearok(curscr, TRUE);
                worker_refresh(a->worker);
                return CHANGE_REDRAW;
        case ACTION_COMMAND:
                a->editing = true;
                a->edit_for = EDIT_COMMAND;
                a->edit[0] = 0;
                return CHANGE_REDRAW;
        default: return -1;
        }
}

static int dispatch(App *a, Action action) {
        int c = global_action(a, action);
        if (c >= 0)
                return c;
        if (!a->snap)
                return CHANGE_NONE;
        if (a->read_only && action_needs_admin(action)) {
                app_status(a, ROLE_WARN, "%s: unavailable, this token may only read (an admin token can)",
                           action_to_string(action));
                return CHANGE_REDRAW;
        }
        return views[a->view]->act(a, action);
}

/* Clicks become actions: the bar's keys, the wheel, and what the view makes of a click. */
static int handle_mouse(App *a) {
        MEVENT ev;
        int c = CHANGE_NONE;

        if (getmouse(&ev) != OK || a->layout.too_small || a->confirming || a->editing)
                return CHANGE_NONE;
        if (ev.bstate & (BUTTON4_PRESSED | BUTTON5_PRESSED)) {
                for (int i = 0; i < 3; i++)
                        c |= dispatch(a, ev.bstate & BUTTON4_PRESSED ? ACTION_UP : ACTION_DOWN);
                return c;
        }
        if (!(ev.bstate & (BUTTON1_CLICKED | BUTTON1_PRESSED | BUTTON1_RELEASED)))
                return CHANGE_NONE;
        if (ev.bstate & BUTTON1_RELEASED && !(ev.bstate & BUTTON1_CLICKED))
                return CHANGE_NONE;
        if (ev.y == LINES - 1) {
                for (size_t i = 0; i < a->n_bar_hits; i++)
                        if (ev.x >= a->bar_hits[i].x0 && ev.x < a->bar_hits[i].x1)
                                return dispatch(a, a->bar_hits[i].action);
                return CHANGE_NONE;
        }
        if (a->snap && views[a->view]->click)
                return views[a->view]->click(a, ev.y, ev.x);
        return CHANGE_NONE;
}

static int handle_key(App *a, int key) {
        if (key == KEY_RESIZE)
                return CHANGE_REDRAW;
        if (key == KEY_MOUSE)
                return handle_mouse(a);
        if (a->confirming) {
                confirm_key(a, key);
                return CHANGE_REDRAW;
        }
        if (a->editing)
                return edit_key(a, key);
        if (a->layout.too_small)
                return key == 'q' ? global_action(a, ACTION_QUIT) : CHANGE_NONE;
        if (views[a->view]->key) {
                int changes = views[a->view]->key(a, key);
                if (changes >= 0)
                        return changes;
        }
        const KeyBinding *b = keymap_lookup(key, a->view);
        if (!b)
                return CHANGE_NONE;
        return dispatch(a, b->action);
}

static void apply(App *a, int changes) {
        if (changes & CHANGE_VIEW)
                app_rebuild_fleet(a, cursor_device(a));
        if (changes && !a->quit)
                draw(a);
}

void app_redraw(App *a) {
        apply(a, CHANGE_REDRAW);
}

static void on_input(Loop *l, int fd, short revents, void *userdata) {
        App *a = userdata;
        int changes = 0, key;
        usec_t t0 = now_usec(CLOCK_MONOTONIC);

        if (revents & (POLLHUP | POLLERR)) {
                a->quit = true;
                loop_quit(l);
                return;
        }
        while ((key = getch()) != ERR) {
                changes |= handle_key(a, key);
                if (changes & CHANGE_VIEW) {
                        apply(a, CHANGE_VIEW);
                        changes &= ~CHANGE_VIEW;
                }
                if (a->quit)
                        return;
        }
        apply(a, changes);
        usec_t d = now_usec(CLOCK_MONOTONIC) - t0;
        if (a->n_inputs < APP_INPUT_SAMPLES)
                a->input_usec[a->n_inputs] = d;
        a->n_inputs++;
        a->sum_input_usec += d;
        if (d > a->max_input_usec)
                a->max_input_usec = d;
}

static void on_signal(Loop *l, int fd, short revents, void *userdata) {
        App *a = userdata;
        bool resized, quit;

        term_read_signals(&resized, &quit);
        if (quit) {
                a->quit = true;
                loop_quit(l);
                return;
        }
        if (resized) {
                term_resize();
                /* resizeterm() queued a KEY_RESIZE; drain it with the other keys */
                while (getch() != ERR) {
                }
                apply(a, CHANGE_REDRAW);
        }
}

static void take_snapshot(App *a, WorkerEvent *e) {
        if (!e->snapshot) {
                app_status(a, ROLE_BAD, "%s", e->message);
                return;
        }
        const char *keep = cursor_device(a);
        _cleanup_free_ char *kept = keep ? xstrdup(keep) : NULL;
        snapshot_carry_marks(e->snapshot, a->snap);
        snapshot_free(a->snap);
        a->snap = TAKE_PTR(e->snapshot);
        a->snap_build_usec = e->build_usec;
        app_rebuild_fleet(a, kept);
        events_merge(a);
        if (a->view == VIEW_DEVICE)
                device_detail_load(a);
}

static void on_worker(Loop *l, int fd, short revents, void *userdata) {
        App *a = userdata;
        WorkerEvent *e;

        while ((e = worker_next(a->worker))) {
                /* first every view with state of its own sees it (the New rollout form: its preview,
                 * its rollout made, which may change the view before the status line says so) */
                for (View v = 0; v < _VIEW_MAX; v++)
                        if (views[v]->event)
                                views[v]->event(a, e);
                switch (e->kind) {
                case WORKER_SNAPSHOT: take_snapshot(a, e); break;
                case WORKER_PASS:
                        a->read_only |= e->denied;
                        a->have_pass = true;
                        a->server_ok = e->ok;
                        a->last_pass = now_usec(CLOCK_MONOTONIC);
                        (void) strscpy(a->server_msg, sizeof(a->server_msg), e->message);
                        break;
                case WORKER_ACTION:
                        a->read_only |= e->denied;
                        app_status(a, e->ok ? ROLE_OK : ROLE_BAD, "%s", e->message);
                        break;
                case WORKER_PLAN: break;
                case WORKER_TOKEN:
                        a->read_only |= e->denied;
                        if (e->denied)
                                app_status(a, ROLE_WARN, "%s", e->message);
                        break;
                case WORKER_LOG:
                        if (!e->ok || e->checkins == 0)
                                app_status(a, ROLE_BAD, "log %s", e->message);
                        break;
                case WORKER_DEVICE: device_record_take(a, e); break;
                case WORKER_RELEASES: releases_take(a, e); break;
                case WORKER_CHECKINS: events_take_checkins(a, e); break;
                }
                worker_event_free(e);
        }
        apply(a, CHANGE_REDRAW);
}

/*
 * mDNS on the UI's loop: what a service says goes to the worker, which writes the inventory
 * (the next snapshot shows it); the change is an event; avahi-daemon away or back is said once.
 */
static void on_discovery(Discovery *d, DiscoveryEvent ev, const DiscoveryService *svc, void *userdata) {
        App *a = userdata;
        char id[DEVICE_ID_MAX + 1];
        MdnsSighting x;

        if (ev == DISCOVERY_DAEMON_DOWN || ev == DISCOVERY_DAEMON_UP) {
                a->mdns_down = ev == DISCOVERY_DAEMON_DOWN;
                app_status(a, a->mdns_down ? ROLE_WARN : ROLE_OK, "mDNS: %s",
                           a->mdns_down ? discovery_error(d) : "avahi-daemon is back");
                events_add(a, now_usec(CLOCK_REALTIME), a->mdns_down ? "mdns down" : "mdns up",
                           a->mdns_down ? discovery_error(d) : "");
                apply(a, CHANGE_REDRAW);
                return;
        }
        if (!svc->is_device)
                return;
        discovery_sighting(svc, now_usec(CLOCK_REALTIME), &x, id);
        worker_mdns(a->worker, &x, ev == DISCOVERY_REMOVED);
        _cleanup_free_ char *what = xasprintf("mdns %s %s", discovery_event_to_string(ev), id);
        _cleanup_free_ char *detail =
                xasprintf("%s %s %s:%u", x.kind, isempty(x.name) ? "-" : x.name, x.ip, x.port);
        events_add(a, x.at, what, detail);
        if (a->view == VIEW_EVENTS)
                apply(a, CHANGE_REDRAW);
}

static void on_logs_changed(void *userdata) {
        worker_logs_changed(userdata);
}

/* Once a second: ages and the feed's lag move on the screen. */
static void on_clock(Loop *l, void *userdata) {
        App *a = userdata;

        if (a->quit_at && loop_now(l) >= a->quit_at) {
                a->quit = true;
                loop_quit(l);
                return;
        }
        apply(a, CHANGE_REDRAW);
        loop_timer(l, loop_now(l) + CLOCK_TICK, on_clock, a);
}

/* ---- entry ---- */

/* The process's peak resident set in KiB (VmHWM), or 0 when /proc does not say. */
static unsigned long peak_rss_kib(void) {
        char line[256];
        unsigned long kib = 0;
        FILE *f = fopen("/proc/self/status", "re");

        if (!f)
                return 0;
        while (fgets(line, sizeof(line), f))
                if (sscanf(line, "VmHWM: %lu kB", &kib) == 1)
                        break;
        fclose(f);
        return kib;
}

static void app_done(App *a) {
        command_clear(a);
        free(a->cmd_line);
        worker_stop(a->worker);
        device_detail_clear(a);
        device_record_clear(a);
        releases_clear(a);
        bulk_clear(a);
        events_clear(a);
        for (View v = 0; v < _VIEW_MAX; v++)
                if (views[v]->done)
                        views[v]->done(a);
        snapshot_free(a->snap);
        free(a->idx);
        store_free(a->store);
        loop_free(a->loop);
}

static int cmp_usec(const void *x, const void *y) {
        usec_t a = *(const usec_t *) x, b = *(const usec_t *) y;
        return a < b ? -1 : a > b;
}

/* The 99th percentile of the keys' times (of the first APP_INPUT_SAMPLES keys). */
static usec_t input_p99(App *a) {
        size_t n = a->n_inputs < APP_INPUT_SAMPLES ? (size_t) a->n_inputs : APP_INPUT_SAMPLES;

        if (n == 0)
                return 0;
        qsort_safe(a->input_usec, n, sizeof(usec_t), cmp_usec);
        return a->input_usec[(n * 99 + 99) / 100 - 1];
}

int tui_run(const TuiOptions *o, char err[static 256]) {
        App a = {
                .inventory_path = o->inventory_path,
                .server = o->server,
                .token = o->token,
                .cmd_fd = -1,
                .tick = o->tick,
                .sort = FLEET_COL_ID,
                .follow = true,
                .started = now_usec(CLOCK_MONOTONIC),
        };
        WorkerOptions wo = {
                .inventory_path = o->inventory_path,
                .server = o->server,
                .token = o->token,
                .timeout_sec = o->timeout_sec ? o->timeout_sec : 10,
                .interval = o->interval ? o->interval : DEFAULT_INTERVAL,
                .tick = o->tick,
                .logs = o->logs,
                .log_formats = o->log_formats,
                .n_logs = o->n_logs,
                .push_password = o->push_password,
                .push_userdata = o->push_userdata,
                .push_user = o->push_user,
        };
        LogWatch *logs = NULL;
        int r;

        r = inventory_open(o->inventory_path, &a.store);
        if (r < 0) {
                snprintf(err, 256, "cannot open the inventory %s: %s", o->inventory_path, strerror(-r));
                return r;
        }
        r = term_init(&(TermOptions) { .color = o->color });
        if (r < 0) {
                snprintf(err, 256, "%s", r == -ENOTTY ? "the dashboard needs a terminal" : strerror(-r));
                store_free(a.store);
                return r;
        }
        a.loop = loop_new();
        a.quit_at = o->duration ? a.started + o->duration : 0;
        r = worker_start(&wo, &a.worker);
        if (r < 0) {
                term_done();
                snprintf(err, 256, "cannot start the worker thread: %s", strerror(-r));
                app_done(&a);
                return r;
        }
        (void) loop_watch(a.loop, STDIN_FILENO, POLLIN, on_input, &a);
        (void) loop_watch(a.loop, term_signal_fd(), POLLIN, on_signal, &a);
        (void) loop_watch(a.loop, worker_fd(a.worker), POLLIN, on_worker, &a);
        if (o->mdns) {
                r = discovery_new(a.loop, o->mdns_types ? o->mdns_types : DISCOVERY_TYPES_DEFAULT,
                                  on_discovery, &a, &a.discovery);
                if (r < 0)
                        app_status(&a, ROLE_WARN, "mDNS discovery is off: %s", strerror(-r));
        }
        /* without inotify the logs are still read on every pass */
        if (o->n_logs > 0)
                (void) log_watch_new(a.loop, o->logs, o->n_logs, on_logs_changed, a.worker, &logs);
        loop_timer(a.loop, now_usec(CLOCK_MONOTONIC) + CLOCK_TICK, on_clock, &a);
        draw(&a);
        r = loop_run(a.loop);
        log_watch_free(logs);
        a.discovery = discovery_free(a.discovery);
        term_done();
        if (o->stats)
                fprintf(stderr,
                        "flota tui: first paint %.1f ms; %" PRIu64 " redraws, mean %.2f ms, max %.2f ms; "
                        "keys to screen: %" PRIu64
                        " times, mean %.1f ms, p99 %.1f ms, max %.1f ms; snapshot of %zu "
                        "devices read in %.1f ms; peak RSS %lu MiB\n",
                        (double) a.first_paint_usec / 1000.0, a.n_draws,
                        a.n_draws ? (double) a.sum_draw_usec / (double) a.n_draws / 1000.0 : 0.0,
                        (double) a.max_draw_usec / 1000.0, a.n_inputs,
                        a.n_inputs ? (double) a.sum_input_usec / (double) a.n_inputs / 1000.0 : 0.0,
                        (double) input_p99(&a) / 1000.0, (double) a.max_input_usec / 1000.0,
                        a.snap ? a.snap->n_rows : 0, (double) a.snap_build_usec / 1000.0,
                        peak_rss_kib() / 1024);
        app_done(&a);
        if (r < 0) {
                snprintf(err, 256, "the event loop failed: %s", strerror(-r));
                return r;
        }
        return 0;
}

void tui_print_keys(FILE *f) {
        size_t n;
        const KeyBinding *t = keymap_table(&n);

        for (size_t i = 0; i < n; i++) {
                if (i > 0 && t[i - 1].action == t[i].action && streq(t[i - 1].name, t[i].name) &&
                    streq(t[i - 1].help, t[i].help))
                        continue;
                fprintf(f, "*%s*", t[i].name);
                bool first = true;
                for (View v = 0; v < _VIEW_MAX; v++)
                        if ((t[i].views & V_ALL) != V_ALL && (t[i].views & (1u << v))) {
                                fprintf(f, "%s%s", first ? " (" : ", ", view_to_string(v));
                                first = false;
                        }
                fprintf(f, "%s\n\t%s\n\n", first ? "" : ")", t[i].help);
        }
}
