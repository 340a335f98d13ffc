/* SPDX-License-Identifier: MIT */
/* String helpers: strict parsers and validators for outside input. */
#include "flota/strutil.h"
#include "flota/alloc.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>

const char *startswith(const char *s, const char *prefix) {
        size_t n = strlen(prefix);
        return strncmp(s, prefix, n) == 0 ? s + n : NULL;
}

const char *startswith_no_case(const char *s, const char *prefix) {
        size_t n = strlen(prefix);
        return strncasecmp(s, prefix, n) == 0 ? s + n : NULL;
}

int parse_u64(const char *s, uint64_t *ret) {
        uint64_t v = 0;

        if (isempty(s) || strlen(s) > 20)
                return -EINVAL;
        for (const char *p = s; *p; p++) {
                if (*p < '0' || *p > '9')
                        return -EINVAL;
                unsigned d = (unsigned) (*p - '0');
                if (v > (UINT64_MAX - d) / 10)
                        return -ERANGE;
                v = v * 10 + d;
        }
        *ret = v;
        return 0;
}

int parse_u32(const char *s, uint32_t *ret) {
        uint64_t v;
        int r = parse_u64(s, &v);
        if (r < 0)
                return r;
        if (v > UINT32_MAX)
                return -ERANGE;
        *ret = (uint32_t) v;
        return 0;
}

int parse_i64(const char *s, int64_t *ret) {
        bool neg = false;
        uint64_t v;

        if (s && *s == '-') {
                neg = true;
                s++;
        }
        int r = parse_u64(s, &v);
        if (r < 0)
                return r;
        if (v > (uint64_t) INT64_MAX + (neg ? 1u : 0u))
                return -ERANGE;
        *ret = neg ? (int64_t) (0 - v) : (int64_t) v;
        return 0;
}

int parse_with_unit(const char *s, const char *units, const uint64_t *factors, uint64_t *ret) {
        char digits[24];
        uint64_t factor = 1, v;
        size_t n;

        if (isempty(s))
                return -EINVAL;
        n = strlen(s);
        const char *u = strchr(units, s[n - 1]);
        if (u && *u) {
                factor = factors[u - units];
                n--;
        }
        if (n == 0 || n >= sizeof(digits))
                return -EINVAL;
        memcpy(digits, s, n);
        digits[n] = 0;
        int r = parse_u64(digits, &v);
        if (r < 0)
                return r;
        if (v > UINT64_MAX / factor)
                return -ERANGE;
        *ret = v * factor;
        return 0;
}

int parse_size(const char *s, uint64_t *ret) {
        static const uint64_t factors[] = { 1u << 10, 1u << 10, 1u << 20, 1u << 20, 1u << 30, 1u << 30 };
        return parse_with_unit(s, "kKmMgG", factors, ret);
}

void hex_encode(const uint8_t *data, size_t n, char *out) {
        static const char digits[] = "0123456789abcdef";

        for (size_t i = 0; i < n; i++) {
                out[2 * i] = digits[data[i] >> 4];
                out[2 * i + 1] = digits[data[i] & 15];
        }
        out[2 * n] = 0;
}

int unhexchar(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -EINVAL;
}

int parse_hex_n(const char *s, size_t n, uint64_t *ret) {
        uint64_t v = 0;

        if (n > 16)
                return -EINVAL;
        for (size_t i = 0; i < n; i++) {
                int d = unhexchar(s[i]);
                if (d < 0)
                        return -EINVAL;
                v = v << 4 | (uint64_t) d;
        }
        *ret = v;
        return 0;
}

int parse_dec_n(const char *s, size_t n, unsigned *ret) {
        unsigned v = 0;

        if (n > 9)
                return -EINVAL;
        for (size_t i = 0; i < n; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return -EINVAL;
                v = v * 10 + (unsigned) (s[i] - '0');
        }
        *ret = v;
        return 0;
}

bool is_hex(const char *s, size_t len) {
        if (strlen(s) != len)
                return false;
        for (size_t i = 0; i < len; i++)
                if (!isxdigit((unsigned char) s[i]))
                        return false;
        return true;
}

bool strscpy(char *dst, size_t size, const char *src) {
        size_t n = strlen(src);
        bool fits = n < size;

        if (!fits)
                n = size - 1;
        memcpy(dst, src, n);
        dst[n] = 0;
        return fits;
}

char *ascii_strlower(char *s) {
        for (char *p = s; *p; p++)
                if (*p >= 'A' && *p <= 'Z')
                        *p = (char) (*p - 'A' + 'a');
        return s;
}

char *ascii_strupper(char *s) {
        for (char *p = s; *p; p++)
                if (*p >= 'a' && *p <= 'z')
                        *p = (char) (*p - 'a' + 'A');
        return s;
}

static bool chars_in(const char *s, size_t max, const char *extra) {
        size_t n = strlen(s);

        if (n == 0 || n > max)
                return false;
        for (const char *p = s; *p; p++)
                if (!isalnum((unsigned char) *p) && !strchr(extra, *p))
                        return false;
        return true;
}

bool name_is_valid(const char *s) {
        if (!s || !isalnum((unsigned char) s[0]))
                return false;
        return chars_in(s, 64, "._-");
}

bool version_is_valid(const char *s) {
        size_t n = s ? strlen(s) : 0;

        if (n == 0 || n > 64)
                return false;
        for (const char *p = s; *p; p++)
                if (*p <= ' ' || *p > '~' || *p == '"' || *p == '\'' || *p == '\\')
                        return false;
        return true;
}

bool label_is_valid(const char *s) {
        return s && chars_in(s, 64, "._:=/-");
}

bool streq_consttime(const char *a, const char *b) {
        size_t na = strlen(a), nb = strlen(b);
        unsigned char diff = na != nb;

        for (size_t i = 0; i < na; i++)
                diff |= (unsigned char) (a[i] ^ b[i < nb ? i : 0]);
        return diff == 0;
}

char *term_escape(const char *s) {
        size_t n = s ? strlen(s) : 0;
        char *out = xmalloc(4 * n + 1), *o = out;

        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char) s[i];
                /* C1 controls arrive in UTF-8 as 0xC2 0x80..0x9F */
                bool c1 = c == 0xc2 && i + 1 < n && (unsigned char) s[i + 1] >= 0x80 &&
                          (unsigned char) s[i + 1] <= 0x9f;
                if (c < 0x20 || c == 0x7f || c1) {
                        o += sprintf(o, "\\x%02x", c1 ? (unsigned char) s[++i] : c);
                } else if (c == '\\') {
                        *o++ = '\\';
                        *o++ = '\\';
                } else
                        *o++ = (char) c;
        }
        *o = 0;
        return out;
}

char *url_encode(const char *s) {
        static const char hex[] = "0123456789ABCDEF";
        size_t n = strlen(s);
        char *out = xmalloc(3 * n + 1), *o = out;

        for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
                if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                    strchr("-._~", *p))
                        *o++ = (char) *p;
                else {
                        *o++ = '%';
                        *o++ = hex[*p >> 4];
                        *o++ = hex[*p & 15];
                }
        }
        *o = 0;
        return out;
}
