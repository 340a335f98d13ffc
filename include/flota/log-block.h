/* SPDX-License-Identifier: MIT */
/*
 * Layer: ingest. Parsing a block of whole log lines, on a second thread as well when the
 * machine has one: the block is cut at a newline, a worker parses the tail while the caller
 * parses the head and uses its records, then the tail's records follow, so the order of the
 * log is kept.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "flota/log-format.h"

typedef struct LogBad {
        uint64_t line; /* 1-based, within the part */
        const char *why;
        const char *text;
        size_t len;
} LogBad;

/* The result of one part of a block; valid during the callback. */
typedef struct LogParsed {
        const LogRecord *recs; /* the polls, in log order */
        size_t n;
        const LogBad *bad;
        size_t n_bad;
        uint64_t lines; /* every line of the part */
} LogParsed;

typedef struct LogBlockParser LogBlockParser;

/* threads: 1 parses in the caller only; 2 adds a worker thread. */
LogBlockParser *log_block_parser_new(const LogFormat *f, unsigned threads);
LogBlockParser *log_block_parser_free(LogBlockParser *bp);
DEFINE_TRIVIAL_CLEANUP_FUNC(LogBlockParser *, log_block_parser_free);

/*
 * Parses data (whole lines; the last one may lack its newline) and calls cb with each part,
 * in order. A negative return of cb stops and is returned (after the worker has finished).
 */
int log_block_parse(LogBlockParser *bp, const char *data, size_t len,
                    int (*cb)(const LogParsed *part, void *userdata), void *userdata);
