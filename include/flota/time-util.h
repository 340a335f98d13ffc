/* SPDX-License-Identifier: MIT */
/* Layer: util. One time type, usec_t (microseconds), and its text forms. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

typedef uint64_t usec_t;

#define USEC_PER_SEC ((usec_t) 1000000)
#define USEC_PER_MSEC ((usec_t) 1000)
#define USEC_INFINITY ((usec_t) UINT64_MAX)

usec_t now_usec(clockid_t clock);
/* Sleeps t (nanosleep: a signal may end it early). */
void sleep_usec(usec_t t);

/* RFC 3339 UTC with seconds: "2026-11-23T12:00:00Z". buf holds at least 21 bytes. */
#define RFC3339_MAX 32
char *format_rfc3339(char buf[static RFC3339_MAX], usec_t t);

/* Durations: a number with s, m, h or d ("30d", "12h"); a bare number is seconds. 0 or -EINVAL/-ERANGE. */
int parse_duration(const char *s, usec_t *ret);

/* A date and time of day at an offset from UTC, as written; time_from_civil() checks it. */
typedef struct CivilTime {
        unsigned year, month, day;     /* month 1..12, day 1..31 */
        unsigned hour, minute, second; /* second 60 (a leap second) is the next minute's 0 */
        usec_t usec;                   /* below USEC_PER_SEC */
        int64_t utc_offset;            /* seconds east of UTC: +01:00 is 3600 */
} CivilTime;

/*
 * The one calendar every date parser uses (RFC 3339 below, the access logs' [10/Oct/2000:13:55:36
 * -0700]): the time since the epoch. 0, -EINVAL for a date or time that does not exist
 * (February 30, 24:00), -ERANGE before 1970.
 */
int time_from_civil(const CivilTime *c, usec_t *ret);

/* ".123456" at s (n bytes): the fraction of a second, and the bytes read; 0 when s holds none. */
size_t parse_fraction(const char *s, size_t n, usec_t *ret);

/* Exactly "Z", "+HH:MM" or "-HHMM" in n bytes: seconds east of UTC. 0 or -EINVAL. */
int parse_utc_offset(const char *s, size_t n, int64_t *ret);

/*
 * Parses RFC 3339 ("2026-11-23T10:00:00.5Z", "...+01:00", "...-0500") or plain Unix seconds,
 * all n bytes of s (no NUL needed). 0, -EINVAL, -ERANGE.
 */
int parse_timestamp_n(const char *s, size_t n, usec_t *ret);
/* The same for a NUL-terminated string. */
int parse_timestamp(const char *s, usec_t *ret);

/* A duration for people, rounded up: "45s", "12m", "3h05m", "2d04h". buf holds 32 bytes. */
char *format_duration(char buf[static 32], usec_t d);
