/* SPDX-License-Identifier: MIT */
/* JSON checked and re-laid out in one pass over the text, without a tree. */
#include "flota/json-scan.h"

#include <errno.h>
#include <string.h>

#include "flota/macro.h"
#include "flota/strutil.h"

static void skip_blank(JsonScan *s) {
        while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
                s->p++;
}

bool json_scan_char(JsonScan *s, char c) {
        skip_blank(s);
        if (s->p < s->end && *s->p == c) {
                s->p++;
                return true;
        }
        return false;
}

bool json_scan_literal(JsonScan *s, const char *word) {
        size_t n = strlen(word);

        skip_blank(s);
        if ((size_t) (s->end - s->p) < n || memcmp(s->p, word, n) != 0)
                return false;
        s->p += n;
        return true;
}

bool json_scan_at_end(JsonScan *s) {
        skip_blank(s);
        return s->p == s->end;
}

static void emit(FILE *out, const char *s, size_t n) {
        if (out)
                fwrite_unlocked(s, 1, n, out);
}

static void emit_tabs(FILE *out, unsigned n) {
        static const char tabs[JSON_SCAN_DEPTH_MAX + 1] = { [0 ... JSON_SCAN_DEPTH_MAX - 1] = '\t' };
        emit(out, tabs, n);
}

/* After a backslash: one of "\/bfnrt, or u and four hex digits. Returns the escape's length. */
static size_t escape_length(const char *p, const char *end) {
        if (p >= end)
                return 0;
        if (*p && strchr("\"\\/bfnrt", *p))
                return 1;
        uint64_t code;
        if (*p != 'u' || end - p < 5 || parse_hex_n(p + 1, 4, &code) < 0)
                return 0;
        return 5;
}

int json_scan_string(JsonScan *s, const char **ret, size_t *ret_len) {
        /* the bytes that end a run of plain ones: the closing quote, an escape, control characters */
        static const bool special[256] = { [0 ... 0x1f] = true, ['"'] = true, ['\\'] = true };

        if (!json_scan_char(s, '"'))
                return -EBADMSG;
        const char *start = s->p;
        for (;;) {
                while (s->p < s->end && !special[(unsigned char) *s->p])
                        s->p++;
                if (s->p >= s->end || (unsigned char) *s->p < 0x20)
                        return -EBADMSG;
                if (*s->p == '"')
                        break;
                size_t n = escape_length(s->p + 1, s->end);
                if (n == 0)
                        return -EBADMSG;
                s->p += 1 + n;
        }
        *ret = start;
        *ret_len = (size_t) (s->p - start);
        s->p++;
        return 0;
}

static size_t utf8_put(uint32_t c, char out[static 4]) {
        if (c < 0x80) {
                out[0] = (char) c;
                return 1;
        }
        if (c < 0x800) {
                out[0] = (char) (0xc0 | (c >> 6));
                out[1] = (char) (0x80 | (c & 0x3f));
                return 2;
        }
        if (c < 0x10000) {
                out[0] = (char) (0xe0 | (c >> 12));
                out[1] = (char) (0x80 | ((c >> 6) & 0x3f));
                out[2] = (char) (0x80 | (c & 0x3f));
                return 3;
        }
        out[0] = (char) (0xf0 | (c >> 18));
        out[1] = (char) (0x80 | ((c >> 12) & 0x3f));
        out[2] = (char) (0x80 | ((c >> 6) & 0x3f));
        out[3] = (char) (0x80 | (c & 0x3f));
        return 4;
}

/* The character of \uXXXX at p (p at the 'u'), joined with a low surrogate after it; its escape's length. */
static size_t unicode_escape(const char *p, const char *end, uint32_t *ret) {
        uint64_t hi, lo;

        if (end - p < 5 || parse_hex_n(p + 1, 4, &hi) < 0)
                return 0;
        *ret = (uint32_t) hi;
        if (hi >= 0xdc00 && hi <= 0xdfff)
                *ret = 0xfffd;
        else if (hi >= 0xd800 && hi <= 0xdbff) {
                if (end - p >= 11 && p[5] == '\\' && p[6] == 'u' && parse_hex_n(p + 7, 4, &lo) == 0 &&
                    lo >= 0xdc00 && lo <= 0xdfff) {
                        *ret = 0x10000 + (uint32_t) (((hi - 0xd800) << 10) | (lo - 0xdc00));
                        return 11;
                }
                *ret = 0xfffd;
        }
        return 5;
}

int json_scan_unescape(const char *text, size_t len, char *buf, size_t size, size_t *ret_len) {
        const char *p = text, *end = text + len;
        size_t k = 0;

        while (p < end) {
                char one[4];
                size_t n = 1, used = 1;
                one[0] = *p;
                if (*p == '\\') {
                        if (end - p < 2)
                                return -EBADMSG;
                        switch (p[1]) {
                        case '"':
                        case '\\':
                        case '/': one[0] = p[1]; break;
                        case 'b': one[0] = '\b'; break;
                        case 'f': one[0] = '\f'; break;
                        case 'n': one[0] = '\n'; break;
                        case 'r': one[0] = '\r'; break;
                        case 't': one[0] = '\t'; break;
                        case 'u': {
                                uint32_t c;
                                used = unicode_escape(p + 1, end, &c);
                                if (used == 0)
                                        return -EBADMSG;
                                n = utf8_put(c, one);
                                break;
                        }
                        default: return -EBADMSG;
                        }
                        used++;
                }
                if (size - k < n)
                        return -E2BIG;
                memcpy(buf + k, one, n);
                k += n;
                p += used;
        }
        *ret_len = k;
        return 0;
}

int json_scan_skip(JsonScan *s, const char **ret, size_t *ret_len) {
        skip_blank(s);
        const char *start = s->p;
        int r = json_scan_value(s, 0, NULL);

        if (r < 0)
                return r;
        *ret = start;
        *ret_len = (size_t) (s->p - start);
        return 0;
}

static int copy_string(JsonScan *s, FILE *out) {
        const char *text;
        size_t len;
        int r = json_scan_string(s, &text, &len);
        if (r < 0)
                return r;
        emit(out, text - 1, len + 2);
        return 0;
}

static size_t digits(const char *p, const char *end) {
        size_t n = 0;
        while (p + n < end && p[n] >= '0' && p[n] <= '9')
                n++;
        return n;
}

/* -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
static int copy_number(JsonScan *s, FILE *out) {
        const char *start = s->p, *p = s->p;
        size_t n;

        if (p < s->end && *p == '-')
                p++;
        n = digits(p, s->end);
        if (n == 0 || (n > 1 && *p == '0'))
                return -EBADMSG;
        p += n;
        if (p < s->end && *p == '.') {
                n = digits(++p, s->end);
                if (n == 0)
                        return -EBADMSG;
                p += n;
        }
        if (p < s->end && (*p == 'e' || *p == 'E')) {
                p++;
                if (p < s->end && (*p == '+' || *p == '-'))
                        p++;
                n = digits(p, s->end);
                if (n == 0)
                        return -EBADMSG;
                p += n;
        }
        emit(out, start, (size_t) (p - start));
        s->p = p;
        return 0;
}

static int copy_literal(JsonScan *s, FILE *out) {
        static const char *const literals[] = { "true", "false", "null" };

        for (size_t i = 0; i < ELEMENTSOF(literals); i++)
                if (json_scan_literal(s, literals[i])) {
                        emit(out, literals[i], strlen(literals[i]));
                        return 0;
                }
        return -EBADMSG;
}

/* {"k": v, ...}: "{\n", each member on its own line depth+1 tabs in, "}" depth tabs in. */
static int copy_object(JsonScan *s, unsigned depth, FILE *out) {
        int r;

        emit(out, "{\n", 2);
        if (!json_scan_char(s, '}')) {
                do {
                        emit_tabs(out, depth + 1);
                        r = copy_string(s, out);
                        if (r < 0)
                                return r;
                        if (!json_scan_char(s, ':'))
                                return -EBADMSG;
                        emit(out, ":\t", 2);
                        r = json_scan_value(s, depth + 1, out);
                        if (r < 0)
                                return r;
                        bool more = json_scan_char(s, ',');
                        emit(out, more ? ",\n" : "\n", more ? 2 : 1);
                        if (!more)
                                break;
                } while (true);
                if (!json_scan_char(s, '}'))
                        return -EBADMSG;
        }
        emit_tabs(out, depth);
        emit(out, "}", 1);
        return 0;
}

/* [v, ...] on one line; elements are laid out one level deeper. */
static int copy_array(JsonScan *s, unsigned depth, FILE *out) {
        int r;

        emit(out, "[", 1);
        if (!json_scan_char(s, ']')) {
                do {
                        r = json_scan_value(s, depth + 1, out);
                        if (r < 0)
                                return r;
                        bool more = json_scan_char(s, ',');
                        if (more)
                                emit(out, ", ", 2);
                        else
                                break;
                } while (true);
                if (!json_scan_char(s, ']'))
                        return -EBADMSG;
        }
        emit(out, "]", 1);
        return 0;
}

int json_scan_value(JsonScan *s, unsigned depth, FILE *out) {
        if (depth >= JSON_SCAN_DEPTH_MAX)
                return -ELOOP;
        skip_blank(s);
        if (s->p >= s->end)
                return -EBADMSG;
        switch (*s->p) {
        case '{': s->p++; return copy_object(s, depth, out);
        case '[': s->p++; return copy_array(s, depth, out);
        case '"': return copy_string(s, out);
        case '-':
        case '0' ... '9': return copy_number(s, out);
        default: return copy_literal(s, out);
        }
}
