/* SPDX-License-Identifier: MIT */
/*
 * The fast path for GET /api/v1/assignments pages as flotad writes them (members in its
 * order, no escapes in ids): read in place with the JSON scanner, no tree. A rollout reads a
 * quarter of a million of these devices every tick at fleet size.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "decode-internal.h"
#include "flota/alloc.h"
#include "flota/json-scan.h"
#include "flota/strutil.h"

static bool scan_key(JsonScan *s, const char *key) {
        const char *k;
        size_t n;
        return json_scan_string(s, &k, &n) == 0 && n == strlen(key) && memcmp(k, key, n) == 0 &&
               json_scan_char(s, ':');
}

static bool scan_int(JsonScan *s, int64_t min, int64_t *ret) {
        char buf[24];
        size_t n = 0;

        while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
                s->p++;
        /* digits only: a sign, a fraction or an exponent leaves it to the general decoder */
        while (s->p < s->end && n < sizeof(buf) - 1 && *s->p >= '0' && *s->p <= '9')
                buf[n++] = *s->p++;
        buf[n] = 0;
        int64_t v;
        if (n == 0 || parse_i64(buf, &v) < 0 || v < min)
                return false;
        *ret = v;
        return true;
}

static bool scan_text(JsonScan *s, char *buf, size_t size, bool nullable) {
        const char *t;
        size_t n;

        if (nullable && json_scan_literal(s, "null")) {
                buf[0] = 0;
                return true;
        }
        if (json_scan_string(s, &t, &n) < 0 || n >= size || memchr(t, '\\', n))
                return false;
        memcpy(buf, t, n);
        buf[n] = 0;
        return true;
}

static bool scan_time(JsonScan *s, usec_t *ret) {
        char buf[RFC3339_MAX + 16];
        usec_t t;

        if (!scan_text(s, buf, sizeof(buf), true))
                return false;
        if (!buf[0]) {
                *ret = 0;
                return true;
        }
        if (parse_timestamp(buf, &t) < 0)
                return false;
        *ret = t ? t : 1;
        return true;
}

static bool scan_assigned(JsonScan *s, AssignedDevice *d) {
        int64_t polls;

        if (!json_scan_char(s, '{') || !scan_key(s, "id") || !scan_text(s, d->id, sizeof(d->id), false) ||
            !d->id[0] || !json_scan_char(s, ',') || !scan_key(s, "polls") || !scan_int(s, 0, &polls) ||
            !json_scan_char(s, ',') || !scan_key(s, "first_seen") || !scan_time(s, &d->first_seen) ||
            !json_scan_char(s, ',') || !scan_key(s, "last_seen") || !scan_time(s, &d->last_seen) ||
            !json_scan_char(s, '}'))
                return false;
        d->polls = (uint64_t) polls;
        return true;
}

int json_scan_assignment_page(const char *text, size_t len, AssignmentPage *ret) {
        JsonScan s = json_scan_init(text, len);
        AssignmentPage p = {};
        size_t allocated = 0;

        if (!json_scan_char(&s, '{') || !scan_key(&s, "release") || !scan_int(&s, 1, &p.release) ||
            !json_scan_char(&s, ',') || !scan_key(&s, "devices") || !json_scan_char(&s, '['))
                return -EBADMSG;
        if (!json_scan_char(&s, ']')) {
                do {
                        if (p.n == LIST_MAX)
                                goto bad;
                        p.items = xgrow(p.items, &allocated, p.n + 1, sizeof(AssignedDevice));
                        if (!scan_assigned(&s, &p.items[p.n]))
                                goto bad;
                        p.n++;
                } while (json_scan_char(&s, ','));
                if (!json_scan_char(&s, ']'))
                        goto bad;
        }
        if (!json_scan_char(&s, ',') || !scan_key(&s, "next") ||
            !scan_text(&s, p.next, sizeof(p.next), true) || !json_scan_char(&s, '}') ||
            !json_scan_at_end(&s))
                goto bad;
        *ret = p;
        return 0;
bad:
        assignment_page_done(&p);
        return -EBADMSG;
}
