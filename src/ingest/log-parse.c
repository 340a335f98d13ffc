/* SPDX-License-Identifier: MIT */
/*
 * The poll-log line parser. One pass over the line: each field runs to the literal text that
 * follows it in the format, found with memchr. Nothing is allocated per line; the time of the
 * previous line is cached, since consecutive lines nearly always share their second.
 */
#include <errno.h>
#include <string.h>

#include "flota/alloc.h"
#include "flota/hash.h"
#include "flota/mac.h"
#include "flota/strutil.h"
#include "log-format-internal.h"

LogParser *log_parser_new(const LogFormat *f) {
        LogParser *p = xcalloc(1, sizeof(LogParser));
        p->f = f;
        return p;
}

LogParser *log_parser_free(LogParser *p) {
        free(p);
        return NULL;
}

/* The fields of one line, before the device is chosen. */
typedef struct Fields {
        LogSlice mac[_PLATFORM_MAX], base_mac, version[_PLATFORM_MAX], md5[_PLATFORM_MAX];
        LogSlice query_id, query_version;
        LogSlice product; /* from the request target (LogFormat.product) */
        Platform ua_platform;
} Fields;

static int bad(const char **why, const char *text) {
        *why = text;
        return -EINVAL;
}

/* Finds lit in [p, end); a quote preceded by an odd number of backslashes is escaped (Apache). */
static const char *find_lit(const char *p, const char *end, const char *lit, size_t n) {
        while (p < end) {
                const char *q = memchr(p, lit[0], (size_t) (end - p));
                if (!q || (size_t) (end - q) < n)
                        return NULL;
                size_t k = 1;
                while (k < n && q[k] == lit[k])
                        k++;
                if (k == n) {
                        size_t backslashes = 0;
                        while (q - backslashes > p && q[-1 - (ptrdiff_t) backslashes] == '\\')
                                backslashes++;
                        if (lit[0] != '"' || backslashes % 2 == 0)
                                return q;
                }
                p = q + 1;
        }
        return NULL;
}

static bool digits(const char *s, size_t n, unsigned *ret) {
        return parse_dec_n(s, n, ret) == 0;
}

static LogSlice value(const char *p, size_t n) {
        if (n == 1 && p[0] == '-')
                n = 0;
        return (LogSlice) { .p = p, .n = n };
}

static unsigned status_from(const char *s, size_t n) {
        unsigned v;
        return n == 3 && digits(s, 3, &v) ? v : 0;
}

/* Copies s into the scratch space decoding %XX; the copy, or an empty slice when it does not fit. */
static LogSlice unescape_query(LogParser *p, const char *s, size_t n) {
        char *out = p->scratch + p->scratch_len;
        size_t k = 0;

        if (n > LOG_SCRATCH_MAX - p->scratch_len)
                return (LogSlice) {};
        for (size_t i = 0; i < n; i++) {
                uint64_t byte;
                if (s[i] == '%' && i + 2 < n && parse_hex_n(s + i + 1, 2, &byte) == 0) {
                        out[k++] = (char) byte;
                        i += 2;
                } else
                        out[k++] = s[i] == '+' ? ' ' : s[i];
        }
        p->scratch_len += k;
        return (LogSlice) { .p = out, .n = k };
}

/* The query form of a poll (?s=<id>&v=<version>) in a request line or URI. */
static void query_fields(LogParser *p, const char *s, size_t n, Fields *f) {
        const char *q = memchr(s, '?', n), *end = s + n;

        if (!q)
                return;
        const char *sp = memchr(q, ' ', (size_t) (end - q));
        if (sp)
                end = sp;
        for (const char *k = q + 1; k < end;) {
                const char *amp = memchr(k, '&', (size_t) (end - k));
                const char *stop = amp ? amp : end;
                if (stop - k > 2 && k[1] == '=' && (k[0] == 's' || k[0] == 'v')) {
                        LogSlice v = unescape_query(p, k + 2, (size_t) (stop - k - 2));
                        if (k[0] == 's')
                                f->query_id = v;
                        else
                                f->query_version = v;
                }
                k = stop + 1;
        }
}

/* A product name: 1..64 bytes of [A-Za-z0-9._-]. */
static bool product_ok(const char *s, size_t n) {
        if (n == 0 || n > 64)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-", s[i]) ||
                    !s[i])
                        return false;
        return true;
}

/* The value of query parameter key in [q, end) (q just after '?'), or an empty slice. */
static LogSlice query_value(const char *q, const char *end, const char *key) {
        size_t key_len = strlen(key);

        for (const char *k = q; k < end;) {
                const char *amp = memchr(k, '&', (size_t) (end - k));
                const char *stop = amp ? amp : end;
                if ((size_t) (stop - k) > key_len && memcmp(k, key, key_len) == 0 && k[key_len] == '=')
                        return (LogSlice) { .p = k + key_len + 1, .n = (size_t) (stop - k - key_len - 1) };
                k = stop + 1;
        }
        return (LogSlice) {};
}

/* The product a request target ("/update/door?s=...") names by the format's pattern, into f->product. */
static void product_from_target(const ProductPattern *pp, const char *s, size_t n, Fields *f) {
        const char *end = s + n, *q = memchr(s, '?', n);
        const char *path_end = q ? q : end;
        size_t path_len = (size_t) (path_end - s), prefix = pp->path ? strlen(pp->path) : 0;
        LogSlice v = {};

        if (!pp->path)
                return;
        if (pp->key) {
                if (path_len != prefix || memcmp(s, pp->path, prefix) != 0 || !q)
                        return;
                v = query_value(q + 1, end, pp->key);
        } else {
                if (path_len < prefix || memcmp(s, pp->path, prefix) != 0)
                        return;
                const char *name = s + prefix, *slash = memchr(name, '/', (size_t) (path_end - name));
                const char *name_end = slash ? slash : path_end;
                size_t after = strlen(pp->after);
                if ((size_t) (path_end - name_end) != after || memcmp(name_end, pp->after, after) != 0)
                        return;
                v = (LogSlice) { .p = name, .n = (size_t) (name_end - name) };
        }
        if (product_ok(v.p, v.n))
                f->product = v;
}

/* The target of a request line ("GET /update/door HTTP/1.1" -> "/update/door"), or of a URI field. */
static void product_from(const LogParser *p, LogVar var, const char *s, size_t n, Fields *f) {
        const char *end = s + n;

        if (var == LOG_VAR_REQUEST) {
                const char *sp = memchr(s, ' ', n);
                if (!sp)
                        return;
                s = sp + 1;
                const char *sp2 = memchr(s, ' ', (size_t) (end - s));
                if (sp2)
                        end = sp2;
        }
        product_from_target(&p->f->product, s, (size_t) (end - s), f);
}

static int take_field(LogParser *p, const LogField *field, const char *s, size_t n, Fields *f,
                      LogRecord *ret, const char **why) {
        LogSlice v = value(s, n);
        Platform pl = field->platform;

        switch (field->var) {
        case LOG_VAR_ADDR: ret->addr = v; break;
        case LOG_VAR_TIME_LOCAL:
        case LOG_VAR_TIME_ISO8601:
        case LOG_VAR_MSEC:
                if (log_parse_time(p, (int) field->var, s, n, &ret->at) < 0)
                        return bad(why, "malformed time");
                break;
        case LOG_VAR_STATUS: ret->status = (int) status_from(s, n); break;
        case LOG_VAR_REQUEST:
        case LOG_VAR_URI:
                query_fields(p, s, n, f);
                product_from(p, field->var, s, n, f);
                break;
        case LOG_VAR_USER_AGENT:
                if (n >= 6 && memcmp(s, "ESP32-", 6) == 0)
                        f->ua_platform = PLATFORM_ESP32;
                else if (n >= 8 && memcmp(s, "ESP8266-", 8) == 0)
                        f->ua_platform = PLATFORM_ESP8266;
                break;
        case LOG_VAR_MAC: f->mac[pl] = v; break;
        case LOG_VAR_BASE_MAC: f->base_mac = v; break;
        case LOG_VAR_VERSION: f->version[pl] = v; break;
        case LOG_VAR_SKETCH_MD5: f->md5[pl] = v; break;
        default: break;
        }
        return 0;
}

/* Chooses the identity as flotad does: BASE-MAC, then STA-MAC, then the query's s=. */
static int finish_record(const Fields *f, LogRecord *ret, const char **why) {
        const LogSlice *id = NULL;
        Platform pl = f->ua_platform;
        bool mac_only = true;

        if (f->base_mac.n) {
                id = &f->base_mac;
                pl = PLATFORM_ESP32;
        } else if (f->mac[PLATFORM_ESP32].n) {
                id = &f->mac[PLATFORM_ESP32];
                pl = PLATFORM_ESP32;
        } else if (f->mac[PLATFORM_ESP8266].n) {
                id = &f->mac[PLATFORM_ESP8266];
                pl = PLATFORM_ESP8266;
        } else if (f->query_id.n) {
                id = &f->query_id;
                mac_only = false;
        }
        if (!id)
                return 0; /* not a device poll */
        if (log_device_from(id, mac_only, ret) < 0)
                return bad(why, "malformed device MAC or id");
        ret->platform = pl;
        ret->product = f->product;
        if (pl >= 0) {
                ret->version = f->version[pl];
                ret->sketch_md5 = f->md5[pl];
        }
        if (!ret->version.n)
                ret->version = f->query_version;
        if (!log_version_ok(&ret->version)) {
                ret->device[0] = 0;
                return bad(why, "malformed version");
        }
        if (!log_addr_ok(&ret->addr))
                ret->addr = (LogSlice) {};
        if (ret->sketch_md5.n != MD5_HEX_LEN)
                ret->sketch_md5 = (LogSlice) {};
        return 0;
}

static int parse_text(LogParser *p, const char *line, size_t len, LogRecord *ret, const char **why) {
        const LogFormat *fmt = p->f;
        const char *pos = line, *end = line + len;
        Fields f = { .ua_platform = _PLATFORM_INVALID };

        if (len < fmt->prefix_len || memcmp(line, fmt->prefix, fmt->prefix_len) != 0)
                return bad(why, "does not start like the format");
        pos += fmt->prefix_len;
        for (size_t i = 0; i < fmt->n_fields; i++) {
                const LogField *field = &fmt->fields[i];
                const char *stop = end;
                if (field->lit_len > 0) {
                        stop = find_lit(pos, end, field->lit, field->lit_len);
                        if (!stop)
                                return bad(why, "fewer fields than the format");
                }
                int r = take_field(p, field, pos, (size_t) (stop - pos), &f, ret, why);
                if (r < 0)
                        return r;
                pos = stop + field->lit_len;
        }
        if (pos != end)
                return bad(why, "more text than the format");
        return finish_record(&f, ret, why);
}

int log_parse_line(LogParser *p, const char *line, size_t len, LogRecord *ret, const char **why) {
        *ret = (LogRecord) { .platform = _PLATFORM_INVALID };
        p->scratch_len = 0;
        *why = NULL;
        if (len > 0 && line[len - 1] == '\r')
                len--;
        int r = p->f->json ? log_parse_json(p, line, len, ret, why) : parse_text(p, line, len, ret, why);
        ret->in_scratch = p->scratch_len > 0;
        return r;
}

#define GUESS_LINES 64

/* How many device polls the format reads from the lines; -1 once a line does not fit it. */
static int count_polls(LogParser *p, const char *text, size_t len) {
        const char *pos = text, *end = text + len;
        int polls = 0;

        for (int i = 0; i < GUESS_LINES && pos < end; i++) {
                const char *nl = memchr(pos, '\n', (size_t) (end - pos));
                const char *stop = nl ? nl : end;
                LogRecord rec;
                const char *why;
                if (stop > pos && log_parse_line(p, pos, (size_t) (stop - pos), &rec, &why) < 0)
                        return -1;
                polls += rec.device[0] != 0;
                pos = stop + 1;
        }
        return polls;
}

int log_format_guess(const char *text, size_t len, const LogPreset **ret) {
        const LogPreset *best = NULL;
        int best_polls = 0;

        for (const LogPreset *preset = log_format_presets(); preset->name; preset++) {
                _cleanup_(log_format_freep) LogFormat *f = NULL;
                char err[LOG_FORMAT_ERROR_MAX];
                if (log_format_compile(preset->name, &f, err) < 0)
                        continue;
                _cleanup_(log_parser_freep) LogParser *p = log_parser_new(f);
                int polls = count_polls(p, text, len);
                if (polls > best_polls) {
                        best = preset;
                        best_polls = polls;
                }
        }
        if (!best)
                return -ENODATA;
        *ret = best;
        return 0;
}
