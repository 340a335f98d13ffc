/* SPDX-License-Identifier: MIT */
/*
 * flotad's JSON-lines check-in log: one flat object per line (see checkin_to_json()). A small
 * scanner rather than a JSON library: the ingest layer sits below json, and a line needs only
 * a few string members, found without building a tree.
 */
#include <errno.h>
#include <string.h>

#include "flota/strutil.h"
#include "log-format-internal.h"

typedef struct Scan {
        const char *p, *end;
} Scan;

static void skip_ws(Scan *s) {
        while (s->p < s->end && (*s->p == ' ' || *s->p == '\t'))
                s->p++;
}

static bool eat(Scan *s, char c) {
        skip_ws(s);
        if (s->p < s->end && *s->p == c) {
                s->p++;
                return true;
        }
        return false;
}

/* A string at s->p (after the opening quote was seen). Escaped strings are decoded into scratch. */
static int string(LogParser *lp, Scan *s, LogSlice *ret) {
        const char *start = s->p;
        const char *q = start;

        while (q < s->end && *q != '"' && *q != '\\')
                q++;
        if (q < s->end && *q == '"') {
                *ret = (LogSlice) { .p = start, .n = (size_t) (q - start) };
                s->p = q + 1;
                return 0;
        }
        char *out = lp->scratch + lp->scratch_len;
        size_t k = 0, room = LOG_SCRATCH_MAX - lp->scratch_len;
        for (q = start; q < s->end && *q != '"'; q++) {
                char c = *q;
                if ((unsigned char) c < 0x20)
                        return -EINVAL;
                if (c == '\\') {
                        if (++q >= s->end)
                                return -EINVAL;
                        switch (*q) {
                        case '"': case '\\': case '/': c = *q; break;
                        case 'b': c = '\b'; break;
                        case 'f': c = '\f'; break;
                        case 'n': c = '\n'; break;
                        case 'r': c = '\r'; break;
                        case 't': c = '\t'; break;
                        case 'u': {
                                uint64_t u;
                                if (s->end - q <= 4 || parse_hex_n(q + 1, 4, &u) < 0)
                                        return -EINVAL;
                                c = u < 0x80 ? (char) u : '?';     /* the fields read here are ASCII */
                                q += 4;
                                break;
                        }
                        default:
                                return -EINVAL;
                        }
                }
                if (k == room)
                        return -E2BIG;
                out[k++] = c;
        }
        if (q >= s->end)
                return -EINVAL;
        lp->scratch_len += k;
        *ret = (LogSlice) { .p = out, .n = k };
        s->p = q + 1;
        return 0;
}

/* A number, true, false or null: kept as its text. Nested values are not part of a check-in. */
static int scalar(Scan *s, LogSlice *ret) {
        const char *start = s->p;

        while (s->p < s->end && (strchr("+-.eE", *s->p) || (*s->p >= '0' && *s->p <= '9') ||
                                 (*s->p >= 'a' && *s->p <= 'z')))
                s->p++;
        if (s->p == start)
                return -EINVAL;
        *ret = (LogSlice) { .p = start, .n = (size_t) (s->p - start) };
        return 0;
}

static bool key_is(const LogSlice *k, const char *name) {
        return k->n == strlen(name) && memcmp(k->p, name, k->n) == 0;
}

static bool name_slice_ok(const LogSlice *v) {
        if (v->n == 0 || v->n > 64)
                return false;
        for (size_t i = 0; i < v->n; i++)
                if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-", v->p[i]) || !v->p[i])
                        return false;
        return true;
}

static bool slice_is(const LogSlice *v, const char *text) {
        return key_is(v, text);
}

typedef struct Members {
        LogSlice at, device, product, platform, version, sketch_md5, ip, status;
} Members;

static void keep(Members *m, const LogSlice *key, const LogSlice *v, bool is_string) {
        static const struct {
                const char *name;
                size_t offset;
        } wanted[] = {
                { "at", offsetof(Members, at) },           { "device", offsetof(Members, device) },
                { "product", offsetof(Members, product) }, { "platform", offsetof(Members, platform) },
                { "version", offsetof(Members, version) }, { "sketch_md5", offsetof(Members, sketch_md5) },
                { "ip", offsetof(Members, ip) },
        };

        if (key_is(key, "status")) {
                m->status = *v;
                return;
        }
        if (!is_string)
                return;                 /* null and numbers where strings are read: absent */
        for (size_t i = 0; i < ELEMENTSOF(wanted); i++)
                if (key_is(key, wanted[i].name)) {
                        *(LogSlice *) ((char *) m + wanted[i].offset) = *v;
                        return;
                }
}

static int member_list(LogParser *lp, Scan *s, Members *m);

static int members(LogParser *lp, Scan *s, Members *m) {
        if (!eat(s, '{'))
                return -EINVAL;
        if (!eat(s, '}')) {
                int r = member_list(lp, s, m);
                if (r < 0)
                        return r;
        }
        skip_ws(s);
        return s->p == s->end ? 0 : -EINVAL;
}

static int member_list(LogParser *lp, Scan *s, Members *m) {
        do {
                LogSlice key, v;
                bool is_string;
                if (!eat(s, '"') || string(lp, s, &key) < 0 || !eat(s, ':'))
                        return -EINVAL;
                skip_ws(s);
                is_string = eat(s, '"');
                if ((is_string ? string(lp, s, &v) : scalar(s, &v)) < 0)
                        return -EINVAL;
                keep(m, &key, &v, is_string);
        } while (eat(s, ','));
        return eat(s, '}') ? 0 : -EINVAL;
}

int log_parse_json(LogParser *p, const char *line, size_t len, LogRecord *ret, const char **why) {
        Scan s = { .p = line, .end = line + len };
        Members m = {};

        if (members(p, &s, &m) < 0) {
                *why = "not a JSON object of flat members";
                return -EINVAL;
        }
        if (!m.device.n)
                return 0;
        if (log_device_from(&m.device, false, ret) < 0) {
                *why = "malformed device id";
                return -EINVAL;
        }
        if (m.at.n && log_parse_time(p, LOG_VAR_TIME_ISO8601, m.at.p, m.at.n, &ret->at) < 0) {
                ret->device[0] = 0;
                *why = "malformed time";
                return -EINVAL;
        }
        if (!log_version_ok(&m.version)) {
                ret->device[0] = 0;
                *why = "malformed version";
                return -EINVAL;
        }
        ret->version = m.version;
        ret->sketch_md5 = m.sketch_md5.n == 32 ? m.sketch_md5 : (LogSlice) {};
        ret->addr = log_addr_ok(&m.ip) ? m.ip : (LogSlice) {};
        ret->product = name_slice_ok(&m.product) ? m.product : (LogSlice) {};
        ret->platform = slice_is(&m.platform, "esp8266") ? PLATFORM_ESP8266
                        : slice_is(&m.platform, "esp32") ? PLATFORM_ESP32
                                                        : _PLATFORM_INVALID;
        ret->status = m.status.n == 3 ? (m.status.p[0] - '0') * 100 + (m.status.p[1] - '0') * 10 +
                                                (m.status.p[2] - '0')
                                      : 0;
        return 0;
}
