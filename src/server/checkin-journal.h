/* SPDX-License-Identifier: MIT */
/*
 * The check-in journal: every check-in is appended to a local file before its poll is
 * answered, and the database records, in the same transaction as each batch of check-ins,
 * how far into the journal that batch reaches (a JournalMark, flota/store.h). A flotad that
 * is killed (SIGKILL, the OOM killer, a crash) thus loses no answered poll: at its next start
 * the writer reads the mark back and writes what lies beyond it, once.
 *
 * A segment file: a 40-byte header ("FLOTAJNL", format 1, the journal's random id, the
 * segment's generation), then records (journal-record.h). New records go to PATH. Once it has
 * grown past a few MiB, it is renamed PATH.1 and a new PATH of the next generation takes the
 * records; PATH.1 is deleted as soon as the database holds a record of the newer generation
 * (a mark covers every record of the generations before its own). So the journal holds what
 * the database lacks plus at most one full segment, however steady the polling.
 *
 * Writes reach the page cache, not the disk: the journal outlives the process, not the
 * machine's power. One flotad per journal: PATH is locked (flock) while open, and a second
 * flotad on it is refused. Not thread-safe: the check-in queue serializes its callers.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "flota/checkin.h"
#include "flota/store.h"

#define CHECKIN_JOURNAL_HEADER 40

typedef struct CheckinJournal {
        char *path; /* PATH; the older segment is PATH.1 */
        char *old_path;
        int fd;                      /* PATH, locked */
        char id[JOURNAL_ID_LEN + 1]; /* 32 hex digits, the same in both segments */
        int64_t generation;          /* PATH's */
        uint64_t size;               /* the end of PATH's last record: where the next one goes */
        int64_t old_generation;      /* PATH.1's; 0 when there is none */
        uint64_t old_size;           /* the end of PATH.1's last record */
        uint64_t damaged_bytes;      /* found at open: bytes that hold no valid record */
} CheckinJournal;

/*
 * Opens path (and path.1 when there is one), creating path (with a new id) when missing or
 * empty, and locks it. A record cut short at the end of a segment (the process died inside a
 * write) is cut off. -EBUSY: another flotad has it open; -EPROTO: a file that is not a
 * check-in journal this flotad reads, or a path.1 of another journal; or -errno.
 */
int checkin_journal_open(CheckinJournal *j, const char *path);
/* Appends one encoded record (journal_record_encode()). A failed write leaves the file as it was. */
int checkin_journal_append(CheckinJournal *j, const uint8_t *record, size_t len);

typedef int (*JournalRecordCallback)(const Checkin *c, int64_t generation, uint64_t end, void *userdata);
/*
 * Calls cb, in order, for each record that mark (NULL: the database has none) does not cover:
 * PATH.1's, then PATH's up to byte `to`, with the generation and offset its record ends at.
 * Bytes that hold no record are skipped and counted in *ret_skipped. Stops at cb's first
 * negative return. 0 or -errno.
 */
int checkin_journal_replay(CheckinJournal *j, const JournalMark *mark, uint64_t to, JournalRecordCallback cb,
                           void *userdata, uint64_t *ret_skipped);
/*
 * Starts a new segment: PATH becomes PATH.1 and a new PATH of the next generation takes the
 * records. Only while there is no PATH.1.
 */
int checkin_journal_rotate(CheckinJournal *j);
/* Deletes PATH.1: once the database holds a record of PATH's generation. */
void checkin_journal_drop_old(CheckinJournal *j);
void checkin_journal_close(CheckinJournal *j);
