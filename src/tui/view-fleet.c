/* SPDX-License-Identifier: MIT */
/* The Fleet view: header meters (versions per product, active rollouts) over the device table. */
#include <curses.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "flota/alloc.h"
#include "flota/strutil.h"

Role device_state_role(int state) {
        switch (state) {
        case DR_UPDATED: return ROLE_OK;
        case DR_OFFERED:
        case DR_DOWNLOADING:
        case DR_PENDING: return ROLE_BUSY;
        case DR_SILENT:
        case DR_ROLLED_BACK: return ROLE_WARN;
        case DR_FAILED: return ROLE_BAD;
        case DR_EXCLUDED: return ROLE_DIM;
        default: return ROLE_NORMAL;
        }
}

Role rollout_state_role(RolloutState s) {
        switch (s) {
        case ROLLOUT_RUNNING:
        case ROLLOUT_SCHEDULED: return ROLE_BUSY;
        case ROLLOUT_PAUSED: return ROLE_WARN;
        case ROLLOUT_HALTED:
        case ROLLOUT_ABORTED: return ROLE_BAD;
        case ROLLOUT_COMPLETED: return ROLE_OK;
        default: return ROLE_DIM;
        }
}

static void draw_product(const ProductMeter *p, int y) {
        static const Role roles[] = { ROLE_OK, ROLE_BUSY, ROLE_WARN, ROLE_DIM };
        static const Glyph glyphs[] = { GLYPH_FULL, GLYPH_HALF, GLYPH_FULL, GLYPH_EMPTY };
        uint64_t parts[SNAPSHOT_TOP_VERSIONS + 1];
        size_t n = 0;
        int bar = COLS >= 120 ? 32 : 20;

        for (size_t i = 0; i < p->n_top; i++)
                parts[n++] = p->top[i].n;
        parts[n++] = p->other;
        int x = 13;

        term_print(y, 1, 11, ROLE_TITLE, p->product);
        term_bar(y, x, bar, parts, roles, glyphs, n, p->total);
        x += bar + 1;
        for (size_t i = 0; i < p->n_top && x < COLS; i++) {
                if (i > 0)
                        x += term_print(y, x, COLS - x, ROLE_DIM, term_glyph(GLYPH_VSEP));
                x += term_print(y, x, COLS - x, roles[i], p->top[i].version);
                x += term_printf(y, x, COLS - x, ROLE_NORMAL, " %" PRIu64 "%%",
                                 p->top[i].n * 100 / p->total);
        }
        if (p->other > 0 && x < COLS) {
                x += term_print(y, x, COLS - x, ROLE_DIM, term_glyph(GLYPH_VSEP));
                term_printf(y, x, COLS - x, ROLE_DIM, "other %" PRIu64 "%%", p->other * 100 / p->total);
        }
}

static void draw_rollout_line(const RolloutInfo *r, int y) {
        static const Role roles[] = { ROLE_OK, ROLE_BAD, ROLE_WARN, ROLE_BUSY };
        static const Glyph glyphs[] = { GLYPH_FULL, GLYPH_FULL, GLYPH_FULL, GLYPH_HALF };
        const RolloutCounts *c = &r->total;
        uint64_t in_flight = c->offered - rollout_counts_decided(c);
        uint64_t parts[] = { c->updated, c->failed, c->silent, in_flight };
        Glyph g = r->state == ROLLOUT_PAUSED   ? GLYPH_PAUSED
                  : r->state == ROLLOUT_HALTED ? GLYPH_DASH
                                               : GLYPH_RUNNING;

        int x = 40;

        term_print(y, 1, 3, rollout_state_role(r->state), term_glyph(g));
        term_print(y, 4, 12, ROLE_TITLE, r->name);
        term_printf(y, 17, 12, ROLE_NORMAL, "wave %u/%zu", r->wave + 1, r->n_waves ? r->n_waves : 1);
        term_bar(y, 29, 10, parts, roles, glyphs, ELEMENTSOF(parts), c->eligible);
        x += term_printf(y, x, COLS - x, ROLE_NORMAL, "%" PRIu64 "/%" PRIu64 " updated", c->updated,
                         c->eligible);
        x += term_printf(y, x, COLS - x, c->failed ? ROLE_BAD : ROLE_NORMAL, " %s %" PRIu64 " failed",
                         term_is_utf8() ? "\u00b7" : "-", c->failed);
        x += term_printf(y, x, COLS - x, c->silent ? ROLE_WARN : ROLE_NORMAL, " %s %" PRIu64 " silent",
                         term_is_utf8() ? "\u00b7" : "-", c->silent);
        if (r->hold[0] && x + 3 < COLS)
                term_print(y, x + 3, COLS - x - 3, rollout_state_role(r->state), r->hold);
}

static void draw_header(App *a) {
        const Layout *l = &a->layout;
        char title[40];

        term_hline(l->rule_y, 0, COLS);
        term_fill(l->header_y, 0, COLS, ROLE_NORMAL);
        for (int c = 0; c < _FLEET_COL_MAX; c++) {
                if (!l->shown[c])
                        continue;
                bool sorted = c == (int) a->sort;
                snprintf(title, sizeof(title), "%s%s", fleet_column_title(c),
                         !sorted          ? ""
                         : term_is_utf8() ? (a->reverse ? "\u25b2" : "\u25bc")
                                          : (a->reverse ? "^" : "v"));
                term_print(l->header_y, l->col_x[c], l->col_w[c], sorted ? ROLE_ACCENT : ROLE_TITLE, title);
        }
}

static void draw_row(App *a, const FleetRow *r, int y, bool is_cursor) {
        const Layout *l = &a->layout;
        Role role = is_cursor       ? ROLE_ACCENT
                    : r->state >= 0 ? device_state_role(r->state)
                    : r->online     ? ROLE_NORMAL
                                    : ROLE_DIM;
        char buf[32];

        if (is_cursor)
                term_fill(y, 0, COLS, ROLE_ACCENT);
        if (r->marked)
                term_print(y, 0, 1, is_cursor ? ROLE_ACCENT : ROLE_WARN, term_glyph(GLYPH_MARK));
        for (int c = 0; c < _FLEET_COL_MAX; c++)
                if (l->shown[c])
                        term_print(y, l->col_x[c], l->col_w[c], role,
                                   fleet_cell(r, c, a->snap->taken, term_glyph(GLYPH_DASH), buf));
}

static void draw(App *a) {
        const Layout *l = &a->layout;
        const Snapshot *s = a->snap;
        int y = l->products_y;

        for (int i = 0; i < l->n_products; i++)
                draw_product(&s->products[i], y++);
        y = l->rollouts_y;
        for (size_t i = 0; i < s->n_rollouts && y < l->rollouts_y + l->n_rollouts; i++)
                if (rollout_info_is_active(&s->rollouts[i]))
                        draw_rollout_line(&s->rollouts[i], y++);
        draw_header(a);
        if (a->n_idx == 0) {
                term_print(l->table_y + 1, 2, COLS - 2, ROLE_DIM,
                           s->n_rows == 0 ? "no devices in the inventory yet (flota ingest, flota discover)"
                                          : "no device matches the filter (Esc clears it)");
                return;
        }
        a->top = layout_scroll(a->top, a->cursor, (size_t) l->table_rows, a->n_idx);
        /* only the rows on the screen are drawn */
        for (int i = 0; i < l->table_rows && a->top + (size_t) i < a->n_idx; i++) {
                size_t k = a->top + (size_t) i;
                draw_row(a, &s->rows[a->idx[k]], l->table_y + i, k == a->cursor);
        }
}

/* ---- bulk changes ---- */

void bulk_clear(App *a) {
        for (size_t i = 0; i < a->n_bulk_ids; i++)
                free(a->bulk_ids[i]);
        free(a->bulk_ids);
        a->bulk_ids = NULL;
        a->n_bulk_ids = 0;
}

/* The devices a bulk change is for: the shown one in the Device view, else the marked ones, else the
 * cursor's. */
static void bulk_collect(App *a) {
        size_t allocated = 0;

        bulk_clear(a);
        if (a->view == VIEW_DEVICE) {
                a->bulk_ids = xcalloc(1, sizeof(char *));
                a->bulk_ids[a->n_bulk_ids++] = xstrdup(a->device);
                return;
        }
        for (size_t i = 0; i < a->snap->n_rows; i++)
                if (a->snap->rows[i].marked) {
                        a->bulk_ids = xgrow(a->bulk_ids, &allocated, a->n_bulk_ids + 1, sizeof(char *));
                        a->bulk_ids[a->n_bulk_ids++] = xstrdup(a->snap->rows[i].id);
                }
        if (a->n_bulk_ids == 0 && a->cursor < a->n_idx) {
                a->bulk_ids = xcalloc(1, sizeof(char *));
                a->bulk_ids[a->n_bulk_ids++] = xstrdup(a->snap->rows[a->idx[a->cursor]].id);
        }
}

static const char *devices_text(const App *a, char buf[static 96]) {
        if (a->n_bulk_ids == 1)
                snprintf(buf, 96, "%s", a->bulk_ids[0]);
        else
                snprintf(buf, 96, "%zu marked devices", a->n_bulk_ids);
        return buf;
}

static void bulk_confirm(App *a) {
        char who[96];

        devices_text(a, who);
        switch (a->bulk_kind) {
        case BULK_LABEL:
                if (a->bulk_labels[0])
                        snprintf(a->confirm_text, sizeof(a->confirm_text),
                                 "Set the labels of %s to '%s' (replacing theirs)? [y/N]", who,
                                 a->bulk_labels);
                else
                        snprintf(a->confirm_text, sizeof(a->confirm_text), "Clear the labels of %s? [y/N]",
                                 who);
                break;
        case BULK_PIN:
                snprintf(a->confirm_text, sizeof(a->confirm_text),
                         "Pin %s to release %" PRId64
                         " (each takes it on its next poll, whatever its channel or rollout)? [y/N]",
                         who, a->bulk_release);
                break;
        case BULK_UNPIN:
                snprintf(a->confirm_text, sizeof(a->confirm_text),
                         "Unpin %s (each goes back to its rollout or channel)? [y/N]", who);
                break;
        case BULK_ASSIGN:
                snprintf(a->confirm_text, sizeof(a->confirm_text),
                         "Assign release %" PRId64
                         " to %s (each takes it on its next poll unless pinned)? [y/N]",
                         a->bulk_release, who);
                break;
        default: return;
        }
        a->confirm_for = CONFIRM_BULK;
        a->confirming = true;
}

int bulk_start(App *a, BulkKind kind) {
        bulk_collect(a);
        if (a->n_bulk_ids == 0)
                return CHANGE_NONE;
        if (!a->server) {
                bulk_clear(a);
                app_status(a, ROLE_WARN, "no flotad configured: %s needs --server (or FLOTA_SERVER)",
                           bulk_kind_to_string(kind));
                return CHANGE_REDRAW;
        }
        a->bulk_kind = kind;
        a->bulk_labels[0] = 0;
        a->bulk_release = 0;
        if (kind == BULK_UNPIN) {
                bulk_confirm(a);
                return CHANGE_REDRAW;
        }
        a->editing = true;
        a->edit_for = kind == BULK_LABEL ? EDIT_LABELS : EDIT_RELEASE;
        a->edit[0] = 0;
        if (kind == BULK_LABEL && a->n_bulk_ids == 1) {
                const FleetRow *r = snapshot_find(a->snap, a->bulk_ids[0]);
                if (r)
                        (void) strscpy(a->edit, sizeof(a->edit), r->labels);
                for (char *p = a->edit; *p; p++)
                        if (*p == ',')
                                *p = ' ';
        }
        return CHANGE_REDRAW;
}

void bulk_entered(App *a, const char *text) {
        if (a->edit_for == EDIT_RELEASE) {
                int64_t id;
                if (parse_i64(text, &id) < 0 || id <= 0) {
                        app_status(a, ROLE_BAD, "a release is its number (F3 lists them)");
                        bulk_clear(a);
                        return;
                }
                a->bulk_release = id;
        } else {
                _cleanup_free_ char *copy = xstrdup(text);
                size_t n = 0;
                for (char *save = NULL, *t = strtok_r(copy, " ,", &save); t;
                     t = strtok_r(NULL, " ,", &save), n++)
                        if (!label_is_valid(t) || n >= 64) {
                                app_status(a, ROLE_BAD,
                                           "'%s' is not a label (1-64 letters, digits or ._:=/-)", t);
                                bulk_clear(a);
                                return;
                        }
                (void) strscpy(a->bulk_labels, sizeof(a->bulk_labels), text);
        }
        bulk_confirm(a);
}

/* The next column on the screen from c, stepping by step (1: right, _FLEET_COL_MAX - 1: left). */
static FleetColumn next_shown_column(const App *a, FleetColumn c, int step) {
        for (int i = 0; i < _FLEET_COL_MAX; i++) {
                c = (FleetColumn) (((int) c + step) % _FLEET_COL_MAX);
                if (a->layout.shown[c])
                        break;
        }
        return c;
}

static int act(App *a, Action action) {
        if (app_move(action, &a->cursor, a->n_idx, (size_t) a->layout.table_rows))
                return CHANGE_REDRAW;
        switch (action) {
        case ACTION_FILTER:
                a->editing = true;
                a->edit_for = EDIT_FILTER;
                (void) strscpy(a->edit, sizeof(a->edit), a->filter);
                return CHANGE_REDRAW;
        case ACTION_BACK:
                if (!a->filter[0])
                        return CHANGE_NONE;
                a->filter[0] = 0;
                a->status[0] = 0;
                return CHANGE_VIEW;
        case ACTION_MARK:
                if (a->n_idx == 0)
                        return CHANGE_NONE;
                a->snap->rows[a->idx[a->cursor]].marked ^= true;
                if (a->cursor + 1 < a->n_idx)
                        a->cursor++;
                return CHANGE_REDRAW;
        case ACTION_DETAIL:
                if (a->n_idx == 0)
                        return CHANGE_NONE;
                app_open_device(a, a->snap->rows[a->idx[a->cursor]].id);
                return CHANGE_REDRAW;
        case ACTION_SORT_NEXT: a->sort = next_shown_column(a, a->sort, 1); return CHANGE_VIEW;
        case ACTION_SORT_PREV:
                a->sort = next_shown_column(a, a->sort, _FLEET_COL_MAX - 1);
                return CHANGE_VIEW;
        case ACTION_SORT_REVERSE: a->reverse = !a->reverse; return CHANGE_VIEW;
        case ACTION_LABEL: return bulk_start(a, BULK_LABEL);
        case ACTION_PIN: return bulk_start(a, BULK_PIN);
        case ACTION_UNPIN: return bulk_start(a, BULK_UNPIN);
        case ACTION_ASSIGN: return bulk_start(a, BULK_ASSIGN);
        default: return CHANGE_NONE;
        }
}

/* A click on a row moves the cursor there (on the cursor's row: opens it); on a title, sorts by it. */
static int click(App *a, int y, int x) {
        const Layout *l = &a->layout;

        if (y == l->header_y) {
                for (int c = 0; c < _FLEET_COL_MAX; c++)
                        if (l->shown[c] && x >= l->col_x[c] && x < l->col_x[c] + l->col_w[c]) {
                                if (a->sort == (FleetColumn) c)
                                        a->reverse = !a->reverse;
                                a->sort = (FleetColumn) c;
                                return CHANGE_VIEW;
                        }
                return CHANGE_NONE;
        }
        if (y < l->table_y || y >= l->table_y + l->table_rows)
                return CHANGE_NONE;
        size_t k = a->top + (size_t) (y - l->table_y);
        if (k >= a->n_idx)
                return CHANGE_NONE;
        if (k == a->cursor)
                return act(a, ACTION_DETAIL);
        a->cursor = k;
        return CHANGE_REDRAW;
}

const ViewOps view_fleet_ops = { .draw = draw, .act = act, .click = click };
