/* SPDX-License-Identifier: MIT */
/* Poll logs into the inventory: files, rotation, resume points and commits (see log-ingest.h). */
#include "flota/log-ingest.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "flota/alloc.h"
#include "flota/inventory.h"
#include "flota/log-batch.h"
#include "flota/log-block.h"
#include "flota/log-reader.h"
#include "flota/strutil.h"
#include "store-internal.h"

/*
 * A commit rewrites the row of every device seen since the previous one, which costs about as
 * much as reading a few hundred MiB of log: commit after 1 GiB of log or 10 s, whichever
 * comes first. A killed run redoes at most that much.
 */
#define COMMIT_BYTES_DEFAULT (1024ull * 1024 * 1024)
#define COMMIT_INTERVAL (10 * USEC_PER_SEC)
#define BAD_TEXT_MAX 200

typedef struct Run {
        Store *inv;
        const LogIngestOptions *o;
        char *source;
        char cursor[LOG_FINGERPRINT_LEN + 1]; /* saved as the source's resume point at each commit */
        LogBlockParser *blocks;
        LogBatch *batch;
        InventoryWriter *writer;
        LogIngestStats *stats;
        uint64_t polls_uncommitted;
} Run;

typedef struct Sibling {
        char *path;
        struct stat st;
} Sibling;

char *log_source_name(const char *path) {
        _cleanup_free_ char *abs = realpath(path, NULL);
        return xasprintf("log:%s", abs ? abs : path);
}

/* ---- commits ---- */

static int write_change(const LogChange *c, void *userdata) {
        Run *run = userdata;
        Sighting x = { .device = c->device,
                       .version = c->version,
                       .sketch_md5 = c->sketch_md5,
                       .at = c->at,
                       .source = run->source };
        return inventory_writer_history(run->writer, &x);
}

static int write_seen(const LogSeen *s, void *userdata) {
        Run *run = userdata;
        Sighting x = {
                .device = s->device,
                .product = s->product,
                .platform = s->platform >= 0 ? platform_to_string(s->platform) : "",
                .version = s->version,
                .sketch_md5 = s->sketch_md5,
                .ip = s->ip,
                .first = s->first,
                .at = s->last,
                .source = run->source,
        };
        return inventory_writer_merge(run->writer, &x);
}

/* One transaction: the history, the device rows, the file's read position, the source's cursor. */
static int commit(Run *run, const char *fp, const char *path, const LogFileState *st) {
        int r = store_begin(run->inv);

        if (r < 0)
                return r;
        r = log_batch_foreach_change(run->batch, write_change, run);
        if (r == 0)
                r = log_batch_foreach_seen(run->batch, write_seen, run);
        if (r == 0)
                r = inventory_log_file_save(run->inv, fp, run->source, path, st);
        if (r == 0)
                r = inventory_advance(run->inv, run->source, run->cursor, run->polls_uncommitted);
        r = store_end(run->inv, r);
        if (r < 0)
                return r;
        log_batch_clear(run->batch);
        run->polls_uncommitted = 0;
        run->stats->commits++;
        return 0;
}

/* ---- one file ---- */

/* Reports a bad line at st->lines (the caller counts it in st->bad). */
static void bad_line(Run *run, const char *path, const LogFileState *st, const char *why, const char *text,
                     size_t n) {
        run->stats->bad++;
        if (run->o->bad_line)
                run->o->bad_line(path, st->lines, why, text, n < BAD_TEXT_MAX ? n : BAD_TEXT_MAX,
                                 run->o->userdata);
}

typedef struct BlockCtx {
        Run *run;
        const char *path;
        LogFileState *st;
} BlockCtx;

static int take_part(const LogParsed *part, void *userdata) {
        BlockCtx *b = userdata;
        Run *run = b->run;

        for (size_t i = 0; i < part->n_bad; i++) {
                LogFileState at = *b->st;
                at.lines += part->bad[i].line;
                bad_line(run, b->path, &at, part->bad[i].why, part->bad[i].text, part->bad[i].len);
                b->st->bad++;
        }
        log_batch_add_many(run->batch, part->recs, part->n);
        b->st->lines += part->lines;
        run->stats->lines += part->lines;
        run->stats->polls += part->n;
        run->polls_uncommitted += part->n;
        return 0;
}

static void take_block(Run *run, const char *path, const LogBlock *b, LogFileState *st) {
        if (b->overlong) {
                st->lines++;
                run->stats->lines++;
                bad_line(run, path, st, "line longer than 64 KiB", b->data, b->len);
                st->bad++;
                return;
        }
        BlockCtx ctx = { .run = run, .path = path, .st = st };
        (void) log_block_parse(run->blocks, b->data, b->len, take_part, &ctx);
}

/* Reads a file from st->offset to its end, committing every commit_bytes and at the end. */
static int ingest_file(Run *run, LogReader *rd, const char *fp, const char *path, LogFileState *st,
                       bool complete_at_end) {
        uint64_t limit = run->o->commit_bytes ? run->o->commit_bytes : COMMIT_BYTES_DEFAULT, since = 0;
        usec_t last_commit = now_usec(CLOCK_MONOTONIC);
        LogBlock b;
        int k, r;

        run->stats->files++;
        while ((k = log_reader_next(rd, &b)) > 0) {
                take_block(run, path, &b, st);
                st->offset = b.end;
                run->stats->bytes += b.len;
                since += b.len;
                if (since >= limit || now_usec(CLOCK_MONOTONIC) - last_commit >= COMMIT_INTERVAL) {
                        r = commit(run, fp, path, st);
                        if (r < 0)
                                return r;
                        since = 0;
                        last_commit = now_usec(CLOCK_MONOTONIC);
                }
        }
        st->complete = k == 0 && complete_at_end;
        r = commit(run, fp, path, st);
        return k < 0 ? k : r;
}

/* Opens path and reads it on from where its fingerprint's record says. */
static int ingest_path(Run *run, const char *path, bool complete_at_end) {
        _cleanup_(log_reader_freep) LogReader *rd = NULL;
        char fp[LOG_FINGERPRINT_LEN + 1];
        LogFileState st = {};
        int r;

        r = log_reader_open(path, &rd);
        if (r < 0)
                return r;
        r = log_reader_fingerprint(rd, fp);
        if (r < 0)
                return r == -EAGAIN ? 0 : r;
        r = inventory_log_file(run->inv, fp, &st);
        if (r < 0 && r != -ENOENT)
                return r;
        if (st.complete)
                return 0;
        r = log_reader_seek(rd, st.offset);
        if (r < 0)
                return r;
        return ingest_file(run, rd, fp, path, &st, complete_at_end);
}

/* ---- rotated siblings ---- */

static int sibling_cmp(const void *a, const void *b) {
        const Sibling *x = a, *y = b;
        if (x->st.st_mtim.tv_sec != y->st.st_mtim.tv_sec)
                return x->st.st_mtim.tv_sec < y->st.st_mtim.tv_sec ? -1 : 1;
        if (x->st.st_mtim.tv_nsec != y->st.st_mtim.tv_nsec)
                return x->st.st_mtim.tv_nsec < y->st.st_mtim.tv_nsec ? -1 : 1;
        return -strcmp(x->path, y->path); /* access.log.2 before access.log.1 */
}

static void siblings_free(Sibling *s, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(s[i].path);
        free(s);
}

/* The rotated copies of path (PATH.1, PATH.2.gz, PATH-20261122, ...), oldest first. */
static int list_siblings(const char *path, const struct stat *live, Sibling **ret, size_t *ret_n) {
        _cleanup_free_ char *copy = xstrdup(path);
        const char *slash = strrchr(copy, '/');
        const char *base = slash ? slash + 1 : copy;
        _cleanup_free_ char *dir =
                slash ? xstrndup(copy, (size_t) (slash - copy) + (slash == copy)) : xstrdup(".");
        size_t blen = strlen(base), n = 0, allocated = 0;
        Sibling *list = NULL;
        struct dirent *de;
        DIR *d = opendir(dir);

        if (!d)
                return -errno;
        while ((de = readdir(d))) {
                Sibling s;
                if (strncmp(de->d_name, base, blen) != 0 || !strchr(".-_", de->d_name[blen]) ||
                    !de->d_name[blen])
                        continue;
                s.path = xasprintf("%s/%s", dir, de->d_name);
                if (stat(s.path, &s.st) < 0 || !S_ISREG(s.st.st_mode) || s.st.st_ino == live->st_ino) {
                        free(s.path);
                        continue;
                }
                list = xgrow(list, &allocated, n + 1, sizeof(Sibling));
                list[n++] = s;
        }
        closedir(d);
        if (n > 1)
                qsort(list, n, sizeof(Sibling), sibling_cmp);
        *ret = list;
        *ret_n = n;
        return 0;
}

static int sibling_fingerprint(const Sibling *s, char fp[static LOG_FINGERPRINT_LEN + 1]) {
        _cleanup_(log_reader_freep) LogReader *rd = NULL;
        int r = log_reader_open(s->path, &rd);
        return r < 0 ? r : log_reader_fingerprint(rd, fp);
}

/* After a rotation: the rest of the file that was live last time, wherever it went. */
static int finish_previous(Run *run, const Sibling *sib, size_t n, const char *prev_fp) {
        char fp[LOG_FINGERPRINT_LEN + 1];

        for (size_t i = n; i-- > 0;) /* newest first: it is nearly always PATH.1 */
                if (sibling_fingerprint(&sib[i], fp) == 0 && streq(fp, prev_fp))
                        return ingest_path(run, sib[i].path, true);
        LogFileState st;
        if (inventory_log_file(run->inv, prev_fp, &st) < 0 || !st.complete)
                run->stats->rotated_lost = true;
        return 0;
}

static int visit_siblings(Run *run, const Sibling *sib, size_t n) {
        char fp[LOG_FINGERPRINT_LEN + 1];
        LogFileState st;

        for (size_t i = 0; i < n; i++) {
                if (run->o->backfill) {
                        int r = ingest_path(run, sib[i].path, true);
                        if (r < 0)
                                return r;
                } else if (sibling_fingerprint(&sib[i], fp) == 0 &&
                           inventory_log_file(run->inv, fp, &st) == -ENOENT)
                        run->stats->unread_rotated++;
        }
        return 0;
}

/* ---- the live file ---- */

static int ingest_live(Run *run, LogReader *rd, const char *fp) {
        LogFileState st = {};
        int r;

        r = inventory_log_file(run->inv, fp, &st);
        if (r < 0 && r != -ENOENT)
                return r;
        st.complete = false;
        r = log_reader_seek(rd, st.offset);
        if (r == -ERANGE) {
                /* cut short under the same first line (copytruncate, or rewritten): read it again */
                run->stats->truncated = true;
                st.offset = st.lines = 0;
                r = log_reader_seek(rd, 0);
        }
        if (r < 0)
                return r;
        return ingest_file(run, rd, fp, run->o->path, &st, false);
}

static int load_known(const char *device, const char *version, void *userdata) {
        log_batch_known(userdata, device, version);
        return 0;
}

static int run_init(Run *run, Store *inv, const LogIngestOptions *o, LogIngestStats *stats) {
        *run = (Run) { .inv = inv,
                       .o = o,
                       .stats = stats,
                       .source = log_source_name(o->path),
                       .blocks = log_block_parser_new(o->format, sysconf(_SC_NPROCESSORS_ONLN) > 1 ? 2 : 1),
                       .batch = log_batch_new() };
        /* every commit rewrites the rows of the devices seen: keep the table in the page cache; a
         * commit lost to a power cut is lost with its resume point, and read again next time */
        int r = store_exec(inv, "PRAGMA synchronous = NORMAL; PRAGMA cache_size = -32768;");
        if (r == 0)
                r = inventory_writer_new(inv, &run->writer);
        return r < 0 ? r : inventory_versions(inv, load_known, run->batch);
}

static void run_done(Run *run) {
        free(run->source);
        log_block_parser_free(run->blocks);
        log_batch_free(run->batch);
        inventory_writer_free(run->writer);
}

static int ingest_all(Run *run, LogReader *live, const char *live_fp) {
        _cleanup_free_ char *prev = NULL;
        Sibling *sib = NULL;
        size_t n = 0;
        struct stat st = { .st_ino = (ino_t) log_reader_inode(live) };
        int r;

        r = inventory_cursor(run->inv, run->source, &prev);
        if (r < 0 && r != -ENOENT)
                return r;
        strscpy(run->cursor, sizeof(run->cursor), prev ? prev : live_fp ? live_fp : "");
        bool rotated = prev && !isempty(prev) && (!live_fp || !streq(prev, live_fp));
        if (rotated || !prev || run->o->backfill) {
                r = list_siblings(run->o->path, &st, &sib, &n);
                if (r < 0)
                        return r;
        }
        if (rotated) {
                run->stats->rotated = true;
                r = finish_previous(run, sib, n, prev);
        }
        if (r >= 0 && (!prev || run->o->backfill))
                r = visit_siblings(run, sib, n);
        /* rotated files read now are older than what the inventory already holds from the live one */
        if (r >= 0 && run->o->backfill)
                r = inventory_history_tidy(run->inv);
        siblings_free(sib, n);
        if (r < 0 || !live_fp)
                return r;
        strscpy(run->cursor, sizeof(run->cursor), live_fp);
        return ingest_live(run, live, live_fp);
}

int log_ingest(Store *inv, const LogIngestOptions *o, LogIngestStats *ret) {
        _cleanup_(log_reader_freep) LogReader *live = NULL;
        char fp[LOG_FINGERPRINT_LEN + 1];
        bool have_fp;
        Run run;
        int r;

        *ret = (LogIngestStats) {};
        r = log_reader_open(o->path, &live);
        if (r < 0)
                return r;
        r = log_reader_fingerprint(live, fp);
        if (r < 0 && r != -EAGAIN)
                return r;
        have_fp = r == 0;
        r = run_init(&run, inv, o, ret);
        if (r == 0)
                r = ingest_all(&run, live, have_fp ? fp : NULL);
        ret->devices = log_batch_devices(run.batch);
        run_done(&run);
        return r;
}
