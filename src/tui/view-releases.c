/* SPDX-License-Identifier: MIT */
/* The Releases view: flotad's releases per product with how many devices run each, the channels, and
 * promotion. */
#include <curses.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "app.h"
#include "complete.h"
#include "flota/firmware.h"
#include "flota/strutil.h"

void releases_clear(App *a) {
        if (a->releases) {
                api_release_list_done(a->releases);
                free(a->releases);
                a->releases = NULL;
        }
        if (a->channels) {
                api_channel_list_done(a->channels);
                free(a->channels);
                a->channels = NULL;
        }
}

static int cmp_release(const void *x, const void *y) {
        const Release *a = x, *b = y;
        int c = strcmp(a->product ? a->product : "", b->product ? b->product : "");
        return c ? c : (a->id > b->id ? -1 : a->id < b->id);
}

void releases_take(App *a, WorkerEvent *e) {
        releases_clear(a);
        a->releases = TAKE_PTR(e->releases);
        a->channels = TAKE_PTR(e->channels);
        /* by product, the newest release first */
        qsort_safe(a->releases->items, a->releases->n, sizeof(Release), cmp_release);
        if (a->release_cursor >= a->releases->n)
                a->release_cursor = a->releases->n ? a->releases->n - 1 : 0;
}

static const char *format_day(char buf[static 32], usec_t t) {
        time_t s = (time_t) (t / USEC_PER_SEC);
        struct tm tm;

        if (t == 0 || !localtime_r(&s, &tm) || strftime(buf, 32, "%Y-%m-%d %H:%M", &tm) == 0)
                return strcpy(buf, "-");
        return buf;
}

/* devices of the inventory that run the release's product and version */
static uint64_t running(const Snapshot *s, const Release *r) {
        uint64_t n = 0;

        for (size_t i = 0; i < s->n_rows; i++)
                if (streq(s->rows[i].version, r->version ? r->version : "") &&
                    streq(s->rows[i].product, r->product ? r->product : ""))
                        n++;
        return n;
}

/* the channels pointing at a release, space-separated */
static void channels_of(const App *a, int64_t release, char *buf, size_t size) {
        buf[0] = 0;
        for (size_t i = 0; a->channels && i < a->channels->n; i++)
                if (a->channels->items[i].release == release)
                        snprintf(buf + strlen(buf), size - strlen(buf), "%s%s", buf[0] ? " " : "",
                                 a->channels->items[i].name);
}

static int draw_list(App *a, int y, int rows) {
        static const struct {
                const char *title;
                int x;
        } cols[] = {
                { "PRODUCT", 1 }, { "ID", 12 },      { "VERSION", 17 }, { "PLATFORM", 32 }, { "KIND", 42 },
                { "SIZE", 53 },   { "CREATED", 63 }, { "DEVICES", 80 }, { "CHANNELS", 89 },
        };
        char t[32], ch[128];

        for (size_t i = 0; i < ELEMENTSOF(cols); i++)
                if (cols[i].x < COLS)
                        term_print(y, cols[i].x, COLS - cols[i].x, ROLE_TITLE, cols[i].title);
        y++;
        size_t top = layout_scroll(0, a->release_cursor, (size_t) rows, a->releases->n);
        for (size_t i = top; i < a->releases->n && i < top + (size_t) rows; i++, y++) {
                const Release *r = &a->releases->items[i];
                bool cur = i == a->release_cursor;
                Role base = cur ? ROLE_ACCENT : ROLE_NORMAL;
                if (cur)
                        term_fill(y, 0, COLS, ROLE_ACCENT);
                term_print(y, 1, 10, base, r->product ? r->product : "-");
                term_printf(y, 12, 4, base, "%" PRId64, r->id);
                term_print(y, 17, 14, base, r->version ? r->version : "-");
                term_print(y, 32, 9, base,
                           platform_to_string(r->platform) ? platform_to_string(r->platform) : "-");
                term_print(y, 42, 10, base,
                           image_kind_to_string(r->kind) ? image_kind_to_string(r->kind) : "-");
                term_printf(y, 53, 9, base, "%" PRIu64, r->size);
                term_print(y, 63, 16, base, format_day(t, r->created));
                term_printf(y, 80, 8, base, "%7" PRIu64, running(a->snap, r));
                channels_of(a, r->id, ch, sizeof(ch));
                term_print(y, 89, COLS - 89, cur ? base : ROLE_OK, ch);
        }
        return y;
}

static void draw_channels(App *a, int y, int last) {
        char t[32], title[32];

        snprintf(title, sizeof(title), "%s channels ", term_glyph(GLYPH_HLINE));
        term_hline(y, 0, COLS);
        term_print(y++, 0, COLS, ROLE_TITLE, title);
        if (!a->channels || a->channels->n == 0) {
                term_print(y, 1, COLS - 1, ROLE_DIM, "no channels yet (P on a release points one at it)");
                return;
        }
        for (size_t i = 0; i < a->channels->n && y <= last; i++, y++) {
                const ApiChannel *c = &a->channels->items[i];
                term_printf(y, 1, 24, ROLE_TITLE, "%s/%s", c->product, c->name);
                if (c->release > 0)
                        term_printf(y, 26, COLS - 26, ROLE_NORMAL, "%s %s (release %" PRId64 ") since %s",
                                    term_glyph(GLYPH_RUNNING), c->version, c->release,
                                    format_day(t, c->updated));
                else
                        term_print(y, 26, COLS - 26, ROLE_DIM, "no release");
        }
}

static void draw(App *a) {
        if (!a->server) {
                term_print(3, 2, COLS - 2, ROLE_DIM,
                           "no flotad configured: releases live on flotad (--server)");
                return;
        }
        if (!a->releases) {
                term_print(3, 2, COLS - 2, ROLE_DIM, "asking flotad...");
                return;
        }
        if (a->releases->n == 0) {
                term_print(3, 2, COLS - 2, ROLE_DIM, "no releases (flota release upload FILE --product P)");
                return;
        }
        int rows = (int) a->releases->n < 12 ? (int) a->releases->n : 12;
        int y = draw_list(a, 1, rows);
        draw_channels(a, y + 1, LINES - 3);
}

static const Release *selected(App *a) {
        if (!a->releases || a->releases->n == 0)
                return NULL;
        return &a->releases->items[a->release_cursor < a->releases->n ? a->release_cursor : 0];
}

void releases_channel_entered(App *a, const char *channel) {
        const Release *r = selected(a);
        char now[192] = "none";

        if (!r)
                return;
        if (!name_is_valid(channel)) {
                app_status(a, ROLE_BAD, "a channel is 1 to 64 letters, digits, '.', '_' or '-'");
                return;
        }
        for (size_t i = 0; a->channels && i < a->channels->n; i++) {
                const ApiChannel *c = &a->channels->items[i];
                if (streq(c->product, r->product) && streq(c->name, channel) && c->release > 0)
                        snprintf(now, sizeof(now), "%s, release %" PRId64, c->version, c->release);
        }
        (void) strscpy(a->promote_product, sizeof(a->promote_product), r->product);
        (void) strscpy(a->promote_channel, sizeof(a->promote_channel), channel);
        a->promote_release = r->id;
        snprintf(a->confirm_text, sizeof(a->confirm_text),
                 "Point %s/%s at %s (release %" PRId64
                 "; now %s)? Its devices without a pin or rollout take it "
                 "on their next poll [y/N]",
                 r->product, channel, r->version, r->id, now);
        a->confirm_for = CONFIRM_PROMOTE;
        a->confirming = true;
}

/* ---- upload: file (Tab completes), product, version, then a question ---- */

static void prompt(App *a, EditFor step, const char *text) {
        a->editing = true;
        a->edit_for = step;
        (void) strscpy(a->edit, sizeof(a->edit), text);
}

void releases_upload_complete(App *a) {
        PathMatches m = {};
        char done[APP_FILTER_MAX];
        int r = path_complete(a->edit, done, sizeof(done), &m);

        if (r < 0) {
                app_status(a, ROLE_WARN, "%s", r == -ENOENT ? "no file matches" : strerror(-r));
                return;
        }
        (void) strscpy(a->edit, sizeof(a->edit), done);
        if (m.n > 1) {
                char list[APP_STATUS_MAX];
                size_t n = 0;
                for (size_t i = 0; i < m.n && n + 1 < sizeof(list); i++)
                        n += (size_t) snprintf(list + n, sizeof(list) - n, "%s%s", i ? "  " : "",
                                               m.names[i]);
                app_status(a, ROLE_DIM, "%s", list);
        } else
                a->status[0] = 0;
        path_matches_free(&m);
}

void releases_upload_entered(App *a, EditFor step, const char *text) {
        const Release *cur = selected(a);
        struct stat st;

        switch (step) {
        case EDIT_UPLOAD_PATH:
                if (stat(text, &st) < 0) {
                        app_status(a, ROLE_BAD, "%s: %s", text, strerror(errno));
                        return;
                }
                if (!S_ISREG(st.st_mode)) {
                        app_status(a, ROLE_BAD, "%s: not a regular file", text);
                        return;
                }
                (void) strscpy(a->upload_path, sizeof(a->upload_path), text);
                prompt(a, EDIT_UPLOAD_PRODUCT, cur && cur->product ? cur->product : "");
                return;
        case EDIT_UPLOAD_PRODUCT:
                if (!name_is_valid(text)) {
                        app_status(a, ROLE_BAD, "'%s' is not a product name", text);
                        return;
                }
                (void) strscpy(a->upload_product, sizeof(a->upload_product), text);
                prompt(a, EDIT_UPLOAD_VERSION, "");
                return;
        case EDIT_UPLOAD_VERSION:
                if (!isempty(text) && !version_is_valid(text)) {
                        app_status(a, ROLE_BAD, "'%s' is not a version", text);
                        return;
                }
                (void) strscpy(a->upload_version, sizeof(a->upload_version), text);
                if (stat(a->upload_path, &st) < 0) {
                        app_status(a, ROLE_BAD, "%s: %s", a->upload_path, strerror(errno));
                        return;
                }
                char size[32];
                const char *base = strrchr(a->upload_path, '/');
                snprintf(a->confirm_text, sizeof(a->confirm_text), "Upload %s (%s bytes) as %s %s? [y/N]",
                         base ? base + 1 : a->upload_path, group_digits(size, (uint64_t) st.st_size),
                         a->upload_product, isempty(text) ? "(its version from the image)" : text);
                a->confirm_for = CONFIRM_UPLOAD;
                a->confirming = true;
                return;
        default: return;
        }
}

static int act(App *a, Action action) {
        if (a->releases && app_move(action, &a->release_cursor, a->releases->n, 10))
                return CHANGE_REDRAW;
        if (action == ACTION_UPLOAD) {
                if (!a->server) {
                        app_status(a, ROLE_WARN, "no flotad configured: releases live on flotad (--server)");
                        return CHANGE_REDRAW;
                }
                prompt(a, EDIT_UPLOAD_PATH, "");
                return CHANGE_REDRAW;
        }
        if (action != ACTION_PROMOTE || !selected(a))
                return CHANGE_NONE;
        a->editing = true;
        a->edit_for = EDIT_CHANNEL;
        (void) strscpy(a->edit, sizeof(a->edit), "stable");
        return CHANGE_REDRAW;
}

/* A click on a release's row selects it. */
static int click(App *a, int y, int x) {
        if (!a->releases)
                return CHANGE_NONE;
        size_t rows = a->releases->n < 12 ? a->releases->n : 12;
        size_t top = layout_scroll(0, a->release_cursor, rows, a->releases->n);
        if (y < 2 || (size_t) (y - 2) >= rows || top + (size_t) (y - 2) >= a->releases->n)
                return CHANGE_NONE;
        a->release_cursor = top + (size_t) (y - 2);
        return CHANGE_REDRAW;
}

const ViewOps view_releases_ops = { .draw = draw, .act = act, .click = click };
