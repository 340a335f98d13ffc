/* SPDX-License-Identifier: MIT */
/* One snapshot of the inventory, and the fleet table's cells, filter and sort over it. */
#include "flota/fleet-snapshot.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "flota/alloc.h"
#include "flota/strutil.h"
#include "reconcile.h"

static const char *const column_titles[_FLEET_COL_MAX] = {
#define X(id, title, name, width, drop) [FLEET_COL_##id] = title,
        FLEET_COLUMNS(X)
#undef X
};

static const char *const column_names[_FLEET_COL_MAX] = {
#define X(id, title, name, width, drop) [FLEET_COL_##id] = name,
        FLEET_COLUMNS(X)
#undef X
};

const char *fleet_column_title(FleetColumn c) {
        return c < _FLEET_COL_MAX ? column_titles[c] : NULL;
}

const char *fleet_column_name(FleetColumn c) {
        return c < _FLEET_COL_MAX ? column_names[c] : NULL;
}

int fleet_column_from_name(const char *name) {
        for (int c = 0; c < _FLEET_COL_MAX; c++)
                if (streq(column_names[c], name))
                        return c;
        return -EINVAL;
}

bool rollout_info_is_active(const RolloutInfo *r) {
        return r->state == ROLLOUT_RUNNING || r->state == ROLLOUT_SCHEDULED || r->state == ROLLOUT_PAUSED ||
               r->state == ROLLOUT_HALTED;
}

/* ---- building ---- */

typedef struct Member {
        char *id;
        size_t rollout;
        int state;
} Member;

typedef struct Builder {
        Snapshot *s;
        size_t rows_allocated, products_allocated, rollouts_allocated, events_allocated;
        Member *members;
        size_t n_members, members_allocated;
        size_t rollout; /* the rollout whose devices are being read */
        usec_t now;
} Builder;

static char *dup_or_empty(const char *s) {
        return xstrdup(s ? s : "");
}

/* The inventory's list of sources ("flotad,log:/var/log/nginx/access.log,mdns") as FleetSource bits. */
static unsigned sources_of(const FleetDevice *d) {
        unsigned bits = d->polls > 0 ? FLEET_SOURCE_POLL : 0;
        const char *p = d->sources ? d->sources : "";

        while (*p) {
                size_t n = strcspn(p, ",");
                if (n == 6 && memcmp(p, "flotad", 6) == 0)
                        bits |= FLEET_SOURCE_POLL;
                else if (n == 4 && memcmp(p, "mdns", 4) == 0)
                        bits |= FLEET_SOURCE_MDNS;
                else if (n >= 4 && memcmp(p, "log:", 4) == 0)
                        bits |= FLEET_SOURCE_LOG;
                p += n + (p[n] == ',');
        }
        if (d->announced)
                bits |= FLEET_SOURCE_MDNS;
        return bits;
}

static int add_row(const FleetDevice *d, void *userdata) {
        Builder *b = userdata;
        Snapshot *s = b->s;

        s->rows = xgrow(s->rows, &b->rows_allocated, s->n_rows + 1, sizeof(FleetRow));
        FleetRow *r = &s->rows[s->n_rows++];
        *r = (FleetRow) {
                .id = dup_or_empty(d->id),
                .name = dup_or_empty(!isempty(d->name) ? d->name : d->host),
                .ip = dup_or_empty(d->ip),
                .product = dup_or_empty(d->product),
                .platform = dup_or_empty(d->platform),
                .version = dup_or_empty(d->version),
                .labels = dup_or_empty(d->labels),
                .state = -1,
                .last_seen = d->last_seen,
                .polls = d->polls,
                .sources = sources_of(d),
                .announced = d->announced,
                .pinned = d->pinned,
                .online = d->announced ||
                          (d->last_seen > 0 && d->last_seen + SNAPSHOT_ONLINE_WINDOW >= b->now),
        };
        if (r->online)
                s->online++;
        return 0;
}

static ProductMeter *product_of(Builder *b, const char *product) {
        Snapshot *s = b->s;

        for (size_t i = 0; i < s->n_products; i++)
                if (streq(s->products[i].product, product))
                        return &s->products[i];
        s->products = xgrow(s->products, &b->products_allocated, s->n_products + 1, sizeof(ProductMeter));
        ProductMeter *p = &s->products[s->n_products++];
        *p = (ProductMeter) { .product = xstrdup(product) };
        return p;
}

static int cmp_version_count(const void *a, const void *b) {
        const VersionCount *x = a, *y = b;
        if (x->n != y->n)
                return x->n > y->n ? -1 : 1;
        return -version_compare(x->version, y->version);
}

static int cmp_product(const void *a, const void *b) {
        const ProductMeter *x = a, *y = b;
        if (x->total != y->total)
                return x->total > y->total ? -1 : 1;
        return strcmp(x->product, y->product);
}

/* Counts versions per product; the top few are kept by name, the rest summed as other. */
static void build_products(Builder *b) {
        Snapshot *s = b->s;
        VersionCount *counts = NULL;
        size_t n = 0, allocated = 0;

        for (size_t i = 0; i < s->n_rows; i++)
                (void) product_of(b, s->rows[i].product);
        for (size_t p = 0; p < s->n_products; p++) {
                ProductMeter *m = &s->products[p];
                n = 0;
                for (size_t i = 0; i < s->n_rows; i++) {
                        const FleetRow *r = &s->rows[i];
                        if (!streq(r->product, m->product))
                                continue;
                        m->total++;
                        size_t k = 0;
                        while (k < n && !streq(counts[k].version, r->version))
                                k++;
                        if (k == n) {
                                counts = xgrow(counts, &allocated, n + 1, sizeof(VersionCount));
                                counts[n++] = (VersionCount) { .version = r->version };
                        }
                        counts[k].n++;
                }
                qsort_safe(counts, n, sizeof(VersionCount), cmp_version_count);
                for (size_t k = 0; k < n; k++) {
                        if (k < SNAPSHOT_TOP_VERSIONS)
                                m->top[m->n_top++] =
                                        (VersionCount) { xstrdup(counts[k].version), counts[k].n };
                        else
                                m->other += counts[k].n;
                }
        }
        free(counts);
        qsort_safe(s->products, s->n_products, sizeof(ProductMeter), cmp_product);
}

static int add_rollout(const Rollout *r, void *userdata) {
        Builder *b = userdata;
        Snapshot *s = b->s;

        s->rollouts = xgrow(s->rollouts, &b->rollouts_allocated, s->n_rollouts + 1, sizeof(RolloutInfo));
        RolloutInfo *x = &s->rollouts[s->n_rollouts++];
        *x = (RolloutInfo) {
                .state = r->state,
                .wave = r->wave,
                .updated = r->updated,
        };
        (void) strscpy(x->name, sizeof(x->name), r->name);
        (void) strscpy(x->product, sizeof(x->product), r->product);
        (void) strscpy(x->version, sizeof(x->version), r->version);
        (void) strscpy(x->hold, sizeof(x->hold), r->hold);
        x->n_waves = rollout_targets_parse(r->targets, x->targets);
        return 0;
}

static int add_member(const RolloutDevice *d, void *userdata) {
        Builder *b = userdata;

        b->members = xgrow(b->members, &b->members_allocated, b->n_members + 1, sizeof(Member));
        b->members[b->n_members++] = (Member) { xstrdup(d->device_id), b->rollout, (int) d->p.state };
        return 0;
}

static int cmp_member(const void *a, const void *b) {
        const Member *x = a, *y = b;
        int c = strcmp(x->id, y->id);
        return c ? c : (x->rollout < y->rollout ? -1 : x->rollout > y->rollout);
}

static void add_event(Builder *b, usec_t at, char *what, const char *detail) {
        Snapshot *s = b->s;

        s->events = xgrow(s->events, &b->events_allocated, s->n_events + 1, sizeof(EventRow));
        s->events[s->n_events++] = (EventRow) { at, what, xstrdup(detail ? detail : "") };
}

static int add_rollout_event(usec_t at, uint32_t wave, const char *event, const char *detail,
                             void *userdata) {
        Builder *b = userdata;
        add_event(b, at, xasprintf("%s wave %u: %s", b->s->rollouts[b->rollout].name, wave + 1, event),
                  detail);
        return 0;
}

static int add_audit(usec_t at, const char *action, const char *detail, void *userdata) {
        /* the rollout engine audits its own events: they are read from the rollouts already */
        if (!streq(action, "rollout"))
                add_event(userdata, at, xasprintf("audit %s", action), detail);
        return 0;
}

static int cmp_event(const void *a, const void *b) {
        const EventRow *x = a, *y = b;
        return x->at < y->at ? -1 : x->at > y->at;
}

static int read_rollouts(Builder *b, Store *st) {
        Snapshot *s = b->s;
        int r = rollout_list(st, add_rollout, b);
        if (r < 0)
                return r;
        for (size_t i = 0; i < s->n_rollouts; i++) {
                RolloutInfo *x = &s->rollouts[i];
                Rollout row = {};
                /* per-wave counts need the rollout's id: read its row again */
                r = rollout_get(st, x->name, &row);
                if (r < 0)
                        return r;
                int64_t id = row.id;
                rollout_done(&row);
                r = rollout_count(st, id, &x->total, x->per_wave, x->n_waves);
                if (r < 0)
                        return r;
                b->rollout = i;
                r = rollout_events_list(st, id, 100, add_rollout_event, b);
                if (r < 0)
                        return r;
                if (!rollout_info_is_active(x))
                        continue;
                r = rollout_devices_each(st, id, _DR_INVALID, UINT32_MAX, SIZE_MAX, add_member, b);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Gives each row the target and state of the newest active rollout it is in. */
static void join_members(Builder *b) {
        Snapshot *s = b->s;

        qsort_safe(b->members, b->n_members, sizeof(Member), cmp_member);
        for (size_t i = 0, j = 0; i < s->n_rows && j < b->n_members;) {
                int c = strcmp(s->rows[i].id, b->members[j].id);
                if (c < 0)
                        i++;
                else if (c > 0)
                        j++;
                else {
                        s->rows[i].target = s->rollouts[b->members[j].rollout].version;
                        s->rows[i].rollout = s->rollouts[b->members[j].rollout].name;
                        s->rows[i].state = b->members[j].state;
                        j++;
                }
        }
        for (size_t j = 0; j < b->n_members; j++)
                free(b->members[j].id);
        free(b->members);
}

typedef struct VersionRank {
        const char *version;
        uint32_t rank;
} VersionRank;

static int cmp_rank_text(const void *a, const void *b) {
        return strcmp(((const VersionRank *) a)->version, ((const VersionRank *) b)->version);
}

static int cmp_rank_version(const void *a, const void *b) {
        return version_compare(((const VersionRank *) a)->version, ((const VersionRank *) b)->version);
}

static uint32_t rank_of(const VersionRank *v, size_t n, const char *version) {
        VersionRank key = { .version = version };
        const VersionRank *hit = bsearch(&key, v, n, sizeof(VersionRank), cmp_rank_text);
        return hit ? hit->rank : 0;
}

/*
 * Gives every row the rank of its version and target among the snapshot's distinct ones, so
 * sorting by version compares integers instead of parsing versions 100,000 x log times.
 */
static void rank_versions(Snapshot *s) {
        VersionRank *v = xmalloc((2 * s->n_rows + 1) * sizeof(VersionRank));
        size_t n = 0, d = 0;

        v[n++] = (VersionRank) { .version = "" };
        for (size_t i = 0; i < s->n_rows; i++) {
                v[n++] = (VersionRank) { .version = s->rows[i].version };
                if (s->rows[i].target)
                        v[n++] = (VersionRank) { .version = s->rows[i].target };
        }
        qsort_safe(v, n, sizeof(VersionRank), cmp_rank_text);
        for (size_t i = 0; i < n; i++)
                if (d == 0 || !streq(v[d - 1].version, v[i].version))
                        v[d++] = v[i];
        qsort_safe(v, d, sizeof(VersionRank), cmp_rank_version);
        for (size_t i = 0; i < d; i++)
                v[i].rank = i == 0 ? 0 : v[i - 1].rank + (cmp_rank_version(&v[i - 1], &v[i]) != 0);
        qsort_safe(v, d, sizeof(VersionRank), cmp_rank_text);
        for (size_t i = 0; i < s->n_rows; i++) {
                FleetRow *r = &s->rows[i];
                r->version_rank = rank_of(v, d, r->version);
                r->target_rank = rank_of(v, d, r->target ? r->target : "");
        }
        free(v);
}

static int cmp_row_id(const void *a, const void *b) {
        return strcmp(((const FleetRow *) a)->id, ((const FleetRow *) b)->id);
}

int snapshot_build(Store *st, usec_t now, Snapshot **ret) {
        _cleanup_(snapshot_freep) Snapshot *s = xcalloc(1, sizeof(Snapshot));
        Builder b = { .s = s, .now = now };
        int r;

        s->taken = now;
        r = fleet_devices_each(st, add_row, &b);
        if (r < 0)
                return r;
        /* the store says id order; make sure of strcmp's, which the joins rely on */
        qsort_safe(s->rows, s->n_rows, sizeof(FleetRow), cmp_row_id);
        build_products(&b);
        r = read_rollouts(&b, st);
        join_members(&b);
        if (r < 0)
                return r;
        rank_versions(s);
        r = inventory_audit_list(st, 200, add_audit, &b);
        if (r < 0)
                return r;
        qsort_safe(s->events, s->n_events, sizeof(EventRow), cmp_event);
        event_rows_keep_newest(s->events, &s->n_events, SNAPSHOT_EVENTS_MAX);
        *ret = TAKE_PTR(s);
        return 0;
}

void event_rows_keep_newest(EventRow *rows, size_t *n, size_t max) {
        if (*n <= max)
                return;
        size_t drop = *n - max;
        for (size_t i = 0; i < drop; i++) {
                free(rows[i].what);
                free(rows[i].detail);
        }
        memmove(rows, rows + drop, max * sizeof(EventRow));
        *n = max;
}

Snapshot *snapshot_free(Snapshot *s) {
        if (!s)
                return NULL;
        for (size_t i = 0; i < s->n_rows; i++) {
                FleetRow *r = &s->rows[i];
                free(r->id);
                free(r->name);
                free(r->ip);
                free(r->product);
                free(r->platform);
                free(r->version);
                free(r->labels);
        }
        free(s->rows);
        for (size_t i = 0; i < s->n_products; i++) {
                free(s->products[i].product);
                for (size_t k = 0; k < s->products[i].n_top; k++)
                        free(s->products[i].top[k].version);
        }
        free(s->products);
        free(s->rollouts);
        for (size_t i = 0; i < s->n_events; i++) {
                free(s->events[i].what);
                free(s->events[i].detail);
        }
        free(s->events);
        free(s);
        return NULL;
}

FleetRow *snapshot_find(const Snapshot *s, const char *id) {
        FleetRow key = { .id = (char *) id };
        if (s->n_rows == 0)
                return NULL;
        return bsearch(&key, s->rows, s->n_rows, sizeof(FleetRow), cmp_row_id);
}

void snapshot_carry_marks(Snapshot *s, const Snapshot *old) {
        if (!old)
                return;
        for (size_t i = 0; i < old->n_rows; i++) {
                if (!old->rows[i].marked)
                        continue;
                FleetRow *r = snapshot_find(s, old->rows[i].id);
                if (r)
                        r->marked = true;
        }
}

/* ---- the view: filter and sort ---- */

const char *fleet_row_sources(const FleetRow *r, char buf[static 32]) {
        static const struct {
                FleetSource bit;
                const char *name;
        } names[] = { { FLEET_SOURCE_POLL, "poll" },
                      { FLEET_SOURCE_LOG, "log" },
                      { FLEET_SOURCE_MDNS, "mdns" } };
        size_t n = 0;

        buf[0] = 0;
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (r->sources & names[i].bit)
                        n += (size_t) snprintf(buf + n, 32 - n, "%s%s", n ? " " : "", names[i].name);
        return buf;
}

const char *fleet_format_age(char buf[static 32], usec_t now, usec_t t) {
        if (t == 0)
                return strcpy(buf, "-");
        return format_duration(buf, now > t ? now - t : 0);
}

const char *fleet_cell(const FleetRow *r, FleetColumn c, usec_t now, const char *dash, char buf[static 32]) {
        switch (c) {
        case FLEET_COL_ID: return r->id;
        case FLEET_COL_NAME: return r->name[0] ? r->name : dash;
        case FLEET_COL_PRODUCT: return r->product[0] ? r->product : dash;
        case FLEET_COL_PLATFORM: return r->platform[0] ? r->platform : dash;
        case FLEET_COL_VERSION: return r->version[0] ? r->version : dash;
        case FLEET_COL_TARGET: return r->target ? r->target : dash;
        case FLEET_COL_STATE: return r->state >= 0 ? device_rollout_state_to_string(r->state) : dash;
        case FLEET_COL_SOURCES: return fleet_row_sources(r, buf);
        case FLEET_COL_ONLINE: return r->online ? "yes" : "no";
        case FLEET_COL_SEEN: return fleet_format_age(buf, now, r->last_seen);
        case FLEET_COL_LABELS: return r->labels;
        default: return "";
        }
}

typedef struct SortKey {
        const Snapshot *s;
        FleetColumn column;
        bool reverse;
} SortKey;

static int cmp_u64(uint64_t a, uint64_t b) {
        return a < b ? -1 : a > b;
}

static int compare_column(const FleetRow *a, const FleetRow *b, FleetColumn c) {

        switch (c) {
        case FLEET_COL_ID: return strcmp(a->id, b->id);
        case FLEET_COL_PRODUCT: return strcmp(a->product, b->product);
        case FLEET_COL_PLATFORM: return strcmp(a->platform, b->platform);
        case FLEET_COL_VERSION: return cmp_u64(a->version_rank, b->version_rank);
        case FLEET_COL_TARGET: return cmp_u64(a->target_rank, b->target_rank);
        case FLEET_COL_STATE: return a->state < b->state ? -1 : a->state > b->state;
        case FLEET_COL_NAME: return strcmp(a->name, b->name);
        case FLEET_COL_SOURCES: return (int) a->sources - (int) b->sources;
        case FLEET_COL_ONLINE: return (int) b->online - (int) a->online;
        /* newest first reads as "smallest age first" */
        case FLEET_COL_SEEN: return -cmp_u64(a->last_seen, b->last_seen);
        case FLEET_COL_LABELS: return strcmp(a->labels, b->labels);
        default: return 0;
        }
}

static int compare_rows(const void *a, const void *b, void *userdata) {
        const SortKey *k = userdata;
        const FleetRow *x = &k->s->rows[*(const size_t *) a], *y = &k->s->rows[*(const size_t *) b];
        int c = compare_column(x, y, k->column);
        /* ties by id, in the same order whichever way the column goes */
        if (c != 0)
                return k->reverse ? -c : c;
        return strcmp(x->id, y->id);
}

void fleet_sort(const Snapshot *s, size_t *idx, size_t n, FleetColumn sort, bool reverse) {
        SortKey k = { s, sort, reverse };
        if (n < 2)
                return;
        qsort_r(idx, n, sizeof(size_t), compare_rows, &k);
}

int fleet_view_build(const Snapshot *s, const char *expr, usec_t now, FleetColumn sort, bool reverse,
                     size_t **ret_idx, size_t *ret_n, char err[static SELECTION_ERROR_MAX]) {
        _cleanup_(selection_freep) Selection *sel = NULL;
        size_t n = 0;
        int r;

        if (!isempty(expr)) {
                r = selection_parse(expr, now, &sel, err);
                if (r < 0)
                        return r;
        }
        size_t *idx = xmalloc((s->n_rows ? s->n_rows : 1) * sizeof(size_t));
        for (size_t i = 0; i < s->n_rows; i++) {
                const FleetRow *row = &s->rows[i];
                SelectDevice d = {
                        .id = row->id,
                        .product = row->product,
                        .platform = row->platform,
                        .version = row->version,
                        .labels = row->labels,
                        .last_seen = row->last_seen,
                        .online = row->online,
                };
                if (!sel || selection_matches(sel, &d))
                        idx[n++] = i;
        }
        fleet_sort(s, idx, n, sort, reverse);
        *ret_idx = idx;
        *ret_n = n;
        return 0;
}
