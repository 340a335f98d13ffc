/* SPDX-License-Identifier: MIT */
/* The worker's event queue to the UI and the helpers every part of it uses. */
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

WorkerEvent *worker_event_free(WorkerEvent *e) {
        if (!e)
                return NULL;
        snapshot_free(e->snapshot);
        if (e->detail) {
                device_detail_done(e->detail);
                free(e->detail);
        }
        if (e->releases) {
                api_release_list_done(e->releases);
                free(e->releases);
        }
        if (e->channels) {
                api_channel_list_done(e->channels);
                free(e->channels);
        }
        if (e->recent) {
                api_checkin_page_done(e->recent);
                free(e->recent);
        }
        free(e);
        return NULL;
}

void worker_post(Worker *w, WorkerEvent *e) {
        uint64_t one = 1;

        pthread_mutex_lock(&w->lock);
        w->events = xgrow(w->events, &w->events_allocated, w->n_events + 1, sizeof(WorkerEvent *));
        w->events[w->n_events++] = e;
        pthread_mutex_unlock(&w->lock);
        if (write(w->efd, &one, sizeof(one)) < 0) {
                /* the counter cannot overflow in practice; the UI drains the queue anyway */
        }
}

WorkerEvent *worker_event_new(WorkerEventKind kind) {
        WorkerEvent *e = xcalloc(1, sizeof(WorkerEvent));
        e->kind = kind;
        return e;
}

RolloutEngine worker_engine(Worker *w, Store *s, ApiClient *api) {
        return (RolloutEngine) {
                .inventory = s,
                .api = api,
                .server = w->server ? w->server : "",
                .now = now_usec(CLOCK_REALTIME),
                .push_password = w->push_password,
                .push_userdata = w->push_userdata,
                .push_user = w->push_user,
        };
}

void worker_strv_free(char **v, size_t n) {
        for (size_t i = 0; v && i < n; i++)
                free(v[i]);
        free(v);
}

char **worker_strv_copy(char *const *v, size_t n) {
        char **c = xcalloc(n ? n : 1, sizeof(char *));
        for (size_t i = 0; i < n; i++)
                c[i] = xstrdup(v[i]);
        return c;
}

void worker_audit(Worker *w, Store *s, const char *action, const char *what) {
        _cleanup_free_ char *detail = xasprintf("%s on %s", what, w->server ? w->server : "-");
        (void) inventory_audit(s, action, detail);
}

char *worker_dup_or_null(const char *s) {
        return s ? xstrdup(s) : NULL;
}

bool worker_stopping(Worker *w) {
        pthread_mutex_lock(&w->lock);
        bool q = w->quit;
        pthread_mutex_unlock(&w->lock);
        return q;
}

void worker_mdns_note_done(MdnsNote *n) {
        free(n->device);
        free(n->name);
        free(n->kind);
        free(n->host);
        free(n->board);
        free(n->txt);
        free(n->ip);
        free(n->platform);
        free(n->version);
        free(n->framework);
}
