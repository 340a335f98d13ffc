/* SPDX-License-Identifier: MIT */
/*
 * The dashboard's worker thread: its loop (passes over flotad and the logs, the operator's
 * requests, snapshots) and the requests the UI thread queues for it.
 */
#include "worker-internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "flota/alloc.h"
#include "flota/inventory.h"
#include "flota/strutil.h"

static struct timespec deadline_after(usec_t d) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        usec_t t = (usec_t) ts.tv_sec * USEC_PER_SEC + (usec_t) ts.tv_nsec / 1000 + d;
        return (struct timespec) { .tv_sec = (time_t) (t / USEC_PER_SEC),
                                   .tv_nsec = (long) (t % USEC_PER_SEC) * 1000 };
}

static void *run(void *userdata) {
        Worker *w = userdata;
        _cleanup_(store_freep) Store *s = NULL;
        _cleanup_(api_client_freep) ApiClient *api = NULL;
        char err[API_CLIENT_ERROR_MAX];

        int r = inventory_open(w->path, &s);
        if (r < 0) {
                WorkerEvent *e = worker_event_new(WORKER_SNAPSHOT);
                snprintf(e->message, sizeof(e->message), "cannot open the inventory: %s", strerror(-r));
                worker_post(w, e);
                return NULL;
        }
        if (w->server && api_client_new(w->server, w->token, w->timeout_sec, &api, err) < 0) {
                WorkerEvent *e = worker_event_new(WORKER_PASS);
                snprintf(e->message, sizeof(e->message), "%s", err);
                worker_post(w, e);
        }
        /* what the token may do, up front: a read-only one shows admin actions as unavailable */
        TokenInfo token;
        if (api && api_token_info(api, &token, err) == 0) {
                WorkerEvent *e = worker_event_new(WORKER_TOKEN);
                e->ok = true;
                e->denied = !token.admin;
                snprintf(e->message, sizeof(e->message), "token %s may only read: actions are unavailable",
                         token.name);
                worker_post(w, e);
        }
        /* paint from the inventory at once, then the first pass over flotad without waiting */
        worker_maybe_snapshot(w, s, true);
        for (bool first = true;; first = false) {
                bool do_action = false, create_start = false;
                ActionKind kind = ACT_ROLLOUT;
                BulkKind bk = 0;
                char **ids = NULL, **labels = NULL, *spec = NULL, *upload_path = NULL,
                     *upload_version = NULL;
                size_t n_ids = 0, n_labels = 0;
                char name[ROLLOUT_NAME_MAX + 1], product[PRODUCT_NAME_MAX + 1],
                        channel[CHANNEL_NAME_MAX + 1];
                RolloutAction a = 0;
                int64_t release = 0;

                pthread_mutex_lock(&w->lock);
                struct timespec until = deadline_after(w->interval);
                while (!first && !w->quit && !w->wake && !w->has_action && !w->device_now && !w->has_plan &&
                       !w->logs_now && w->n_mdns == 0)
                        if (pthread_cond_timedwait(&w->cond, &w->lock, &until) == ETIMEDOUT)
                                break;
                bool quit = w->quit, wake = w->wake || w->device_now;
                /* woken for a plan preview or a changed log only: that, and back to waiting */
                bool logs_now = w->logs_now, mdns_now = w->n_mdns > 0;
                bool plan_only = (w->has_plan || logs_now || mdns_now) && !wake && !w->has_action;
                w->logs_now = false;
                if (w->has_action) {
                        do_action = true;
                        kind = w->kind;
                        memcpy(name, w->action_rollout, sizeof(name));
                        a = w->action;
                        memcpy(product, w->promote_product, sizeof(product));
                        memcpy(channel, w->promote_channel, sizeof(channel));
                        release = w->promote_release;
                        spec = TAKE_PTR(w->create_spec);
                        upload_path = TAKE_PTR(w->upload_path);
                        upload_version = TAKE_PTR(w->upload_version);
                        create_start = w->create_start;
                        if (kind == ACT_BULK) {
                                bk = w->bulk_kind;
                                ids = TAKE_PTR(w->bulk_ids);
                                labels = TAKE_PTR(w->bulk_labels);
                                n_ids = w->n_bulk_ids;
                                n_labels = w->n_bulk_labels;
                                release = w->bulk_release;
                        }
                }
                w->wake = false;
                pthread_mutex_unlock(&w->lock);
                if (quit)
                        break;
                worker_preview(w, s);
                if (mdns_now)
                        worker_write_mdns(w, s);
                if (logs_now)
                        worker_ingest_logs(w, s);
                if ((logs_now || mdns_now) && !worker_stopping(w))
                        worker_maybe_snapshot(w, s, mdns_now);
                if (plan_only)
                        continue;
                if (do_action) {
                        switch (kind) {
                        case ACT_BULK:
                                worker_do_bulk(w, s, api, bk, ids, n_ids, release, labels, n_labels);
                                worker_strv_free(ids, n_ids);
                                worker_strv_free(labels, n_labels);
                                break;
                        case ACT_PROMOTE: worker_do_promote(w, s, api, product, channel, release); break;
                        case ACT_CREATE: worker_do_create(w, s, api, name, spec, create_start); break;
                        case ACT_START: worker_do_start(w, s, api, name); break;
                        case ACT_UPLOAD:
                                worker_do_upload(w, s, api, upload_path, product, upload_version);
                                break;
                        default: worker_do_act(w, s, api, name, a);
                        }
                        free(spec);
                        free(upload_path);
                        free(upload_version);
                        pthread_mutex_lock(&w->lock);
                        w->has_action = false;
                        pthread_mutex_unlock(&w->lock);
                } else if (!wake) {
                        if (api) {
                                worker_pass(w, s, api);
                                if (!worker_stopping(w))
                                        worker_fetch_checkins(w, s, api);
                        }
                        if (!worker_stopping(w))
                                worker_ingest_logs(w, s);
                }
                /* a quit asked for meanwhile does not wait for more requests to a slow flotad */
                if (!worker_stopping(w))
                        worker_fetch_device(w, api);
                if (!wake && !worker_stopping(w))
                        worker_fetch_releases(w, api);
                if (!worker_stopping(w))
                        worker_maybe_snapshot(w, s, do_action || wake);
        }
        return NULL;
}

int worker_start(const WorkerOptions *o, Worker **ret) {
        Worker *w = xcalloc(1, sizeof(Worker));
        pthread_condattr_t ca;

        w->path = xstrdup(o->inventory_path);
        w->server = o->server ? xstrdup(o->server) : NULL;
        w->token = o->token ? xstrdup(o->token) : NULL;
        w->timeout_sec = o->timeout_sec;
        w->interval = o->interval;
        w->tick = o->tick;
        w->logs = worker_strv_copy((char *const *) o->logs, o->n_logs);
        w->log_formats = o->log_formats;
        w->n_logs = o->n_logs;
        w->push_password = o->push_password;
        w->push_userdata = o->push_userdata;
        w->push_user = o->push_user ? xstrdup(o->push_user) : NULL;
        pthread_mutex_init(&w->lock, NULL);
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&w->cond, &ca);
        pthread_condattr_destroy(&ca);
        w->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (w->efd < 0) {
                int r = -errno;
                worker_stop(w);
                return r;
        }
        int r = pthread_create(&w->thread, NULL, run, w);
        if (r != 0) {
                worker_stop(w);
                return -r;
        }
        w->started = true;
        *ret = w;
        return 0;
}

Worker *worker_stop(Worker *w) {
        if (!w)
                return NULL;
        if (w->started) {
                pthread_mutex_lock(&w->lock);
                w->quit = true;
                pthread_cond_signal(&w->cond);
                pthread_mutex_unlock(&w->lock);
                pthread_join(w->thread, NULL);
        }
        for (size_t i = 0; i < w->n_events; i++)
                worker_event_free(w->events[i]);
        worker_strv_free(w->bulk_ids, w->n_bulk_ids);
        worker_strv_free(w->bulk_labels, w->n_bulk_labels);
        worker_strv_free(w->logs, w->n_logs);
        free(w->push_user);
        for (size_t i = 0; i < w->n_mdns; i++)
                worker_mdns_note_done(&w->mdns[i]);
        free(w->mdns);
        free(w->create_spec);
        free(w->upload_path);
        free(w->upload_version);
        free(w->plan_spec);
        free(w->events);
        if (w->efd >= 0)
                close(w->efd);
        pthread_cond_destroy(&w->cond);
        pthread_mutex_destroy(&w->lock);
        free(w->path);
        free(w->server);
        free(w->token);
        free(w);
        return NULL;
}

int worker_fd(Worker *w) {
        return w->efd;
}

WorkerEvent *worker_next(Worker *w) {
        WorkerEvent *e = NULL;
        uint64_t n;

        pthread_mutex_lock(&w->lock);
        if (w->n_events > 0) {
                e = w->events[0];
                memmove(w->events, w->events + 1, (w->n_events - 1) * sizeof(WorkerEvent *));
                w->n_events--;
        }
        if (w->n_events == 0 && read(w->efd, &n, sizeof(n)) < 0) {
                /* EAGAIN: already drained */
        }
        pthread_mutex_unlock(&w->lock);
        return e;
}

/* Takes the worker's single action slot for a new action (-EBUSY while one is pending); call with the lock
 * held. */
static int claim_action(Worker *w, ActionKind kind) {
        if (w->has_action)
                return -EBUSY;
        w->has_action = true;
        w->kind = kind;
        return 0;
}

int worker_act(Worker *w, const char *rollout, RolloutAction a) {
        pthread_mutex_lock(&w->lock);
        int r = claim_action(w, ACT_ROLLOUT);
        if (r == 0) {
                (void) strscpy(w->action_rollout, sizeof(w->action_rollout), rollout);
                w->action = a;
                pthread_cond_signal(&w->cond);
        }
        pthread_mutex_unlock(&w->lock);
        return r;
}

int worker_promote(Worker *w, const char *product, const char *channel, int64_t release_id) {
        pthread_mutex_lock(&w->lock);
        int r = claim_action(w, ACT_PROMOTE);
        if (r == 0) {
                (void) strscpy(w->promote_product, sizeof(w->promote_product), product);
                (void) strscpy(w->promote_channel, sizeof(w->promote_channel), channel);
                w->promote_release = release_id;
                pthread_cond_signal(&w->cond);
        }
        pthread_mutex_unlock(&w->lock);
        return r;
}

int worker_bulk(Worker *w, BulkKind kind, char *const *ids, size_t n, int64_t release_id,
                char *const *labels, size_t n_labels) {
        pthread_mutex_lock(&w->lock);
        int r = claim_action(w, ACT_BULK);
        if (r == 0) {
                w->bulk_kind = kind;
                w->bulk_ids = worker_strv_copy(ids, n);
                w->n_bulk_ids = n;
                w->bulk_labels = worker_strv_copy(labels, n_labels);
                w->n_bulk_labels = n_labels;
                w->bulk_release = release_id;
                pthread_cond_signal(&w->cond);
        }
        pthread_mutex_unlock(&w->lock);
        return r;
}

int worker_create(Worker *w, const char *name, const char *spec_text, bool start) {
        pthread_mutex_lock(&w->lock);
        int r = claim_action(w, ACT_CREATE);
        if (r == 0) {
                (void) strscpy(w->action_rollout, sizeof(w->action_rollout), name);
                free(w->create_spec);
                w->create_spec = xstrdup(spec_text);
                w->create_start = start;
                pthread_cond_signal(&w->cond);
        }
        pthread_mutex_unlock(&w->lock);
        return r;
}

int worker_upload(Worker *w, const char *path, const char *product, const char *version) {
        pthread_mutex_lock(&w->lock);
        int r = claim_action(w, ACT_UPLOAD);
        if (r == 0) {
                free(w->upload_path);
                free(w->upload_version);
                w->upload_path = xstrdup(path);
                w->upload_version = xstrdup(version ? version : "");
                (void) strscpy(w->promote_product, sizeof(w->promote_product), product);
                pthread_cond_signal(&w->cond);
        }
        pthread_mutex_unlock(&w->lock);
        return r;
}

int worker_start_rollout(Worker *w, const char *name) {
        pthread_mutex_lock(&w->lock);
        int r = claim_action(w, ACT_START);
        if (r == 0) {
                (void) strscpy(w->action_rollout, sizeof(w->action_rollout), name);
                pthread_cond_signal(&w->cond);
        }
        pthread_mutex_unlock(&w->lock);
        return r;
}

void worker_plan(Worker *w, uint64_t seq, const char *name, const char *spec_text,
                 const RolloutRelease *release) {
        pthread_mutex_lock(&w->lock);
        free(w->plan_spec);
        w->plan_spec = xstrdup(spec_text);
        w->plan_seq = seq;
        (void) strscpy(w->plan_name, sizeof(w->plan_name), name);
        w->plan_release = *release;
        w->has_plan = true;
        pthread_cond_signal(&w->cond);
        pthread_mutex_unlock(&w->lock);
}

void worker_watch_device(Worker *w, const char *id) {
        pthread_mutex_lock(&w->lock);
        (void) strscpy(w->device, sizeof(w->device), id ? id : "");
        w->device_now = id != NULL;
        pthread_cond_signal(&w->cond);
        pthread_mutex_unlock(&w->lock);
}

void worker_mdns(Worker *w, const MdnsSighting *x, bool gone) {
        pthread_mutex_lock(&w->lock);
        w->mdns = xgrow(w->mdns, &w->mdns_allocated, w->n_mdns + 1, sizeof(MdnsNote));
        w->mdns[w->n_mdns++] = (MdnsNote) {
                .gone = gone,
                .device = xstrdup(x->device),
                .name = worker_dup_or_null(x->name),
                .kind = worker_dup_or_null(x->kind),
                .host = worker_dup_or_null(x->host),
                .board = worker_dup_or_null(x->board),
                .txt = worker_dup_or_null(x->txt),
                .ip = worker_dup_or_null(x->ip),
                .platform = worker_dup_or_null(x->platform),
                .version = worker_dup_or_null(x->version),
                .framework = worker_dup_or_null(x->framework),
                .port = x->port,
                .at = x->at,
        };
        pthread_cond_signal(&w->cond);
        pthread_mutex_unlock(&w->lock);
}

void worker_logs_changed(Worker *w) {
        pthread_mutex_lock(&w->lock);
        w->logs_now = true;
        pthread_cond_signal(&w->cond);
        pthread_mutex_unlock(&w->lock);
}

void worker_refresh(Worker *w) {
        pthread_mutex_lock(&w->lock);
        w->wake = true;
        pthread_cond_signal(&w->cond);
        pthread_mutex_unlock(&w->lock);
}
