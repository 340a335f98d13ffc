/* SPDX-License-Identifier: MIT */
/* Planning: the devices a rollout selects from the inventory, who is excluded and why, and the waves. */
#include "flota/rollout.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "flota/alloc.h"
#include "flota/selection.h"
#include "flota/strutil.h"

static const char *const exclude_names[_EXCLUDE_MAX] = {
        [EXCLUDE_NONE] = "",
        [EXCLUDE_WRONG_PRODUCT] = "wrong product",
        [EXCLUDE_WRONG_PLATFORM] = "wrong platform",
        [EXCLUDE_PINNED] = "pinned",
        [EXCLUDE_ON_TARGET] = "already on the target",
        [EXCLUDE_NO_SPACE] = "too little free space",
};

const char *exclude_reason_to_string(ExcludeReason r) {
        return r < _EXCLUDE_MAX ? exclude_names[r] : NULL;
}

void rollout_plan_done(RolloutPlan *p) {
        for (size_t i = 0; i < p->n; i++)
                free(p->devices[i].version);
        free(p->devices);
        *p = (RolloutPlan) {};
}

typedef struct PlanBuild {
        const Selection *sel;
        const RolloutRelease *release;
        const char *rollout;
        usec_t now;
        RolloutPlan *plan;
        size_t allocated;
} PlanBuild;

RolloutRelease rollout_release_of(const Rollout *r) {
        RolloutRelease rel = { .id = r->release_id, .size = r->size };

        strscpy(rel.product, sizeof(rel.product), r->product);
        strscpy(rel.platform, sizeof(rel.platform), r->platform);
        strscpy(rel.version, sizeof(rel.version), r->version);
        strscpy(rel.md5, sizeof(rel.md5), r->md5);
        return rel;
}

RolloutRelease rollout_release_from(const Release *rel) {
        RolloutRelease r = { .id = rel->id, .size = rel->size };

        strscpy(r.product, sizeof(r.product), rel->product);
        strscpy(r.platform, sizeof(r.platform), platform_to_string(rel->platform) ?: "");
        strscpy(r.version, sizeof(r.version), rel->version);
        strscpy(r.md5, sizeof(r.md5), isempty(rel->payload_md5) ? rel->md5 : rel->payload_md5);
        return r;
}

ExcludeReason rollout_exclusion(const FleetDevice *d, const RolloutRelease *r) {
        if (!streq(d->product, r->product))
                return EXCLUDE_WRONG_PRODUCT;
        if (!isempty(d->platform) && !isempty(r->platform) && !streq(d->platform, r->platform))
                return EXCLUDE_WRONG_PLATFORM;
        if (d->pinned)
                return EXCLUDE_PINNED;
        if (streq(d->version, r->version) || (!isempty(d->sketch_md5) && strcaseeq(d->sketch_md5, r->md5)))
                return EXCLUDE_ON_TARGET;
        if (d->free_space >= 0 && (uint64_t) d->free_space < r->size)
                return EXCLUDE_NO_SPACE;
        return EXCLUDE_NONE;
}

SelectDevice fleet_select_view(const FleetDevice *d, usec_t now) {
        usec_t interval = poll_interval(d->polls, d->first_poll, d->last_poll);

        return (SelectDevice) {
                .id = d->id,
                .product = d->product,
                .platform = d->platform,
                .version = d->version,
                .labels = d->labels,
                .last_seen = d->last_seen,
                .online = d->announced || d->last_seen + 3 * interval >= now,
        };
}

static int add_device(const FleetDevice *d, void *userdata) {
        PlanBuild *b = userdata;
        SelectDevice sd = fleet_select_view(d, b->now);

        if (!selection_matches(b->sel, &sd))
                return 0;
        RolloutPlan *p = b->plan;
        p->devices = xgrow(p->devices, &b->allocated, p->n + 1, sizeof(PlanDevice));
        PlanDevice *pd = &p->devices[p->n++];
        *pd = (PlanDevice) {
                .hash = rollout_device_hash(b->rollout, d->id),
                .excluded = rollout_exclusion(d, b->release),
                .online = sd.online,
                .version = xstrdup(d->version),
        };
        strscpy(pd->id, sizeof(pd->id), d->id);
        return 0;
}

/* Eligible first, in the order the store keeps (the hash as a signed 64-bit number), then the excluded. */
static int plan_order(const void *a, const void *b) {
        const PlanDevice *x = a, *y = b;
        if ((x->excluded != EXCLUDE_NONE) != (y->excluded != EXCLUDE_NONE))
                return x->excluded != EXCLUDE_NONE ? 1 : -1;
        int64_t hx = (int64_t) x->hash, hy = (int64_t) y->hash;
        if (hx != hy)
                return hx < hy ? -1 : 1;
        return strcmp(x->id, y->id);
}

int rollout_plan_build(Store *inventory, const RolloutSpec *spec, const RolloutRelease *release,
                       const char *rollout, usec_t now, RolloutPlan *ret,
                       char err[static ROLLOUT_ERROR_MAX]) {
        _cleanup_(selection_freep) Selection *sel = NULL;
        char msg[SELECTION_ERROR_MAX];
        RolloutPlan plan = {};
        PlanBuild b = { .release = release, .rollout = rollout, .now = now, .plan = &plan };

        if (selection_parse(spec->select, now, &sel, msg) < 0) {
                snprintf(err, ROLLOUT_ERROR_MAX, "--select: %s", msg);
                return -EINVAL;
        }
        b.sel = sel;
        int r = fleet_devices_each(inventory, add_device, &b);
        if (r < 0) {
                rollout_plan_done(&plan);
                snprintf(err, ROLLOUT_ERROR_MAX, "reading the inventory failed: %s",
                         store_last_error(inventory));
                return r;
        }
        qsort_safe(plan.devices, plan.n, sizeof(PlanDevice), plan_order);
        for (size_t i = 0; i < plan.n; i++) {
                plan.excluded[plan.devices[i].excluded]++;
                if (plan.devices[i].excluded == EXCLUDE_NONE)
                        plan.n_eligible++;
        }
        plan.n_waves = spec->n_waves;
        rollout_wave_targets(spec->waves, spec->n_waves, plan.n_eligible, plan.targets);
        for (size_t i = 0; i < plan.n_eligible; i++) {
                plan.devices[i].wave = (uint32_t) rollout_wave_of(plan.targets, plan.n_waves, i);
                plan.offline += !plan.devices[i].online;
        }
        *ret = plan;
        return 0;
}
