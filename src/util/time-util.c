/* SPDX-License-Identifier: MIT */
/* Clock reads and RFC 3339 formatting/parsing in usec_t. */
#include "flota/time-util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "flota/strutil.h"

usec_t now_usec(clockid_t clock) {
        struct timespec ts;

        (void) clock_gettime(clock, &ts);
        return (usec_t) ts.tv_sec * USEC_PER_SEC + (usec_t) ts.tv_nsec / 1000;
}

char *format_rfc3339(char buf[static RFC3339_MAX], usec_t t) {
        time_t sec = (time_t) (t / USEC_PER_SEC);
        struct tm tm;

        if (!gmtime_r(&sec, &tm) || strftime(buf, RFC3339_MAX, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
                strscpy(buf, RFC3339_MAX, "1970-01-01T00:00:00Z");
        return buf;
}

int parse_duration(const char *s, usec_t *ret) {
        static const uint64_t factors[] = { 1, 60, 3600, 86400 };
        uint64_t secs;
        int r = parse_with_unit(s, "smhd", factors, &secs);

        if (r < 0)
                return r;
        if (secs > UINT64_MAX / USEC_PER_SEC)
                return -ERANGE;
        *ret = secs * USEC_PER_SEC;
        return 0;
}

/* ".123456" after the seconds: the fraction in microseconds; *s moves past it. */
static usec_t parse_fraction(const char **s) {
        usec_t frac = 0, scale = USEC_PER_SEC;

        if (**s != '.')
                return 0;
        for ((*s)++; **s >= '0' && **s <= '9'; (*s)++)
                if (scale > 1) {
                        scale /= 10;
                        frac += (usec_t) (**s - '0') * scale;
                }
        return frac;
}

/* "Z", "+01:00", "-0500": the offset from UTC in seconds. */
static int parse_utc_offset(const char *s, int64_t *ret) {
        unsigned h, m;

        if (streq(s, "Z")) {
                *ret = 0;
                return 0;
        }
        if (s[0] != '+' && s[0] != '-')
                return -EINVAL;
        bool colon = strlen(s) == 6 && sscanf(s + 1, "%2u:%2u", &h, &m) == 2;
        bool plain = strlen(s) == 5 && sscanf(s + 1, "%2u%2u", &h, &m) == 2;
        if (!colon && !plain)
                return -EINVAL;
        if (h > 23 || m > 59)
                return -EINVAL;
        *ret = (s[0] == '-' ? -1 : 1) * (int64_t) (h * 3600 + m * 60);
        return 0;
}

int parse_timestamp(const char *s, usec_t *ret) {
        struct tm tm = {};
        uint64_t secs;
        int64_t offset;

        if (isempty(s))
                return -EINVAL;
        if (parse_u64(s, &secs) == 0) {
                if (secs > UINT64_MAX / USEC_PER_SEC)
                        return -ERANGE;
                *ret = secs * USEC_PER_SEC;
                return 0;
        }
        const char *end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
        if (!end)
                return -EINVAL;
        usec_t frac = parse_fraction(&end);
        if (parse_utc_offset(end, &offset) < 0)
                return -EINVAL;
        int64_t t = (int64_t) timegm(&tm) - offset;
        if (t < 0)
                return -ERANGE;
        *ret = (usec_t) t * USEC_PER_SEC + frac;
        return 0;
}

char *format_duration(char buf[static 32], usec_t d) {
        uint64_t s = (d + USEC_PER_SEC - 1) / USEC_PER_SEC;

        if (s < 120)
                snprintf(buf, 32, "%" PRIu64 "s", s);
        else if (s < 2 * 3600)
                snprintf(buf, 32, "%" PRIu64 "m", (s + 59) / 60);
        else if (s < 2 * 86400)
                snprintf(buf, 32, "%" PRIu64 "h%02" PRIu64 "m", s / 3600, (s % 3600 + 59) / 60);
        else
                snprintf(buf, 32, "%" PRIu64 "d%02" PRIu64 "h", s / 86400, (s % 86400 + 3599) / 3600);
        return buf;
}
