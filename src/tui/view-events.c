/* SPDX-License-Identifier: MIT */
/* The Events view (rollout steps and the audit log, newest at the bottom) and the help screen. */
#include <curses.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "app.h"
#include "flota/strutil.h"

static void draw_events(App *a) {
        const Snapshot *s = a->snap;
        int rows = LINES - 4;
        char t[32];

        term_print(1, 1, COLS - 1, ROLE_TITLE, "TIME      EVENT                                 DETAIL");
        if (s->n_events == 0) {
                term_print(3, 2, COLS - 2, ROLE_DIM, "no events yet");
                return;
        }
        if (a->follow || a->events_top + (size_t) rows > s->n_events)
                a->events_top = s->n_events > (size_t) rows ? s->n_events - (size_t) rows : 0;
        for (int i = 0; i < rows && a->events_top + (size_t) i < s->n_events; i++) {
                const EventRow *e = &s->events[a->events_top + (size_t) i];
                time_t sec = (time_t) (e->at / USEC_PER_SEC);
                struct tm tm;
                if (!localtime_r(&sec, &tm) || strftime(t, sizeof(t), "%H:%M:%S", &tm) == 0)
                        strcpy(t, "--:--:--");
                Role role = strstr(e->what, "halt") || strstr(e->what, "fail") || strstr(e->what, "abort") ? ROLE_BAD
                            : strstr(e->what, "audit") ? ROLE_DIM : ROLE_NORMAL;
                term_print(2 + i, 1, 8, ROLE_DIM, t);
                term_print(2 + i, 11, 37, role, e->what);
                term_print(2 + i, 49, COLS - 49, ROLE_NORMAL, e->detail);
        }
}

static int act_events(App *a, Action action) {
        size_t rows = (size_t) (LINES > 4 ? LINES - 4 : 1);

        if (action == ACTION_FOLLOW) {
                a->follow = !a->follow;
                app_status(a, ROLE_DIM, a->follow ? "following new events" : "paused: new events wait below");
                return CHANGE_REDRAW;
        }
        if (app_move(action, &a->events_top, a->snap->n_events > rows ? a->snap->n_events - rows + 1 : 1, rows)) {
                a->follow = false;
                return CHANGE_REDRAW;
        }
        return CHANGE_NONE;
}

const ViewOps view_events_ops = { draw_events, act_events, NULL };

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
                                        snprintf(where + strlen(where), sizeof(where) - strlen(where), "%s%s",
                                                 where[0] ? "," : "", view_to_string(v));
                term_print(y, 2, 7, ROLE_ACCENT, t[i].name);
                term_print(y, 10, 38, ROLE_DIM, where[0] ? where : "everywhere");
                if (a->read_only && action_needs_admin(t[i].action))
                        term_printf(y, 49, COLS - 49, ROLE_DIM, "%s (unavailable: read-only token)", t[i].help);
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

const ViewOps view_help_ops = { draw_help, act_help, NULL };
