/* SPDX-License-Identifier: MIT */
/*
 * flotad's JSON-lines check-in log: one object per line (see checkin_to_json()), read with the
 * in-place JSON scanner (flota/json-scan.h): a line needs only a few string members, found
 * without building a tree.
 */
#include <errno.h>
#include <string.h>

#include "flota/json-scan.h"
#include "flota/strutil.h"
#include "log-format-internal.h"

/* A string at the next non-blank byte; one with escapes is decoded into the parser's scratch. */
static int string(LogParser *lp, JsonScan *s, LogSlice *ret) {
        const char *text;
        size_t len, n;
        int r = json_scan_string(s, &text, &len);

        if (r < 0)
                return r;
        if (!memchr(text, '\\', len)) {
                *ret = (LogSlice) { .p = text, .n = len };
                return 0;
        }
        char *out = lp->scratch + lp->scratch_len;
        r = json_scan_unescape(text, len, out, LOG_SCRATCH_MAX - lp->scratch_len, &n);
        if (r < 0)
                return r;
        lp->scratch_len += n;
        *ret = (LogSlice) { .p = out, .n = n };
        return 0;
}

static bool key_is(const LogSlice *k, const char *name) {
        return k->n == strlen(name) && memcmp(k->p, name, k->n) == 0;
}

static bool name_slice_ok(const LogSlice *v) {
        if (v->n == 0 || v->n > 64)
                return false;
        for (size_t i = 0; i < v->n; i++)
                if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-", v->p[i]) ||
                    !v->p[i])
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
                return; /* null and numbers where strings are read: absent */
        for (size_t i = 0; i < ELEMENTSOF(wanted); i++)
                if (key_is(key, wanted[i].name)) {
                        *(LogSlice *) ((char *) m + wanted[i].offset) = *v;
                        return;
                }
}

/* {"key": value, ...} of flat members: strings, numbers and literals, kept as text. */
static int members(LogParser *lp, JsonScan *s, Members *m) {
        if (!json_scan_char(s, '{'))
                return -EINVAL;
        if (!json_scan_char(s, '}')) {
                do {
                        LogSlice key, v;
                        bool is_string;
                        if (string(lp, s, &key) < 0 || !json_scan_char(s, ':'))
                                return -EINVAL;
                        JsonScan peek = *s;
                        is_string = json_scan_char(&peek, '"');
                        if (json_scan_char(&peek, '{') || json_scan_char(&peek, '['))
                                return -EINVAL; /* nested values are not part of a check-in */
                        if (is_string ? string(lp, s, &v) < 0 : json_scan_skip(s, &v.p, &v.n) < 0)
                                return -EINVAL;
                        keep(m, &key, &v, is_string);
                } while (json_scan_char(s, ','));
                if (!json_scan_char(s, '}'))
                        return -EINVAL;
        }
        return json_scan_at_end(s) ? 0 : -EINVAL;
}

int log_parse_json(LogParser *p, const char *line, size_t len, LogRecord *ret, const char **why) {
        JsonScan s = json_scan_init(line, len);
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
