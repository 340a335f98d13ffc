/* SPDX-License-Identifier: MIT */
/* The Rollouts view: every rollout with its progress, the selected one's waves, and the actions on it. */
#include <curses.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "flota/strutil.h"

static const Role progress_roles[] = { ROLE_OK, ROLE_BAD, ROLE_WARN, ROLE_BUSY };
static const Glyph progress_glyphs[] = { GLYPH_FULL, GLYPH_FULL, GLYPH_FULL, GLYPH_HALF };

static void progress(int y, int x, int w, const RolloutCounts *c, uint64_t total) {
        uint64_t in_flight = c->offered - rollout_counts_decided(c);
        uint64_t parts[] = { c->updated, c->failed, c->silent, in_flight };
        term_bar(y, x, w, parts, progress_roles, progress_glyphs, ELEMENTSOF(parts), total);
}

static const RolloutInfo *selected(App *a) {
        if (a->snap->n_rollouts == 0)
                return NULL;
        for (size_t i = 0; a->rollout_pick[0] && i < a->snap->n_rollouts; i++)
                if (streq(a->snap->rollouts[i].name, a->rollout_pick)) {
                        a->rollout_cursor = i;
                        a->rollout_pick[0] = 0;
                }
        if (a->rollout_cursor >= a->snap->n_rollouts)
                a->rollout_cursor = a->snap->n_rollouts - 1;
        return &a->snap->rollouts[a->rollout_cursor];
}

static void draw_table(App *a, int y, int rows) {
        static const struct {
                const char *title;
                int x;
        } cols[] = {
                { "ROLLOUT", 1 },  { "RELEASE", 14 }, { "STATE", 33 },  { "WAVE", 43 }, { "PROGRESS", 49 },
                { "UPDATED", 70 }, { "FAILED", 78 },  { "SILENT", 85 }, { "HOLD", 92 },
        };
        for (size_t i = 0; i < ELEMENTSOF(cols); i++)
                if (cols[i].x < COLS)
                        term_print(y, cols[i].x, COLS - cols[i].x, ROLE_TITLE, cols[i].title);
        y++;
        size_t top = layout_scroll(0, a->rollout_cursor, (size_t) rows, a->snap->n_rollouts);
        for (size_t i = top; i < a->snap->n_rollouts && y < 1 + 1 + rows; i++, y++) {
                const RolloutInfo *r = &a->snap->rollouts[i];
                bool cur = i == a->rollout_cursor;
                Role base = cur ? ROLE_ACCENT : ROLE_NORMAL;
                if (cur)
                        term_fill(y, 0, COLS, ROLE_ACCENT);
                term_print(y, 1, 12, base, r->name);
                term_printf(y, 14, 18, base, "%s %s", r->product, r->version);
                term_print(y, 33, 9, cur ? base : rollout_state_role(r->state),
                           rollout_state_to_string(r->state));
                term_printf(y, 43, 5, base, "%u/%zu", r->wave + 1, r->n_waves ? r->n_waves : 1);
                progress(y, 49, 20, &r->total, r->total.eligible);
                term_printf(y, 70, 7, base, "%7" PRIu64, r->total.updated);
                term_printf(y, 78, 6,
                            cur               ? base
                            : r->total.failed ? ROLE_BAD
                                              : ROLE_NORMAL,
                            "%6" PRIu64, r->total.failed);
                term_printf(y, 85, 6,
                            cur               ? base
                            : r->total.silent ? ROLE_WARN
                                              : ROLE_NORMAL,
                            "%6" PRIu64, r->total.silent);
                if (COLS > 92)
                        term_print(y, 92, COLS - 92, base, r->hold[0] ? r->hold : "-");
        }
}

static void draw_waves(const RolloutInfo *r, int y, int last) {
        char title[96];

        snprintf(title, sizeof(title), "%s %s ", term_glyph(GLYPH_HLINE), r->name);
        term_hline(y, 0, COLS);
        term_print(y, 0, COLS, ROLE_TITLE, title);
        y++;
        if (r->hold[0] && y <= last)
                term_printf(y++, 1, COLS - 1, rollout_state_role(r->state), "%s: %s",
                            rollout_state_to_string(r->state), r->hold);
        for (size_t i = 0; i < r->n_waves && y <= last; i++, y++) {
                const RolloutCounts *c = &r->per_wave[i];
                uint64_t size = r->targets[i] - (i > 0 ? r->targets[i - 1] : 0);
                bool current = i == r->wave && !rollout_state_is_final(r->state);
                term_printf(y, 1, 10, current ? ROLE_TITLE : ROLE_NORMAL, "%s wave %zu",
                            current ? term_glyph(GLYPH_CURSOR) : " ", i + 1);
                term_printf(y, 12, 12, ROLE_NORMAL, "%" PRIu64 " device%s", size, size == 1 ? "" : "s");
                progress(y, 25, 20, c, size);
                Role role = c->failed                    ? ROLE_BAD
                            : c->silent                  ? ROLE_WARN
                            : c->updated == size && size ? ROLE_OK
                                                         : ROLE_NORMAL;
                if (c->offered == 0 && c->pending == size)
                        term_print(y, 47, COLS - 47, ROLE_DIM, i < r->wave ? "-" : "waiting");
                else
                        term_printf(y, 47, COLS - 47, role,
                                    "%" PRIu64 " updated, %" PRIu64 " offered, %" PRIu64 " failed, %" PRIu64
                                    " silent, %" PRIu64 " pending",
                                    c->updated, c->offered - rollout_counts_decided(c), c->failed, c->silent,
                                    c->pending);
        }
}

static void draw(App *a) {
        int rows = a->snap->n_rollouts < 6 ? (int) a->snap->n_rollouts : 6;

        if (a->snap->n_rollouts == 0) {
                term_print(3, 2, COLS - 2, ROLE_DIM, "no rollouts: n opens the New rollout form");
                return;
        }
        const RolloutInfo *r = selected(a);
        draw_table(a, 1, rows);
        if (r)
                draw_waves(r, 2 + rows + 1, LINES - 3);
}

/* The sentence that names what an action changes, for the y/N prompt. */
static void describe(const RolloutInfo *r, RolloutAction act, char *buf, size_t size) {
        const RolloutCounts *c = &r->total;
        uint64_t in_flight = c->offered - rollout_counts_decided(c);

        switch (act) {
        case ROLLOUT_ACTION_PAUSE:
                snprintf(buf, size,
                         "Pause %s: no new offers until resumed (%" PRIu64 " offered, %" PRIu64
                         " pending stay as they are)? [y/N]",
                         r->name, in_flight, c->pending);
                break;
        case ROLLOUT_ACTION_RESUME:
                snprintf(buf, size, "Resume %s at wave %u/%zu (%" PRIu64 " devices still pending)? [y/N]",
                         r->name, r->wave + 1, r->n_waves, c->pending);
                break;
        case ROLLOUT_ACTION_APPROVE:
                snprintf(buf, size, "Approve the next wave of %s (wave %u/%zu now)? [y/N]", r->name,
                         r->wave + 1, r->n_waves);
                break;
        case ROLLOUT_ACTION_ABORT:
                snprintf(buf, size,
                         "Abort %s: %" PRIu64 " pending devices are never offered %s, %" PRIu64
                         " offered keep what they run? [y/N]",
                         r->name, c->pending, r->version, in_flight);
                break;
        case ROLLOUT_ACTION_RETRY_FAILED:
                snprintf(buf, size, "Offer %s again to the %" PRIu64 " failed devices of %s? [y/N]",
                         r->version, c->failed, r->name);
                break;
        case ROLLOUT_ACTION_ROLLBACK:
                snprintf(buf, size,
                         "Roll back %" PRIu64 " devices of %s from %s to their previous release? [y/N]",
                         c->updated + in_flight, r->name, r->version);
                break;
        case ROLLOUT_ACTION_PROMOTE:
                snprintf(
                        buf, size,
                        "Promote %s %s to the channel of %s (every %s device on the channel follows)? [y/N]",
                        r->product, r->version, r->name, r->product);
                break;
        default: buf[0] = 0;
        }
}

static int ask(App *a, RolloutAction act) {
        const RolloutInfo *r = selected(a);

        if (!r)
                return CHANGE_NONE;
        if (!a->server) {
                app_status(a, ROLE_WARN, "no flotad configured: actions need --server (or FLOTA_SERVER)");
                return CHANGE_REDRAW;
        }
        describe(r, act, a->confirm_text, sizeof(a->confirm_text));
        (void) strscpy(a->confirm_rollout, sizeof(a->confirm_rollout), r->name);
        a->confirm_action = act;
        a->confirm_for = CONFIRM_ROLLOUT;
        a->confirming = true;
        return CHANGE_REDRAW;
}

static int ask_start(App *a) {
        const RolloutInfo *r = selected(a);

        if (!r)
                return CHANGE_NONE;
        if (r->state != ROLLOUT_DRAFT) {
                app_status(a, ROLE_WARN, "%s is %s: only a draft starts", r->name,
                           rollout_state_to_string(r->state));
                return CHANGE_REDRAW;
        }
        if (!a->server) {
                app_status(a, ROLE_WARN, "no flotad configured: actions need --server (or FLOTA_SERVER)");
                return CHANGE_REDRAW;
        }
        snprintf(a->confirm_text, sizeof(a->confirm_text),
                 "Start %s: fix its devices now and offer %s %s to the first wave? [y/N]", r->name,
                 r->product, r->version);
        (void) strscpy(a->confirm_rollout, sizeof(a->confirm_rollout), r->name);
        a->confirm_for = CONFIRM_START;
        a->confirming = true;
        return CHANGE_REDRAW;
}

static int act(App *a, Action action) {
        if (app_move(action, &a->rollout_cursor, a->snap->n_rollouts, 5))
                return CHANGE_REDRAW;
        switch (action) {
        case ACTION_PAUSE_RESUME: {
                const RolloutInfo *r = selected(a);
                if (!r)
                        return CHANGE_NONE;
                return ask(a, r->state == ROLLOUT_PAUSED ? ROLLOUT_ACTION_RESUME : ROLLOUT_ACTION_PAUSE);
        }
        case ACTION_APPROVE: return ask(a, ROLLOUT_ACTION_APPROVE);
        case ACTION_ABORT: return ask(a, ROLLOUT_ACTION_ABORT);
        case ACTION_RETRY_FAILED: return ask(a, ROLLOUT_ACTION_RETRY_FAILED);
        case ACTION_ROLLBACK: return ask(a, ROLLOUT_ACTION_ROLLBACK);
        case ACTION_PROMOTE: return ask(a, ROLLOUT_ACTION_PROMOTE);
        case ACTION_NEW_ROLLOUT: return create_form_open(a);
        case ACTION_START: return ask_start(a);
        default: return CHANGE_NONE;
        }
}

/* A click on a rollout's row selects it. */
static int click(App *a, int y, int x) {
        size_t rows = a->snap->n_rollouts < 6 ? a->snap->n_rollouts : 6;
        size_t top = layout_scroll(0, a->rollout_cursor, rows, a->snap->n_rollouts);

        if (y < 2 || (size_t) (y - 2) >= rows || top + (size_t) (y - 2) >= a->snap->n_rollouts)
                return CHANGE_NONE;
        a->rollout_cursor = top + (size_t) (y - 2);
        return CHANGE_REDRAW;
}

const ViewOps view_rollouts_ops = { .draw = draw, .act = act, .click = click };
