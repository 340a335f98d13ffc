/* SPDX-License-Identifier: MIT */
/*
 * Reconciliation: the assignments a rollout wants on flotad, compared with those flotad holds,
 * in both directions. Removals go first, since a device moving from one release to another
 * is removed from the first and then given the second.
 */
#include "reconcile.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "flota/alloc.h"
#include "flota/strutil.h"

/*
 * A sorted set of device ids, packed: the ids one after another in one buffer, and their
 * offsets. A million MAC ids take about 22 MB this way, against 65 MB as fixed-size strings.
 * A set that is searched is filled in ascending order; one that is only sent need not be.
 */
typedef struct IdSet {
        char *text;
        size_t len, cap;
        uint32_t *offs;
        size_t n, allocated;
} IdSet;

static const char *id_at(const IdSet *s, size_t i) {
        return s->text + s->offs[i];
}

static void id_set_add(IdSet *s, const char *id) {
        size_t n = strlen(id) + 1;

        s->text = xgrow(s->text, &s->cap, s->len + n, 1);
        memcpy(s->text + s->len, id, n);
        s->offs = xgrow(s->offs, &s->allocated, s->n + 1, sizeof(uint32_t));
        s->offs[s->n++] = (uint32_t) s->len;
        s->len += n;
}

static bool id_set_has(const IdSet *s, const char *id) {
        size_t lo = 0, hi = s->n;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                int c = strcmp(id_at(s, mid), id);
                if (c == 0)
                        return true;
                if (c < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return false;
}

static void id_set_done(IdSet *s) {
        free(s->text);
        free(s->offs);
        *s = (IdSet) {};
}

/* What the rollout wants: per device, the release it should be assigned (0: none). */
typedef struct Desired {
        IdSet *by_release; /* parallel to releases */
        int64_t *releases;
        size_t n_releases, allocated;
        const Rollout *rollout;
        bool keep_updated_only; /* aborted: only updated devices keep the release */
        bool clear_all;         /* completed and promoted: the channel carries them */
        bool pushed;            /* a push transport: flota uploads, flotad assigns nothing */
} Desired;

static IdSet *desired_set(Desired *d, int64_t release) {
        for (size_t i = 0; i < d->n_releases; i++)
                if (d->releases[i] == release)
                        return &d->by_release[i];
        size_t old = d->allocated;
        d->releases = xgrow(d->releases, &d->allocated, d->n_releases + 1, sizeof(int64_t));
        if (d->allocated != old) {
                d->by_release = xrealloc(d->by_release, d->allocated * sizeof(IdSet));
                memset(d->by_release + old, 0, (d->allocated - old) * sizeof(IdSet));
        }
        d->releases[d->n_releases] = release;
        return &d->by_release[d->n_releases++];
}

static int64_t wanted_release(const Desired *d, const RolloutDevice *rd) {
        if (d->clear_all)
                return 0;
        if (rd->from_release > 0)
                return rd->from_release;
        if (d->pushed)
                return 0;
        switch (rd->p.state) {
        case DR_UPDATED: return d->rollout->release_id;
        case DR_OFFERED:
        case DR_DOWNLOADING:
        case DR_FAILED:
        case DR_SILENT: return d->keep_updated_only ? 0 : d->rollout->release_id;
        default: return 0;
        }
}

static int collect_desired(const RolloutDevice *rd, void *userdata) {
        Desired *d = userdata;
        int64_t want = wanted_release(d, rd);

        if (want > 0)
                id_set_add(desired_set(d, want), rd->device_id);
        return 0;
}

static void desired_done(Desired *d) {
        for (size_t i = 0; i < d->n_releases; i++)
                id_set_done(&d->by_release[i]);
        free(d->by_release);
        free(d->releases);
}

/* Every device flotad has assigned release, sorted: from held when given, else asked. */
static int fetch_actual(ApiClient *api, int64_t release, const AssignedSet *held, IdSet *ret,
                        char err[static ROLLOUT_ERROR_MAX]) {
        AssignedSet fetched = {};

        if (!held) {
                int r = assigned_fetch(api, release, &fetched, err);
                if (r < 0)
                        return r;
                held = &fetched;
        }
        for (size_t i = 0; i < held->n; i++)
                id_set_add(ret, held->items[i].id);
        assigned_set_done(&fetched);
        return 0;
}

/* Sends ids in chunks: release 0 removes. */
static int send_chunks(ApiClient *api, int64_t release, const IdSet *ids,
                       char err[static ROLLOUT_ERROR_MAX]) {
        for (size_t i = 0; i < ids->n; i += API_ASSIGN_MAX) {
                size_t n = ids->n - i < API_ASSIGN_MAX ? ids->n - i : API_ASSIGN_MAX;
                _cleanup_free_ const char **list = xmalloc(n * sizeof(char *));
                for (size_t j = 0; j < n; j++)
                        list[j] = id_at(ids, i + j);
                char msg[API_CLIENT_ERROR_MAX];
                int r = api_assign(api, release, list, n, msg);
                if (r < 0) {
                        snprintf(err, ROLLOUT_ERROR_MAX, "%s", msg);
                        return r;
                }
        }
        return 0;
}

typedef struct Diff {
        IdSet remove;
        IdSet *add; /* parallel to Desired.releases */
} Diff;

/* Of ids, those that are devices of the rollout go to out. */
static int keep_members(Store *s, int64_t rollout_id, const IdSet *ids, IdSet *out) {
        if (ids->n == 0)
                return 0;
        _cleanup_free_ const char **list = xmalloc(ids->n * sizeof(char *));
        _cleanup_free_ bool *member = xmalloc(ids->n * sizeof(bool));
        for (size_t k = 0; k < ids->n; k++)
                list[k] = id_at(ids, k);
        int r = rollout_members(s, rollout_id, list, ids->n, member);
        for (size_t k = 0; r >= 0 && k < ids->n; k++)
                if (member[k])
                        id_set_add(out, list[k]);
        return r;
}

static int diff_release(RolloutEngine *e, const Desired *d, size_t i, const AssignedSet *held, Diff *diff,
                        char err[static ROLLOUT_ERROR_MAX]) {
        IdSet actual = {}, unwanted = {};
        int r = fetch_actual(e->api, d->releases[i], held, &actual, err);

        if (r < 0)
                return r;
        const IdSet *want = &d->by_release[i];
        for (size_t k = 0; k < want->n; k++)
                if (!id_set_has(&actual, id_at(want, k)))
                        id_set_add(&diff->add[i], id_at(want, k));
        /* what flotad holds for this release that the rollout does not want; other devices are not ours */
        for (size_t k = 0; k < actual.n; k++)
                if (!id_set_has(want, id_at(&actual, k)))
                        id_set_add(&unwanted, id_at(&actual, k));
        r = keep_members(e->inventory, d->rollout->id, &unwanted, &diff->remove);
        if (r < 0)
                snprintf(err, ROLLOUT_ERROR_MAX, "reading the rollout failed: %s",
                         store_last_error(e->inventory));
        id_set_done(&unwanted);
        id_set_done(&actual);
        return r;
}

int rollout_reconcile(RolloutEngine *e, const Rollout *r, const AssignedSet *held, ReconcileResult *ret,
                      char err[static ROLLOUT_ERROR_MAX]) {
        RolloutSpec spec;
        int k = rollout_load_spec(r, &spec, err);

        if (k < 0)
                return k;
        Desired d = {
                .rollout = r,
                .keep_updated_only = r->state == ROLLOUT_ABORTED,
                /* a completed rollout that promoted its channel leaves the devices to the channel */
                .clear_all = r->state == ROLLOUT_COMPLETED && spec.promote,
                .pushed = spec.transport != TRANSPORT_PULL,
        };
        rollout_spec_done(&spec);
        Diff diff = {};

        (void) desired_set(&d, r->release_id);
        /* in id order: the sets are built sorted, and searching them needs no sort first */
        k = rollout_devices_holding(e->inventory, r->id, collect_desired, &d);
        if (k < 0) {
                snprintf(err, ROLLOUT_ERROR_MAX, "reading the rollout failed: %s",
                         store_last_error(e->inventory));
                desired_done(&d);
                return k;
        }
        diff.add = xcalloc(d.n_releases, sizeof(IdSet));
        for (size_t i = 0; k >= 0 && i < d.n_releases; i++) {
                k = diff_release(e, &d, i, d.releases[i] == r->release_id ? held : NULL, &diff, err);
        }
        ReconcileResult res = { .removed = diff.remove.n };
        if (k >= 0 && !e->dry_run)
                k = send_chunks(e->api, 0, &diff.remove, err);
        for (size_t i = 0; i < d.n_releases; i++) {
                if (k >= 0 && !e->dry_run)
                        k = send_chunks(e->api, d.releases[i], &diff.add[i], err);
                res.added += diff.add[i].n;
                id_set_done(&diff.add[i]);
        }
        id_set_done(&diff.remove);
        free(diff.add);
        desired_done(&d);
        if (k < 0)
                return k;
        if (ret)
                *ret = res;
        return 0;
}
