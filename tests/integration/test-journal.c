/* SPDX-License-Identifier: MIT */
/*
 * The check-in journal: a flotad killed with SIGKILL loses no poll it answered, and writes
 * each one once at its next start; a journal that another flotad holds, or that is not a
 * journal, is refused; a journal cut short or damaged loses only what was cut or damaged.
 *
 * The database is kept from taking writes (a write lock held here, as a busy disk or a
 * server away would) while the polls are answered, so that every answered poll is still
 * waiting in flotad's memory when it is killed: without the journal, each one is lost.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "flota/alloc.h"
#include "flotad-harness.h"

static int setup(void **state) {
        Flotad *f = xcalloc(1, sizeof(Flotad));
        flotad_init(f);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        assert_int_equal(flotad_finish(*state), 0);
        flotad_cleanup(*state);
        free(*state);
        return 0;
}

static const char *const every_poll[] = { "--checkin-heartbeat", "0", NULL };

/* Holds flotad's database write lock until released: check-ins are answered, not written. */
static sqlite3 *hold_database(const Flotad *f) {
        _cleanup_free_ char *path = xasprintf("%s/flotad.db", f->data_dir);
        sqlite3 *db;

        assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
        assert_int_equal(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
        return db;
}

static void release_database(sqlite3 *db) {
        assert_int_equal(sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
        sqlite3_close(db);
}

/* n polls of devices first..first+n-1; returns how many were answered 304. */
static int poll_devices(const Flotad *f, int first, int n) {
        int answered = 0;

        for (int i = first; i < first + n; i++) {
                HttpResponse r;
                char mac[18];
                snprintf(mac, sizeof(mac), "18:FE:AC:01:%02X:%02X", i / 256, i % 256);
                _cleanup_free_ char *req =
                        esp8266_poll("/update/door", f->port, mac, "1", NULL, 1 << 20, NULL);
                if (http_raw(f->port, req, strlen(req), &r) == 0 && r.status == 304)
                        answered++;
                http_response_done(&r);
        }
        return answered;
}

static void make_product(const Flotad *f) {
        HttpResponse r;
        assert_int_equal(api(f, "POST", "/api/v1/products", "{\"name\":\"door\"}", &r), 201);
        http_response_done(&r);
}

/* The feed's length, read through the API. */
static int feed_count(const Flotad *f) {
        return wait_checkins(f, 0);
}

/* Answers n polls with the database held, then kills flotad: all n are only in the journal. */
static int answer_then_kill(Flotad *f, int first, int n) {
        sqlite3 *db = hold_database(f);
        int answered = poll_devices(f, first, n);
        flotad_stop(f, SIGKILL);
        release_database(db);
        return answered;
}

static void test_kill9_loses_no_answered_poll(void **state) {
        Flotad *f = *state;

        assert_int_equal(flotad_start(f, every_poll), 0);
        make_product(f);
        int answered = answer_then_kill(f, 0, 300);
        assert_int_equal(answered, 300);

        assert_int_equal(flotad_start(f, every_poll), 0);
        assert_int_equal(wait_checkins(f, 300), 300);
        HttpResponse r;
        assert_int_equal(api(f, "GET", "/metrics", NULL, &r), 200);
        assert_non_null(strstr(r.body, "flotad_checkins_replayed_total 300\n"));
        http_response_done(&r);
        /* written once: another restart adds nothing */
        assert_int_equal(flotad_stop(f, SIGTERM), 0);
        assert_int_equal(flotad_start(f, every_poll), 0);
        answered = poll_devices(f, 300, 10);
        assert_int_equal(wait_checkins(f, 310), 310);
        assert_int_equal(db_count(f, "SELECT count(*) FROM checkins"), 310);
        assert_int_equal(db_count(f, "SELECT count(DISTINCT device_id) FROM checkins"), 310);
        assert_int_equal(db_count(f, "SELECT count(*) FROM devices"), 310);
}

static void test_kill9_twice_before_writing(void **state) {
        Flotad *f = *state;

        /* killed again before the database took anything: both runs' polls come back, once */
        assert_int_equal(flotad_start(f, every_poll), 0);
        make_product(f);
        assert_int_equal(answer_then_kill(f, 0, 100), 100);
        /* the restart replays, but cannot write while the database is held; it is killed again */
        sqlite3 *db = hold_database(f);
        assert_int_equal(flotad_start(f, every_poll), 0);
        assert_int_equal(poll_devices(f, 100, 100), 100);
        flotad_stop(f, SIGKILL);
        release_database(db);

        assert_int_equal(flotad_start(f, every_poll), 0);
        assert_int_equal(wait_checkins(f, 200), 200);
        assert_int_equal(db_count(f, "SELECT count(*) FROM checkins"), 200);
        assert_int_equal(db_count(f, "SELECT count(DISTINCT device_id) FROM checkins"), 200);
}

static void test_kill9_while_spilling(void **state) {
        Flotad *f = *state;
        const char *const small[] = { "--checkin-heartbeat", "0", "--checkin-queue-size", "16", NULL };

        /* most of them wait in the journal only (the queue holds 16): all come back, once */
        assert_int_equal(flotad_start(f, small), 0);
        make_product(f);
        assert_int_equal(answer_then_kill(f, 0, 120), 120);
        assert_int_equal(flotad_start(f, small), 0);
        assert_int_equal(wait_checkins(f, 120), 120);
        assert_int_equal(db_count(f, "SELECT count(*) FROM checkins"), 120);
        assert_int_equal(db_count(f, "SELECT count(DISTINCT device_id) FROM checkins"), 120);
}

static void test_without_journal_the_polls_are_lost(void **state) {
        Flotad *f = *state;
        const char *const none[] = { "--checkin-heartbeat", "0", "--checkin-journal", "none", NULL };

        /* what the journal is for: the same run with it turned off loses every answered poll */
        assert_int_equal(flotad_start(f, none), 0);
        make_product(f);
        assert_int_equal(answer_then_kill(f, 0, 50), 50);
        assert_int_equal(flotad_start(f, none), 0);
        assert_int_equal(feed_count(f), 0);
        _cleanup_free_ char *log = slurp(f->log_path, NULL);
        assert_non_null(strstr(log, "no check-in journal (checkin-journal = none)"));
}

static void test_second_flotad_on_journal_refused(void **state) {
        Flotad *f = *state;
        _cleanup_free_ char *journal = xasprintf("%s/checkins.journal", f->data_dir);
        _cleanup_free_ char *other = xasprintf("%s/other", f->dir);
        _cleanup_free_ char *output = NULL;

        assert_int_equal(flotad_start(f, NULL), 0);
        char *const args[] = { "flotad",      "--data-dir",        other,   "--listen",
                               "127.0.0.1:0", "--checkin-journal", journal, NULL };
        int status = flotad_run(args, &output);
        assert_int_not_equal(status, 0);
        if (!strstr(output, "is in use by another flotad"))
                fail_msg("unexpected output: %s", output);
}

static void test_not_a_journal_refused(void **state) {
        Flotad *f = *state;
        _cleanup_free_ char *path = xasprintf("%s/notes.txt", f->dir);
        _cleanup_free_ char *output = NULL;
        static const char text[] = "shopping list: solder, flux, 100 ESP-12F\n";

        FILE *fp = fopen(path, "w");
        fputs(text, fp);
        fclose(fp);
        char *const args[] = { "flotad",      "--data-dir",        f->data_dir, "--listen",
                               "127.0.0.1:0", "--checkin-journal", path,        NULL };
        assert_int_not_equal(flotad_run(args, &output), 0);
        if (!strstr(output, "is not a check-in journal this flotad can read"))
                fail_msg("unexpected output: %s", output);
        /* and left as it was */
        _cleanup_free_ char *after = slurp(path, NULL);
        assert_string_equal(after, text);
}

static void test_older_segment_of_another_journal_refused(void **state) {
        Flotad *f = *state;
        _cleanup_free_ char *journal = xasprintf("%s/checkins.journal", f->data_dir);
        _cleanup_free_ char *other = xasprintf("%s/other.journal", f->dir);
        _cleanup_free_ char *output = NULL;
        const char *const other_args[] = { "--checkin-journal", other, NULL };

        /* two journals, each with an id of its own */
        assert_int_equal(flotad_start(f, NULL), 0);
        assert_int_equal(flotad_stop(f, SIGTERM), 0);
        assert_int_equal(flotad_start(f, other_args), 0);
        assert_int_equal(flotad_stop(f, SIGTERM), 0);
        /* the other one where this one's older segment goes: refused, not replayed */
        _cleanup_free_ char *cp = xasprintf("cp '%s' '%s.1'", other, journal);
        assert_int_equal(system(cp), 0);
        char *const args[] = { "flotad", "--data-dir", f->data_dir, "--listen", "127.0.0.1:0", NULL };
        assert_int_not_equal(flotad_run(args, &output), 0);
        if (!strstr(output, "is not a check-in journal this flotad can read"))
                fail_msg("unexpected output: %s", output);
        /* and once it is moved away, flotad starts */
        _cleanup_free_ char *rm = xasprintf("rm '%s.1'", journal);
        assert_int_equal(system(rm), 0);
        assert_int_equal(flotad_start(f, NULL), 0);
}

/* Appends bytes to the journal; or, with at >= 0, overwrites one byte there. */
static void damage_journal(const Flotad *f, long at, const char *append, size_t len) {
        _cleanup_free_ char *path = xasprintf("%s/checkins.journal", f->data_dir);
        int fd = open(path, O_WRONLY);
        assert_true(fd >= 0);
        if (at >= 0) {
                char b;
                int rfd = open(path, O_RDONLY);
                assert_int_equal(pread(rfd, &b, 1, at), 1);
                close(rfd);
                b = (char) (b ^ 0x5a);
                assert_int_equal(pwrite(fd, &b, 1, at), 1);
        } else {
                struct stat st;
                assert_int_equal(fstat(fd, &st), 0);
                assert_int_equal(pwrite(fd, append, len, st.st_size), (ssize_t) len);
        }
        close(fd);
}

static void test_torn_tail_is_cut(void **state) {
        Flotad *f = *state;

        assert_int_equal(flotad_start(f, every_poll), 0);
        make_product(f);
        assert_int_equal(answer_then_kill(f, 0, 40), 40);
        /* a record the process died writing: its first bytes only */
        damage_journal(f, -1, "FJR1\x80\x00", 6);
        assert_int_equal(flotad_start(f, every_poll), 0);
        assert_int_equal(wait_checkins(f, 40), 40);
        /* new records follow the last whole one, and are read back after the next kill */
        assert_int_equal(answer_then_kill(f, 40, 10), 10);
        assert_int_equal(flotad_start(f, every_poll), 0);
        assert_int_equal(wait_checkins(f, 50), 50);
        assert_int_equal(db_count(f, "SELECT count(*) FROM checkins"), 50);
        _cleanup_free_ char *log = slurp(f->log_path, NULL);
        assert_non_null(strstr(log, "hold no whole record (a write cut short): cut off"));
}

static void test_damaged_record_loses_only_itself(void **state) {
        Flotad *f = *state;
        _cleanup_free_ char *path = xasprintf("%s/checkins.journal", f->data_dir);
        struct stat st;

        assert_int_equal(flotad_start(f, every_poll), 0);
        make_product(f);
        assert_int_equal(stat(path, &st), 0);
        long before = (long) st.st_size;
        assert_int_equal(answer_then_kill(f, 0, 30), 30);
        assert_int_equal(stat(path, &st), 0);
        /* one byte in the middle of the 30 records' bytes */
        damage_journal(f, before + (st.st_size - before) / 2, NULL, 0);
        assert_int_equal(flotad_start(f, every_poll), 0);
        assert_int_equal(wait_checkins(f, 29), 29);
        assert_int_equal(db_count(f, "SELECT count(*) FROM checkins"), 29);
        _cleanup_free_ char *log = slurp(f->log_path, NULL);
        assert_non_null(strstr(log, "damaged bytes between records"));
}

typedef struct SimRun {
        const Flotad *f;
        char *poll_log;
        int status;
        atomic_bool done;
} SimRun;

static void *run_sim(void *userdata) {
        SimRun *run = userdata;
        _cleanup_free_ char *server = xasprintf("http://127.0.0.1:%d", run->f->port);
        char *argv[] = { getenv("FLOTA_SIM"),
                         "--server",
                         server,
                         "--devices",
                         "2000",
                         "--product",
                         "door",
                         "--rate",
                         "max",
                         "--duration",
                         "3",
                         "--concurrency",
                         "32",
                         "--poll-log",
                         run->poll_log,
                         NULL };
        run->status = run_program(argv, true, NULL);
        atomic_store(&run->done, true);
        return NULL;
}

static long file_size(const char *path) {
        struct stat st;
        return stat(path, &st) == 0 ? (long) st.st_size : -1;
}

static size_t count_lines(const char *path) {
        _cleanup_free_ char *text = slurp(path, NULL);
        size_t n = 0;
        for (const char *p = text; (p = strchr(p, '\n')); p++)
                n++;
        return n;
}

/* A segment is 8 MiB, about 32,000 records; the journal may pass it by one batch before it moves on. */
#define SEGMENT_BOUND (12L << 20)

/* Polling that never stops: the journal moves to a new segment and deletes the old one, and stays small. */
static void test_journal_bounded_under_steady_polls(void **state) {
        Flotad *f = *state;
        _cleanup_free_ char *path = xasprintf("%s/checkins.journal", f->data_dir);
        _cleanup_free_ char *old = xasprintf("%s/checkins.journal.1", f->data_dir);
        long biggest = 0;
        bool saw_old = false, saw_drop = false;
        size_t answered = 0;

        assert_int_equal(flotad_start(f, every_poll), 0);
        make_product(f);
        /* 3-second runs of a fleet polling flat out, until a segment came and went (at most 20) */
        for (int round = 0; round < 20 && !(saw_drop && answered > 40000); round++) {
                SimRun run = { .f = f, .poll_log = xasprintf("%s/polls-%d.txt", f->dir, round) };
                pthread_t t;
                pthread_create(&t, NULL, run_sim, &run);
                while (!atomic_load(&run.done)) {
                        long n = file_size(path);
                        if (n > biggest)
                                biggest = n;
                        bool now = file_size(old) >= 0;
                        saw_drop |= saw_old && !now;
                        saw_old |= now;
                        struct timespec ts = { 0, 20 * 1000000L };
                        nanosleep(&ts, NULL);
                }
                pthread_join(t, NULL);
                assert_int_equal(run.status, 0);
                answered += count_lines(run.poll_log);
                free(run.poll_log);
        }
        /* killed at once: what the last batches had not written comes back from the journal */
        flotad_stop(f, SIGKILL);
        if (!saw_drop || biggest > SEGMENT_BOUND)
                fail_msg("after %zu polls: journal rotated %d, old segment deleted %d, largest %ld bytes",
                         answered, saw_old, saw_drop, biggest);

        assert_int_equal(flotad_start(f, every_poll), 0);
        assert_int_equal(wait_db_count(f, "SELECT count(*) FROM checkins", (long) answered),
                         (long) answered);
        assert_int_equal(db_count(f, "SELECT count(*) FROM checkins"), (long) answered);
        /* and once the database holds everything, no older segment is kept */
        for (int i = 0; i < 250 && file_size(old) >= 0; i++) {
                struct timespec ts = { 0, 20 * 1000000L };
                nanosleep(&ts, NULL);
        }
        assert_true(file_size(old) < 0);
        assert_true(file_size(path) < SEGMENT_BOUND);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_kill9_loses_no_answered_poll, setup, teardown),
                cmocka_unit_test_setup_teardown(test_kill9_twice_before_writing, setup, teardown),
                cmocka_unit_test_setup_teardown(test_kill9_while_spilling, setup, teardown),
                cmocka_unit_test_setup_teardown(test_without_journal_the_polls_are_lost, setup, teardown),
                cmocka_unit_test_setup_teardown(test_second_flotad_on_journal_refused, setup, teardown),
                cmocka_unit_test_setup_teardown(test_not_a_journal_refused, setup, teardown),
                cmocka_unit_test_setup_teardown(test_older_segment_of_another_journal_refused, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_torn_tail_is_cut, setup, teardown),
                cmocka_unit_test_setup_teardown(test_damaged_record_loses_only_itself, setup, teardown),
                cmocka_unit_test_setup_teardown(test_journal_bounded_under_steady_polls, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
