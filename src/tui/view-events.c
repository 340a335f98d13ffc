/* SPDX-License-Identifier: MIT */
/* The Events view (rollout steps and the audit log, newest at the bottom) and the help screen. */
#include <curses.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "app.h"
#include "flota/alloc.h"
#include "flota/decision.h"
#include "flota/strutil.h"

/* check-ins kept for the stream */
#define LIVE_MAX 500
/* rows the view can scroll back over */
#define MERGED_MAX 1000

void events_clear(App *a) {
        for (size_t i = 0; i < a->n_live; i++) {
                free(a->live[i].what);
                free(a->live[i].detail);
        }
        free(a->live);
        a->live = NULL;
        a->n_live = 0;
        free(a->merged);
        a->merged = NULL;
        a->n_merged = 0;
}

void events_merge(App *a) {
        const EventRow *x = a->snap ? a->snap->events : NULL, *y = a->live;
        size_t nx = a->snap ? a->snap->n_events : 0, ny = a->n_live, i = 0, j = 0, n = 0;
        const EventRow **m = xmalloc((nx + ny + 1) * sizeof(EventRow *));

        while (i < nx || j < ny) {
                const EventRow *e = j >= ny || (i < nx && x[i].at <= y[j].at) ? &x[i++] : &y[j++];
                if (!a->events_filter[0] || strstr(e->what, a->events_filter) ||
                    strstr(e->detail, a->events_filter))
                        m[n++] = e;
        }
        if (n > MERGED_MAX) {
                memmove(m, m + (n - MERGED_MAX), MERGED_MAX * sizeof(EventRow *));
                n = MERGED_MAX;
        }
        free(a->merged);
        a->merged = m;
        a->n_merged = n;
}

void events_take_checkins(App *a, WorkerEvent *e) {
        const ApiCheckinPage *p = e->recent;
        size_t allocated = a->n_live;

        for (size_t i = 0; i < p->n; i++) {
                const Checkin *c = &p->items[i];
                const char *reason = reason_to_string(c->reason);
                a->live = xgrow(a->live, &allocated, a->n_live + 1, sizeof(EventRow));
                a->live[a->n_live++] = (EventRow) {
                        .at = c->at,
                        .what = xasprintf("check-in %s", c->device_id),
                        .detail = xasprintf("%d %s %s %s", c->status, reason ? reason : "-",
                                            c->version[0] ? c->version : "-", c->ip[0] ? c->ip : "-"),
                };
        }
        event_rows_keep_newest(a->live, &a->n_live, LIVE_MAX);
        events_merge(a);
}

void events_add(App *a, usec_t at, const char *what, const char *detail) {
        size_t allocated = a->n_live;

        a->live = xgrow(a->live, &allocated, a->n_live + 1, sizeof(EventRow));
        a->live[a->n_live++] =
                (EventRow) { .at = at, .what = xstrdup(what), .detail = xstrdup(detail ? detail : "") };
        event_rows_keep_newest(a->live, &a->n_live, LIVE_MAX);
        events_merge(a);
}

static Role event_role(const EventRow *e) {
        if (strstr(e->what, "halt") || strstr(e->what, "fail") || strstr(e->what, "abort") ||
            strstr(e->what, "rolled-back"))
                return ROLE_BAD;
        if (startswith(e->what, "audit"))
                return ROLE_DIM;
        if (startswith(e->what, "check-in"))
                return startswith(e->detail, "200 ")   ? ROLE_BUSY
                       : startswith(e->detail, "304 ") ? ROLE_NORMAL
                                                       : ROLE_WARN;
        return ROLE_TITLE;
}

static void draw_events(App *a) {
        int rows = LINES - 4;
        char t[32];

        term_print(1, 1, COLS - 1, ROLE_TITLE, "TIME      EVENT                                 DETAIL");
        if (a->n_merged == 0) {
                term_print(3, 2, COLS - 2, ROLE_DIM, "no events yet");
                return;
        }
        if (a->follow || a->events_top + (size_t) rows > a->n_merged)
                a->events_top = a->n_merged > (size_t) rows ? a->n_merged - (size_t) rows : 0;
        for (int i = 0; i < rows && a->events_top + (size_t) i < a->n_merged; i++) {
                const EventRow *e = a->merged[a->events_top + (size_t) i];
                time_t sec = (time_t) (e->at / USEC_PER_SEC);
                struct tm tm;
                if (!localtime_r(&sec, &tm) || strftime(t, sizeof(t), "%H:%M:%S", &tm) == 0)
                        strcpy(t, "--:--:--");
                Role role = event_role(e);
                term_print(2 + i, 1, 8, ROLE_DIM, t);
                term_print(2 + i, 11, 37, role, e->what);
                term_print(2 + i, 49, COLS - 49, ROLE_NORMAL, e->detail);
        }
}

static int act_events(App *a, Action action) {
        size_t rows = (size_t) (LINES > 4 ? LINES - 4 : 1);

        if (action == ACTION_FILTER) {
                a->editing = true;
                a->edit_for = EDIT_EVENTS;
                (void) strscpy(a->edit, sizeof(a->edit), a->events_filter);
                return CHANGE_REDRAW;
        }
        if (action == ACTION_BACK) {
                if (!a->events_filter[0])
                        return CHANGE_NONE;
                a->events_filter[0] = 0;
                events_merge(a);
                return CHANGE_REDRAW;
        }
        if (action == ACTION_FOLLOW) {
                a->follow = !a->follow;
                app_status(a, ROLE_DIM,
                           a->follow ? "following new events" : "paused: new events wait below");
                return CHANGE_REDRAW;
        }
        if (app_move(action, &a->events_top, a->n_merged > rows ? a->n_merged - rows + 1 : 1, rows)) {
                a->follow = false;
                return CHANGE_REDRAW;
        }
        return CHANGE_NONE;
}

const ViewOps view_events_ops = { .draw = draw_events, .act = act_events };

/* ---- help: generated from the key table ---- */

static void draw_help(App *a) {
        size_t n;
        const KeyBinding *t = keymap_table(&n);
        int y = 1;

        term_print(y++, 1, COLS - 1, ROLE_TITLE, "Keys (Esc or F1 returns)");
        size_t skip = a->help_top;
        for (size_t i = 0; i < n && y < LINES - 2; i++) {
                if (i > 0 && t[i - 1].action == t[i].action && streq(t[i - 1].name, t[i].name) &&
                    streq(t[i - 1].help, t[i].help))
                        continue;
                if (skip > 0) {
                        skip--;
                        continue;
                }
                char where[64] = "";
                if ((t[i].views & V_ALL) != V_ALL)
                        for (View v = 0; v < _VIEW_MAX; v++)
                                if (t[i].views & (1u << v) && v != VIEW_HELP)
                                        snprintf(where + strlen(where), sizeof(where) - strlen(where),
                                                 "%s%s", where[0] ? "," : "", view_to_string(v));
                term_print(y, 2, 7, ROLE_ACCENT, t[i].name);
                term_print(y, 10, 38, ROLE_DIM, where[0] ? where : "everywhere");
                if (a->read_only && action_needs_admin(t[i].action))
                        term_printf(y, 49, COLS - 49, ROLE_DIM, "%s (unavailable: read-only token)",
                                    t[i].help);
                else
                        term_print(y, 49, COLS - 49, ROLE_NORMAL, t[i].help);
                y++;
        }
}

static int act_help(App *a, Action action) {
        size_t n;
        (void) keymap_table(&n);
        if (action == ACTION_BACK) {
                app_set_view(a, a->back_view);
                return CHANGE_REDRAW;
        }
        if (app_move(action, &a->help_top, n, 10))
                return CHANGE_REDRAW;
        return CHANGE_NONE;
}

const ViewOps view_help_ops = { .draw = draw_help, .act = act_help };
