/* SPDX-License-Identifier: MIT */
/* Batched check-in writer thread. */
#include "checkin-queue.h"

#include <errno.h>
#include <string.h>
#include <inttypes.h>
#include <string.h>
#include <time.h>

#include "flota/alloc.h"
#include "flota/log.h"

static void deadline_in(struct timespec *ts, unsigned ms) {
        clock_gettime(CLOCK_MONOTONIC, ts);
        ts->tv_nsec += (long) (ms % 1000) * 1000000L;
        ts->tv_sec += ms / 1000 + ts->tv_nsec / 1000000000L;
        ts->tv_nsec %= 1000000000L;
}

/*
 * Writes one batch, retrying with back-off while the database refuses (locked, disk full):
 * the batch is held until it commits, and meanwhile new check-ins wait in the queue (up to
 * max_pending, then they are dropped and counted). Once the server is stopping, it gives
 * up after about ten seconds, so a broken disk cannot hold shutdown forever; what is given
 * up is counted as dropped and logged.
 */
static void write_batch(CheckinQueue *q, Checkin *items, size_t n) {
        unsigned delay_ms = 50, waited_ms = 0;

        atomic_store(&q->batch_started, now_usec(CLOCK_MONOTONIC));
        for (unsigned attempt = 0;; attempt++) {
                int r = store_checkins_write(q->store, items, n);
                if (r == 0) {
                        atomic_store(&q->failing, false);
                        atomic_store(&q->batch_started, 0);
                        atomic_fetch_add(&q->written, n);
                        /* polls that changed nothing got no row (id 0) */
                        for (size_t i = n; i > 0; i--)
                                if (items[i - 1].id > 0) {
                                        atomic_store(&q->last_id, (uint_fast64_t) items[i - 1].id);
                                        break;
                                }
                        if (q->log && (r = checkin_log_write(q->log, items, n)) < 0)
                                log_error("writing %zu check-ins to the check-in log failed: %s", n,
                                          strerror(-r));
                        return;
                }
                atomic_store(&q->failing, true);
                atomic_fetch_add(&q->failures, 1);
                if (attempt < 3 || attempt % 30 == 0)
                        log_error("writing %zu check-ins failed (attempt %u): %s", n, attempt + 1,
                                  store_last_error(q->store));
                pthread_mutex_lock(&q->lock);
                bool stopping = q->stopping;
                pthread_mutex_unlock(&q->lock);
                if (stopping && waited_ms >= 10000u) {
                        atomic_fetch_add(&q->dropped, n);
                        atomic_store(&q->batch_started, 0);
                        log_error("stopping: dropped %zu check-ins after %u failed attempts", n,
                                  attempt + 1);
                        return;
                }
                waited_ms += delay_ms;
                struct timespec ts = { .tv_sec = delay_ms / 1000,
                                       .tv_nsec = (long) (delay_ms % 1000) * 1000000L };
                nanosleep(&ts, NULL);
                if (delay_ms < 2000)
                        delay_ms *= 2;
        }
}

bool checkin_queue_is_stuck(CheckinQueue *q) {
        uint64_t started = atomic_load(&q->batch_started);

        return atomic_load(&q->failing) ||
               (started > 0 && now_usec(CLOCK_MONOTONIC) - started > 5 * USEC_PER_SEC);
}

#define PRUNE_ROWS 5000
#define PRUNE_ROUNDS 200

/* Deletes check-ins past the retention, in short transactions so polls are never held up long. */
static void maybe_prune(CheckinQueue *q) {
        usec_t now = now_usec(CLOCK_MONOTONIC), total = 0;

        if (q->retention == 0 || now < q->next_prune)
                return;
        /* every quarter of the retention, at least every second and at most every 10 minutes */
        usec_t every = q->retention / 4;
        if (every < USEC_PER_SEC)
                every = USEC_PER_SEC;
        if (every > 600 * USEC_PER_SEC)
                every = 600 * USEC_PER_SEC;
        q->next_prune = now + every;

        usec_t before = now_usec(CLOCK_REALTIME) - q->retention;
        for (int round = 0; round < PRUNE_ROUNDS; round++) {
                int r = store_checkins_prune(q->store, before, PRUNE_ROWS);
                if (r < 0) {
                        log_warning("deleting old check-ins failed: %s", store_last_error(q->store));
                        break;
                }
                total += (usec_t) r;
                if (r < PRUNE_ROWS)
                        break;
        }
        if (total > 0)
                log_info("deleted %" PRIu64 " check-ins past the retention", total);
}

static void *writer_main(void *userdata) {
        CheckinQueue *q = userdata;

        pthread_mutex_lock(&q->lock);
        for (;;) {
                if (q->n < q->batch && !q->stopping) {
                        struct timespec ts;
                        deadline_in(&ts, q->interval_ms);
                        while (q->n < q->batch && !q->stopping)
                                if (pthread_cond_timedwait(&q->wake, &q->lock, &ts) == ETIMEDOUT)
                                        break;
                }
                if (q->n == 0) {
                        if (q->stopping)
                                break;
                        pthread_mutex_unlock(&q->lock);
                        maybe_prune(q);
                        pthread_mutex_lock(&q->lock);
                        continue;
                }
                /* swap buffers: pushers fill the spare while this batch is written */
                Checkin *batch = q->items;
                size_t n = q->n, allocated = q->allocated;
                q->items = q->spare;
                q->allocated = q->spare_allocated;
                q->n = 0;
                pthread_cond_broadcast(&q->space);
                pthread_mutex_unlock(&q->lock);

                write_batch(q, batch, n);
                maybe_prune(q);

                pthread_mutex_lock(&q->lock);
                q->spare = batch;
                q->spare_allocated = allocated;
        }
        pthread_mutex_unlock(&q->lock);
        return NULL;
}

int checkin_queue_start(CheckinQueue *q, Store *store, usec_t retention, size_t max_pending,
                        CheckinLog *log) {
        pthread_condattr_t attr;

        *q = (CheckinQueue) {
                .store = store,
                .log = log,
                .retention = retention,
                /* bigger batches touch each device page once for more polls: less I/O per poll */
                .batch = 8000,
                .max_pending = max_pending,
                .interval_ms = 250,
        };
        pthread_mutex_init(&q->lock, NULL);
        pthread_condattr_init(&attr);
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
        pthread_cond_init(&q->wake, &attr);
        pthread_condattr_destroy(&attr);
        pthread_cond_init(&q->space, NULL);
        int r = pthread_create(&q->thread, NULL, writer_main, q);
        return -r;
}

void checkin_queue_push(CheckinQueue *q, const Checkin *c) {
        pthread_mutex_lock(&q->lock);
        if (q->n >= q->max_pending) {
                pthread_mutex_unlock(&q->lock);
                /* never make a request thread wait for the database */
                if (atomic_fetch_add(&q->dropped, 1) % 10000 == 0)
                        log_error("check-in queue full (%zu waiting, the database is not taking writes): "
                                  "dropping check-ins, counted in flotad_checkins_dropped_total",
                                  q->max_pending);
                return;
        }
        q->items = xgrow(q->items, &q->allocated, q->n + 1, sizeof(Checkin));
        q->items[q->n++] = *c;
        if (q->n == q->batch)
                pthread_cond_signal(&q->wake);
        pthread_mutex_unlock(&q->lock);
}

size_t checkin_queue_pending(CheckinQueue *q) {
        pthread_mutex_lock(&q->lock);
        size_t n = q->n;
        pthread_mutex_unlock(&q->lock);
        return n;
}

void checkin_queue_stop(CheckinQueue *q) {
        pthread_mutex_lock(&q->lock);
        q->stopping = true;
        pthread_cond_signal(&q->wake);
        pthread_cond_broadcast(&q->space);
        pthread_mutex_unlock(&q->lock);
        pthread_join(q->thread, NULL);
        free(q->items);
        free(q->spare);
        store_free(q->store);
        pthread_mutex_destroy(&q->lock);
        pthread_cond_destroy(&q->wake);
        pthread_cond_destroy(&q->space);
}
