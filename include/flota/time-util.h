/* SPDX-License-Identifier: MIT */
/* Layer: util. One time type, usec_t (microseconds), and its text forms. */
#pragma once

#include <stdint.h>
#include <time.h>

typedef uint64_t usec_t;

#define USEC_PER_SEC ((usec_t) 1000000)
#define USEC_PER_MSEC ((usec_t) 1000)
#define USEC_INFINITY ((usec_t) UINT64_MAX)

usec_t now_usec(clockid_t clock);

/* RFC 3339 UTC with seconds: "2026-11-23T12:00:00Z". buf holds at least 21 bytes. */
#define RFC3339_MAX 32
char *format_rfc3339(char buf[static RFC3339_MAX], usec_t t);

/* Durations: a number with s, m, h or d ("30d", "12h"); a bare number is seconds. 0 or -EINVAL/-ERANGE. */
int parse_duration(const char *s, usec_t *ret);

/* Parses RFC 3339 ("2026-11-23T10:00:00.5Z", "...+01:00") or plain Unix seconds. 0 or -EINVAL. */
int parse_timestamp(const char *s, usec_t *ret);

/* A duration for people, rounded up: "45s", "12m", "3h05m", "2d04h". buf holds 32 bytes. */
char *format_duration(char buf[static 32], usec_t d);
