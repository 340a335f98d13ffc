/* SPDX-License-Identifier: MIT */
/* Batched check-in writer thread. */
#include "checkin-queue.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <time.h>

#include "flota/alloc.h"
#include "flota/log.h"
#include "journal-record.h"

/* Check-ins in arrival order, with where each one's journal record ends. */
struct CheckinBlock {
        CheckinBlock *next;
        size_t n;
        JournalPos pos[CHECKIN_BLOCK];
        Checkin items[CHECKIN_BLOCK];
};

/* Blocks kept for reuse: the queue's steady state allocates nothing. */
#define FREE_BLOCKS_MAX 2

/* A journal segment this big makes way for a new one. */
#define JOURNAL_SEGMENT_BYTES (8u << 20)

static void deadline_in(struct timespec *ts, unsigned ms) {
        clock_gettime(CLOCK_MONOTONIC, ts);
        ts->tv_nsec += (long) (ms % 1000) * 1000000L;
        ts->tv_sec += ms / 1000 + ts->tv_nsec / 1000000000L;
        ts->tv_nsec %= 1000000000L;
}

static bool is_stopping(CheckinQueue *q) {
        pthread_mutex_lock(&q->lock);
        bool stopping = q->stopping;
        pthread_mutex_unlock(&q->lock);
        return stopping;
}

static void sleep_ms(unsigned ms) {
        struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long) (ms % 1000) * 1000000L };
        nanosleep(&ts, NULL);
}

/*
 * After a failed attempt: true when the batch committed all the same (the connection broke
 * after COMMIT was sent), as its mark in the database shows.
 */
static bool committed_anyway(CheckinQueue *q, const JournalMark *mark) {
        JournalMark stored;

        if (!mark || store_journal_mark(q->store, mark->journal, &stored) != 1)
                return false;
        return stored.generation > mark->generation ||
               (stored.generation == mark->generation && stored.end >= mark->end);
}

static void batch_done(CheckinQueue *q, Checkin *items, size_t n) {
        int r;

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
                log_error("writing %zu check-ins to the check-in log failed: %s", n, strerror(-r));
}

/*
 * Writes one batch, retrying with back-off while the database refuses (locked, disk full,
 * away): the batch is held until it commits, and meanwhile new check-ins wait in the queue
 * (up to max_pending, then they are dropped and counted). Once the server is stopping, it
 * gives up after about ten seconds, so a broken database cannot hold shutdown forever; what
 * is given up stays in the journal for the next start, or without one is counted as dropped.
 * True when the batch is in the database.
 */
static bool write_batch(CheckinQueue *q, Checkin *items, size_t n, const JournalMark *mark) {
        unsigned delay_ms = 50, waited_ms = 0;

        atomic_store(&q->batch_started, now_usec(CLOCK_MONOTONIC));
        for (unsigned attempt = 0;; attempt++) {
                if (store_checkins_write_marked(q->store, items, n, mark) == 0) {
                        batch_done(q, items, n);
                        return true;
                }
                atomic_store(&q->failing, true);
                atomic_fetch_add(&q->failures, 1);
                if (attempt < 3 || attempt % 30 == 0)
                        log_error("writing %zu check-ins failed (attempt %u): %s", n, attempt + 1,
                                  store_last_error(q->store));
                if (committed_anyway(q, mark)) {
                        log_info("the %zu check-ins were committed before the database connection broke", n);
                        batch_done(q, items, n);
                        return true;
                }
                if (is_stopping(q) && waited_ms >= 10000u) {
                        atomic_store(&q->batch_started, 0);
                        if (mark) {
                                log_error("stopping: %zu check-ins not written after %u attempts; they stay "
                                          "in the check-in journal for the next start",
                                          n, attempt + 1);
                                return false;
                        }
                        atomic_fetch_add(&q->dropped, n);
                        log_error("stopping: dropped %zu check-ins after %u failed attempts", n,
                                  attempt + 1);
                        return false;
                }
                waited_ms += delay_ms;
                sleep_ms(delay_ms);
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

/*
 * After a commit that reached pos: the older segment goes once the database holds a record
 * of the newer one, and a full segment makes way for a new one.
 */
static void after_commit(CheckinQueue *q, JournalPos pos) {
        CheckinJournal *j = q->journal;

        pthread_mutex_lock(&q->lock);
        if (j->old_generation > 0 && pos.generation > j->old_generation)
                checkin_journal_drop_old(j);
        /* while check-ins wait in the journal only, they stay in one segment */
        if (j->old_generation == 0 && j->size >= JOURNAL_SEGMENT_BYTES && !q->spilling) {
                int r = checkin_journal_rotate(j);
                if (r < 0)
                        log_error("starting a new segment of the check-in journal %s failed: %s", j->path,
                                  strerror(-r));
        }
        pthread_mutex_unlock(&q->lock);
}

/* The journal's id never changes once open: read without the lock, unlike its size. */
static JournalMark mark_at(const CheckinJournal *j, int64_t generation, int64_t end) {
        JournalMark m = { .generation = generation, .end = end };
        memcpy(m.journal, j->id, sizeof(m.journal));
        return m;
}

/* Writes one block; its mark is where its last record ends. */
static bool write_block(CheckinQueue *q, CheckinBlock *b) {
        if (!q->journal)
                return write_batch(q, b->items, b->n, NULL);
        JournalMark m = mark_at(q->journal, b->pos[b->n - 1].generation, b->pos[b->n - 1].end);
        return write_batch(q, b->items, b->n, &m);
}

static CheckinBlock *block_new(CheckinQueue *q) {
        CheckinBlock *b = q->free;

        if (b)
                q->free = b->next;
        else
                b = xmalloc(sizeof(CheckinBlock));
        b->next = NULL;
        b->n = 0;
        return b;
}

static void block_recycle(CheckinQueue *q, CheckinBlock *b) {
        size_t kept = 0;

        for (CheckinBlock *f = q->free; f; f = f->next)
                kept++;
        if (kept >= FREE_BLOCKS_MAX) {
                free(b);
                return;
        }
        b->next = q->free;
        q->free = b;
}

typedef struct Reader {
        CheckinQueue *q;
        CheckinBlock *block;
        uint64_t written;
        bool gave_up;
} Reader;

static int read_one(const Checkin *c, int64_t generation, uint64_t end, void *userdata) {
        Reader *rd = userdata;
        CheckinBlock *b = rd->block;

        b->items[b->n] = *c;
        b->pos[b->n++] = (JournalPos) { generation, (int64_t) end };
        if (b->n < CHECKIN_BLOCK)
                return 0;
        if (!write_block(rd->q, b)) {
                rd->gave_up = true;
                return -ECANCELED;
        }
        rd->written += b->n;
        b->n = 0;
        return 0;
}

/*
 * Writes the journal's records after `from` (NULL: all of them) and before byte `to` of the
 * current segment, in blocks. True when the database holds them all; *ret_written counts them.
 */
static bool write_from_journal(CheckinQueue *q, const JournalMark *from, uint64_t to,
                               uint64_t *ret_written) {
        CheckinJournal *j = q->journal;
        uint64_t skipped = 0;

        pthread_mutex_lock(&q->lock);
        Reader rd = { .q = q, .block = block_new(q) };
        pthread_mutex_unlock(&q->lock);
        /* only this thread changes the fields this reads (segments come and go in after_commit()) */
        int r = checkin_journal_replay(j, from, to, read_one, &rd, &skipped);
        bool done = r >= 0 && (rd.block->n == 0 || write_block(q, rd.block));
        if (done)
                rd.written += rd.block->n;
        if (r < 0 && !rd.gave_up)
                log_error("reading the check-in journal %s failed: %s", j->path, strerror(-r));
        if (skipped > 0)
                log_error("check-in journal %s: %" PRIu64 " damaged bytes between records skipped", j->path,
                          skipped);
        free(rd.block);
        *ret_written = rd.written;
        return done;
}

/*
 * Writes what the journal holds beyond the database's mark: check-ins a flotad answered
 * and then did not live to write. Waits for the database as long as it takes (new check-ins
 * queue meanwhile), unless the server stops.
 */
static void replay_journal(CheckinQueue *q) {
        CheckinJournal *j = q->journal;
        JournalMark mark;
        unsigned delay_ms = 50;
        uint64_t written = 0;
        int r;

        while ((r = store_journal_mark(q->store, j->id, &mark)) < 0) {
                if (is_stopping(q))
                        return;
                log_warning("reading the check-in journal's mark failed: %s", store_last_error(q->store));
                sleep_ms(delay_ms);
                if (delay_ms < 2000)
                        delay_ms *= 2;
        }
        bool done = write_from_journal(q, r == 1 ? &mark : NULL, q->replay_to, &written);
        atomic_fetch_add(&q->replayed, written);
        if (written > 0)
                log_info("check-in journal: %lu check-ins answered before the last stop were not in the "
                         "database; written now",
                         (unsigned long) written);
        if (done) {
                /* the database holds every record before replay_to, the older segment's too */
                pthread_mutex_lock(&q->lock);
                checkin_journal_drop_old(j);
                pthread_mutex_unlock(&q->lock);
        }
}

/*
 * Writes the check-ins that waited in the journal only, while the queue was full, in journal
 * order, until none are left; then new ones queue in memory again. False when the server
 * stops before (what is left stays in the journal for the next start).
 */
static bool drain_spill(CheckinQueue *q) {
        for (;;) {
                pthread_mutex_lock(&q->lock);
                JournalMark from = mark_at(q->journal, q->spill_from.generation, q->spill_from.end);
                uint64_t to = q->journal->size;
                pthread_mutex_unlock(&q->lock);

                uint64_t written = 0;
                if (!write_from_journal(q, &from, to, &written))
                        return false;
                pthread_mutex_lock(&q->lock);
                q->spilled -= written <= q->spilled ? written : q->spilled;
                if (q->journal->size == to) {
                        /* everything the journal took is in the database: back to memory */
                        q->spilling = false;
                        q->spilled = 0;
                        pthread_mutex_unlock(&q->lock);
                        log_info("the check-ins that waited in the check-in journal are written");
                        return true;
                }
                q->spill_from = (JournalPos) { q->journal->generation, (int64_t) to };
                pthread_mutex_unlock(&q->lock);
        }
}

static void *writer_main(void *userdata) {
        CheckinQueue *q = userdata;

        if (q->journal)
                replay_journal(q);
        pthread_mutex_lock(&q->lock);
        for (;;) {
                if (q->n < CHECKIN_BLOCK && !q->stopping) {
                        struct timespec ts;
                        deadline_in(&ts, q->interval_ms);
                        while (q->n < CHECKIN_BLOCK && !q->stopping)
                                if (pthread_cond_timedwait(&q->wake, &q->lock, &ts) == ETIMEDOUT)
                                        break;
                }
                if (q->n == 0 && q->spilling) {
                        pthread_mutex_unlock(&q->lock);
                        bool drained = drain_spill(q);
                        pthread_mutex_lock(&q->lock);
                        if (!drained)
                                break; /* stopping, the database away: the journal keeps them */
                        continue;
                }
                if (q->n == 0) {
                        if (q->stopping)
                                break;
                        pthread_mutex_unlock(&q->lock);
                        maybe_prune(q);
                        pthread_mutex_lock(&q->lock);
                        continue;
                }
                /* take every block: pushers start new ones while these are written */
                CheckinBlock *blocks = q->head;
                q->head = q->tail = NULL;
                q->n = 0;
                pthread_mutex_unlock(&q->lock);

                bool all = true;
                JournalPos committed = {};
                while (blocks) {
                        CheckinBlock *b = blocks;
                        blocks = b->next;
                        bool ok = all && write_block(q, b);
                        if (ok)
                                committed = b->pos[b->n - 1];
                        else if (!all && !q->journal)
                                atomic_fetch_add(&q->dropped, b->n); /* after one given up at stop */
                        all = ok;
                        pthread_mutex_lock(&q->lock);
                        block_recycle(q, b);
                        pthread_mutex_unlock(&q->lock);
                }
                if (!all) {
                        /* given up at stop, the database away: the journal keeps what is left */
                        pthread_mutex_lock(&q->lock);
                        if (!q->journal)
                                atomic_fetch_add(&q->dropped, q->n);
                        break;
                }
                maybe_prune(q);
                if (q->journal)
                        after_commit(q, committed);
                pthread_mutex_lock(&q->lock);
        }
        pthread_mutex_unlock(&q->lock);
        return NULL;
}

int checkin_queue_start(CheckinQueue *q, Store *store, usec_t retention, size_t max_pending, CheckinLog *log,
                        CheckinJournal *journal) {
        pthread_condattr_t attr;

        *q = (CheckinQueue) {
                .store = store,
                .log = log,
                .journal = journal,
                .replay_to = journal ? journal->size : 0,
                .retention = retention,
                .max_pending = max_pending,
                .interval_ms = 250,
        };
        pthread_mutex_init(&q->lock, NULL);
        pthread_condattr_init(&attr);
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
        pthread_cond_init(&q->wake, &attr);
        pthread_condattr_destroy(&attr);
        int r = pthread_create(&q->thread, NULL, writer_main, q);
        return -r;
}

/* Called under q->lock: a block with room at the tail. */
static CheckinBlock *tail_block(CheckinQueue *q) {
        if (q->tail && q->tail->n < CHECKIN_BLOCK)
                return q->tail;
        CheckinBlock *b = block_new(q);
        if (q->tail)
                q->tail->next = b;
        else
                q->head = b;
        q->tail = b;
        return b;
}

/*
 * Called under q->lock when the queue is full, or already spilling: the check-in waits in
 * the journal only, and the writer reads it back once it has written what is in memory.
 */
static void spill(CheckinQueue *q, const uint8_t *record, size_t len) {
        CheckinJournal *j = q->journal;
        JournalPos start = { j->generation, (int64_t) j->size };
        int r = checkin_journal_append(j, record, len);

        if (r < 0) {
                /* in neither memory nor the journal: lost, and counted */
                atomic_fetch_add(&q->journal_errors, 1);
                if (atomic_fetch_add(&q->dropped, 1) % 10000 == 0)
                        log_error("check-in queue full and the check-in journal %s failed (%s): dropping "
                                  "check-ins, counted in flotad_checkins_dropped_total",
                                  j->path, strerror(-r));
                return;
        }
        if (!q->spilling) {
                q->spilling = true;
                q->spill_from = start;
                log_warning("check-in queue full (%zu waiting, the database is not taking writes): further "
                            "check-ins wait in the check-in journal %s",
                            q->max_pending, j->path);
        }
        q->spilled++;
        atomic_fetch_add(&q->spilled_total, 1);
}

void checkin_queue_push(CheckinQueue *q, const Checkin *c) {
        uint8_t record[JOURNAL_RECORD_MAX];
        size_t len = q->journal ? journal_record_encode(c, record) : 0;

        pthread_mutex_lock(&q->lock);
        if (q->journal && (q->spilling || q->n >= q->max_pending)) {
                spill(q, record, len);
                pthread_mutex_unlock(&q->lock);
                return;
        }
        if (q->n >= q->max_pending) {
                pthread_mutex_unlock(&q->lock);
                /* never make a request thread wait for the database */
                if (atomic_fetch_add(&q->dropped, 1) % 10000 == 0)
                        log_error("check-in queue full (%zu waiting, the database is not taking writes): "
                                  "dropping check-ins, counted in flotad_checkins_dropped_total",
                                  q->max_pending);
                return;
        }
        /* in the journal before the answer leaves, and in the same order as in the queue */
        int r = q->journal ? checkin_journal_append(q->journal, record, len) : 0;
        if (r < 0 && atomic_fetch_add(&q->journal_errors, 1) % 10000 == 0)
                log_error("appending to the check-in journal %s failed: %s; check-ins are answered but "
                          "could be lost if flotad stops before writing them",
                          q->journal->path, strerror(-r));
        CheckinBlock *b = tail_block(q);
        b->items[b->n] = *c;
        b->pos[b->n++] = q->journal ? (JournalPos) { q->journal->generation, (int64_t) q->journal->size }
                                    : (JournalPos) {};
        if (++q->n == CHECKIN_BLOCK)
                pthread_cond_signal(&q->wake);
        pthread_mutex_unlock(&q->lock);
}

size_t checkin_queue_pending(CheckinQueue *q) {
        pthread_mutex_lock(&q->lock);
        size_t n = q->n + q->spilled;
        pthread_mutex_unlock(&q->lock);
        return n;
}

void checkin_queue_stop(CheckinQueue *q) {
        pthread_mutex_lock(&q->lock);
        q->stopping = true;
        pthread_cond_signal(&q->wake);
        pthread_mutex_unlock(&q->lock);
        pthread_join(q->thread, NULL);
        while (q->free) {
                CheckinBlock *b = q->free;
                q->free = b->next;
                free(b);
        }
        store_free(q->store);
        pthread_mutex_destroy(&q->lock);
        pthread_cond_destroy(&q->wake);
}
