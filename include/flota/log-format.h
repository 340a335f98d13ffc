/* SPDX-License-Identifier: MIT */
/*
 * Layer: ingest. Poll-log formats and the line parser: the access logs of nginx or Apache
 * (given as the server's own log_format / LogFormat string, or a shipped preset) and flotad's
 * JSON-lines check-in log. A LogParser turns one line into a LogRecord without allocating;
 * the record's slices point into the line (or the parser's scratch space) until the next call.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "flota/device-request.h"
#include "flota/macro.h"
#include "flota/firmware.h"
#include "flota/time-util.h"

typedef struct LogFormat LogFormat;
typedef struct LogParser LogParser;

/* A piece of the line; n == 0 when the field was absent or "-". */
typedef struct LogSlice {
        const char *p;
        size_t n;
} LogSlice;

typedef struct LogRecord {
        char device[DEVICE_ID_MAX + 1]; /* canonical id; "" when the line is not a device poll */
        uint64_t mac;                   /* the id as a number when it is a MAC (has_mac) */
        bool has_mac;
        LogSlice version;
        LogSlice sketch_md5;
        LogSlice addr;
        LogSlice product;  /* flotad's log, or the request target (see log_format_set_product()) */
        Platform platform; /* _PLATFORM_INVALID when the line does not say */
        usec_t at;         /* 0 when the format carries no time */
        int status;        /* HTTP status, 0 when absent */
        bool in_scratch;   /* some slice points into the parser: use before the next line */
} LogRecord;

#define LOG_FORMAT_ERROR_MAX 160

/*
 * Compiles a format: a preset name (see log_format_presets()), an nginx log_format string
 * ("$remote_addr ... \"$http_x_esp8266_version\"", optionally still in its single-quoted
 * config pieces) or an Apache LogFormat string ("%h %l %u %t \"%r\" ... %{x-ESP8266-version}i").
 * Fails with -EINVAL and a message in err when the string cannot identify a device.
 */
int log_format_compile(const char *spec, LogFormat **ret, char err[static LOG_FORMAT_ERROR_MAX]);
LogFormat *log_format_free(LogFormat *f);

/* The pattern access logs name the product with by default: flotad's own device endpoint. */
#define LOG_PRODUCT_PATTERN_DEFAULT "/update/{product}"

/*
 * Where an access log's request line ($request, $request_uri, %r, %U%q) names the product: a
 * request target pattern with one "{product}", either as a path segment ("/update/{product}",
 * the default: "GET /update/door" and the query form "GET /update/door?s=...&v=..." both give
 * "door") or as a query value ("/update?product={product}"). The product is 1..64 bytes of
 * [A-Za-z0-9._-]; a target that does not match gives none. -EINVAL with a message in err for
 * a pattern without exactly one "{product}". No effect on flotad's JSON log, which names it.
 */
int log_format_set_product(LogFormat *f, const char *pattern, char err[static LOG_FORMAT_ERROR_MAX]);
DEFINE_TRIVIAL_CLEANUP_FUNC(LogFormat *, log_format_free);

/* The presets, NULL-terminated: name, then what it reads ("nginx-esp", "apache-esp", "flotad"). */
typedef struct LogPreset {
        const char *name;
        const char *spec;
        const char *summary;
} LogPreset;
const LogPreset *log_format_presets(void);

LogParser *log_parser_new(const LogFormat *f);
LogParser *log_parser_free(LogParser *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(LogParser *, log_parser_free);

/*
 * Parses one line (without its newline). 0 with *ret filled (ret->device "" for lines that are
 * not polls of an ESP update client: browsers, health checks, "-" headers), or -EINVAL when
 * the line does not match the format or carries a malformed device field; *why then names
 * the problem (a static string).
 */
int log_parse_line(LogParser *p, const char *line, size_t len, LogRecord *ret, const char **why);

/*
 * Picks the preset that reads the most device polls, without a bad line, from the first lines
 * given (whole lines, '\n'-separated). -ENODATA when none reads a single poll.
 */
int log_format_guess(const char *text, size_t len, const LogPreset **ret);
