/* SPDX-License-Identifier: MIT */
/*
 * The catalog watch: with a database that several flotad replicas share, a change made
 * through one replica's API (a promotion, a pin, an assignment) must decide the next poll on
 * every replica. Each catalog write raises the database's catalog version; this thread reads
 * it every interval on a connection of its own and reloads the catalog when it moved. Polls
 * keep being answered from the catalog in memory whatever the database does: a failed check
 * is retried at the next interval (the connection is re-established when the server is back).
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "flota/log.h"
#include "server.h"

#define CATALOG_WATCH_INTERVAL_MS 1000

static void deadline_in(struct timespec *ts, unsigned ms) {
        clock_gettime(CLOCK_MONOTONIC, ts);
        ts->tv_nsec += (long) (ms % 1000) * 1000000L;
        ts->tv_sec += ms / 1000 + ts->tv_nsec / 1000000000L;
        ts->tv_nsec %= 1000000000L;
}

/* One check: reloads when the database's version is not the one served. */
static void check_once(Server *srv, bool *failing) {
        CatalogWatch *w = &srv->watch;
        int64_t version, served;
        int r = store_catalog_version(w->store, &version);

        if (r < 0) {
                if (!*failing)
                        log_warning(
                                "catalog watch: cannot read the catalog version (%s); polls are answered "
                                "from the catalog in memory until the database is back",
                                store_last_error(w->store));
                *failing = true;
                return;
        }
        if (*failing)
                log_info("catalog watch: the database answers again");
        *failing = false;
        pthread_rwlock_rdlock(&srv->catalog_lock);
        served = srv->served_version;
        pthread_rwlock_unlock(&srv->catalog_lock);
        if (version == served)
                return;
        /*
         * The API handlers read the served catalog under api_lock alone (they are the only ones
         * that swap it on SQLite): a swap from here takes api_lock too.
         */
        pthread_mutex_lock(&srv->api_lock);
        r = w->reload(srv, w->store);
        pthread_mutex_unlock(&srv->api_lock);
        if (r == 0) {
                atomic_fetch_add(&w->reloads, 1);
                log_debug("catalog watch: reloaded for version %" PRId64 " (served %" PRId64 ")", version,
                          served);
        }
}

/* Sleeps up to ms unless stopped; true when stopping. Called with w->lock held. */
static bool sleep_or_stop(CatalogWatch *w, unsigned ms) {
        struct timespec ts;

        deadline_in(&ts, ms);
        while (!w->stopping && pthread_cond_timedwait(&w->wake, &w->lock, &ts) != ETIMEDOUT)
                ;
        return w->stopping;
}

static void *watch_main(void *userdata) {
        Server *srv = userdata;
        CatalogWatch *w = &srv->watch;
        bool failing = false;

        pthread_mutex_lock(&w->lock);
        while (!w->stopping) {
                pthread_mutex_unlock(&w->lock);
                /* a NOTIFY from the replica that changed the catalog cuts the wait short */
                int r = store_catalog_wait(w->store, w->interval_ms);
                pthread_mutex_lock(&w->lock);
                if (r < 0 && sleep_or_stop(w, w->interval_ms))
                        break;
                if (w->stopping)
                        break;
                pthread_mutex_unlock(&w->lock);
                check_once(srv, &failing);
                pthread_mutex_lock(&w->lock);
        }
        pthread_mutex_unlock(&w->lock);
        return NULL;
}

int catalog_watch_start(Server *srv, int (*reload)(Server *srv, Store *store)) {
        CatalogWatch *w = &srv->watch;
        pthread_condattr_t attr;
        int r;

        w->reload = reload;
        r = store_open_url(srv->db_path, &w->store);
        if (r < 0)
                return r;
        w->interval_ms = CATALOG_WATCH_INTERVAL_MS;
        pthread_mutex_init(&w->lock, NULL);
        pthread_condattr_init(&attr);
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
        pthread_cond_init(&w->wake, &attr);
        pthread_condattr_destroy(&attr);
        r = -pthread_create(&w->thread, NULL, watch_main, srv);
        if (r < 0) {
                w->store = store_free(w->store);
                return r;
        }
        w->running = true;
        return 0;
}

void catalog_watch_stop(Server *srv) {
        CatalogWatch *w = &srv->watch;

        if (!w->running)
                return;
        pthread_mutex_lock(&w->lock);
        w->stopping = true;
        pthread_cond_signal(&w->wake);
        pthread_mutex_unlock(&w->lock);
        pthread_join(w->thread, NULL);
        w->running = false;
        w->store = store_free(w->store);
        pthread_mutex_destroy(&w->lock);
        pthread_cond_destroy(&w->wake);
}
