/* SPDX-License-Identifier: MIT */
/*
 * Integration-test fixture: a real flotad process on 127.0.0.1 with a private data
 * directory, plus a raw HTTP client that sends exact request bytes (as the ESP cores do)
 * and reads the whole answer. Loops are bounded; nothing leaves loopback.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

typedef struct Flotad {
        char *dir; /* test directory (data dir is dir/data) */
        char *data_dir;
        char *log_path;
        char *database; /* a postgresql:// URL of its own database, or NULL (SQLite in data_dir) */
        pid_t pid;
        int port;
        char admin_token[128];
        char read_token[128];
} Flotad;

typedef struct HttpResponse {
        int status;
        char *head; /* status line and headers */
        char *body;
        size_t body_len;
} HttpResponse;

/*
 * Creates a fresh directory with an admin and a read token. Aborts the test on failure. Under
 * tests/pg/with-postgres.sh (FLOTA_TEST_PG set) flotad runs on a fresh PostgreSQL database of
 * its own instead of SQLite (--database), so a test runs unchanged against both backends.
 */
void flotad_init(Flotad *f);
/* Creates a fresh database on the test cluster and returns its URL (malloc'ed); NULL without a cluster. */
char *pg_test_database(void);

/* Starts flotad with extra arguments (NULL-terminated list, may be empty); waits until it listens. */
int flotad_start(Flotad *f, const char *const *extra_args);
/* Sends sig and waits (bounded) for exit; returns the exit status, 128+signal when killed, -1 on timeout. */
int flotad_stop(Flotad *f, int sig);
/*
 * Stops a running flotad with SIGTERM and checks it exited 0 and that no sanitizer report is
 * in its log (also from earlier runs of this fixture). Returns 0, or -1 after printing why.
 */
int flotad_finish(Flotad *f);
void flotad_cleanup(Flotad *f);

/* Runs flotad to completion with args (for --help, token, bad config); captures stdout+stderr. */
int flotad_run(char *const *args, char **ret_output);

/*
 * Runs argv[0] to completion and returns its exit status (128+signal when killed); its
 * standard output (and standard error too when with_stderr) is returned in *ret_output.
 */
int run_program(char *const *argv, bool with_stderr, char **ret_output);

/* The integer the SQL (one row, one column) gives on flotad's database, or -1. */
long db_count(const Flotad *f, const char *sql);
/* Waits (bounded, 10 s) until db_count(f, sql) reaches at least want; returns the last count. */
long wait_db_count(const Flotad *f, const char *sql, long want);
/* The same on any SQLite file (flota's inventory). */
long sqlite_count(const char *path, const char *sql);

/* cmocka fixtures: a started flotad in *state; the teardown checks its exit and its log. */
int flotad_fixture_setup(void **state);
int flotad_fixture_teardown(void **state);

/* Sends exactly len bytes to 127.0.0.1:port and reads until the server closes. 0 or -errno. */
int http_raw(int port, const char *request, size_t len, HttpResponse *ret);
void http_response_done(HttpResponse *r);
/* Value of the first header called name (case-insensitive), copied into a static buffer, or NULL. */
const char *http_header(const HttpResponse *r, const char *name);

/* An API call with a bearer token (NULL: none). body may be NULL. */
int api_call(const Flotad *f, const char *method, const char *path, const char *token, const char *body,
             size_t body_len, HttpResponse *ret);
/* Shorthand with the admin token and a NUL-terminated body; returns the status. */
int api(const Flotad *f, const char *method, const char *path, const char *body, HttpResponse *ret);

/* The request bytes the ESP8266 core sends (PROTOCOLS.md 1.1), for path, MAC, version, MD5, free space,
 * mode. */
char *esp8266_poll(const char *path, int port, const char *mac, const char *version, const char *md5,
                   long free_space, const char *mode);
/* The ESP32 core's request with BASE-MAC. */
char *esp32_poll(const char *path, int port, const char *mac, const char *version, const char *sha256,
                 long free_space, const char *mode);

/* Writes a synthetic image with flota-sim mkimage; returns its path (malloc'ed). */
char *make_image(const Flotad *f, const char *platform, const char *version, const char *size);
/* Reads a file whole (aborts on failure). */
char *slurp(const char *path, size_t *ret_len);

/* Polls /api/v1/checkins until at least n check-ins exist (bounded, 10 s); returns the count. */
int wait_checkins(const Flotad *f, int n);
/* Extracts an integer field "name": N from a JSON text (first occurrence), or -1. */
long json_int(const char *json, const char *name);
