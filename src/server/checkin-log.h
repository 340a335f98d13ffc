/* SPDX-License-Identifier: MIT */
/*
 * The optional JSON-lines check-in log: every committed check-in as one line, in the
 * schema of GET /api/v1/checkins, for tools that follow files (and for flota's log ingest).
 * Written by the check-in writer thread after each commit; reopened after rotation on SIGHUP.
 */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "flota/checkin.h"

typedef struct CheckinLog {
        char *path;
        int fd;
        atomic_bool reopen;
} CheckinLog;

/* Opens path for appending. 0 or -errno. */
int checkin_log_open(CheckinLog *l, const char *path);
/* Asks the writer to reopen the file before its next write (async-signal-safe enough: one atomic store). */
void checkin_log_request_reopen(CheckinLog *l);
/* Appends one line per check-in, in one write(2) per batch. 0 or -errno (the batch is not retried). */
int checkin_log_write(CheckinLog *l, const Checkin *c, size_t n);
void checkin_log_close(CheckinLog *l);
