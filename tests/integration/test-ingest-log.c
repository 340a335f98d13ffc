/* SPDX-License-Identifier: MIT */
/*
 * flota ingest --log on real files: resume, unfinished lines, rotation (rename, gzip,
 * copytruncate), truncation, backfill of rotated files, bad lines, damaged gzip, kill -9 at
 * random moments, and flotad's own JSON-lines log from a real flotad and a flota-sim fleet.
 *
 * The yardstick for each case is a reference ingest, in a fresh inventory, of one file holding
 * every line the case wrote: whatever rotations and kills happened, the inventory must end up
 * with the same devices, the same version history and the same number of polls.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../harness/tmpdir.h"
#include "flota/alloc.h"
#include "flotad-harness.h"

extern char **environ;

#define DEVICES 50

typedef struct Case {
        char *dir;
        char *log; /* the live log */
        char *db;
        char *all; /* every line written, for the reference ingest */
        long next; /* the next line number to write */
} Case;

static int setup(void **state) {
        Case *c = xcalloc(1, sizeof(Case));
        c->dir = tmpdir_new();
        c->log = xasprintf("%s/access.log", c->dir);
        c->db = xasprintf("%s/flota.db", c->dir);
        c->all = xasprintf("%s/all-lines", c->dir);
        *state = c;
        return 0;
}

static int teardown(void **state) {
        Case *c = *state;
        tmpdir_remove(c->dir);
        free(c->log);
        free(c->db);
        free(c->all);
        free(c);
        return 0;
}

/* Line i: device i % DEVICES, whose version moves on every third round; one line in 20 is a browser. */
static void format_line(long i, char *buf, size_t size) {
        time_t t = 1793433600 + i;
        struct tm tm;
        char stamp[64];

        gmtime_r(&t, &tm);
        strftime(stamp, sizeof(stamp), "%d/%b/%Y:%H:%M:%S +0000", &tm);
        if (i % 20 == 19)
                snprintf(buf, size,
                         "198.51.100.7 - - [%s] \"GET / HTTP/1.1\" 200 612 \"-\" \"Mozilla/5.0\" \"-\" "
                         "\"-\"\n",
                         stamp);
        else
                snprintf(buf, size,
                         "10.0.0.%ld - - [%s] \"GET /update HTTP/1.1\" 304 0 \"-\" \"ESP8266-http-Update\" "
                         "\"18:FE:AA:00:00:%02lX\" \"1.%ld.0\"\n",
                         i % DEVICES, stamp, i % DEVICES, i / (3 * DEVICES));
}

static void append_to(const char *path, const char *text) {
        FILE *f = fopen(path, "a");
        assert_non_null(f);
        fputs(text, f);
        assert_int_equal(fclose(f), 0);
}

/* Appends n lines to the live log (and to the record of all lines). */
static void write_lines(Case *c, long n) {
        FILE *log = fopen(c->log, "a"), *all = fopen(c->all, "a");
        char line[512];

        assert_non_null(log);
        assert_non_null(all);
        for (long k = 0; k < n; k++) {
                format_line(c->next++, line, sizeof(line));
                fputs(line, log);
                fputs(line, all);
        }
        assert_int_equal(fclose(log), 0);
        assert_int_equal(fclose(all), 0);
}

static int flota_ingest(const char *db, const char *const *args, char **out) {
        const char *argv[16] = { getenv("FLOTA"), "--db", db, "ingest" };
        size_t n = 4;
        for (size_t i = 0; args[i] && n < 15; i++)
                argv[n++] = args[i];
        argv[n] = NULL;
        return run_program((char *const *) argv, true, out);
}

static void ingest_ok(Case *c, const char *const *args, const char *needle) {
        char *out = NULL;
        int rc = flota_ingest(c->db, args, &out);
        if (rc != 0 || (needle && !strstr(out, needle)))
                fail_msg("flota ingest: exit %d, output: %s", rc, out);
        free(out);
}

#define POLLS "SELECT coalesce(sum(ingested), 0) FROM sources"
/* the whole history, row by row in time order (sources differ: one file against another) */
#define HISTORY                                                                                            \
        "SELECT count(*) || ':' || coalesce(group_concat(device_id || ' ' || version || ' ' || at, ','), " \
        "'') "                                                                                             \
        "FROM (SELECT * FROM version_history ORDER BY device_id, at, id)"

static char *text(const char *db, const char *sql) {
        sqlite3 *h;
        sqlite3_stmt *st;
        char *s = NULL;

        assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
        if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
                s = xstrdup((const char *) sqlite3_column_text(st, 0));
        sqlite3_finalize(st);
        sqlite3_close(h);
        return s ? s : xstrdup("");
}

/* The inventory holds exactly what one ingest of every line written gives. */
static void same_as_reference(Case *c) {
        _cleanup_free_ char *db = xasprintf("%s/reference.db", c->dir);
        const char *args[] = { "--log", c->all, NULL };
        char *out = NULL;

        assert_int_equal(flota_ingest(db, args, &out), 0);
        free(out);
        assert_int_equal(sqlite_count(c->db, POLLS), sqlite_count(db, POLLS));
        assert_int_equal(sqlite_count(c->db, "SELECT count(*) FROM devices"),
                         sqlite_count(db, "SELECT count(*) FROM devices"));
        _cleanup_free_ char *a = text(c->db, HISTORY), *b = text(db, HISTORY);
        assert_string_equal(a, b);
        _cleanup_free_ char *va = text(c->db, "SELECT group_concat(id || '=' || version, ',') FROM devices");
        _cleanup_free_ char *vb = text(db, "SELECT group_concat(id || '=' || version, ',') FROM devices");
        assert_string_equal(va, vb);
        /* polls: every device line once (one line in 20 is not a poll) */
        long polls = c->next - c->next / 20;
        assert_int_equal(sqlite_count(c->db, POLLS), polls);
}

static void test_incremental(void **state) {
        Case *c = *state;
        const char *args[] = { "--log", c->log, NULL };

        write_lines(c, 400);
        ingest_ok(c, args, "400 lines, 380 polls, 0 bad");
        ingest_ok(c, args, "0 lines, 0 polls");
        write_lines(c, 100);
        ingest_ok(c, args, "100 lines, 95 polls");
        /* a line still being written is left for the next run */
        char line[512];
        format_line(c->next, line, sizeof(line));
        size_t half = strlen(line) / 2;
        char *head = xstrndup(line, half);
        append_to(c->log, head);
        ingest_ok(c, args, "0 lines");
        append_to(c->log, line + half);
        append_to(c->all, line);
        c->next++;
        ingest_ok(c, args, "1 lines, 1 polls");
        free(head);
        same_as_reference(c);
        assert_int_equal(sqlite_count(c->db, "SELECT count(*) FROM devices"), DEVICES);
        /* 501 lines over 50 devices: versions 1.0.0 to 1.3.0 */
        assert_int_equal(sqlite_count(c->db, "SELECT count(DISTINCT version) FROM version_history"), 4);
}

static void rotate_rename(Case *c, const char *to, bool compress) {
        _cleanup_free_ char *dst = xasprintf("%s/%s", c->dir, to);
        assert_int_equal(rename(c->log, dst), 0);
        if (compress) {
                _cleanup_free_ char *cmd = xasprintf("gzip -n '%s'", dst);
                assert_int_equal(system(cmd), 0);
        }
}

/* logrotate's default: rename; the server reopens; lines written between the last run and the rename count.
 */
static void test_rotation(void **state) {
        Case *c = *state;
        const char *args[] = { "--log", c->log, NULL };

        write_lines(c, 300);
        ingest_ok(c, args, "300 lines");
        write_lines(c, 60); /* after the last ingest, before the rotation */
        rotate_rename(c, "access.log.1", false);
        write_lines(c, 90);
        ingest_ok(c, args, "150 lines");
        same_as_reference(c);

        /* again, with the rotated file compressed at once (no delaycompress) */
        write_lines(c, 40);
        _cleanup_free_ char *old = xasprintf("%s/access.log.1", c->dir),
                            *older = xasprintf("%s/access.log.2", c->dir);
        assert_int_equal(rename(old, older), 0);
        rotate_rename(c, "access.log.1", true);
        write_lines(c, 20);
        ingest_ok(c, args, "60 lines");
        same_as_reference(c);
}

/* copytruncate: the content is copied to .1 and the live file emptied under the server. */
static void test_copytruncate(void **state) {
        Case *c = *state;
        const char *args[] = { "--log", c->log, NULL };

        write_lines(c, 200);
        ingest_ok(c, args, NULL);
        write_lines(c, 30);
        _cleanup_free_ char *cmd = xasprintf("cp '%s' '%s.1' && : > '%s'", c->log, c->log, c->log);
        assert_int_equal(system(cmd), 0);
        write_lines(c, 10);
        ingest_ok(c, args, "40 lines");
        same_as_reference(c);
}

/* The same first line but less content: the file was cut and rewritten; it is read again. */
static void test_truncated(void **state) {
        Case *c = *state;
        const char *args[] = { "--log", c->log, NULL };
        char *out = NULL;

        write_lines(c, 100);
        ingest_ok(c, args, NULL);
        _cleanup_free_ char *cmd = xasprintf("head -n 10 '%s' > '%s.tmp' && cat '%s.tmp' > '%s'", c->log,
                                             c->log, c->log, c->log);
        assert_int_equal(system(cmd), 0);
        assert_int_equal(flota_ingest(c->db, args, &out), 0);
        assert_non_null(strstr(out, "was truncated"));
        assert_non_null(strstr(out, "10 lines"));
        free(out);
}

/* Rotated files from before flota: named, not read, unless asked; then read oldest first, once. */
static void test_backfill(void **state) {
        Case *c = *state;
        const char *args[] = { "--log", c->log, NULL };
        const char *backfill[] = { "--log", c->log, "--backfill", NULL };
        char *out = NULL;

        write_lines(c, 100);
        rotate_rename(c, "access.log.2", true);
        write_lines(c, 100);
        rotate_rename(c, "access.log.1", false);
        write_lines(c, 100);
        /* logrotate's order: the older file has the older time */
        _cleanup_free_ char *touch =
                xasprintf("touch -d '2 days ago' '%s/access.log.2.gz' && touch -d '1 day ago' "
                          "'%s/access.log.1'",
                          c->dir, c->dir);
        assert_int_equal(system(touch), 0);

        assert_int_equal(flota_ingest(c->db, args, &out), 0);
        assert_non_null(strstr(out, "2 rotated files of"));
        assert_non_null(strstr(out, "--backfill"));
        free(out);
        ingest_ok(c, backfill, "200 lines");
        ingest_ok(c, backfill, "0 lines");
        same_as_reference(c);
        /* in time order each device ran 1.0.0, then 1.1.0 */
        assert_int_equal(
                sqlite_count(
                        c->db,
                        "SELECT count(*) FROM version_history a JOIN version_history b ON a.device_id = "
                        "b.device_id AND a.at < b.at AND a.version > b.version"),
                0);
}

static void test_rotated_away(void **state) {
        Case *c = *state;
        const char *args[] = { "--log", c->log, NULL };
        char *out = NULL;

        write_lines(c, 50);
        ingest_ok(c, args, NULL);
        _cleanup_free_ char *elsewhere = xasprintf("%s/archived", c->dir);
        assert_int_equal(rename(c->log, elsewhere), 0);
        write_lines(c, 5);
        assert_int_equal(flota_ingest(c->db, args, &out), 0);
        assert_non_null(strstr(out, "was rotated and the previous file is not next to it"));
        free(out);
}

static void test_bad_lines(void **state) {
        Case *c = *state;
        const char *args[] = { "--log", c->log, "--format", "nginx-esp", NULL };
        char *out = NULL;

        write_lines(c, 10);
        append_to(c->log, "this is not a log line\n");
        for (int i = 0; i < 7; i++)
                append_to(c->log,
                          "10.0.0.1 - - [31/Oct/2026:08:00:00 +0000] \"GET / HTTP/1.1\" 304 0 \"-\" \"u\" "
                          "\"18:FE:AA:00:00:ZZ\" \"1.0\"\n");
        write_lines(c, 10);
        assert_int_equal(flota_ingest(c->db, args, &out), 0);
        assert_non_null(strstr(out, "access.log:11: fewer fields than the format: this is not a log line"));
        assert_non_null(strstr(out, "access.log:12: malformed device MAC or id"));
        assert_non_null(strstr(out, "3 more bad lines not shown"));
        assert_non_null(strstr(out, "28 lines, 19 polls, 8 bad"));
        free(out);

        /* nothing matches: an error, not a silent success */
        _cleanup_free_ char *other = xasprintf("%s/other.log", c->dir);
        append_to(other, "a\nb\nc\n");
        const char *wrong[] = { "--log", other, "--format", "nginx-esp", NULL };
        assert_int_equal(flota_ingest(c->db, wrong, &out), 1);
        assert_non_null(strstr(out, "no line of"));
        free(out);
        const char *guess[] = { "--log", other, NULL };
        assert_int_equal(flota_ingest(c->db, guess, &out), 1);
        assert_non_null(strstr(out, "cannot tell the format"));
        free(out);
        const char *bad_format[] = { "--log", other, "--format", "$remote_addr $status", NULL };
        assert_int_equal(flota_ingest(c->db, bad_format, &out), 2);
        assert_non_null(strstr(out, "logs no device identity"));
        free(out);
        _cleanup_free_ char *missing = xasprintf("%s/missing.log", c->dir);
        const char *nofile[] = { "--log", missing, "--format", "nginx-esp", NULL };
        assert_int_equal(flota_ingest(c->db, nofile, &out), 1);
        assert_non_null(strstr(out, "No such file"));
        free(out);
}

/* A damaged rotated gzip: said so, what was read stays, the next run goes on. */
static void test_damaged_gzip(void **state) {
        Case *c = *state;
        const char *backfill[] = { "--log", c->log, "--backfill", "--format", "nginx-esp", NULL };
        char *out = NULL;

        write_lines(c, 3000);
        rotate_rename(c, "access.log.1", true);
        _cleanup_free_ char *gz = xasprintf("%s/access.log.1.gz", c->dir);
        struct stat st;
        assert_int_equal(stat(gz, &st), 0);
        assert_int_equal(truncate(gz, st.st_size / 2), 0);
        write_lines(c, 10);
        assert_int_equal(flota_ingest(c->db, backfill, &out), 1);
        assert_non_null(strstr(out, "damaged"));
        free(out);
        assert_true(sqlite_count(c->db, POLLS) > 0);
}

/* Devices in an access log get the product their request names: by default flotad's /update/<product>. */
static void test_product_from_request(void **state) {
        Case *c = *state;
        static const char *const lines[] = {
                "10.0.0.1 - - [31/Oct/2026:08:00:00 +0000] \"GET /update/door HTTP/1.1\" 304 0 \"-\" "
                "\"ESP8266-http-Update\" \"18:FE:AA:00:00:01\" \"1.0\"\n",
                "10.0.0.2 - - [31/Oct/2026:08:00:01 +0000] \"GET /update/lamp?s=18-fe-aa-00-00-02&v=1.0 "
                "HTTP/1.1\" 304 0 "
                "\"-\" \"ESP8266-http-Update\" \"-\" \"-\"\n",
                "10.0.0.3 - - [31/Oct/2026:08:00:02 +0000] \"GET /update HTTP/1.1\" 304 0 \"-\" "
                "\"ESP8266-http-Update\" \"18:FE:AA:00:00:03\" \"1.0\"\n",
        };
        for (size_t i = 0; i < ELEMENTSOF(lines); i++)
                append_to(c->log, lines[i]);
        ingest_ok(c, (const char *[]) { "--log", c->log, "--format", "nginx-esp", NULL }, "3 polls");
        _cleanup_free_ char *products = text(c->db, "SELECT group_concat(id || '=' || product, ',') FROM "
                                                    "(SELECT * FROM devices ORDER BY id)");
        assert_string_equal(products, "18:FE:AA:00:00:01=door,18:FE:AA:00:00:02=lamp,18:FE:AA:00:00:03=");

        /* a server of another layout, named by --product-pattern; a bad pattern is a usage error */
        _cleanup_free_ char *other = xasprintf("%s/other.log", c->dir);
        append_to(
                other,
                "10.0.0.4 - - [31/Oct/2026:08:00:03 +0000] \"GET /fw/pump/latest.bin HTTP/1.1\" 304 0 \"-\" "
                "\"ESP8266-http-Update\" \"18:FE:AA:00:00:04\" \"1.0\"\n");
        ingest_ok(c,
                  (const char *[]) { "--log", other, "--format", "nginx-esp", "--product-pattern",
                                     "/fw/{product}/latest.bin", NULL },
                  "1 polls");
        assert_int_equal(
                sqlite_count(
                        c->db,
                        "SELECT count(*) FROM devices WHERE id = '18:FE:AA:00:00:04' AND product = 'pump'"),
                1);
        char *out = NULL;
        assert_int_equal(flota_ingest(c->db,
                                      (const char *[]) { "--log", other, "--product-pattern", "/fw/", NULL },
                                      &out),
                         2);
        assert_non_null(strstr(out, "--product-pattern"));
        free(out);
}

static pid_t spawn(char *const *argv) {
        pid_t pid;
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
        posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
        assert_int_equal(posix_spawn(&pid, argv[0], &fa, NULL, argv, environ), 0);
        posix_spawn_file_actions_destroy(&fa);
        return pid;
}

/*
 * kill -9 at random moments, then run to the end: nothing counted twice, nothing lost. The
 * moment adapts to the machine (a sanitizer build starts and reads far slower): later when a
 * run died before its first commit, earlier when it finished (the log then grows).
 */
static void test_killed(void **state) {
        Case *c = *state;
        char *argv[] = { getenv("FLOTA"),           (char *) "--db",  c->db,
                         (char *) "ingest",         (char *) "--log", c->log,
                         (char *) "--commit-every", (char *) "64K",   NULL };
        unsigned seed = (unsigned) time(NULL);
        long delay_us = 30000;
        int killed_midway = 0;

        print_message("seed %u\n", seed);
        srand(seed);
        write_lines(c, 200000); /* tens of ms of work even for a fast build: room to land a kill */
        for (int round = 0; round < 60 && killed_midway < 3; round++) {
                long before = access(c->db, F_OK) == 0 ? sqlite_count(c->db, POLLS) : 0;
                pid_t pid = spawn(argv);
                usleep((useconds_t) (delay_us / 2 + rand() % delay_us));
                kill(pid, SIGKILL);
                int status;
                assert_int_equal(waitpid(pid, &status, 0), pid);
                long polls = access(c->db, F_OK) == 0 ? sqlite_count(c->db, POLLS) : 0;
                if (!WIFSIGNALED(status)) {
                        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
                        write_lines(c, 50000);
                        delay_us = delay_us * 2 / 3;
                } else if (polls == before)
                        delay_us = delay_us * 3 / 2 < 3000000 ? delay_us * 3 / 2 : 3000000;
                else if (polls < c->next - c->next / 20)
                        killed_midway++;
        }
        if (killed_midway == 0)
                fail_msg("no run was killed half way through the log");
        ingest_ok(c, (const char *[]) { "--log", c->log, NULL }, NULL);
        same_as_reference(c);
}

/* flotad's own JSON-lines log, from a real flotad serving a flota-sim fleet; merged with the feed. */
static void test_flotad_log(void **state) {
        Flotad f;
        char server[64], *out = NULL;
        HttpResponse r;

        flotad_init(&f);
        _cleanup_free_ char *jsonl = xasprintf("%s/checkins.jsonl", f.dir);
        const char *extra[] = { "--checkin-log", jsonl, NULL };
        assert_int_equal(flotad_start(&f, extra), 0);
        assert_int_equal(api(&f, "POST", "/api/v1/products", "{\"name\":\"door\"}", &r), 201);
        http_response_done(&r);
        snprintf(server, sizeof(server), "http://127.0.0.1:%d", f.port);
        const char *sim[] = {
                getenv("FLOTA_SIM"), "--server", server,       "--devices", "40",     "--product", "door",
                "--interval",        "0.1",      "--duration", "1.5",       "--json", NULL
        };
        assert_int_equal(run_program((char *const *) sim, false, &out), 0);
        long polls = json_int(out, "polls");
        free(out);
        /* the log has every poll; the database counts the unchanged ones on their device (bounded wait
         * for the last batch) */
        long checkins = wait_db_count(&f, "SELECT coalesce(sum(polls), 0) FROM devices", polls);
        assert_int_equal(checkins, polls);

        _cleanup_free_ char *db = xasprintf("%s/flota.db", f.dir);
        const char *log_args[] = { "--log", jsonl, "--json", NULL };
        assert_int_equal(flota_ingest(db, log_args, &out), 0);
        assert_int_equal(json_int(out, "polls"), checkins);
        free(out);
        assert_int_equal(sqlite_count(db, "SELECT count(*) FROM devices"), 40);
        assert_int_equal(
                sqlite_count(db,
                             "SELECT count(*) FROM devices WHERE product = 'door' AND platform = 'esp8266'"),
                40);
        /* the same devices from the check-in feed stay 40 rows, now seen by both sources */
        const char *argv[] = { getenv("FLOTA"), "--server", server,   "--token", f.admin_token,
                               "--db",          db,         "ingest", NULL };
        assert_int_equal(run_program((char *const *) argv, true, &out), 0);
        free(out);
        assert_int_equal(sqlite_count(db, "SELECT count(*) FROM devices"), 40);
        assert_int_equal(sqlite_count(db, "SELECT count(*) FROM devices WHERE sources LIKE 'log:%,flotad'"),
                         40);
        assert_int_equal(flotad_finish(&f), 0);
        flotad_cleanup(&f);
}

#define HISTORY_ROWS                                                                   \
        "SELECT group_concat(device_id || ' ' || version || ' ' || source, ',') FROM " \
        "(SELECT * FROM version_history ORDER BY device_id, at, id)"

/* flota ingest (args) into the inventory db against flotad f; fails the test unless it exits 0. */
static void ingest_into(const Flotad *f, const char *db, const char *const *args) {
        char server[64], *out = NULL;
        const char *argv[16] = { getenv("FLOTA"), "--server", server, "--token",
                                 f->admin_token,  "--db",     db,     "ingest" };
        size_t n = 8;

        snprintf(server, sizeof(server), "http://127.0.0.1:%d", f->port);
        for (size_t i = 0; args[i] && n < 15; i++)
                argv[n++] = args[i];
        argv[n] = NULL;
        int rc = run_program((char *const *) argv, true, &out);
        if (rc != 0)
                fail_msg("flota ingest: exit %d, output: %s", rc, out);
        free(out);
}

/*
 * A fleet polled a real flotad on 1.1.0; a poll log of another server saw the same devices an
 * hour later on 1.2.0. Read in either order, the history holds each change once, in time
 * order: 1.1.0 seen by flotad, then 1.2.0 seen in the log, never one row per stale poll.
 */
static void test_feed_and_log_history(void **state) {
        enum { FLEET = 10, LOG_POLLS = 5 };
        Case *c = *state;
        Flotad f;
        char server[64], *out = NULL;
        HttpResponse r;

        flotad_init(&f);
        /* a feed row for every poll, as the fleet had: many stale check-ins a device */
        const char *extra[] = { "--checkin-heartbeat", "0", NULL };
        assert_int_equal(flotad_start(&f, extra), 0);
        assert_int_equal(api(&f, "POST", "/api/v1/products", "{\"name\":\"door\"}", &r), 201);
        http_response_done(&r);
        snprintf(server, sizeof(server), "http://127.0.0.1:%d", f.port);
        const char *sim[] = { getenv("FLOTA_SIM"),
                              "--server",
                              server,
                              "--devices",
                              "10",
                              "--product",
                              "door",
                              "--versions",
                              "1.1.0=100",
                              "--interval",
                              "0.1",
                              "--duration",
                              "1",
                              "--json",
                              NULL };
        assert_int_equal(run_program((char *const *) sim, false, &out), 0);
        long polls = json_int(out, "polls");
        free(out);
        assert_true(polls >= 3 * FLEET);
        /* every poll a row of flotad's feed (check-ins are written in batches) */
        assert_int_equal(wait_db_count(&f, "SELECT count(*) FROM checkins", polls), polls);

        /* the same MACs in an nginx log, an hour after the fleet's polls, on 1.2.0 */
        const char *list[] = { getenv("FLOTA_SIM"), "--list", "--devices", "10", "--product", "door", NULL };
        assert_int_equal(run_program((char *const *) list, false, &out), 0);
        FILE *log = fopen(c->log, "w");
        assert_non_null(log);
        time_t t0 = time(NULL) + 3600;
        char *line = out;
        for (int i = 0; i < FLEET; i++) {
                char mac[18];
                assert_int_equal(sscanf(line, "%*d\t%*s\t%17s", mac), 1);
                line = strchr(line, '\n') + 1;
                for (int k = 0; k < LOG_POLLS; k++) {
                        time_t t = t0 + k * 60 + i;
                        struct tm tm;
                        char stamp[64];
                        gmtime_r(&t, &tm);
                        strftime(stamp, sizeof(stamp), "%d/%b/%Y:%H:%M:%S +0000", &tm);
                        fprintf(log,
                                "10.0.0.%d - - [%s] \"GET /update HTTP/1.1\" 304 0 \"-\" "
                                "\"ESP8266-http-Update\" "
                                "\"%s\" \"1.2.0\"\n",
                                i, stamp, mac);
                }
        }
        assert_int_equal(fclose(log), 0);
        free(out);

        _cleanup_free_ char *log_first = xasprintf("%s/log-first.db", c->dir),
                            *feed_first = xasprintf("%s/feed-first.db", c->dir);
        const char *from_log[] = { "--log", c->log, "--format", "nginx-esp", NULL }, *from_feed[] = { NULL };
        ingest_into(&f, log_first, from_log);
        ingest_into(&f, log_first, from_feed);
        ingest_into(&f, feed_first, from_feed);
        ingest_into(&f, feed_first, from_log);

        /* two rows a device: no row for each stale poll */
        assert_int_equal(sqlite_count(log_first, "SELECT count(*) FROM devices"), FLEET);
        assert_int_equal(sqlite_count(log_first, "SELECT count(*) FROM version_history"), 2 * FLEET);
        assert_int_equal(sqlite_count(log_first, "SELECT count(*) FROM version_history WHERE version = "
                                                 "'1.1.0' AND source = 'flotad'"),
                         FLEET);
        /* in time order: 1.1.0 before 1.2.0 on every device */
        assert_int_equal(
                sqlite_count(log_first,
                             "SELECT count(*) FROM version_history a JOIN version_history b ON "
                             "a.device_id = b.device_id AND a.version = '1.1.0' AND b.version = '1.2.0'"
                             " AND a.at < b.at"),
                FLEET);
        assert_int_equal(sqlite_count(log_first, "SELECT count(*) FROM devices WHERE version = '1.2.0'"),
                         FLEET);
        /* and the same history whichever source was read first */
        _cleanup_free_ char *a = text(log_first, HISTORY_ROWS), *b = text(feed_first, HISTORY_ROWS);
        assert_string_equal(a, b);
        _cleanup_free_ char *ta = text(
                log_first,
                "SELECT group_concat(at, ',') FROM (SELECT at FROM version_history ORDER BY device_id, at)");
        _cleanup_free_ char *tb = text(
                feed_first,
                "SELECT group_concat(at, ',') FROM (SELECT at FROM version_history ORDER BY device_id, at)");
        assert_string_equal(ta, tb);
        assert_int_equal(flotad_finish(&f), 0);
        flotad_cleanup(&f);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_incremental, setup, teardown),
                cmocka_unit_test_setup_teardown(test_rotation, setup, teardown),
                cmocka_unit_test_setup_teardown(test_copytruncate, setup, teardown),
                cmocka_unit_test_setup_teardown(test_truncated, setup, teardown),
                cmocka_unit_test_setup_teardown(test_backfill, setup, teardown),
                cmocka_unit_test_setup_teardown(test_rotated_away, setup, teardown),
                cmocka_unit_test_setup_teardown(test_bad_lines, setup, teardown),
                cmocka_unit_test_setup_teardown(test_damaged_gzip, setup, teardown),
                cmocka_unit_test_setup_teardown(test_product_from_request, setup, teardown),
                cmocka_unit_test_setup_teardown(test_killed, setup, teardown),
                cmocka_unit_test(test_flotad_log),
                cmocka_unit_test_setup_teardown(test_feed_and_log_history, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
