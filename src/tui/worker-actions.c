/* SPDX-License-Identifier: MIT */
/* What the worker changes for the operator: rollout actions, promotions, bulk changes, uploads, new
 * rollouts. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "flota/alloc.h"
#include "flota/inventory.h"
#include "flota/log-ingest.h"
#include "flota/strutil.h"
#include "worker-internal.h"

static const char *const bulk_names[_BULK_MAX] = {
        [BULK_LABEL] = "label",
        [BULK_PIN] = "pin",
        [BULK_UNPIN] = "unpin",
        [BULK_ASSIGN] = "assign",
};

void worker_do_act(Worker *w, Store *s, ApiClient *api, const char *name, RolloutAction a) {
        WorkerEvent *e = worker_event_new(WORKER_ACTION);
        char err[ROLLOUT_ERROR_MAX] = "";
        int r;

        if (!api) {
                snprintf(e->message, sizeof(e->message), "%s %s: no flotad configured (--server)",
                         rollout_action_to_string(a), name);
                worker_post(w, e);
                return;
        }
        int fd = rollout_lock(w->path, ACTION_LOCK_WAIT_SEC);
        if (fd < 0) {
                snprintf(e->message, sizeof(e->message), "%s %s: %s", rollout_action_to_string(a), name,
                         fd == -EWOULDBLOCK ? "another flota holds the rollout lock" : strerror(-fd));
                worker_post(w, e);
                return;
        }
        RolloutEngine eng = worker_engine(w, s, api);
        r = rollout_act(&eng, name, a, err);
        close(fd);
        e->ok = r >= 0;
        e->denied = r == -EACCES;
        if (r < 0)
                snprintf(e->message, sizeof(e->message), "%s %s: %s", rollout_action_to_string(a), name,
                         err[0] ? err : strerror(-r));
        else
                snprintf(e->message, sizeof(e->message), "%s %s: done", rollout_action_to_string(a), name);
        worker_post(w, e);
}

void worker_do_promote(Worker *w, Store *s, ApiClient *api, const char *product, const char *channel,
                       int64_t release) {
        WorkerEvent *e = worker_event_new(WORKER_ACTION);
        char err[API_CLIENT_ERROR_MAX] = "";

        int r = api ? api_channel_put(api, product, channel, release, err) : -ENOTCONN;
        e->ok = r >= 0;
        e->denied = r == -EACCES;
        if (r < 0)
                snprintf(e->message, sizeof(e->message), "promote %s/%s: %s", product, channel,
                         !api     ? "no flotad configured (--server)"
                         : err[0] ? err
                                  : strerror(-r));
        else {
                snprintf(e->message, sizeof(e->message), "promote %s/%s: release %" PRId64 ", done", product,
                         channel, release);
                _cleanup_free_ char *detail = xasprintf("%s/%s -> release %" PRId64 " on %s", product,
                                                        channel, release, w->server ? w->server : "-");
                (void) inventory_audit(s, "promote", detail);
        }
        worker_post(w, e);
}

const char *bulk_kind_to_string(BulkKind k) {
        return (unsigned) k < _BULK_MAX ? bulk_names[k] : NULL;
}

/* One device's label, pin or unpin; 0 or -errno with err set. */
static int worker_bulk_one(Worker *w, Store *s, ApiClient *api, BulkKind k, const char *id, int64_t release,
                           char **labels, size_t n_labels, char err[static API_CLIENT_ERROR_MAX]) {
        _cleanup_free_ char *what = NULL;
        int r;

        switch (k) {
        case BULK_LABEL: {
                _cleanup_free_ char *joined = NULL;
                r = api_device_labels(api, id, (const char *const *) labels, n_labels, NULL, err);
                if (r < 0)
                        return r;
                (void) inventory_set_labels(s, id, labels, n_labels);
                (void) inventory_labels(s, id, &joined);
                what = xasprintf("%s: %s", id, n_labels ? joined ? joined : "" : "(none)");
                break;
        }
        case BULK_PIN:
        case BULK_UNPIN:
                r = api_device_pin(api, id, k == BULK_PIN ? release : 0, NULL, err);
                if (r < 0)
                        return r;
                what = k == BULK_PIN ? xasprintf("%s -> release %" PRId64, id, release) : xstrdup(id);
                break;
        default: return -EINVAL;
        }
        worker_audit(w, s, bulk_kind_to_string(k), what);
        return 0;
}

void worker_do_bulk(Worker *w, Store *s, ApiClient *api, BulkKind k, char **ids, size_t n, int64_t release,
                    char **labels, size_t n_labels) {
        WorkerEvent *e = worker_event_new(WORKER_ACTION);
        char err[API_CLIENT_ERROR_MAX] = "";
        size_t done = 0;
        int r = 0;

        if (!api) {
                snprintf(e->message, sizeof(e->message), "%s: no flotad configured (--server)",
                         bulk_kind_to_string(k));
                worker_post(w, e);
                return;
        }
        if (k == BULK_ASSIGN) {
                uint64_t changed = 0;
                for (size_t at = 0; at < n && r >= 0; at += API_ASSIGN_MAX) {
                        size_t chunk = n - at < API_ASSIGN_MAX ? n - at : API_ASSIGN_MAX;
                        uint64_t c = 0;
                        r = api_assign_count(api, release, (const char *const *) ids + at, chunk, &c, err);
                        if (r >= 0) {
                                done += chunk;
                                changed += c;
                        }
                }
                if (done > 0) {
                        _cleanup_free_ char *what =
                                xasprintf("%" PRIu64 " devices -> release %" PRId64, changed, release);
                        worker_audit(w, s, "assign", what);
                }
        } else
                for (size_t i = 0; i < n && r >= 0; i++) {
                        r = worker_bulk_one(w, s, api, k, ids[i], release, labels, n_labels, err);
                        if (r >= 0)
                                done++;
                }
        e->ok = r >= 0;
        e->denied = r == -EACCES;
        if (r < 0)
                snprintf(e->message, sizeof(e->message), "%s: %zu of %zu devices done, then: %s",
                         bulk_kind_to_string(k), done, n, err[0] ? err : strerror(-r));
        else
                snprintf(e->message, sizeof(e->message), "%s: %zu device%s done", bulk_kind_to_string(k), n,
                         n == 1 ? "" : "s");
        worker_post(w, e);
}

/* Creates a rollout from the form, and starts it when asked to. */
void worker_do_create(Worker *w, Store *s, ApiClient *api, const char *name, const char *spec_text,
                      bool start) {
        WorkerEvent *e = worker_event_new(WORKER_ACTION);
        char err[ROLLOUT_ERROR_MAX] = "", msg[ROLLOUT_SPEC_ERROR_MAX];
        RolloutSpec spec;
        Rollout r = {};
        int k;

        (void) strscpy(e->rollout, sizeof(e->rollout), name);
        if (!api) {
                snprintf(e->message, sizeof(e->message), "create %s: no flotad configured (--server)", name);
                worker_post(w, e);
                return;
        }
        if (rollout_spec_parse(spec_text, &spec, msg) < 0) {
                snprintf(e->message, sizeof(e->message), "create %s: %s", name, msg);
                worker_post(w, e);
                return;
        }
        int fd = rollout_lock(w->path, ACTION_LOCK_WAIT_SEC);
        if (fd < 0) {
                snprintf(e->message, sizeof(e->message), "create %s: %s", name,
                         fd == -EWOULDBLOCK ? "another flota holds the rollout lock" : strerror(-fd));
                rollout_spec_done(&spec);
                worker_post(w, e);
                return;
        }
        RolloutEngine eng = worker_engine(w, s, api);
        k = rollout_create(&eng, name, &spec, &r, err);
        if (k >= 0)
                rollout_done(&r);
        if (k >= 0 && start)
                k = rollout_start(&eng, name, err);
        close(fd);
        rollout_spec_done(&spec);
        e->ok = k >= 0;
        e->denied = k == -EACCES;
        if (k < 0)
                snprintf(e->message, sizeof(e->message), "create %s: %s", name, err[0] ? err : strerror(-k));
        else
                snprintf(e->message, sizeof(e->message), "%s %s: done",
                         start ? "create and start" : "create", name);
        worker_post(w, e);
}

void worker_do_start(Worker *w, Store *s, ApiClient *api, const char *name) {
        WorkerEvent *e = worker_event_new(WORKER_ACTION);
        char err[ROLLOUT_ERROR_MAX] = "";

        (void) strscpy(e->rollout, sizeof(e->rollout), name);
        int fd = api ? rollout_lock(w->path, ACTION_LOCK_WAIT_SEC) : -ENOTCONN;
        if (fd < 0) {
                snprintf(e->message, sizeof(e->message), "start %s: %s", name,
                         !api                 ? "no flotad configured (--server)"
                         : fd == -EWOULDBLOCK ? "another flota holds the rollout lock"
                                              : strerror(-fd));
                worker_post(w, e);
                return;
        }
        RolloutEngine eng = worker_engine(w, s, api);
        int k = rollout_start(&eng, name, err);
        close(fd);
        e->ok = k >= 0;
        e->denied = k == -EACCES;
        if (k < 0)
                snprintf(e->message, sizeof(e->message), "start %s: %s", name, err[0] ? err : strerror(-k));
        else
                snprintf(e->message, sizeof(e->message), "start %s: done", name);
        worker_post(w, e);
}

void worker_do_upload(Worker *w, Store *s, ApiClient *api, const char *path, const char *product,
                      const char *version) {
        WorkerEvent *e = worker_event_new(WORKER_ACTION);
        char err[API_CLIENT_ERROR_MAX] = "";
        ApiReleaseUpload u = { .product = product, .version = isempty(version) ? NULL : version };
        Release rel = {};
        struct stat st;
        int r;

        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || fstat(fd, &st) < 0) {
                r = -errno;
                snprintf(err, sizeof(err), "cannot read %s: %s", path, strerror(-r));
        } else if (!S_ISREG(st.st_mode)) {
                r = -EINVAL;
                snprintf(err, sizeof(err), "%s is not a regular file", path);
        } else if (!api) {
                r = -ENOTCONN;
                snprintf(err, sizeof(err), "no flotad configured (--server)");
        } else
                r = api_release_upload(api, &u, fd, (uint64_t) st.st_size, NULL, NULL, &rel, err);
        e->ok = r >= 0;
        e->denied = r == -EACCES;
        if (r < 0)
                snprintf(e->message, sizeof(e->message), "upload %s: %s", path, err[0] ? err : strerror(-r));
        else {
                snprintf(e->message, sizeof(e->message), "upload: release %" PRId64 ", %s %s, done", rel.id,
                         rel.product, rel.version);
                _cleanup_free_ char *what = xasprintf("release %" PRId64 ": %s %s from %s", rel.id,
                                                      rel.product, rel.version, path);
                worker_audit(w, s, "release upload", what);
                release_done(&rel);
        }
        worker_post(w, e);
}
