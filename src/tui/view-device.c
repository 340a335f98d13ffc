/* SPDX-License-Identifier: MIT */
/* The Device view: one device's identity, sources, labels, version history and rollout state. */
#include <curses.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "flota/alloc.h"
#include "flota/decision.h"
#include "flota/inventory.h"
#include "flota/strutil.h"

/* the newest check-ins the Device view lists */
#define DEVICE_CHECKINS_SHOWN 5

typedef struct DetailBuilder {
        App *a;
        size_t allocated;
        usec_t now;
        bool found;
} DetailBuilder;

static void line(DetailBuilder *b, Role role, const char *label, const char *fmt, ...) _printf_(4, 5);
static void line(DetailBuilder *b, Role role, const char *label, const char *fmt, ...) {
        App *a = b->a;
        va_list ap;
        char *text;

        va_start(ap, fmt);
        if (vasprintf(&text, fmt, ap) < 0)
                text = xstrdup("");
        va_end(ap);
        a->detail = xgrow(a->detail, &b->allocated, a->n_detail + 1, sizeof(DetailLine));
        a->detail[a->n_detail++] = (DetailLine) { role, xstrdup(label), text };
}

void device_detail_clear(App *a) {
        for (size_t i = 0; i < a->n_detail; i++) {
                free(a->detail[i].label);
                free(a->detail[i].text);
        }
        free(a->detail);
        a->detail = NULL;
        a->n_detail = 0;
}

static const char *format_time(char buf[static 32], usec_t t) {
        time_t s = (time_t) (t / USEC_PER_SEC);
        struct tm tm;

        if (t == 0 || !localtime_r(&s, &tm) || strftime(buf, 32, "%Y-%m-%d %H:%M", &tm) == 0)
                return strcpy(buf, "-");
        return buf;
}

/* What mDNS said of it: the service, and its TXT record a line a key (escaped when drawn). */
static int on_mdns(const MdnsRecord *m, void *userdata) {
        DetailBuilder *b = userdata;

        line(b, m->announced ? ROLE_OK : ROLE_DIM, "", "mDNS: %s, %s %s:%u%s%s",
             m->announced ? "announced" : "gone", m->kind, isempty(m->host) ? "-" : m->host, m->port,
             isempty(m->board) ? "" : ", board ", isempty(m->board) ? "" : m->board);
        for (const char *p = m->txt ? m->txt : ""; *p;) {
                size_t n = strcspn(p, "\n");
                if (n > 0)
                        line(b, ROLE_DIM, "", "  TXT %.*s", (int) n, p);
                p += n + (p[n] == '\n');
        }
        return 0;
}

static int on_device(const FleetDevice *d, void *userdata) {
        DetailBuilder *b = userdata;
        char t1[32], t2[32];

        b->found = true;
        line(b, ROLE_NORMAL, "Identity", "%s  product %s  platform %s", d->id,
             isempty(d->product) ? "-" : d->product, isempty(d->platform) ? "-" : d->platform);
        if (!isempty(d->name) || !isempty(d->host) || !isempty(d->ip))
                line(b, ROLE_NORMAL, "", "name %s  host %s  address %s", isempty(d->name) ? "-" : d->name,
                     isempty(d->host) ? "-" : d->host, isempty(d->ip) ? "-" : d->ip);
        line(b, ROLE_NORMAL, "Sketch", "%s  md5 %.12s  free %s", isempty(d->version) ? "-" : d->version,
             isempty(d->sketch_md5) ? "-" : d->sketch_md5,
             d->free_space < 0 ? "unknown" : (snprintf(t1, sizeof(t1), "%" PRId64, d->free_space), t1));
        line(b, d->last_seen + SNAPSHOT_ONLINE_WINDOW >= b->now || d->announced ? ROLE_OK : ROLE_DIM, "Seen",
             "last %s ago", fleet_format_age(t2, b->now, d->last_seen));
        if (d->polls > 0)
                line(b, ROLE_NORMAL, "Sources", "poll: %" PRIu64 " polls, the last %s ago", d->polls,
                     fleet_format_age(t1, b->now, d->last_poll));
        else
                line(b, ROLE_DIM, "Sources", "poll: none through flotad's feed");
        /* the logs that saw it, by name ("log:/var/log/nginx/access.log") */
        bool any_log = false;
        for (const char *p = d->sources ? d->sources : ""; *p;) {
                size_t n = strcspn(p, ",");
                if (n > 4 && strncmp(p, "log:", 4) == 0) {
                        line(b, ROLE_NORMAL, "", "log: %.*s", (int) (n - 4), p + 4);
                        any_log = true;
                }
                p += n + (p[n] == ',');
        }
        if (!any_log)
                line(b, ROLE_DIM, "", "log: in no poll log read");
        if (inventory_mdns_record(b->a->store, d->id, on_mdns, b) < 0)
                line(b, ROLE_DIM, "", "mDNS: never announced");
        line(b, d->pinned ? ROLE_WARN : ROLE_NORMAL, "Pin", "%s", d->pinned ? "pinned on flotad" : "-");
        line(b, ROLE_NORMAL, "Labels", "%s", isempty(d->labels) ? "-" : d->labels);
        return 0;
}

static void rollout_lines(DetailBuilder *b) {
        App *a = b->a;
        char t1[32], t2[32];
        bool any = false;

        for (size_t i = 0; i < a->snap->n_rollouts; i++) {
                const RolloutInfo *ri = &a->snap->rollouts[i];
                Rollout r = {};
                RolloutDevice d = {};
                if (rollout_get(a->store, ri->name, &r) < 0)
                        continue;
                int k = rollout_device_get(a->store, r.id, a->device, &d);
                rollout_done(&r);
                if (k < 0)
                        continue;
                char when[96] = "";
                if (d.p.offered_at)
                        snprintf(when, sizeof(when), ", offered %s ago",
                                 fleet_format_age(t1, b->now, d.p.offered_at));
                if (d.p.served_at)
                        snprintf(when + strlen(when), sizeof(when) - strlen(when), ", served %s ago",
                                 fleet_format_age(t2, b->now, d.p.served_at));
                line(b, device_state_role((int) d.p.state), any ? "" : "Rollout", "%s (%s %s) wave %u: %s%s",
                     ri->name, ri->product, ri->version, d.wave + 1,
                     device_rollout_state_to_string(d.p.state), when);
                if (d.p.reason[0])
                        line(b, device_state_role((int) d.p.state), "", "  why: %s", d.p.reason);
                any = true;
        }
        if (!any)
                line(b, ROLE_DIM, "Rollout", "in no rollout");
}

typedef struct HistoryBuilder {
        DetailBuilder *b;
        bool any;
} HistoryBuilder;

static int on_history(const char *version, usec_t at, const char *source, void *userdata) {
        HistoryBuilder *h = userdata;
        char t[32];

        line(h->b, h->any ? ROLE_DIM : ROLE_NORMAL, h->any ? "" : "History", "%-16s since %s  (%s)", version,
             format_time(t, at), source);
        h->any = true;
        return 0;
}

void device_detail_load(App *a) {
        DetailBuilder b = { .a = a, .now = now_usec(CLOCK_REALTIME) };
        HistoryBuilder h = { .b = &b };

        device_detail_clear(a);
        if (fleet_device_get(a->store, a->device, on_device, &b) < 0 || !b.found) {
                line(&b, ROLE_BAD, "", "the inventory has no device %s", a->device);
                return;
        }
        rollout_lines(&b);
        if (inventory_history(a->store, a->device, on_history, &h) < 0 || !h.any)
                line(&b, ROLE_DIM, "History", "none recorded");
}

void device_record_clear(App *a) {
        if (a->record) {
                device_detail_done(a->record);
                free(a->record);
                a->record = NULL;
        }
        a->record_msg[0] = 0;
}

void device_record_take(App *a, WorkerEvent *e) {
        if (a->view != VIEW_DEVICE && a->view != VIEW_HELP)
                return;
        if (!streq(e->device, a->device))
                return;
        device_record_clear(a);
        a->record = TAKE_PTR(e->detail);
        (void) strscpy(a->record_msg, sizeof(a->record_msg), e->message);
}

void app_open_device(App *a, const char *id) {
        (void) strscpy(a->device, sizeof(a->device), id);
        a->detail_top = 0;
        device_record_clear(a);
        if (a->server)
                snprintf(a->record_msg, sizeof(a->record_msg), "asking flotad...");
        app_set_view(a, VIEW_DEVICE);
        device_detail_load(a);
        worker_watch_device(a->worker, id);
}

/* flotad's recent check-ins of the device, newest first: what it answered and why */
static int draw_checkins(App *a, int y, int last) {
        char t[32], st[16];

        if (y > last)
                return y;
        term_print(y, 1, 10, ROLE_TITLE, "Check-ins");
        if (!a->record) {
                term_print(y, 12, COLS - 12, ROLE_DIM, a->server ? a->record_msg : "no flotad configured");
                return y + 1;
        }
        if (a->record->n_checkins == 0) {
                term_print(y, 12, COLS - 12, ROLE_DIM, "none on flotad");
                return y + 1;
        }
        term_print(y++, 12, COLS - 12, ROLE_DIM,
                   "TIME      ANSWER  REASON                VERSION       IP               FREE");
        for (size_t i = 0; i < a->record->n_checkins && i < DEVICE_CHECKINS_SHOWN && y <= last; i++, y++) {
                const Checkin *c = &a->record->checkins[i];
                time_t sec = (time_t) (c->at / USEC_PER_SEC);
                struct tm tm;
                if (!localtime_r(&sec, &tm) || strftime(t, sizeof(t), "%H:%M:%S", &tm) == 0)
                        strcpy(t, "--:--:--");
                snprintf(st, sizeof(st), "%d", c->status);
                Role role = c->status == 200 ? ROLE_BUSY : c->status >= 400 ? ROLE_BAD : ROLE_NORMAL;
                term_print(y, 12, 8, ROLE_DIM, t);
                term_print(y, 22, 6, role, st);
                term_print(y, 30, 21, role, reason_to_string(c->reason) ? reason_to_string(c->reason) : "-");
                term_print(y, 52, 13, ROLE_NORMAL, c->version[0] ? c->version : "-");
                term_print(y, 66, 16, ROLE_NORMAL, c->ip[0] ? c->ip : "-");
                if (c->free_space >= 0)
                        term_printf(y, 83, COLS - 83, ROLE_NORMAL, "%" PRId64, c->free_space);
        }
        return y;
}

static void draw(App *a) {
        const FleetRow *r = snapshot_find(a->snap, a->device);
        int y = 2;

        int x = 1 + term_printf(1, 1, COLS - 1, ROLE_DIM, "%s Fleet / ", term_glyph(GLYPH_BACK));
        x += term_print(1, x, COLS - x, ROLE_TITLE, a->device);
        if (r) {
                char right[128];
                snprintf(right, sizeof(right), "%s %s %s %s %s", r->product[0] ? r->product : "-",
                         term_is_utf8() ? "\u00b7" : "-", r->platform[0] ? r->platform : "-",
                         term_is_utf8() ? "\u00b7" : "-", r->online ? "online" : "offline");
                int w = term_text_width(right);
                if (x + w + 2 < COLS)
                        term_print(1, COLS - w - 1, w, r->online ? ROLE_OK : ROLE_DIM, right);
        }
        term_hline(y++, 0, COLS);
        int rows = LINES - 2 - y;
        if (a->detail_top + (size_t) rows > a->n_detail)
                a->detail_top = a->n_detail > (size_t) rows ? a->n_detail - (size_t) rows : 0;
        for (size_t i = a->detail_top; i < a->n_detail && y < LINES - 2; i++, y++) {
                term_print(y, 1, 10, ROLE_TITLE, a->detail[i].label);
                term_print(y, 12, COLS - 12, a->detail[i].role, a->detail[i].text);
        }
        (void) draw_checkins(a, y, LINES - 3);
}

static int act(App *a, Action action) {
        if (app_move(action, &a->detail_top, a->n_detail, (size_t) (LINES > 6 ? LINES - 6 : 1)))
                return CHANGE_REDRAW;
        switch (action) {
        case ACTION_BACK: app_set_view(a, VIEW_FLEET); return CHANGE_REDRAW;
        case ACTION_LABEL: return bulk_start(a, BULK_LABEL);
        case ACTION_PIN: return bulk_start(a, BULK_PIN);
        case ACTION_UNPIN: return bulk_start(a, BULK_UNPIN);
        case ACTION_ASSIGN: return bulk_start(a, BULK_ASSIGN);
        default: return CHANGE_NONE;
        }
}

const ViewOps view_device_ops = { .draw = draw, .act = act };
