/* SPDX-License-Identifier: MIT */
/* A compact JSON writer that gives cJSON_PrintUnformatted()'s text without building a tree. */
#include "flota/json-writer.h"

#include <stdlib.h>
#include <string.h>

#include "flota/alloc.h"

void json_writer_done(JsonWriter *w) {
        free(w->buf);
        *w = (JsonWriter) {};
}

char *json_writer_steal(JsonWriter *w, size_t *ret_len) {
        char *text = w->buf ? w->buf : xstrdup("");

        if (ret_len)
                *ret_len = w->len;
        *w = (JsonWriter) {};
        return text;
}

static char *reserve(JsonWriter *w, size_t n) {
        if (w->len + n + 1 > w->allocated)
                w->buf = xgrow(w->buf, &w->allocated, w->len + n + 1, 1);
        return w->buf + w->len;
}

static void put(JsonWriter *w, const char *s, size_t n) {
        memcpy(reserve(w, n), s, n);
        w->len += n;
        w->buf[w->len] = 0;
}

/* Before a value or a member: the comma that separates it from the previous one. */
static void separate(JsonWriter *w) {
        if (w->need_comma)
                put(w, ",", 1);
        w->need_comma = true;
}

void json_write_open(JsonWriter *w, char bracket) {
        separate(w);
        put(w, &bracket, 1);
        w->need_comma = false;
}

void json_write_close(JsonWriter *w, char bracket) {
        put(w, &bracket, 1);
        w->need_comma = true;
}

/* The quoted string with cJSON's escapes: \" \\ \b \f \n \r \t, other bytes below 0x20 as \u00xx. */
static void put_quoted(JsonWriter *w, const char *s) {
        static const char hex[] = "0123456789abcdef";
        size_t n = strlen(s);
        /* the worst case, every byte as \u00xx */
        char *o = reserve(w, 6 * n + 2), *start = o;

        *o++ = '"';
        for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
                unsigned char c = *p;
                if (c >= 0x20 && c != '"' && c != '\\') {
                        *o++ = (char) c;
                        continue;
                }
                *o++ = '\\';
                switch (c) {
                case '"': *o++ = '"'; break;
                case '\\': *o++ = '\\'; break;
                case '\b': *o++ = 'b'; break;
                case '\f': *o++ = 'f'; break;
                case '\n': *o++ = 'n'; break;
                case '\r': *o++ = 'r'; break;
                case '\t': *o++ = 't'; break;
                default:
                        memcpy(o, "u00", 3);
                        o[3] = hex[c >> 4];
                        o[4] = hex[c & 15];
                        o += 5;
                }
        }
        *o++ = '"';
        w->len += (size_t) (o - start);
        w->buf[w->len] = 0;
}

void json_write_key(JsonWriter *w, const char *key) {
        separate(w);
        put_quoted(w, key);
        put(w, ":", 1);
        w->need_comma = false;
}

void json_write_string(JsonWriter *w, const char *s) {
        separate(w);
        put_quoted(w, s);
}

void json_write_string_or_null(JsonWriter *w, const char *s) {
        if (!s || !*s)
                json_write_null(w);
        else
                json_write_string(w, s);
}

void json_write_int(JsonWriter *w, int64_t v) {
        /* by hand, from the end: printf's machinery costs more than the rest of a device */
        char digits[24], *p = digits + sizeof(digits);
        uint64_t u = v < 0 ? -(uint64_t) v : (uint64_t) v;

        do
                *--p = (char) ('0' + u % 10);
        while ((u /= 10) > 0);
        if (v < 0)
                *--p = '-';
        separate(w);
        put(w, p, (size_t) (digits + sizeof(digits) - p));
}

void json_write_null(JsonWriter *w) {
        separate(w);
        put(w, "null", 4);
}

void json_write_time(JsonWriter *w, usec_t t) {
        char buf[RFC3339_MAX];

        if (t == 0)
                json_write_null(w);
        else
                json_write_string(w, format_rfc3339(buf, t));
}
