/* SPDX-License-Identifier: MIT */
/*
 * flotad as a process: clean drain on SIGTERM, nothing acknowledged lost on kill -9,
 * SIGHUP log reopening, restarts, configuration files and command-line errors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
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

static void test_sigterm_flushes_checkins(void **state) {
        Flotad *f = *state;
        HttpResponse r;
        int answered = 0;

        assert_int_equal(flotad_start(f, NULL), 0);
        assert_int_equal(api(f, "POST", "/api/v1/products", "{\"name\":\"door\"}", &r), 201);
        http_response_done(&r);
        for (int i = 0; i < 400; i++) {
                char mac[18];
                snprintf(mac, sizeof(mac), "18:FE:AC:00:%02X:%02X", i / 256, i % 256);
                _cleanup_free_ char *req =
                        esp8266_poll("/update/door", f->port, mac, "1", NULL, 1 << 20, NULL);
                if (http_raw(f->port, req, strlen(req), &r) == 0 && r.status == 304)
                        answered++;
                http_response_done(&r);
        }
        /* stop at once: the batch writer must still commit every answered poll */
        assert_int_equal(flotad_stop(f, SIGTERM), 0);
        assert_int_equal(answered, 400);
        assert_int_equal(db_count(f, "SELECT count(*) FROM checkins"), 400);
        assert_int_equal(db_count(f, "SELECT count(*) FROM devices"), 400);
}

typedef struct Writer {
        Flotad *f;
        atomic_int acknowledged;
        char names[4096][16];
} Writer;

static void *write_products(void *userdata) {
        Writer *w = userdata;

        for (int i = 0; i < 4096; i++) {
                HttpResponse r;
                char body[64];
                snprintf(w->names[i], sizeof(w->names[i]), "p%d", i);
                snprintf(body, sizeof(body), "{\"name\":\"%s\"}", w->names[i]);
                int s = api(w->f, "POST", "/api/v1/products", body, &r);
                http_response_done(&r);
                if (s != 201)
                        break;
                atomic_store(&w->acknowledged, i + 1);
        }
        return NULL;
}

static void test_kill9_loses_no_acknowledged_write(void **state) {
        Flotad *f = *state;
        srand((unsigned) time(NULL));

        for (int round = 0; round < 3; round++) {
                Writer *w = xcalloc(1, sizeof(Writer));
                pthread_t t;
                w->f = f;
                assert_int_equal(flotad_start(f, NULL), 0);
                /* writes of this round get their own names */
                pthread_create(&t, NULL, write_products, w);
                struct timespec ts = { 0, (50 + rand() % 250) * 1000000L };
                nanosleep(&ts, NULL);
                flotad_stop(f, SIGKILL);
                pthread_join(t, NULL);
                int acked = atomic_load(&w->acknowledged);

                /* restart on the same data: every acknowledged product is there */
                assert_int_equal(flotad_start(f, NULL), 0);
                HttpResponse r;
                assert_int_equal(api(f, "GET", "/api/v1/products", NULL, &r), 200);
                for (int i = 0; i < acked; i++) {
                        char needle[32];
                        snprintf(needle, sizeof(needle), "\"name\":\"%s\"", w->names[i]);
                        if (!strstr(r.body, needle))
                                fail_msg("round %d: product %s was acknowledged but is gone", round,
                                         w->names[i]);
                }
                http_response_done(&r);
                assert_int_equal(flotad_stop(f, SIGTERM), 0);
                free(w);
                /* later rounds create names that already exist: start over in a fresh directory */
                flotad_cleanup(f);
                flotad_init(f);
        }
}

/* Bytes in the temporary files of uploads under flotad's images directory (its .tmp-* files). */
static long upload_bytes(const Flotad *f) {
        _cleanup_free_ char *dir = xasprintf("%s/images", f->data_dir);
        DIR *d = opendir(dir);
        long total = 0;

        if (!d)
                return 0;
        for (struct dirent *e; (e = readdir(d));) {
                struct stat st;
                if (strncmp(e->d_name, ".tmp-", 5) == 0 && fstatat(dirfd(d), e->d_name, &st, 0) == 0)
                        total += (long) st.st_size;
        }
        closedir(d);
        return total;
}

static void test_kill9_during_upload(void **state) {
        Flotad *f = *state;
        HttpResponse r;

        assert_int_equal(flotad_start(f, NULL), 0);
        assert_int_equal(api(f, "POST", "/api/v1/products", "{\"name\":\"door\"}", &r), 201);
        http_response_done(&r);
        /* send the headers and half of the image, then the server dies */
        pid_t child = fork();
        if (child == 0) {
                _cleanup_free_ char *head =
                        xasprintf("POST /api/v1/releases?product=door&version=1 HTTP/1.1\r\nHost: x\r\n"
                                  "Authorization: Bearer %s\r\nContent-Length: 400000\r\n\r\n",
                                  f->admin_token);
                char *req = xcalloc(1, strlen(head) + 200000);
                strcpy(req, head);
                req[strlen(head)] = (char) 0xE9;
                (void) http_raw(f->port, req, strlen(head) + 200000, &r);
                _exit(0);
        }
        /* the upload has started: part of the image is in flotad's temporary file (bounded wait) */
        long received = 0;
        for (int i = 0; i < 500 && received == 0; i++) {
                struct timespec ts = { 0, 20 * 1000000L };
                received = upload_bytes(f);
                if (received == 0)
                        nanosleep(&ts, NULL);
        }
        if (received == 0)
                fail_msg("the upload never started: no bytes in a temporary file under %s/images",
                         f->data_dir);
        flotad_stop(f, SIGKILL);
        kill(child, SIGKILL);
        waitpid(child, NULL, 0);

        /* after a restart: no release, no half image, no temporary file */
        assert_int_equal(flotad_start(f, NULL), 0);
        assert_int_equal(api(f, "GET", "/api/v1/releases", NULL, &r), 200);
        assert_string_equal(r.body, "{\"releases\":[]}\n");
        http_response_done(&r);
        _cleanup_free_ char *cmd = xasprintf("test -z \"$(find '%s/images' -type f)\"", f->data_dir);
        assert_int_equal(system(cmd), 0);
}

static void test_sighup_reopens_log(void **state) {
        Flotad *f = *state;
        _cleanup_free_ char *log = xasprintf("%s/server.log", f->dir);
        _cleanup_free_ char *rotated = xasprintf("%s/server.log.1", f->dir);
        HttpResponse r;
        struct stat st;

        /* with a log file the "listening" line goes there: point the harness's log at it */
        _cleanup_free_ char *conf = xasprintf("%s/flotad.conf", f->dir);
        FILE *fp = fopen(conf, "w");
        fprintf(fp, "[flotad]\nlog-file = %s\n", log);
        fclose(fp);
        _cleanup_free_ char *link_cmd = xasprintf("ln -sf '%s' '%s'", log, f->log_path);
        assert_int_equal(system(link_cmd), 0);
        const char *cargs[] = { "--config", conf, NULL };
        assert_int_equal(flotad_start(f, cargs), 0);

        assert_int_equal(rename(log, rotated), 0);
        kill(f->pid, SIGHUP);
        for (int i = 0; i < 100 && stat(log, &st) != 0; i++)
                usleep(20000);
        assert_int_equal(stat(log, &st), 0);
        assert_int_equal(api(f, "POST", "/api/v1/products", "{\"name\":\"after-rotation\"}", &r), 201);
        http_response_done(&r);
        assert_int_equal(flotad_stop(f, SIGTERM), 0);
        size_t n;
        _cleanup_free_ char *text = slurp(log, &n);
        assert_non_null(strstr(text, "product after-rotation created"));
        _cleanup_free_ char *old = slurp(rotated, &n);
        assert_null(strstr(old, "after-rotation"));
}

static void test_refuses_newer_database(void **state) {
        Flotad *f = *state;
        _cleanup_free_ char *path = xasprintf("%s/flotad.db", f->data_dir);
        sqlite3 *db;
        char *out = NULL;

        assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
        assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 999", NULL, NULL, NULL), SQLITE_OK);
        sqlite3_close(db);
        char *args[] = { (char *) "flotad",
                         f->data_dir ? (char *) "--data-dir" : NULL,
                         f->data_dir,
                         (char *) "--listen",
                         (char *) "127.0.0.1:0",
                         NULL };
        assert_int_equal(flotad_run(args, &out), 1);
        assert_non_null(strstr(out, "newer flotad"));
        free(out);
}

static void test_command_line(void **state) {
        Flotad *f = *state;
        char *out = NULL;

        char *help[] = { (char *) "flotad", (char *) "--help", NULL };
        assert_int_equal(flotad_run(help, &out), 0);
        assert_non_null(strstr(out, "Usage: flotad"));
        free(out);
        char *bad[] = { (char *) "flotad", (char *) "--frobnicate", NULL };
        assert_int_equal(flotad_run(bad, &out), 2);
        free(out);
        char *nodir[] = { (char *) "flotad", NULL };
        assert_int_equal(flotad_run(nodir, &out), 2);
        assert_non_null(strstr(out, "--data-dir is required"));
        free(out);
        char *badlisten[] = { (char *) "flotad", (char *) "-d",      f->data_dir,
                              (char *) "-l",     (char *) "nowhere", NULL };
        assert_int_equal(flotad_run(badlisten, &out), 1);
        assert_non_null(strstr(out, "cannot listen on nowhere"));
        free(out);

        char *emptylisten[] = { (char *) "flotad", (char *) "-d", f->data_dir, (char *) "--listen=", NULL };
        assert_int_equal(flotad_run(emptylisten, &out), 2);
        free(out);
        /* token commands on a mistyped directory do not create a database there */
        _cleanup_free_ char *typo = xasprintf("%s/typo", f->dir);
        char *typolist[] = {
                (char *) "flotad", (char *) "-d", typo, (char *) "token", (char *) "list", NULL
        };
        assert_int_equal(flotad_run(typolist, &out), 1);
        assert_non_null(strstr(out, "no flotad database"));
        free(out);
        assert_int_not_equal(access(typo, F_OK), 0);
        char *norole[] = { (char *) "flotad", (char *) "-d",     f->data_dir,
                           (char *) "token",  (char *) "create", (char *) "x",
                           (char *) "--role", (char *) "root",   NULL };
        assert_int_equal(flotad_run(norole, &out), 2);
        free(out);

        /* config file errors name the file and line */
        _cleanup_free_ char *conf = xasprintf("%s/bad.conf", f->dir);
        FILE *fp = fopen(conf, "w");
        fprintf(fp, "[flotad]\nlisten = 127.0.0.1:0\nthreads = lots\n");
        fclose(fp);
        char *badconf[] = { (char *) "flotad", (char *) "--config", conf, NULL };
        assert_int_equal(flotad_run(badconf, &out), 2);
        assert_non_null(strstr(out, "bad.conf:3: threads"));
        free(out);

        /* tokens: list shows names and roles, revoke makes the token useless */
        char *list[] = { (char *) "flotad", (char *) "-d",   f->data_dir,
                         (char *) "token",  (char *) "list", NULL };
        assert_int_equal(flotad_run(list, &out), 0);
        assert_non_null(strstr(out, "test-read"));
        assert_null(strstr(out, "flota_"));
        free(out);
        char *dup[] = { (char *) "flotad", (char *) "-d",        f->data_dir, (char *) "token",
                        (char *) "create", (char *) "test-read", NULL };
        assert_int_equal(flotad_run(dup, &out), 1);
        free(out);
        char *revoke[] = { (char *) "flotad", (char *) "-d",        f->data_dir, (char *) "token",
                           (char *) "revoke", (char *) "test-read", NULL };
        assert_int_equal(flotad_run(revoke, &out), 0);
        free(out);
        assert_int_equal(flotad_start(f, NULL), 0);
        HttpResponse r;
        assert_int_equal(api_call(f, "GET", "/api/v1/products", f->read_token, NULL, 0, &r), 0);
        assert_int_equal(r.status, 401);
        http_response_done(&r);
}

static void test_checkin_retention(void **state) {
        Flotad *f = *state;
        const char *args[] = { "--checkin-retention", "2s", NULL };
        HttpResponse r;

        assert_int_equal(flotad_start(f, args), 0);
        assert_int_equal(api(f, "POST", "/api/v1/products", "{\"name\":\"door\"}", &r), 201);
        http_response_done(&r);
        _cleanup_free_ char *req =
                esp8266_poll("/update/door", f->port, "18:FE:AA:00:00:01", "1", NULL, 1 << 20, NULL);
        assert_int_equal(http_raw(f->port, req, strlen(req), &r), 0);
        http_response_done(&r);
        assert_int_equal(wait_checkins(f, 1), 1);
        /* bounded wait: gone within a few seconds, while the device row stays */
        int n = 1;
        for (int i = 0; i < 60 && n > 0; i++) {
                usleep(100000);
                assert_int_equal(api(f, "GET", "/api/v1/checkins?after=0", NULL, &r), 200);
                n = strstr(r.body, "\"reason\"") ? 1 : 0;
                http_response_done(&r);
        }
        assert_int_equal(n, 0);
        assert_int_equal(api(f, "GET", "/api/v1/devices/18:FE:AA:00:00:01", NULL, &r), 200);
        http_response_done(&r);
}

static int count_lines_with(const char *path, const char *needle) {
        size_t n;
        _cleanup_free_ char *text = slurp(path, &n);
        int count = 0;

        for (char *save = NULL, *line = strtok_r(text, "\n", &save); line;
             line = strtok_r(NULL, "\n", &save)) {
                if (line[0] != '{' || line[strlen(line) - 1] != '}')
                        fail_msg("not a JSON line: %s", line);
                if (strstr(line, needle))
                        count++;
        }
        return count;
}

static void poll_n(Flotad *f, int n, int first) {
        HttpResponse r;

        for (int i = first; i < first + n; i++) {
                char mac[18];
                snprintf(mac, sizeof(mac), "18:FE:AD:00:00:%02X", i);
                _cleanup_free_ char *req =
                        esp8266_poll("/update/door", f->port, mac, "1", NULL, 1 << 20, NULL);
                assert_int_equal(http_raw(f->port, req, strlen(req), &r), 0);
                assert_int_equal(r.status, 304);
                http_response_done(&r);
        }
}

static void test_checkin_log(void **state) {
        Flotad *f = *state;
        _cleanup_free_ char *log = xasprintf("%s/checkins.jsonl", f->dir);
        _cleanup_free_ char *rotated = xasprintf("%s/checkins.jsonl.1", f->dir);
        const char *args[] = { "--checkin-log", log, NULL };
        HttpResponse r;

        assert_int_equal(flotad_start(f, args), 0);
        assert_int_equal(api(f, "POST", "/api/v1/products", "{\"name\":\"door\"}", &r), 201);
        http_response_done(&r);
        poll_n(f, 3, 0);
        assert_int_equal(wait_checkins(f, 3), 3);
        /* the log line follows the commit the feed shows by microseconds: wait for all three */
        for (int i = 0; i < 200 && count_lines_with(log, "\"reason\":\"no-release\"") < 3; i++)
                usleep(10000);
        assert_int_equal(count_lines_with(log, "\"reason\":\"no-release\""), 3);
        assert_int_equal(rename(log, rotated), 0);
        kill(f->pid, SIGHUP);
        /* flotad took the signal: the next write goes to a new file at the log's path */
        bool reopened = false;
        for (int i = 0; i < 200 && !reopened; i++) {
                size_t n;
                _cleanup_free_ char *said = slurp(f->log_path, &n);
                reopened = strstr(said, "check-in log: reopened with its next write") != NULL;
                if (!reopened)
                        usleep(10000);
        }
        assert_true(reopened);
        poll_n(f, 2, 3);
        assert_int_equal(flotad_stop(f, SIGTERM), 0);

        /* the same schema as the API's check-in feed, one object a line */
        assert_int_equal(count_lines_with(rotated, "\"reason\":\"no-release\""), 3);
        assert_int_equal(count_lines_with(log, "\"device\":\"18:FE:AD:00:00:0"), 2);
        assert_int_equal(count_lines_with(log, "\"id\":4,"), 1);
}

static void test_config_and_override(void **state) {
        Flotad *f = *state;
        _cleanup_free_ char *conf = xasprintf("%s/flotad.conf", f->dir);
        FILE *fp = fopen(conf, "w");
        HttpResponse r;

        /* the file says one port; --listen from the harness (127.0.0.1:0) wins */
        fprintf(fp, "[flotad]\ndata-dir = %s\nlisten = 127.0.0.1:1\nupdate-path = /ota\n", f->data_dir);
        fclose(fp);
        const char *args[] = { "--config", conf, NULL };
        assert_int_equal(flotad_start(f, args), 0);
        assert_int_equal(api(f, "POST", "/api/v1/products", "{\"name\":\"door\"}", &r), 201);
        http_response_done(&r);
        _cleanup_free_ char *req =
                esp8266_poll("/ota/door", f->port, "18:FE:AA:00:00:01", "1", NULL, 1 << 20, NULL);
        assert_int_equal(http_raw(f->port, req, strlen(req), &r), 0);
        assert_int_equal(r.status, 304);
        http_response_done(&r);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_sigterm_flushes_checkins, setup, teardown),
                cmocka_unit_test_setup_teardown(test_kill9_loses_no_acknowledged_write, setup, teardown),
                cmocka_unit_test_setup_teardown(test_kill9_during_upload, setup, teardown),
                cmocka_unit_test_setup_teardown(test_sighup_reopens_log, setup, teardown),
                cmocka_unit_test_setup_teardown(test_refuses_newer_database, setup, teardown),
                cmocka_unit_test_setup_teardown(test_command_line, setup, teardown),
                cmocka_unit_test_setup_teardown(test_config_and_override, setup, teardown),
                cmocka_unit_test_setup_teardown(test_checkin_retention, setup, teardown),
                cmocka_unit_test_setup_teardown(test_checkin_log, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
