/* SPDX-License-Identifier: MIT */
/*
 * One check-in as a record of the check-in journal (checkin-journal.h): the bytes written
 * before a poll is answered, read back after a crash. A record is
 *     "FJR1", u32 payload length, u32 CRC-32 of the payload, payload
 * (little-endian), and the payload holds every field of the Checkin in a fixed order,
 * enums by their stored names, so a journal written by one build of flotad is read by the
 * next. The decoder trusts nothing: a record that is cut short, too long, fails its CRC or
 * holds a value no Checkin can hold is refused.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "flota/checkin.h"

/* The largest record: every string at its longest, plus the header. */
#define JOURNAL_RECORD_MAX 1024

/* Encodes c into buf (JOURNAL_RECORD_MAX bytes). Returns the record's length. */
size_t journal_record_encode(const Checkin *c, uint8_t buf[static JOURNAL_RECORD_MAX]);

typedef enum JournalScan {
        JOURNAL_RECORD,  /* *ret holds a check-in; *used its record's length */
        JOURNAL_PARTIAL, /* a record that len cuts short: the end of what was written */
        JOURNAL_DAMAGED, /* no valid record starts here */
} JournalScan;

/* Reads the record at the start of buf. */
JournalScan journal_record_decode(const uint8_t *buf, size_t len, Checkin *ret, size_t *used);

/*
 * After JOURNAL_DAMAGED at buf: the offset of the next valid record in buf, or len when there
 * is none (a record cut short by len counts as the end).
 */
size_t journal_record_resync(const uint8_t *buf, size_t len);
