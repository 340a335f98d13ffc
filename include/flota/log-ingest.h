/* SPDX-License-Identifier: MIT */
/*
 * Layer: store. Ingesting a poll log into the inventory, incrementally and rotation-aware.
 *
 * Every file is known by the fingerprint of its first line (log-reader.h) and its read offset
 * is committed in the same transaction as the device rows its lines produced, so a run killed
 * at any point resumes where the last commit left off: nothing counted twice, nothing lost.
 * The live file's fingerprint is the source's cursor; when it changes the log was rotated, and
 * the rest of the previous file is read from its rotated sibling (PATH.1, PATH.1.gz, PATH-date…)
 * first. With backfill every rotated sibling not yet read to its end is read, oldest first.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "flota/log-format.h"
#include "flota/store.h"

/* A bad line: where, why, and its text (not NUL-terminated, at most the first n bytes). */
typedef void (*LogBadLine)(const char *path, uint64_t line, const char *why, const char *text, size_t n,
                           void *userdata);

typedef struct LogIngestOptions {
        const char *path;
        const LogFormat *format;
        bool backfill;
        uint64_t commit_bytes; /* commit after this much log (0: the default, 1 GiB; or 10 s) */
        LogBadLine bad_line;   /* called for every bad line; may be NULL */
        void *userdata;
} LogIngestOptions;

typedef struct LogIngestStats {
        uint64_t files; /* files read from (live + rotated) */
        uint64_t bytes;
        uint64_t lines;
        uint64_t polls; /* lines that were polls of a device */
        uint64_t bad;
        uint64_t devices; /* devices the inventory knows afterwards */
        uint64_t commits;
        unsigned unread_rotated; /* rotated siblings never read (see backfill) */
        bool rotated;            /* the live file changed since the last run */
        bool rotated_lost;       /* ... and its predecessor was not found among the siblings */
        bool truncated;          /* the live file was cut short and is read again from the start */
} LogIngestStats;

/* The source name a log is recorded under: "log:" + its absolute path. */
char *log_source_name(const char *path);

/*
 * Ingests what is new in the log. 0, or -errno with stats covering what was committed:
 * -ENOENT etc. when the live file cannot be opened, -EIO when gzip found a rotated file
 * damaged, store errors from the inventory.
 */
int log_ingest(Store *inv, const LogIngestOptions *o, LogIngestStats *ret);
