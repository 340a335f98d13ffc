/* SPDX-License-Identifier: MIT */
/*
 * Check-in ids read exactly. cJSON keeps a number as a double, exact only below 2^53, and a
 * check-in id on PostgreSQL is a feed position, (transaction id << 16) | index, which passes
 * 2^53 once the cluster has run 2^37 writing transactions. So the ids and "next" of a
 * check-in list are read a second time, as 64-bit integers from the text itself.
 */
#include <errno.h>
#include <string.h>

#include "decode-internal.h"
#include "flota/json-scan.h"
#include "flota/strutil.h"

static int skip(JsonScan *s) {
        const char *t;
        size_t n;
        return json_scan_skip(s, &t, &n);
}

/* The next member's key (its raw text); false at the object's end or on bad syntax. */
static bool next_key(JsonScan *s, bool first, const char **key, size_t *len) {
        if (!first && !json_scan_char(s, ','))
                return false;
        return json_scan_string(s, key, len) == 0 && json_scan_char(s, ':');
}

static bool key_is(const char *key, size_t len, const char *want) {
        return len == strlen(want) && memcmp(key, want, len) == 0;
}

/* A value that is an integer, as digits; null reads as 0. */
static int scan_id(JsonScan *s, int64_t *ret) {
        const char *t;
        size_t n;
        char buf[24];

        if (json_scan_literal(s, "null")) {
                *ret = 0;
                return 0;
        }
        if (json_scan_skip(s, &t, &n) < 0 || n == 0 || n >= sizeof(buf))
                return -EBADMSG;
        for (size_t i = 0; i < n; i++)
                if (t[i] < '0' || t[i] > '9')
                        return -EBADMSG;
        memcpy(buf, t, n);
        buf[n] = 0;
        return parse_i64(buf, ret) < 0 ? -EBADMSG : 0;
}

static int scan_checkin(JsonScan *s, Checkin *c) {
        const char *key;
        size_t len;

        if (!json_scan_char(s, '{'))
                return -EBADMSG;
        if (json_scan_char(s, '}'))
                return 0;
        for (bool first = true;; first = false) {
                if (!first && json_scan_char(s, '}'))
                        return 0;
                if (!next_key(s, first, &key, &len))
                        return -EBADMSG;
                int r = key_is(key, len, "id") ? scan_id(s, &c->id) : skip(s);
                if (r < 0)
                        return r;
        }
}

static int scan_checkins(JsonScan *s, CheckinList *l) {
        if (!json_scan_char(s, '['))
                return -EBADMSG;
        for (size_t i = 0;; i++) {
                if (json_scan_char(s, ']'))
                        return i == l->n ? 0 : -EBADMSG;
                if ((i > 0 && !json_scan_char(s, ',')) || i >= l->n)
                        return -EBADMSG;
                int r = scan_checkin(s, &l->items[i]);
                if (r < 0)
                        return r;
        }
}

int json_checkin_list_exact_ids(const char *text, size_t len, CheckinList *l) {
        JsonScan s = json_scan_init(text, len);
        const char *key;
        size_t klen;

        if (!json_scan_char(&s, '{'))
                return -EBADMSG;
        for (bool first = true;; first = false) {
                if (json_scan_char(&s, '}'))
                        return 0;
                if (!next_key(&s, first, &key, &klen))
                        return -EBADMSG;
                int r = key_is(key, klen, "checkins") ? scan_checkins(&s, l)
                        : key_is(key, klen, "next")   ? scan_id(&s, &l->next)
                                                      : skip(&s);
                if (r < 0)
                        return r;
        }
}
