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

typedef struct IdSet {
        char (*ids)[DEVICE_ID_MAX + 1];
        size_t n, allocated;
} IdSet;

static void id_set_add(IdSet *s, const char *id) {
        s->ids = xgrow(s->ids, &s->allocated, s->n + 1, sizeof(*s->ids));
        strscpy(s->ids[s->n++], DEVICE_ID_MAX + 1, id);
}

static int id_cmp(const void *a, const void *b) {
        return strcmp(a, b);
}

static bool id_set_has(const IdSet *s, const char *id) {
        return s->n > 0 && bsearch(id, s->ids, s->n, sizeof(*s->ids), id_cmp);
}

static void id_set_done(IdSet *s) {
        free(s->ids);
        *s = (IdSet) {};
}

/* What the rollout wants: per device, the release it should be assigned (0: none). */
typedef struct Desired {
        IdSet members;                  /* every device of the rollout, sorted */
        IdSet *by_release;              /* parallel to releases */
        int64_t *releases;
        size_t n_releases, allocated;
        const Rollout *rollout;
        bool keep_updated_only;         /* aborted: only updated devices keep the release */
        bool clear_all;                 /* completed and promoted: the channel carries them */
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
        switch (rd->p.state) {
        case DR_UPDATED:
                return d->rollout->release_id;
        case DR_OFFERED:
        case DR_DOWNLOADING:
        case DR_FAILED:
        case DR_SILENT:
                return d->keep_updated_only ? 0 : d->rollout->release_id;
        default:
                return 0;
        }
}

static int collect_desired(const RolloutDevice *rd, void *userdata) {
        Desired *d = userdata;
        int64_t want = wanted_release(d, rd);

        id_set_add(&d->members, rd->device_id);
        if (want > 0)
                id_set_add(desired_set(d, want), rd->device_id);
        return 0;
}

static void desired_done(Desired *d) {
        id_set_done(&d->members);
        for (size_t i = 0; i < d->n_releases; i++)
                id_set_done(&d->by_release[i]);
        free(d->by_release);
        free(d->releases);
}

/* Every device flotad has assigned release, sorted. */
static int fetch_actual(ApiClient *api, int64_t release, IdSet *ret, char err[static ROLLOUT_ERROR_MAX]) {
        char after[DEVICE_ID_MAX + 1] = "";

        for (;;) {
                ApiDevicePage page = {};
                ApiDeviceQuery q = { .assigned = release, .after = after[0] ? after : NULL, .limit = 10000 };
                char msg[API_CLIENT_ERROR_MAX];
                int r = api_devices_page(api, &q, &page, msg);
                if (r < 0) {
                        snprintf(err, ROLLOUT_ERROR_MAX, "%s", msg);
                        return r;
                }
                for (size_t i = 0; i < page.n; i++)
                        id_set_add(ret, page.items[i].id);
                strscpy(after, sizeof(after), page.next);
                api_device_page_done(&page);
                if (!after[0])
                        break;
        }
        qsort_safe(ret->ids, ret->n, sizeof(*ret->ids), id_cmp);
        return 0;
}

/* Sends ids in chunks: release 0 removes. */
static int send_chunks(ApiClient *api, int64_t release, const IdSet *ids, char err[static ROLLOUT_ERROR_MAX]) {
        for (size_t i = 0; i < ids->n; i += API_ASSIGN_MAX) {
                size_t n = ids->n - i < API_ASSIGN_MAX ? ids->n - i : API_ASSIGN_MAX;
                _cleanup_free_ const char **list = xmalloc(n * sizeof(char *));
                for (size_t j = 0; j < n; j++)
                        list[j] = ids->ids[i + j];
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
        IdSet *add;                     /* parallel to Desired.releases */
} Diff;

static int diff_release(ApiClient *api, const Desired *d, size_t i, Diff *diff, char err[static ROLLOUT_ERROR_MAX]) {
        IdSet actual = {};
        int r = fetch_actual(api, d->releases[i], &actual, err);

        if (r < 0)
                return r;
        const IdSet *want = &d->by_release[i];
        for (size_t k = 0; k < want->n; k++)
                if (!id_set_has(&actual, want->ids[k]))
                        id_set_add(&diff->add[i], want->ids[k]);
        /* what flotad holds for this release that the rollout does not want; other devices are not ours */
        for (size_t k = 0; k < actual.n; k++)
                if (!id_set_has(want, actual.ids[k]) && id_set_has(&d->members, actual.ids[k]))
                        id_set_add(&diff->remove, actual.ids[k]);
        id_set_done(&actual);
        return 0;
}

int rollout_reconcile(RolloutEngine *e, const Rollout *r, const int64_t *extra, size_t n_extra, ReconcileResult *ret,
                      char err[static ROLLOUT_ERROR_MAX]) {
        Desired d = {
                .rollout = r,
                .keep_updated_only = r->state == ROLLOUT_ABORTED,
                .clear_all = r->state == ROLLOUT_COMPLETED && strstr(r->hold, "promoted") != NULL,
        };
        Diff diff = {};
        int k;

        (void) desired_set(&d, r->release_id);
        for (size_t i = 0; i < n_extra; i++)
                (void) desired_set(&d, extra[i]);
        k = rollout_devices_each(e->inventory, r->id, _DR_INVALID, UINT32_MAX, SIZE_MAX, collect_desired, &d);
        if (k < 0) {
                snprintf(err, ROLLOUT_ERROR_MAX, "reading the rollout failed: %s", store_last_error(e->inventory));
                desired_done(&d);
                return k;
        }
        qsort_safe(d.members.ids, d.members.n, sizeof(*d.members.ids), id_cmp);
        diff.add = xcalloc(d.n_releases, sizeof(IdSet));
        for (size_t i = 0; k >= 0 && i < d.n_releases; i++) {
                qsort_safe(d.by_release[i].ids, d.by_release[i].n, sizeof(*d.by_release[i].ids), id_cmp);
                k = diff_release(e->api, &d, i, &diff, err);
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
