/* SPDX-License-Identifier: MIT */
/*
 * Layer: json. Writes compact JSON straight into a growing buffer, for answers too large to
 * build as a cJSON tree first (flotad's device list). The text is byte for byte what
 * cJSON_PrintUnformatted() gives for the same values: the same string escapes, integers as
 * plain digits. Commas are placed by the writer: callers only open, name and close.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "flota/time-util.h"

typedef struct JsonWriter {
        char *buf; /* NUL-terminated once anything was written; owned */
        size_t len;
        size_t allocated;
        bool need_comma; /* a value was written at this level */
} JsonWriter;

void json_writer_done(JsonWriter *w);
/* Hands out the text (the caller frees it) and leaves the writer empty. */
char *json_writer_steal(JsonWriter *w, size_t *ret_len);

/* '{' or '[', and the matching '}' or ']'. */
void json_write_open(JsonWriter *w, char bracket);
void json_write_close(JsonWriter *w, char bracket);
/* An object member's name; its value follows. */
void json_write_key(JsonWriter *w, const char *key);

void json_write_string(JsonWriter *w, const char *s);
/* A string, or null for NULL and "". */
void json_write_string_or_null(JsonWriter *w, const char *s);
void json_write_int(JsonWriter *w, int64_t v);
void json_write_null(JsonWriter *w);
/* An RFC 3339 UTC time, or null for 0 (as json_add_time()). */
void json_write_time(JsonWriter *w, usec_t t);
