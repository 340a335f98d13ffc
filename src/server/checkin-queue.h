/* SPDX-License-Identifier: MIT */
/*
 * The check-in queue: request threads push, one writer thread drains in batches
 * (one transaction per batch), so heavy polling does not cost one fsync per poll.
 * A push never waits for the database: polls are answered from memory whatever the database
 * does. A batch that fails to commit (locked database, full disk, server away) is retried
 * until it commits; while it is retried, new check-ins queue up to max_pending in memory.
 * Beyond that they wait in the journal only (spilled), and the writer reads them back once
 * the database takes writes again; without a journal they are dropped and counted (dropped,
 * flotad_checkins_dropped_total), never silently.
 *
 * With a journal (checkin-journal.h), a push appends the check-in to it before the poll is
 * answered, each batch records its journal mark in its own transaction, and the writer's
 * first act is to write what an earlier flotad journaled but never wrote. A batch whose
 * commit is in doubt (the connection broke at COMMIT) is looked up by its mark before it is
 * written again, so it is never written twice.
 */
#pragma once

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "checkin-journal.h"
#include "checkin-log.h"
#include "flota/checkin.h"
#include "flota/store.h"

/* Check-ins in one block of the queue, and at most in one transaction. */
#define CHECKIN_BLOCK 8192

typedef struct CheckinBlock CheckinBlock;

/* A place in the journal: a segment's generation and an offset in it. */
typedef struct JournalPos {
        int64_t generation;
        int64_t end;
} JournalPos;

typedef struct CheckinQueue {
        pthread_mutex_t lock;
        pthread_cond_t wake;
        CheckinBlock *head, *tail; /* the queued check-ins, oldest first */
        CheckinBlock *free;        /* blocks kept for reuse */
        size_t n;                  /* queued */
        size_t max_pending;        /* pushes beyond this are dropped and counted */
        unsigned interval_ms;      /* flush after this long, or at CHECKIN_BLOCK pending */
        bool stopping;
        pthread_t thread;
        Store *store;            /* owned by the writer thread */
        usec_t retention;        /* check-ins older than this are deleted; 0 keeps them all */
        usec_t next_prune;       /* monotonic time of the next retention pass */
        CheckinLog *log;         /* optional JSON-lines copy of each committed batch; borrowed */
        CheckinJournal *journal; /* optional; borrowed; appended to under lock */
        uint64_t replay_to;      /* the journal's size when the queue started */
        bool spilling;           /* the queue is full: new check-ins wait in the journal only */
        JournalPos spill_from;   /* where the first check-in that waits in the journal only starts */
        size_t spilled;          /* check-ins that wait in the journal only */
        atomic_uint_fast64_t written;
        atomic_uint_fast64_t failures;
        atomic_uint_fast64_t last_id;
        atomic_uint_fast64_t dropped;        /* check-ins that could not be queued or written */
        atomic_uint_fast64_t spilled_total;  /* check-ins that waited in the journal only */
        atomic_uint_fast64_t replayed;       /* journaled check-ins an earlier flotad had not written */
        atomic_uint_fast64_t journal_errors; /* check-ins the journal could not take (answered anyway) */
        atomic_uint_fast64_t batch_started;  /* monotonic usec the batch being written started; 0: idle */
        atomic_bool failing;                 /* the last write attempt failed */
} CheckinQueue;

/*
 * Starts the writer thread on store (which the queue now owns); at most max_pending
 * check-ins wait for it. With retention > 0 the writer also deletes older check-ins, a few
 * thousand rows per short transaction. With log, each committed batch is also appended to
 * it. With journal (open, borrowed), see above. 0 or -errno.
 */
int checkin_queue_start(CheckinQueue *q, Store *store, usec_t retention, size_t max_pending, CheckinLog *log,
                        CheckinJournal *journal);
/* Journals and queues c without waiting for the database; when max_pending are queued, drops it and counts
 * it. */
void checkin_queue_push(CheckinQueue *q, const Checkin *c);
/* True when the writer's last attempt failed or its current batch has been at it for over 5 s. */
bool checkin_queue_is_stuck(CheckinQueue *q);
size_t checkin_queue_pending(CheckinQueue *q);
/* Writes everything still queued, stops the thread and frees the store. */
void checkin_queue_stop(CheckinQueue *q);
