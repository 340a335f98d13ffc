/* SPDX-License-Identifier: MIT */
/* The check-in journal file. */
#include "checkin-journal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "flota/alloc.h"
#include "flota/hash.h"
#include "flota/log.h"
#include "journal-record.h"

#define MAGIC "FLOTAJNL"
#define FORMAT 1

static void put_le(uint8_t *p, uint64_t v, int bytes) {
        for (int i = 0; i < bytes; i++)
                p[i] = (uint8_t) (v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, int bytes) {
        uint64_t v = 0;
        for (int i = 0; i < bytes; i++)
                v |= (uint64_t) p[i] << (8 * i);
        return v;
}

static int write_header(CheckinJournal *j) {
        uint8_t h[CHECKIN_JOURNAL_HEADER] = {};

        memcpy(h, MAGIC, 8);
        put_le(h + 8, FORMAT, 4);
        for (int i = 0; i < 16; i++) {
                unsigned v;
                (void) sscanf(j->id + 2 * i, "%2x", &v);
                h[16 + i] = (uint8_t) v;
        }
        put_le(h + 32, (uint64_t) j->generation, 8);
        ssize_t n = pwrite(j->fd, h, sizeof(h), 0);
        if (n < 0)
                return -errno;
        return n == (ssize_t) sizeof(h) ? 0 : -EIO;
}

static int parse_header(CheckinJournal *j, const uint8_t *h) {
        if (memcmp(h, MAGIC, 8) != 0 || get_le(h + 8, 4) != FORMAT)
                return -EPROTO;
        for (int i = 0; i < 16; i++)
                snprintf(j->id + 2 * i, 3, "%02x", h[16 + i]);
        j->generation = (int64_t) get_le(h + 32, 8);
        return j->generation < 0 ? -EPROTO : 0;
}

/* A journal of its own: a new random id, generation 1. */
static int start_new(CheckinJournal *j) {
        uint8_t raw[16];
        int r = random_bytes(raw, sizeof(raw));

        if (r < 0)
                return r;
        for (int i = 0; i < 16; i++)
                snprintf(j->id + 2 * i, 3, "%02x", raw[i]);
        j->generation = 1;
        if (ftruncate(j->fd, 0) < 0)
                return -errno;
        r = write_header(j);
        j->size = CHECKIN_JOURNAL_HEADER;
        return r;
}

typedef struct Scan {
        uint64_t end; /* the end of the last valid record */
} Scan;

static int note_end(const Checkin *c, uint64_t end, void *userdata) {
        ((Scan *) userdata)->end = end;
        return 0;
}

/* Reads the header and finds where the records end; what follows (a record cut short) is cut off. */
static int load(CheckinJournal *j, uint64_t file_size) {
        uint8_t h[CHECKIN_JOURNAL_HEADER];
        ssize_t n = pread(j->fd, h, sizeof(h), 0);

        if (n < 0)
                return -errno;
        if (n < (ssize_t) sizeof(h)) {
                /* cut short while it was being created or rolled: it held nothing the database lacks */
                if (n > 0 && memcmp(h, MAGIC, (size_t) n < 8 ? (size_t) n : 8) != 0)
                        return -EPROTO;
                return start_new(j);
        }
        int r = parse_header(j, h);
        if (r < 0)
                return r;
        j->size = file_size;
        Scan scan = { .end = CHECKIN_JOURNAL_HEADER };
        r = checkin_journal_read(j, CHECKIN_JOURNAL_HEADER, file_size, note_end, &scan, &j->damaged_bytes);
        if (r < 0)
                return r;
        if (scan.end < file_size) {
                log_warning("check-in journal %s: its last %" PRIu64
                            " bytes hold no whole record (a write cut "
                            "short): cut off",
                            j->path, file_size - scan.end);
                if (ftruncate(j->fd, (off_t) scan.end) < 0)
                        return -errno;
                /* what was cut off is not damage: count only what lies between records */
                if (j->damaged_bytes > 0)
                        r = checkin_journal_read(j, CHECKIN_JOURNAL_HEADER, scan.end, note_end, &scan,
                                                 &j->damaged_bytes);
        }
        j->size = scan.end;
        return r;
}

int checkin_journal_open(CheckinJournal *j, const char *path) {
        struct stat st;
        int r;

        *j = (CheckinJournal) { .fd = -1 };
        j->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
        if (j->fd < 0)
                return -errno;
        j->path = xstrdup(path);
        if (flock(j->fd, LOCK_EX | LOCK_NB) < 0) {
                r = errno == EWOULDBLOCK ? -EBUSY : -errno;
                checkin_journal_close(j);
                return r;
        }
        if (fstat(j->fd, &st) < 0)
                r = -errno;
        else if (!S_ISREG(st.st_mode))
                r = -EINVAL;
        else
                r = load(j, (uint64_t) st.st_size);
        if (r < 0)
                checkin_journal_close(j);
        return r;
}

int checkin_journal_append(CheckinJournal *j, const uint8_t *record, size_t len) {
        ssize_t n = pwrite(j->fd, record, len, (off_t) j->size);

        if (n == (ssize_t) len) {
                j->size += len;
                return 0;
        }
        int r = n < 0 ? -errno : -ENOSPC;
        /* a part of a record would be taken for damage at the next start */
        if (n > 0)
                (void) ftruncate(j->fd, (off_t) j->size);
        return r;
}

JournalMark checkin_journal_mark(const CheckinJournal *j) {
        JournalMark m = { .generation = j->generation, .end = (int64_t) j->size };
        memcpy(m.journal, j->id, sizeof(m.journal));
        return m;
}

uint64_t checkin_journal_replay_start(const CheckinJournal *j, const JournalMark *mark, uint64_t to) {
        if (!mark || mark->generation < j->generation)
                return CHECKIN_JOURNAL_HEADER < to ? CHECKIN_JOURNAL_HEADER : to;
        if (mark->generation > j->generation || mark->end >= (int64_t) to)
                return to;
        return mark->end > CHECKIN_JOURNAL_HEADER ? (uint64_t) mark->end : CHECKIN_JOURNAL_HEADER;
}

int checkin_journal_read(CheckinJournal *j, uint64_t from, uint64_t to, JournalRecordCallback cb,
                         void *userdata, uint64_t *ret_skipped) {
        uint64_t skipped = 0;
        int r = 0;

        if (to <= from) {
                if (ret_skipped)
                        *ret_skipped = 0;
                return 0;
        }
        uint8_t *map = mmap(NULL, to, PROT_READ, MAP_PRIVATE, j->fd, 0);
        if (map == MAP_FAILED)
                return -errno;
        for (uint64_t at = from; at < to;) {
                Checkin c;
                size_t used;
                JournalScan k = journal_record_decode(map + at, to - at, &c, &used);
                if (k == JOURNAL_PARTIAL)
                        break;
                if (k == JOURNAL_DAMAGED) {
                        size_t next = journal_record_resync(map + at, to - at);
                        skipped += next;
                        at += next;
                        continue;
                }
                at += used;
                r = cb(&c, at, userdata);
                if (r < 0)
                        break;
        }
        munmap(map, to);
        if (ret_skipped)
                *ret_skipped = skipped;
        return r < 0 ? r : 0;
}

int checkin_journal_roll(CheckinJournal *j) {
        /* cut first: a crash between the two leaves the old generation, which the mark covers */
        if (ftruncate(j->fd, CHECKIN_JOURNAL_HEADER) < 0)
                return -errno;
        j->size = CHECKIN_JOURNAL_HEADER;
        j->generation++;
        return write_header(j);
}

void checkin_journal_close(CheckinJournal *j) {
        if (j->fd >= 0)
                (void) close(j->fd);
        free(j->path);
        *j = (CheckinJournal) { .fd = -1 };
}
