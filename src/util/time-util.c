/* SPDX-License-Identifier: MIT */
/* Clock reads and RFC 3339 formatting/parsing in usec_t. */
#include "flota/time-util.h"

#include <errno.h>
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

int parse_timestamp(const char *s, usec_t *ret) {
        struct tm tm = {};
        uint64_t secs;

        if (isempty(s))
                return -EINVAL;
        if (parse_u64(s, &secs) == 0) {
                if (secs > UINT64_MAX / USEC_PER_SEC)
                        return -ERANGE;
                *ret = secs * USEC_PER_SEC;
                return 0;
        }
        const char *end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
        if (!end || !(streq(end, "Z") || streq(end, "+00:00")))
                return -EINVAL;
        time_t t = timegm(&tm);
        if (t < 0)
                return -ERANGE;
        *ret = (usec_t) t * USEC_PER_SEC;
        return 0;
}
