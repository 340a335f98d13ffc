/* SPDX-License-Identifier: MIT */
/* Clock reads, the calendar, and RFC 3339 formatting/parsing in usec_t: the one date parser. */
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

void sleep_usec(usec_t t) {
        struct timespec ts = { (time_t) (t / USEC_PER_SEC), (long) (t % USEC_PER_SEC) * 1000 };

        (void) nanosleep(&ts, NULL);
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

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
        y -= m <= 2;
        int64_t era = (y >= 0 ? y : y - 399) / 400;
        unsigned yoe = (unsigned) (y - era * 400);
        unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
        unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        return era * 146097 + (int64_t) doe - 719468;
}

static unsigned days_in_month(unsigned y, unsigned m) {
        static const unsigned days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
        bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        return m == 2 && leap ? 29 : days[m - 1];
}

int time_from_civil(const CivilTime *c, usec_t *ret) {
        if (c->month < 1 || c->month > 12 || c->day < 1 || c->day > days_in_month(c->year, c->month) ||
            c->hour > 23 || c->minute > 59 || c->second > 60 || c->usec >= USEC_PER_SEC)
                return -EINVAL;
        int64_t t = days_from_civil(c->year, c->month, c->day) * 86400 + c->hour * 3600 + c->minute * 60 +
                    c->second - c->utc_offset;
        if (t < 0)
                return -ERANGE;
        *ret = (usec_t) t * USEC_PER_SEC + c->usec;
        return 0;
}

static bool digits(const char *s, size_t n, unsigned *ret) {
        return parse_dec_n(s, n, ret) == 0;
}

size_t parse_fraction(const char *s, size_t n, usec_t *ret) {
        usec_t frac = 0, scale = USEC_PER_SEC;
        size_t i = 0;

        if (n == 0 || s[0] != '.')
                return 0;
        for (i = 1; i < n && s[i] >= '0' && s[i] <= '9'; i++)
                if (scale > 1) {
                        scale /= 10;
                        frac += (usec_t) (s[i] - '0') * scale;
                }
        if (i == 1)
                return 0;
        *ret = frac;
        return i;
}

int parse_utc_offset(const char *s, size_t n, int64_t *ret) {
        unsigned h, m;

        if (n == 1 && s[0] == 'Z') {
                *ret = 0;
                return 0;
        }
        if (n < 5 || (s[0] != '+' && s[0] != '-'))
                return -EINVAL;
        bool colon = n == 6 && s[3] == ':' && digits(s + 4, 2, &m);
        bool plain = n == 5 && digits(s + 3, 2, &m);
        if ((!colon && !plain) || !digits(s + 1, 2, &h) || h > 23 || m > 59)
                return -EINVAL;
        *ret = (s[0] == '-' ? -1 : 1) * (int64_t) (h * 3600 + m * 60);
        return 0;
}

int parse_timestamp_n(const char *s, size_t n, usec_t *ret) {
        CivilTime c = {};
        uint64_t secs = 0;
        size_t i;

        if (n == 0)
                return -EINVAL;
        for (i = 0; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
                if (secs > (UINT64_MAX / USEC_PER_SEC - 9) / 10)
                        return -ERANGE;
                secs = secs * 10 + (uint64_t) (s[i] - '0');
        }
        if (i == n) {
                *ret = secs * USEC_PER_SEC;
                return 0;
        }
        /* YYYY-MM-DDTHH:MM:SS */
        if (n < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' ||
            !digits(s, 4, &c.year) || !digits(s + 5, 2, &c.month) || !digits(s + 8, 2, &c.day) ||
            !digits(s + 11, 2, &c.hour) || !digits(s + 14, 2, &c.minute) || !digits(s + 17, 2, &c.second))
                return -EINVAL;
        i = 19 + parse_fraction(s + 19, n - 19, &c.usec);
        if (parse_utc_offset(s + i, n - i, &c.utc_offset) < 0)
                return -EINVAL;
        return time_from_civil(&c, ret);
}

int parse_timestamp(const char *s, usec_t *ret) {
        return parse_timestamp_n(s, s ? strlen(s) : 0, ret);
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
