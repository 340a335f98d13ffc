/* SPDX-License-Identifier: MIT */
/* The check-in journal's segment files. */
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
#include "flota/strutil.h"
#include "journal-record.h"

#define MAGIC "FLOTAJNL"
#define FORMAT 1

/* What a segment's header says. */
typedef struct Header {
        char id[JOURNAL_ID_LEN + 1];
        int64_t generation;
} Header;

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

static int write_header(int fd, const Header *h) {
        uint8_t b[CHECKIN_JOURNAL_HEADER] = {};

        memcpy(b, MAGIC, 8);
        put_le(b + 8, FORMAT, 4);
        for (int i = 0; i < 16; i++) {
                unsigned v;
                (void) sscanf(h->id + 2 * i, "%2x", &v);
                b[16 + i] = (uint8_t) v;
        }
        put_le(b + 32, (uint64_t) h->generation, 8);
        ssize_t n = pwrite(fd, b, sizeof(b), 0);
        if (n < 0)
                return -errno;
        return n == (ssize_t) sizeof(b) ? 0 : -EIO;
}

/* 1 with *h filled, 0 when the file is too short to hold a header (cut short while created), or -EPROTO. */
static int read_header(int fd, Header *h) {
        uint8_t b[CHECKIN_JOURNAL_HEADER];
        ssize_t n = pread(fd, b, sizeof(b), 0);

        if (n < 0)
                return -errno;
        if (n < (ssize_t) sizeof(b))
                return n > 0 && memcmp(b, MAGIC, (size_t) n < 8 ? (size_t) n : 8) != 0 ? -EPROTO : 0;
        if (memcmp(b, MAGIC, 8) != 0 || get_le(b + 8, 4) != FORMAT)
                return -EPROTO;
        for (int i = 0; i < 16; i++)
                snprintf(h->id + 2 * i, 3, "%02x", b[16 + i]);
        h->generation = (int64_t) get_le(b + 32, 8);
        return h->generation < 1 ? -EPROTO : 1;
}

static int new_id(char id[static JOURNAL_ID_LEN + 1]) {
        uint8_t raw[16];
        int r = random_bytes(raw, sizeof(raw));

        if (r < 0)
                return r;
        for (int i = 0; i < 16; i++)
                snprintf(id + 2 * i, 3, "%02x", raw[i]);
        return 0;
}

typedef int (*SegmentCallback)(const Checkin *c, uint64_t end, void *userdata);

/* Reads the records of fd in [from, to); bytes that hold no record are skipped and counted. */
static int read_segment(int fd, uint64_t from, uint64_t to, SegmentCallback cb, void *userdata,
                        uint64_t *skipped) {
        int r = 0;

        if (to <= from)
                return 0;
        uint8_t *map = mmap(NULL, to, PROT_READ, MAP_PRIVATE, fd, 0);
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
                        *skipped += next;
                        at += next;
                        continue;
                }
                at += used;
                r = cb(&c, at, userdata);
                if (r < 0)
                        break;
        }
        munmap(map, to);
        return r < 0 ? r : 0;
}

static int note_end(const Checkin *c, uint64_t end, void *userdata) {
        *(uint64_t *) userdata = end;
        return 0;
}

/*
 * Finds where a segment's records end (returned in *ret_size) and cuts off what follows (a
 * record cut short); counts damaged bytes between records.
 */
static int load_segment(CheckinJournal *j, int fd, const char *path, uint64_t *ret_size) {
        struct stat st;
        uint64_t end = CHECKIN_JOURNAL_HEADER, skipped = 0;

        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EINVAL;
        uint64_t file_size = (uint64_t) st.st_size;
        int r = read_segment(fd, CHECKIN_JOURNAL_HEADER, file_size, note_end, &end, &skipped);
        if (r < 0)
                return r;
        if (end < file_size) {
                log_warning("check-in journal %s: its last %" PRIu64
                            " bytes hold no whole record (a write cut "
                            "short): cut off",
                            path, file_size - end);
                if (ftruncate(fd, (off_t) end) < 0)
                        return -errno;
                /* what was cut off is not damage: count only what lies between records */
                skipped = 0;
                r = read_segment(fd, CHECKIN_JOURNAL_HEADER, end, note_end, &end, &skipped);
        }
        j->damaged_bytes += skipped;
        *ret_size = end;
        return r;
}

/* PATH.1, when there is one: its header and where its records end. */
static int open_old(CheckinJournal *j, Header *h) {
        int fd = open(j->old_path, O_RDWR | O_CLOEXEC);
        int r;

        if (fd < 0)
                return errno == ENOENT ? 0 : -errno;
        r = read_header(fd, h);
        if (r == 0) {
                /* cut short while it was a new PATH: it held no record */
                (void) close(fd);
                return unlink(j->old_path) < 0 ? -errno : 0;
        }
        if (r > 0)
                r = load_segment(j, fd, j->old_path, &j->old_size);
        (void) close(fd);
        if (r < 0)
                return r;
        j->old_generation = h->generation;
        return 1;
}

/* PATH: its header (a new one when it is empty, continuing PATH.1's journal if there is one) and its end. */
static int open_current(CheckinJournal *j, const Header *old) {
        Header h = {};
        int r = read_header(j->fd, &h);

        if (r < 0)
                return r;
        if (r == 0) {
                if (old) {
                        h = *old;
                        h.generation++;
                } else {
                        r = new_id(h.id);
                        if (r < 0)
                                return r;
                        h.generation = 1;
                }
                if (ftruncate(j->fd, 0) < 0)
                        return -errno;
                r = write_header(j->fd, &h);
                if (r < 0)
                        return r;
        } else if (old && (!streq(old->id, h.id) || old->generation >= h.generation))
                return -EPROTO; /* PATH.1 is not this journal's older segment */
        memcpy(j->id, h.id, sizeof(j->id));
        j->generation = h.generation;
        return load_segment(j, j->fd, j->path, &j->size);
}

int checkin_journal_open(CheckinJournal *j, const char *path) {
        Header old = {};
        int r;

        *j = (CheckinJournal) { .fd = -1, .path = xstrdup(path), .old_path = xasprintf("%s.1", path) };
        j->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
        if (j->fd < 0) {
                r = -errno;
                checkin_journal_close(j);
                return r;
        }
        if (flock(j->fd, LOCK_EX | LOCK_NB) < 0) {
                r = errno == EWOULDBLOCK ? -EBUSY : -errno;
                checkin_journal_close(j);
                return r;
        }
        /* a new segment that a crash left half made */
        _cleanup_free_ char *tmp = xasprintf("%s.new", path);
        (void) unlink(tmp);
        r = open_old(j, &old);
        if (r >= 0)
                r = open_current(j, r > 0 ? &old : NULL);
        if (r < 0)
                checkin_journal_close(j);
        return r < 0 ? r : 0;
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

/* Where the records of a segment that mark does not cover start; `to` when it covers them all. */
static uint64_t uncovered_from(int64_t generation, const JournalMark *mark, uint64_t to) {
        if (!mark || mark->generation < generation)
                return CHECKIN_JOURNAL_HEADER < to ? CHECKIN_JOURNAL_HEADER : to;
        if (mark->generation > generation || mark->end >= (int64_t) to)
                return to;
        return mark->end > CHECKIN_JOURNAL_HEADER ? (uint64_t) mark->end : CHECKIN_JOURNAL_HEADER;
}

typedef struct ReplayCtx {
        JournalRecordCallback cb;
        void *userdata;
        int64_t generation;
} ReplayCtx;

static int replay_one(const Checkin *c, uint64_t end, void *userdata) {
        ReplayCtx *ctx = userdata;
        return ctx->cb(c, ctx->generation, end, ctx->userdata);
}

int checkin_journal_replay(CheckinJournal *j, const JournalMark *mark, uint64_t to, JournalRecordCallback cb,
                           void *userdata, uint64_t *ret_skipped) {
        uint64_t skipped = 0;
        int r = 0;

        if (j->old_generation > 0) {
                ReplayCtx ctx = { cb, userdata, j->old_generation };
                int fd = open(j->old_path, O_RDONLY | O_CLOEXEC);
                if (fd < 0)
                        return -errno;
                r = read_segment(fd, uncovered_from(j->old_generation, mark, j->old_size), j->old_size,
                                 replay_one, &ctx, &skipped);
                (void) close(fd);
        }
        if (r >= 0) {
                ReplayCtx ctx = { cb, userdata, j->generation };
                r = read_segment(j->fd, uncovered_from(j->generation, mark, to), to, replay_one, &ctx,
                                 &skipped);
        }
        if (ret_skipped)
                *ret_skipped = skipped;
        return r;
}

int checkin_journal_rotate(CheckinJournal *j) {
        _cleanup_free_ char *tmp = xasprintf("%s.new", j->path);
        Header h = { .generation = j->generation + 1 };
        int r;

        if (j->old_generation > 0)
                return -EEXIST;
        memcpy(h.id, j->id, sizeof(h.id));
        /* the new segment is whole and locked before it takes PATH's name */
        int fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
        if (fd < 0)
                return -errno;
        if (flock(fd, LOCK_EX | LOCK_NB) < 0)
                r = -errno;
        else
                r = write_header(fd, &h);
        if (r >= 0 && rename(j->path, j->old_path) < 0)
                r = -errno;
        if (r >= 0 && rename(tmp, j->path) < 0) {
                r = -errno;
                /* PATH is PATH.1 now: put it back, and go on with it */
                (void) rename(j->old_path, j->path);
        }
        if (r < 0) {
                (void) close(fd);
                (void) unlink(tmp);
                return r;
        }
        (void) close(j->fd);
        j->fd = fd;
        j->old_generation = j->generation;
        j->old_size = j->size;
        j->generation = h.generation;
        j->size = CHECKIN_JOURNAL_HEADER;
        return 0;
}

void checkin_journal_drop_old(CheckinJournal *j) {
        if (j->old_generation == 0)
                return;
        if (unlink(j->old_path) < 0 && errno != ENOENT)
                log_warning("cannot delete %s: %m", j->old_path);
        j->old_generation = 0;
        j->old_size = 0;
}

void checkin_journal_close(CheckinJournal *j) {
        if (j->fd >= 0)
                (void) close(j->fd);
        free(j->path);
        free(j->old_path);
        *j = (CheckinJournal) { .fd = -1 };
}
