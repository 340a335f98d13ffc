/* SPDX-License-Identifier: MIT */
/* Layer: util. String helpers: comparison, strict number parsing, hex, name validation. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

static inline bool streq(const char *a, const char *b) {
        return strcmp(a, b) == 0;
}

static inline bool strcaseeq(const char *a, const char *b) {
        return strcasecmp(a, b) == 0;
}

static inline bool isempty(const char *s) {
        return !s || !*s;
}

/* Returns a pointer past prefix in s, or NULL when s does not start with it. */
const char *startswith(const char *s, const char *prefix);
const char *startswith_no_case(const char *s, const char *prefix);

/* Strict decimal parsing: digits only, no sign, no spaces, no overflow. 0 or -EINVAL/-ERANGE. */
int parse_u64(const char *s, uint64_t *ret);
int parse_u32(const char *s, uint32_t *ret);
int parse_i64(const char *s, int64_t *ret);

/* A number with an optional one-letter unit from units (a NUL-terminated list of letters, each with
 * the factor at the same index of factors); no letter means factor 1. 0, -EINVAL or -ERANGE. */
int parse_with_unit(const char *s, const char *units, const uint64_t *factors, uint64_t *ret);

/* Sizes with an optional K/M/G suffix (powers of 1024): "16M" -> 16777216. */
int parse_size(const char *s, uint64_t *ret);

/* Writes 2*n lowercase hex digits and a NUL into out (which holds 2*n+1 bytes). */
void hex_encode(const uint8_t *data, size_t n, char *out);
bool is_hex(const char *s, size_t len);
/* The value of one hex digit (any case), or -EINVAL. */
int unhexchar(char c);
/* Reads exactly n hex digits at s (n <= 16; what follows is not looked at). 0 or -EINVAL. */
int parse_hex_n(const char *s, size_t n, uint64_t *ret);
/* Reads exactly n decimal digits at s (n <= 9). 0 or -EINVAL. */
int parse_dec_n(const char *s, size_t n, unsigned *ret);

/* Copies at most size-1 bytes and NUL-terminates; returns true when s fit whole. */
bool strscpy(char *dst, size_t size, const char *src);

/* Lowercases ASCII in place; returns s. */
char *ascii_strlower(char *s);
char *ascii_strupper(char *s);

/*
 * Names used in URLs, file-free identifiers (products, channels): 1..64 bytes of
 * [A-Za-z0-9._-], starting with a letter or digit. Never "." or "..".
 */
bool name_is_valid(const char *s);

/* Versions: 1..64 bytes of printable ASCII without spaces or quotes. */
bool version_is_valid(const char *s);

/* Labels: 1..64 bytes of [A-Za-z0-9._:=/-]. */
bool label_is_valid(const char *s);

/*
 * Percent-encodes every byte of s but RFC 3986's unreserved ones (letters, digits, "-._~"),
 * for a query value or a path segment: "1.0+b 2" -> "1.0%2Bb%202". Returns a new string.
 */
char *url_encode(const char *s);

/* Constant-time comparison of two strings (length leaks, contents do not). */
bool streq_consttime(const char *a, const char *b);

/*
 * s with every control character (C0, DEL, and C1 in UTF-8) written as \xNN, and a backslash as
 * "\\", so text from outside (servers, logs, devices) can be printed on a terminal. Owned.
 */
char *term_escape(const char *s);
