/* SPDX-License-Identifier: MIT */
/*
 * What the store's test programs share: a fresh database per test, on SQLite (a file in a
 * temporary directory) or, under tests/pg/with-postgres.sh (FLOTA_TEST_PG set), PostgreSQL (a
 * new database on the cluster that script started), and a few ways to reach it from outside.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "flota/store.h"

/* Set by main(): the tests run on PostgreSQL. */
extern bool on_postgresql;

typedef struct Fixture {
        char *dir;
        char *url;    /* SQLite path or postgresql:// URL */
        char *dbname; /* PostgreSQL only */
        Store *store;
} Fixture;

/* Runs a shell command built from fmt; its exit status. */
int shell(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A fresh, empty database: a new file, or a new database on the test cluster. */
char *fresh_database(Fixture *f);
/* Runs sql on the fixture's database outside the store (to fake a newer schema). */
void run_sql(Fixture *f, const char *sqlite_sql, const char *pg_sql);
/* cmocka fixtures: a Fixture with an open store in *state. */
int fixture_setup(void **state);
int fixture_teardown(void **state);
/* Adds a release of product (an ESP8266 sketch, 1000 bytes) and returns its id. */
int64_t add_release(Store *s, int64_t product, const char *version);
