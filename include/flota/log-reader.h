/* SPDX-License-Identifier: MIT */
/*
 * Layer: ingest. Reading a log incrementally in blocks of whole lines. A log is known by its
 * fingerprint, the hash of its first line, so a file keeps its identity when logrotate renames
 * or compresses it; offsets count bytes of the (decompressed) content. gzip files, found by
 * their magic bytes, are read through `gzip -dc`.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "flota/hash.h"
#include "flota/macro.h"

#define LOG_FINGERPRINT_LEN MD5_HEX_LEN
/* Longer lines are reported as one overlong line and skipped. */
#define LOG_LINE_MAX (64 * 1024)

typedef struct LogReader LogReader;

typedef struct LogBlock {
        const char *data; /* whole lines, each ending in '\n' (the last may not, see below) */
        size_t len;
        uint64_t end;  /* content offset just after this block */
        bool overlong; /* data is the start of one line longer than LOG_LINE_MAX */
} LogBlock;

int log_reader_open(const char *path, LogReader **ret);
LogReader *log_reader_free(LogReader *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(LogReader *, log_reader_free);

bool log_reader_compressed(const LogReader *r);
/* The file's inode and size (for a gzip file: of the compressed file). */
uint64_t log_reader_inode(const LogReader *r);
uint64_t log_reader_file_size(const LogReader *r);

/*
 * The fingerprint: MD5 of the first line. -EAGAIN while the log has no complete first line
 * (nothing to read yet). Call before reading blocks.
 */
int log_reader_fingerprint(LogReader *r, char ret[static LOG_FINGERPRINT_LEN + 1]);

/* Continues at a content offset reached before. -ERANGE when the content is now shorter. */
int log_reader_seek(LogReader *r, uint64_t offset);

/*
 * The next block. 1 with *ret filled, 0 at the end (a live log's unfinished last line is left
 * for the next run; a gzip file's is returned, since the file is complete), or -errno
 * (-EIO: gzip reported a damaged file).
 */
int log_reader_next(LogReader *r, LogBlock *ret);
