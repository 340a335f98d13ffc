/* SPDX-License-Identifier: MIT */
/*
 * The check-in journal: every check-in is appended to a local file before its poll is
 * answered, and the database records, in the same transaction as each batch of check-ins,
 * how far into the journal that batch reaches (a JournalMark, flota/store.h). A flotad that
 * is killed (SIGKILL, the OOM killer, a crash) thus loses no answered poll: at its next start
 * the writer reads the mark back and writes what lies beyond it, once.
 *
 * The file: a 40-byte header ("FLOTAJNL", format 1, the journal's random id, its generation),
 * then records (journal-record.h). Once the database holds every record and the file has
 * grown past a few MiB, it is cut back to its header and its generation goes up: a mark of an
 * older generation covers nothing of the new one. Writes reach the page cache, not the disk:
 * the journal outlives the process, not the machine's power.
 *
 * One flotad per journal: the file is locked (flock) while open, and a second flotad on the
 * same file is refused. Not thread-safe: the check-in queue serializes its callers.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "flota/checkin.h"
#include "flota/store.h"

#define CHECKIN_JOURNAL_HEADER 40

typedef struct CheckinJournal {
        char *path;
        int fd;
        char id[JOURNAL_ID_LEN + 1]; /* 32 hex digits */
        int64_t generation;
        uint64_t size;          /* the end of the last record: where the next one goes */
        uint64_t damaged_bytes; /* found at open: bytes that hold no valid record */
} CheckinJournal;

/*
 * Opens path, creating it (with a new id) when missing or empty, and locks it. A record cut
 * short at the end (the process died inside a write) is cut off. -EBUSY: another flotad has
 * it open; -EPROTO: the file is not a check-in journal this flotad reads; or -errno.
 */
int checkin_journal_open(CheckinJournal *j, const char *path);
/* Appends one encoded record (journal_record_encode()). A failed write leaves the file as it was. */
int checkin_journal_append(CheckinJournal *j, const uint8_t *record, size_t len);
/* The mark that covers every record written so far. */
JournalMark checkin_journal_mark(const CheckinJournal *j);

/*
 * Where replay of the records before `to` starts, given the database's mark for this journal
 * (NULL: it has none): past what the mark covers, or from the first record when the mark is of
 * an older generation. Returns `to` (nothing to replay) when the mark covers everything.
 */
uint64_t checkin_journal_replay_start(const CheckinJournal *j, const JournalMark *mark, uint64_t to);

typedef int (*JournalRecordCallback)(const Checkin *c, uint64_t end, void *userdata);
/*
 * Calls cb for each valid record in [from, to), with the offset its record ends at; bytes that
 * hold no record are skipped and counted in *ret_skipped. Stops at cb's first negative return.
 * 0 or -errno.
 */
int checkin_journal_read(CheckinJournal *j, uint64_t from, uint64_t to, JournalRecordCallback cb,
                         void *userdata, uint64_t *ret_skipped);
/* Cuts the file back to its header with the next generation. Only once the database holds every record. */
int checkin_journal_roll(CheckinJournal *j);
void checkin_journal_close(CheckinJournal *j);
