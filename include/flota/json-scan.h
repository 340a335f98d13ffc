/* SPDX-License-Identifier: MIT */
/*
 * Layer: json. Reads JSON text in place, without building a tree, and writes values out again
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
        const char *p;          /* the next byte to read */
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
 * Reads one value and writes it to out (NULL: only checks it) laid out as if nested depth
 * levels deep (0 for a top-level value). 0, -EBADMSG for bad syntax, -ELOOP when nested
 * deeper than JSON_SCAN_DEPTH_MAX.
 */
int json_scan_value(JsonScan *s, unsigned depth, FILE *out);
