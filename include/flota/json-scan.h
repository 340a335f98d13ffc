/* SPDX-License-Identifier: MIT */
/*
 * Layer: json. flota reads JSON two ways, and only these two:
 * - cJSON builds a tree, for what is small and decoded against a schema: API requests and
 *   answers (json-decode.h, api-body), configuration, the state files of flota-sim.
 * - this scanner, the one in-place reader, for the hot paths where a tree per item costs more
 *   than the work: assignment pages a rollout reads every tick (assignment-scan.c), flotad's
 *   JSON-lines check-in log in the ingest (src/ingest/log-json.c), and lists too large for one
 *   tree (flota devices --json). A new hot path reads with it rather than with a scanner of its own.
 *
 * Reads JSON text in place, without building a tree, and writes values out again
 * in print_json()'s layout (cJSON_Print(): objects one member a line, indented with tabs;
 * arrays on one line, ", " between elements). For lists too large to lay out as one tree
 * (flota devices --json lays out each device with device_print_json()): every value is
 * checked against the JSON grammar on the way, and strings and numbers are copied as they are.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Deeper nesting is refused (-ELOOP): the reader recurses. */
#define JSON_SCAN_DEPTH_MAX 64

typedef struct JsonScan {
        const char *p; /* the next byte to read */
        const char *end;
} JsonScan;

static inline JsonScan json_scan_init(const char *text, size_t len) {
        return (JsonScan) { .p = text, .end = text + len };
}

/* Skips whitespace; true (and consumed) when the next byte is c. */
bool json_scan_char(JsonScan *s, char c);
/* Skips whitespace; true (and consumed) when the next bytes are word (e.g. "null"). */
bool json_scan_literal(JsonScan *s, const char *word);
/* True when only whitespace is left. */
bool json_scan_at_end(JsonScan *s);

/*
 * Reads a string at the next non-blank byte. *ret and *ret_len give its text between the
 * quotes, escapes left as they are (borrowed from the scanned text). 0 or -EBADMSG.
 */
int json_scan_string(JsonScan *s, const char **ret, size_t *ret_len);

/*
 * Decodes the escapes of a string json_scan_string() returned (text, len) into buf of size
 * bytes: \uXXXX as UTF-8 (a surrogate pair as one character, a lone surrogate as U+FFFD).
 * Not NUL-terminated; *ret_len is the decoded length. 0, -EBADMSG for a bad escape, -E2BIG
 * when buf is too small (buf may then be partly written).
 */
int json_scan_unescape(const char *text, size_t len, char *buf, size_t size, size_t *ret_len);

/*
 * Reads one value at the next non-blank byte, writing nothing; *ret and *ret_len give its text
 * (borrowed; a string with its quotes). As json_scan_value(): 0, -EBADMSG or -ELOOP.
 */
int json_scan_skip(JsonScan *s, const char **ret, size_t *ret_len);

/*
 * Reads one value and writes it to out (NULL: only checks it) laid out as if nested depth
 * levels deep (0 for a top-level value). 0, -EBADMSG for bad syntax, -ELOOP when nested
 * deeper than JSON_SCAN_DEPTH_MAX.
 */
int json_scan_value(JsonScan *s, unsigned depth, FILE *out);
