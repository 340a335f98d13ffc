/* SPDX-License-Identifier: MIT */
/*
 * Layer: ingest. Folding parsed poll lines into per-device state between two commits, so
 * a log of millions of lines becomes one row write per device and one history row per version
 * change. Memory grows with the number of devices, not with the log.
 */
#pragma once

#include <stddef.h>

#include "flota/log-format.h"

typedef struct LogBatch LogBatch;

/* A device seen since the last log_batch_clear(): what it ran at its last poll, and when. */
typedef struct LogSeen {
        const char *device;
        const char *version; /* "" when no line said */
        const char *sketch_md5;
        const char *ip;
        const char *product;
        Platform platform;
        usec_t first, last;
} LogSeen;

/* A version change, in the order of the log. */
typedef struct LogChange {
        const char *device;
        const char *version;
        const char *sketch_md5;
        usec_t at;
} LogChange;

LogBatch *log_batch_new(void);
LogBatch *log_batch_free(LogBatch *b);
DEFINE_TRIVIAL_CLEANUP_FUNC(LogBatch *, log_batch_free);

/* What a device is known to run already, so that its first line is not counted as a change. */
void log_batch_known(LogBatch *b, const char *device, const char *version);
/* Folds in one poll (rec->device non-empty). */
void log_batch_add(LogBatch *b, const LogRecord *rec);
/* The same for n polls in log order, with the memory they touch fetched ahead: faster. */
void log_batch_add_many(LogBatch *b, const LogRecord *recs, size_t n);

/* Devices seen and changes since the last clear; a callback's negative return stops the walk. */
size_t log_batch_pending(const LogBatch *b);
int log_batch_foreach_seen(const LogBatch *b, int (*cb)(const LogSeen *s, void *userdata), void *userdata);
int log_batch_foreach_change(const LogBatch *b, int (*cb)(const LogChange *c, void *userdata),
                             void *userdata);
/* After a commit: forgets what was pending, keeps every device's version. */
void log_batch_clear(LogBatch *b);
/* Devices known in all. */
size_t log_batch_devices(const LogBatch *b);
