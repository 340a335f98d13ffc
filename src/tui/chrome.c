/* SPDX-License-Identifier: MIT */
/* The lines every view shares: the title (flotad, the fleet's counts, mDNS, the feed) and the F-key bar. */
#include <curses.h>
#include <inttypes.h>
#include <stdio.h>

#include "app.h"
#include "flota/strutil.h"

const char *group_digits(char buf[static 32], uint64_t n) {
        char raw[24];
        int len = snprintf(raw, sizeof(raw), "%" PRIu64, n), o = 0;

        for (int i = 0; i < len; i++) {
                if (i > 0 && (len - i) % 3 == 0)
                        buf[o++] = ',';
                buf[o++] = raw[i];
        }
        buf[o] = 0;
        return buf;
}

void app_draw_title(App *a) {
        char n1[32], n2[32], age[32];
        int x = 0, w = COLS;

        term_fill(0, 0, COLS, ROLE_NORMAL);
        x += term_print(0, x, w - x, ROLE_TITLE, " flota ");
        x += term_print(0, x, w - x, ROLE_DIM, term_glyph(GLYPH_HLINE));
        if (!a->server) {
                x += term_print(0, x, w - x, ROLE_DIM, " no flotad (inventory only)");
        } else {
                x += term_printf(0, x, w - x, ROLE_NORMAL, " flotad %s ", a->server);
                Role r = !a->have_pass ? ROLE_BUSY : a->server_ok ? ROLE_OK : ROLE_BAD;
                x += term_printf(0, x, w - x, r, "%s %s", term_glyph(GLYPH_DOT),
                                 !a->have_pass  ? "connecting"
                                 : a->server_ok ? "up"
                                                : "down");
        }
        if (a->discovery) {
                x += term_print(0, x, w - x, ROLE_DIM, term_glyph(GLYPH_VSEP));
                x += term_printf(0, x, w - x, a->mdns_down ? ROLE_WARN : ROLE_OK, "mDNS %s %s",
                                 term_glyph(GLYPH_DOT), a->mdns_down ? "down" : "on");
        }
        if (!a->snap)
                return;
        uint64_t n = a->snap->n_rows, on = a->snap->online;
        x += term_print(0, x, w - x, ROLE_DIM, term_glyph(GLYPH_VSEP));
        x += term_printf(0, x, w - x, ROLE_NORMAL, "%s devices", group_digits(n1, n));
        x += term_print(0, x, w - x, ROLE_DIM, term_glyph(GLYPH_VSEP));
        x += term_printf(0, x, w - x, ROLE_NORMAL, "online %s (%" PRIu64 "%%)", group_digits(n2, on),
                         n ? on * 100 / n : 0);
        if (a->server && a->have_pass) {
                x += term_print(0, x, w - x, ROLE_DIM, term_glyph(GLYPH_VSEP));
                x += term_printf(0, x, w - x, a->server_ok ? ROLE_OK : ROLE_WARN, "feed %s %s ago",
                                 term_glyph(GLYPH_DOT),
                                 fleet_format_age(age, now_usec(CLOCK_MONOTONIC), a->last_pass));
        }
}

/* Draws one key of the bar at x (name plain, label in accent, dim when the token cannot); returns the new x.
 */
static int bar_key(App *a, int y, int x, int limit, const KeyBinding *b) {
        int x0 = x;

        x += term_printf(y, x, limit - x, ROLE_NORMAL, "%s%s", x ? " " : "", b->name);
        x += term_print(y, x, limit - x,
                        a->read_only && action_needs_admin(b->action) ? ROLE_DIM : ROLE_ACCENT, b->bar);
        if (a->n_bar_hits < ELEMENTSOF(a->bar_hits))
                a->bar_hits[a->n_bar_hits++] = (typeof(a->bar_hits[0])) { x0, x, b->action };
        return x;
}

/* The F-key bar: every binding of the view with a label, as many as fit; Quit always last. */
void app_draw_bar(App *a) {
        size_t n;
        const KeyBinding *t = keymap_table(&n), *quit = keymap_key_for(ACTION_QUIT, a->view);
        int x = 0, y = LINES - 1;
        char right[96] = "";

        term_fill(y, 0, COLS, ROLE_NORMAL);
        if (a->view == VIEW_FLEET && a->snap) {
                char n1[32];
                snprintf(right, sizeof(right), " %s rows", group_digits(n1, a->n_idx));
        }
        int limit = COLS - (int) strlen(right);
        int quit_w = quit && quit->bar ? (int) (strlen(quit->name) + strlen(quit->bar)) + 1 : 0;
        a->n_bar_hits = 0;
        for (size_t i = 0; i < n; i++) {
                if (!t[i].bar || !(t[i].views & (1u << a->view)) || &t[i] == quit)
                        continue;
                int need = (int) strlen(t[i].name) + (int) strlen(t[i].bar) + 1;
                if (x + need > limit - quit_w)
                        break;
                x = bar_key(a, y, x, limit, &t[i]);
        }
        if (quit_w)
                (void) bar_key(a, y, x, limit, quit);
        if (right[0])
                term_print(y, COLS - (int) strlen(right), (int) strlen(right), ROLE_DIM, right);
}
