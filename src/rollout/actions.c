/* SPDX-License-Identifier: MIT */
/* A rollout's life cycle: create, start, the operator's actions, the lock, and shared helpers. */
#include <inttypes.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>

#include "flota/alloc.h"
#include "flota/selection.h"
#include "flota/strutil.h"
#include "reconcile.h"

static const char *const action_names[_ROLLOUT_ACTION_MAX] = {
        [ROLLOUT_ACTION_PAUSE] = "pause",
        [ROLLOUT_ACTION_RESUME] = "resume",
        [ROLLOUT_ACTION_APPROVE] = "approve",
        [ROLLOUT_ACTION_ABORT] = "abort",
        [ROLLOUT_ACTION_RETRY_FAILED] = "retry-failed",
        [ROLLOUT_ACTION_ROLLBACK] = "rollback",
        [ROLLOUT_ACTION_PROMOTE] = "promote",
};

const char *rollout_action_to_string(RolloutAction a) {
        return a < _ROLLOUT_ACTION_MAX ? action_names[a] : NULL;
}

int rollout_load_spec(const Rollout *r, RolloutSpec *ret, char err[static ROLLOUT_ERROR_MAX]) {
        char msg[ROLLOUT_SPEC_ERROR_MAX];

        if (rollout_spec_parse(r->spec_text, ret, msg) < 0) {
                snprintf(err, ROLLOUT_ERROR_MAX, "rollout %s has damaged settings: %s", r->name, msg);
                return -EBADMSG;
        }
        return 0;
}

size_t rollout_targets_parse(const char *text, uint64_t ret[static ROLLOUT_WAVES_MAX]) {
        size_t n = 0;
        const char *p = text;

        while (p && *p && n < ROLLOUT_WAVES_MAX) {
                char *end;
                ret[n++] = strtoull(p, &end, 10);
                p = *end == ',' ? end + 1 : NULL;
        }
        return n;
}

void rollout_targets_format(const uint64_t *targets, size_t n, char *buf, size_t size) {
        size_t off = 0;

        buf[0] = 0;
        for (size_t i = 0; i < n && off < size; i++)
                off += (size_t) snprintf(buf + off, size - off, i ? ",%" PRIu64 : "%" PRIu64, targets[i]);
}

int rollout_lock(const char *inventory_path, unsigned wait_sec) {
        _cleanup_free_ char *path = xasprintf("%s.lock", inventory_path);
        _cleanup_close_ int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        struct timespec tick = { 0, 50 * 1000 * 1000 };

        if (fd < 0)
                return -errno;
        for (unsigned i = 0;; i++) {
                if (flock(fd, LOCK_EX | LOCK_NB) == 0)
                        return TAKE_FD(fd);
                if (errno != EWOULDBLOCK)
                        return -errno;
                if (i >= wait_sec * 20)
                        return -EWOULDBLOCK;
                nanosleep(&tick, NULL);
        }
}

/* ---- create ---- */

static int fetch_release(RolloutEngine *e, int64_t id, RolloutRelease *ret,
                         char err[static ROLLOUT_ERROR_MAX]) {
        Release rel = {};
        char msg[API_CLIENT_ERROR_MAX];
        int k = api_release_get(e->api, id, &rel, msg);

        if (k == -ENOENT) {
                snprintf(err, ROLLOUT_ERROR_MAX, "%s has no release %" PRId64, e->server, id);
                return k;
        }
        if (k < 0) {
                snprintf(err, ROLLOUT_ERROR_MAX, "%s", msg);
                return k;
        }
        if (rel.kind != IMAGE_KIND_SKETCH) {
                snprintf(err, ROLLOUT_ERROR_MAX,
                         "release %" PRId64 " is a filesystem image; rollouts move sketches", id);
                release_done(&rel);
                return -EINVAL;
        }
        *ret = rollout_release_from(&rel);
        release_done(&rel);
        return 0;
}

int rollout_create(RolloutEngine *e, const char *name, const RolloutSpec *spec, Rollout *ret,
                   char err[static ROLLOUT_ERROR_MAX]) {
        _cleanup_(selection_freep) Selection *sel = NULL;
        char msg[ROLLOUT_SPEC_ERROR_MAX > SELECTION_ERROR_MAX ? ROLLOUT_SPEC_ERROR_MAX
                                                              : SELECTION_ERROR_MAX];
        RolloutRelease rel;
        Rollout existing;

        if (!rollout_name_is_valid(name)) {
                snprintf(err, ROLLOUT_ERROR_MAX, "'%.64s' is not a rollout name (1-64 of A-Z a-z 0-9 . _ -)",
                         name);
                return -EINVAL;
        }
        if (rollout_spec_check(spec, msg) < 0 || selection_parse(spec->select, e->now, &sel, msg) < 0) {
                snprintf(err, ROLLOUT_ERROR_MAX, "%s", msg);
                return -EINVAL;
        }
        if (rollout_get(e->inventory, name, &existing) == 0) {
                rollout_done(&existing);
                snprintf(err, ROLLOUT_ERROR_MAX, "a rollout named %s exists already", name);
                return -EEXIST;
        }
        int k = fetch_release(e, spec->release_id, &rel, err);
        if (k < 0)
                return k;
        const char *product = selection_product(sel);
        if (product && !streq(product, rel.product)) {
                snprintf(err, ROLLOUT_ERROR_MAX,
                         "release %" PRId64 " is for product %s, the selection names %s", rel.id,
                         rel.product, product);
                return -EINVAL;
        }
        Rollout r = {
                .server = xstrdup(e->server),
                .spec_text = rollout_spec_format(spec),
                .release_id = rel.id,
                .size = rel.size,
                .state = ROLLOUT_DRAFT,
                .created = e->now,
                .updated = e->now,
        };
        strscpy(r.name, sizeof(r.name), name);
        strscpy(r.product, sizeof(r.product), rel.product);
        strscpy(r.platform, sizeof(r.platform), rel.platform);
        strscpy(r.version, sizeof(r.version), rel.version);
        strscpy(r.md5, sizeof(r.md5), rel.md5);
        if (e->dry_run) {
                /* a plan from a file: the rollout as it would be, stored nowhere */
                *ret = r;
                return 0;
        }
        k = store_begin(e->inventory);
        if (k >= 0)
                k = rollout_insert(e->inventory, &r);
        if (k >= 0)
                k = rollout_note(e, &r, "created", "release %" PRId64 " (%s %s)", r.release_id, r.product,
                                 r.version);
        k = store_end(e->inventory, k);
        if (k < 0) {
                snprintf(err, ROLLOUT_ERROR_MAX, "saving the rollout failed: %s",
                         store_last_error(e->inventory));
                rollout_done(&r);
                return k;
        }
        *ret = r;
        return 0;
}

/* ---- start ---- */

static int member_id_cmp(const void *a, const void *b) {
        return strcmp(((const RolloutMember *) a)->device_id, ((const RolloutMember *) b)->device_id);
}

static int add_plan(RolloutEngine *e, const Rollout *r, const RolloutPlan *plan) {
        RolloutMember *m = xcalloc(plan->n ? plan->n : 1, sizeof(RolloutMember));

        for (size_t i = 0; i < plan->n; i++) {
                const PlanDevice *pd = &plan->devices[i];
                m[i] = (RolloutMember) {
                        .device_id = pd->id,
                        .hash = pd->hash,
                        .wave = pd->wave,
                        .state = pd->excluded != EXCLUDE_NONE ? DR_EXCLUDED : DR_PENDING,
                        .reason = pd->excluded != EXCLUDE_NONE ? exclude_reason_to_string(pd->excluded) : "",
                        .from_version = pd->version,
                };
        }
        /* in key order: the table and its device index then grow at their ends */
        qsort_safe(m, plan->n, sizeof(RolloutMember), member_id_cmp);
        int k = rollout_devices_add(e->inventory, r->id, m, plan->n);
        free(m);
        return k;
}

int rollout_start(RolloutEngine *e, const char *name, char err[static ROLLOUT_ERROR_MAX]) {
        Rollout r;
        RolloutSpec spec;
        RolloutPlan plan = {};
        int k = rollout_get(e->inventory, name, &r);

        if (k < 0) {
                snprintf(err, ROLLOUT_ERROR_MAX,
                         k == -ENOENT ? "no rollout named %s" : "reading rollout %s failed", name);
                return k;
        }
        if (r.state != ROLLOUT_DRAFT) {
                snprintf(err, ROLLOUT_ERROR_MAX, "rollout %s is %s; only a draft can be started", name,
                         rollout_state_to_string(r.state));
                rollout_done(&r);
                return -EBUSY;
        }
        k = rollout_load_spec(&r, &spec, err);
        if (k >= 0) {
                RolloutRelease rel = rollout_release_of(&r);
                k = rollout_plan_build(e->inventory, &spec, &rel, r.name, e->now, &plan, err);
        }
        if (k >= 0)
                k = store_begin(e->inventory);
        if (k >= 0) {
                k = add_plan(e, &r, &plan);
                rollout_targets_format(plan.targets, plan.n_waves, r.targets, sizeof(r.targets));
                r.state = ROLLOUT_SCHEDULED;
                r.started = r.updated = e->now;
                snprintf(r.hold, sizeof(r.hold), "starting");
                if (k >= 0)
                        k = rollout_save(e->inventory, &r);
                if (k >= 0)
                        k = rollout_note(e, &r, "started", "%zu eligible, %zu excluded, waves %s",
                                         plan.n_eligible, plan.n - plan.n_eligible, r.targets);
                k = store_end(e->inventory, k);
                if (k < 0 && !err[0])
                        snprintf(err, ROLLOUT_ERROR_MAX, "starting failed: %s",
                                 store_last_error(e->inventory));
        }
        rollout_plan_done(&plan);
        if (k >= 0)
                k = rollout_step(e, &r, err);
        rollout_spec_done(&spec);
        rollout_done(&r);
        return k;
}

/* ---- the operator's actions ---- */

static int reset_failed(const RolloutDevice *d, void *userdata) {
        RolloutEngine *e = ((void **) userdata)[0];
        const Rollout *r = ((void **) userdata)[1];
        RolloutDevice x = { .hash = d->hash, .wave = d->wave };

        if (d->p.state != DR_FAILED && d->p.state != DR_SILENT)
                return 0;
        strscpy(x.device_id, sizeof(x.device_id), d->device_id);
        strscpy(x.from_version, sizeof(x.from_version), d->from_version);
        return rollout_device_save(e->inventory, r->id, &x);
}

static int act_locked(RolloutEngine *e, Rollout *r, RolloutAction a, char err[static ROLLOUT_ERROR_MAX]) {
        RolloutState s = r->state;
        bool active = s == ROLLOUT_RUNNING || s == ROLLOUT_SCHEDULED || s == ROLLOUT_PAUSED;

        switch (a) {
        case ROLLOUT_ACTION_PAUSE:
                if (s != ROLLOUT_RUNNING && s != ROLLOUT_SCHEDULED)
                        goto refuse;
                r->state = ROLLOUT_PAUSED;
                snprintf(r->hold, sizeof(r->hold), "paused by the operator");
                break;
        case ROLLOUT_ACTION_RESUME:
                if (s != ROLLOUT_PAUSED)
                        goto refuse;
                r->state = ROLLOUT_RUNNING;
                break;
        case ROLLOUT_ACTION_APPROVE:
                if (!active)
                        goto refuse;
                r->approved = r->wave + 1;
                break;
        case ROLLOUT_ACTION_ABORT:
                if (rollout_state_is_final(s) && s != ROLLOUT_HALTED)
                        goto refuse;
                r->state = ROLLOUT_ABORTED;
                snprintf(r->hold, sizeof(r->hold), "aborted by the operator");
                break;
        case ROLLOUT_ACTION_RETRY_FAILED: {
                if (!active && s != ROLLOUT_HALTED)
                        goto refuse;
                void *ctx[2] = { e, r };
                int k = rollout_devices_each(e->inventory, r->id, _DR_INVALID, UINT32_MAX, SIZE_MAX,
                                             reset_failed, ctx);
                if (k < 0)
                        return k;
                if (s == ROLLOUT_HALTED)
                        r->state = ROLLOUT_RUNNING;
                break;
        }
        case ROLLOUT_ACTION_ROLLBACK:
        case ROLLOUT_ACTION_PROMOTE:
                /* handled by the caller: they talk to flotad before anything is written */
                break;
        default: goto refuse;
        }
        return rollout_note(e, r, rollout_action_to_string(a), "%s by the operator in wave %u",
                            rollout_action_to_string(a), r->wave + 1);
refuse:
        snprintf(err, ROLLOUT_ERROR_MAX, "rollout %s is %s: it cannot %s", r->name,
                 rollout_state_to_string(s), rollout_action_to_string(a));
        return -EBUSY;
}

int rollout_act(RolloutEngine *e, const char *name, RolloutAction a, char err[static ROLLOUT_ERROR_MAX]) {
        Rollout r;
        int k = rollout_get(e->inventory, name, &r);

        if (k < 0) {
                snprintf(err, ROLLOUT_ERROR_MAX,
                         k == -ENOENT ? "no rollout named %s" : "reading rollout %s failed", name);
                return k;
        }
        err[0] = 0;
        k = store_begin(e->inventory);
        if (k >= 0) {
                k = act_locked(e, &r, a, err);
                r.updated = e->now;
                if (k >= 0)
                        k = rollout_save(e->inventory, &r);
                k = store_end(e->inventory, k);
        }
        if (k >= 0 && (a == ROLLOUT_ACTION_ROLLBACK || a == ROLLOUT_ACTION_PROMOTE))
                k = rollout_act_remote(e, &r, a, err);
        if (k >= 0)
                k = rollout_step(e, &r, err);
        if (k < 0 && !err[0])
                snprintf(err, ROLLOUT_ERROR_MAX, "%s failed: %s", rollout_action_to_string(a),
                         store_last_error(e->inventory));
        rollout_done(&r);
        return k;
}
