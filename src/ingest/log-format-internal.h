/* SPDX-License-Identifier: MIT */
/* Private to src/ingest: a compiled log format, shared by the compiler and the line parser. */
#pragma once

#include "flota/log-format.h"

#define LOG_FIELDS_MAX 64

typedef enum LogVar {
        LOG_VAR_SKIP,
        LOG_VAR_ADDR,
        LOG_VAR_TIME_LOCAL,  /* 10/Oct/2000:13:55:36 -0700 */
        LOG_VAR_TIME_APACHE, /* the same in brackets; compiled into literal [ ] around TIME_LOCAL */
        LOG_VAR_TIME_ISO8601,
        LOG_VAR_MSEC, /* seconds since the epoch with milliseconds */
        LOG_VAR_STATUS,
        LOG_VAR_REQUEST, /* "GET /path?query HTTP/1.1" */
        LOG_VAR_URI,     /* "/path?query" */
        LOG_VAR_USER_AGENT,
        LOG_VAR_MAC,      /* x-*-STA-MAC; the field's platform says which core */
        LOG_VAR_BASE_MAC, /* x-ESP32-BASE-MAC: the identity when present, as flotad does */
        LOG_VAR_VERSION,
        LOG_VAR_SKETCH_MD5,
} LogVar;

/* A field and the literal text that ends it ("" for the last field: it runs to the end). */
typedef struct LogField {
        LogVar var;
        Platform platform;
        char *lit;
        size_t lit_len;
} LogField;

/*
 * Where the product is in a request target, from a pattern with one "{product}": in the path
 * ("/update/{product}": path is "/update/", after is what follows the product up to '?' or the
 * end) or as a query value ("/update?p={product}": path is "/update", key is "p").
 */
typedef struct ProductPattern {
        char *path;
        char *after;
        char *key; /* NULL: the product is in the path */
} ProductPattern;

struct LogFormat {
        bool json; /* flotad's JSON lines; no fields */
        ProductPattern product;
        char *prefix; /* literal text before the first field */
        size_t prefix_len;
        LogField fields[LOG_FIELDS_MAX];
        size_t n_fields;
};

#define LOG_SCRATCH_MAX 512

struct LogParser {
        const LogFormat *f;
        char time_raw[48]; /* the previous line's time and its value */
        size_t time_len;
        usec_t time_value;
        char scratch[LOG_SCRATCH_MAX]; /* decoded copies: JSON escapes, %XX in queries */
        size_t scratch_len;
};

/* flotad's JSON lines (log-json.c). */
int log_parse_json(LogParser *p, const char *line, size_t len, LogRecord *ret, const char **why);

/* Field values, for both line readers (log-values.c). */
/* Picks the device id out of a field. 0 or -EINVAL. */
int log_device_from(const LogSlice *s, bool mac_only, LogRecord *ret);
bool log_version_ok(const LogSlice *s);
/* A time in the form of var (LOG_VAR_TIME_*, LOG_VAR_MSEC); the previous line's is cached in p. */
int log_parse_time(LogParser *p, int var, const char *s, size_t n, usec_t *ret);
bool log_addr_ok(const LogSlice *s);
