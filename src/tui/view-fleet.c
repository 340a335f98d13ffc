/* SPDX-License-Identifier: MIT */
/* The Fleet view: header meters (versions per product, active rollouts) over the device table. */
#include <curses.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "app.h"
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

const char *format_age(char buf[static 32], usec_t now, usec_t t) {
        if (t == 0)
                return strcpy(buf, "-");
        return format_duration(buf, now > t ? now - t : 0);
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
                x += term_printf(y, x, COLS - x, ROLE_NORMAL, " %" PRIu64 "%%", p->top[i].n * 100 / p->total);
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
        Glyph g = r->state == ROLLOUT_PAUSED ? GLYPH_PAUSED : r->state == ROLLOUT_HALTED ? GLYPH_DASH : GLYPH_RUNNING;

        int x = 40;

        term_print(y, 1, 3, rollout_state_role(r->state), term_glyph(g));
        term_print(y, 4, 12, ROLE_TITLE, r->name);
        term_printf(y, 17, 12, ROLE_NORMAL, "wave %u/%zu", r->wave + 1, r->n_waves ? r->n_waves : 1);
        term_bar(y, 29, 10, parts, roles, glyphs, ELEMENTSOF(parts), c->eligible);
        x += term_printf(y, x, COLS - x, ROLE_NORMAL, "%" PRIu64 "/%" PRIu64 " updated", c->updated, c->eligible);
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
                         !sorted ? "" : term_is_utf8() ? (a->reverse ? "\u25b2" : "\u25bc") : (a->reverse ? "^" : "v"));
                term_print(l->header_y, l->col_x[c], l->col_w[c], sorted ? ROLE_ACCENT : ROLE_TITLE, title);
        }
}

static const char *cell(const FleetRow *r, FleetColumn c, usec_t now, char buf[static 32]) {
        switch (c) {
        case FLEET_COL_ID: return r->id;
        case FLEET_COL_PRODUCT: return r->product[0] ? r->product : term_glyph(GLYPH_DASH);
        case FLEET_COL_PLATFORM: return r->platform[0] ? r->platform : term_glyph(GLYPH_DASH);
        case FLEET_COL_VERSION: return r->version[0] ? r->version : term_glyph(GLYPH_DASH);
        case FLEET_COL_TARGET: return r->target ? r->target : term_glyph(GLYPH_DASH);
        case FLEET_COL_STATE:
                return r->state >= 0 ? device_rollout_state_to_string(r->state) : term_glyph(GLYPH_DASH);
        case FLEET_COL_SOURCES: return fleet_row_sources(r, buf);
        case FLEET_COL_SEEN: return format_age(buf, now, r->last_seen);
        case FLEET_COL_LABELS: return r->labels;
        default: return "";
        }
}

static void draw_row(App *a, const FleetRow *r, int y, bool is_cursor) {
        const Layout *l = &a->layout;
        Role role = is_cursor ? ROLE_ACCENT : r->state >= 0 ? device_state_role(r->state) : r->online ? ROLE_NORMAL : ROLE_DIM;
        char buf[32];

        if (is_cursor)
                term_fill(y, 0, COLS, ROLE_ACCENT);
        if (r->marked)
                term_print(y, 0, 1, is_cursor ? ROLE_ACCENT : ROLE_WARN, term_glyph(GLYPH_MARK));
        for (int c = 0; c < _FLEET_COL_MAX; c++)
                if (l->shown[c])
                        term_print(y, l->col_x[c], l->col_w[c], role, cell(r, c, a->snap->taken, buf));
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

static int act(App *a, Action action) {
        if (app_move(action, &a->cursor, a->n_idx, (size_t) a->layout.table_rows))
                return CHANGE_REDRAW;
        switch (action) {
        case ACTION_FILTER:
                a->editing = true;
                a->editing_channel = false;
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
        case ACTION_SORT_NEXT:
                a->sort = (a->sort + 1) % _FLEET_COL_MAX;
                return CHANGE_VIEW;
        case ACTION_SORT_PREV:
                a->sort = (a->sort + _FLEET_COL_MAX - 1) % _FLEET_COL_MAX;
                return CHANGE_VIEW;
        case ACTION_SORT_REVERSE:
                a->reverse = !a->reverse;
                return CHANGE_VIEW;
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

const ViewOps view_fleet_ops = { draw, act, click };
