/* SPDX-License-Identifier: MIT */
/*
 * Poll-log formats: compiling nginx log_format and Apache LogFormat strings into a list of
 * fields separated by literal text, and the presets. The line parser is in log-parse.c.
 */
#include "flota/log-format.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "flota/alloc.h"
#include "flota/esp-header.h"
#include "flota/strutil.h"
#include "log-format-internal.h"

static const LogPreset presets[] = {
        { "nginx-esp",
          "$remote_addr - $remote_user [$time_local] \"$request\" $status $body_bytes_sent "
          "\"$http_referer\" \"$http_user_agent\" \"$http_x_esp8266_sta_mac\" \"$http_x_esp8266_version\"",
          "nginx combined + ESP8266 MAC and version (snippet: log-formats/nginx-esp.conf)" },
        { "nginx-flota",
          "$remote_addr - $remote_user [$time_local] \"$request\" $status $body_bytes_sent "
          "\"$http_referer\" \"$http_user_agent\" \"$http_x_esp8266_sta_mac\" \"$http_x_esp8266_version\" "
          "\"$http_x_esp8266_sketch_md5\" \"$http_x_esp32_sta_mac\" \"$http_x_esp32_base_mac\" "
          "\"$http_x_esp32_version\" \"$http_x_esp32_sketch_md5\"",
          "nginx combined + both cores' identity, version and sketch MD5 (snippet: "
          "log-formats/nginx-flota.conf)" },
        { "apache-esp",
          "%h %l %u %t \"%r\" %>s %b \"%{Referer}i\" \"%{User-Agent}i\" \"%{x-ESP8266-STA-MAC}i\" "
          "\"%{x-ESP8266-version}i\"",
          "Apache combined + ESP8266 MAC and version (snippet: log-formats/apache-esp.conf)" },
        { "apache-flota",
          "%h %l %u %t \"%r\" %>s %b \"%{Referer}i\" \"%{User-Agent}i\" \"%{x-ESP8266-STA-MAC}i\" "
          "\"%{x-ESP8266-version}i\" \"%{x-ESP8266-sketch-md5}i\" \"%{x-ESP32-STA-MAC}i\" "
          "\"%{x-ESP32-BASE-MAC}i\" "
          "\"%{x-ESP32-version}i\" \"%{x-ESP32-sketch-md5}i\"",
          "Apache combined + both cores' identity, version and sketch MD5 (snippet: "
          "log-formats/apache-flota.conf)" },
        { "flotad", "json", "flotad's JSON-lines check-in log (flotad --checkin-log)" },
        {},
};

const LogPreset *log_format_presets(void) {
        return presets;
}

/* What a request header tells: User-Agent, or one of the cores' headers (esp-header.h). */
static LogVar header_var(const char *name, size_t n, Platform *platform) {
        if (n == 10 && strncasecmp(name, "user-agent", n) == 0)
                return LOG_VAR_USER_AGENT;
        switch (esp_header_from_name(name, n, platform)) {
        case ESP_HEADER_STA_MAC: return LOG_VAR_MAC;
        case ESP_HEADER_BASE_MAC: return LOG_VAR_BASE_MAC;
        case ESP_HEADER_VERSION: return LOG_VAR_VERSION;
        case ESP_HEADER_SKETCH_MD5: return LOG_VAR_SKETCH_MD5;
        default: return LOG_VAR_SKIP;
        }
}

/* nginx variables: $http_<name with _ for -> is a request header. */
static LogVar nginx_var(const char *name, size_t n, Platform *platform) {
        static const struct {
                const char *name;
                LogVar var;
        } vars[] = {
                { "remote_addr", LOG_VAR_ADDR },
                { "time_local", LOG_VAR_TIME_LOCAL },
                { "time_iso8601", LOG_VAR_TIME_ISO8601 },
                { "msec", LOG_VAR_MSEC },
                { "status", LOG_VAR_STATUS },
                { "request", LOG_VAR_REQUEST },
                { "request_uri", LOG_VAR_URI },
        };
        char header[64];

        for (size_t i = 0; i < ELEMENTSOF(vars); i++)
                if (n == strlen(vars[i].name) && memcmp(name, vars[i].name, n) == 0)
                        return vars[i].var;
        if (n <= 5 || n - 5 >= sizeof(header) || memcmp(name, "http_", 5) != 0)
                return LOG_VAR_SKIP;
        for (size_t i = 5; i < n; i++)
                header[i - 5] = name[i] == '_' ? '-' : name[i];
        return header_var(header, n - 5, platform);
}

static LogVar apache_var(char letter, const char *arg, size_t n, Platform *platform) {
        switch (letter) {
        case 'h':
        case 'a': return LOG_VAR_ADDR;
        case 't': return arg ? LOG_VAR_SKIP : LOG_VAR_TIME_APACHE;
        case 's': return LOG_VAR_STATUS;
        case 'r': return LOG_VAR_REQUEST;
        case 'i': return arg ? header_var(arg, n, platform) : LOG_VAR_SKIP;
        default: return LOG_VAR_SKIP;
        }
}

static int fail(char err[static LOG_FORMAT_ERROR_MAX], const char *fmt, ...) _printf_(2, 3);
static int fail(char err[static LOG_FORMAT_ERROR_MAX], const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(err, LOG_FORMAT_ERROR_MAX, fmt, ap);
        va_end(ap);
        return -EINVAL;
}

typedef struct Builder {
        LogFormat *f;
        char *lit; /* literal text collected since the last field */
        size_t lit_len, lit_alloc;
} Builder;

static void lit_add(Builder *b, char c) {
        b->lit = xgrow(b->lit, &b->lit_alloc, b->lit_len + 2, 1);
        b->lit[b->lit_len++] = c;
        b->lit[b->lit_len] = 0;
}

/* Ends the literal before a field (or the end): it becomes the previous field's terminator. */
static void lit_end(Builder *b) {
        LogFormat *f = b->f;
        char *text = b->lit ? b->lit : xstrdup("");

        if (f->n_fields == 0) {
                free(f->prefix);
                f->prefix = text;
                f->prefix_len = b->lit_len;
        } else {
                f->fields[f->n_fields - 1].lit = text;
                f->fields[f->n_fields - 1].lit_len = b->lit_len;
        }
        b->lit = NULL;
        b->lit_len = b->lit_alloc = 0;
}

static int field_add(Builder *b, LogVar var, Platform platform, const char *name, size_t n,
                     char err[static LOG_FORMAT_ERROR_MAX]) {
        LogFormat *f = b->f;

        if (f->n_fields > 0 && b->lit_len == 0)
                return fail(
                        err,
                        "'%.*s' follows the previous field with nothing between them, so the two cannot be "
                        "told apart",
                        (int) n, name);
        if (f->n_fields >= LOG_FIELDS_MAX)
                return fail(err, "more than %d fields", LOG_FIELDS_MAX);
        lit_end(b);
        f->fields[f->n_fields++] = (LogField) { .var = var, .platform = platform };
        if (var == LOG_VAR_TIME_APACHE) {
                /* %t is "[10/Oct/2000:13:55:36 -0700]": the brackets are literal text around the time */
                f->fields[f->n_fields - 1].var = LOG_VAR_TIME_LOCAL;
                if (f->n_fields == 1 && f->prefix_len == 0) {
                        free(f->prefix);
                        f->prefix = xstrdup("[");
                        f->prefix_len = 1;
                } else {
                        LogField *prev = &f->fields[f->n_fields - 2];
                        char *lit = xasprintf("%s[", prev->lit);
                        free(prev->lit);
                        prev->lit = lit;
                        prev->lit_len++;
                }
                lit_add(b, ']');
        }
        return 0;
}

static int compile_nginx(Builder *b, const char *s, char err[static LOG_FORMAT_ERROR_MAX]) {
        for (const char *p = s; *p;) {
                if (*p != '$') {
                        lit_add(b, *p++);
                        continue;
                }
                bool braced = p[1] == '{';
                const char *name = p + 1 + braced;
                size_t n = 0;
                while (isalnum((unsigned char) name[n]) || name[n] == '_')
                        n++;
                if (n == 0 || (braced && name[n] != '}'))
                        return fail(err, "'$' at byte %zu is not followed by a variable name",
                                    (size_t) (p - s) + 1);
                Platform platform = _PLATFORM_INVALID;
                LogVar var = nginx_var(name, n, &platform);
                int r = field_add(b, var, platform, name, n, err);
                if (r < 0)
                        return r;
                p = name + n + braced;
        }
        return 0;
}

static int compile_apache(Builder *b, const char *s, char err[static LOG_FORMAT_ERROR_MAX]) {
        for (const char *p = s; *p;) {
                if (*p == '\\' && p[1]) {
                        lit_add(b, p[1] == 't' ? '\t' : p[1]);
                        p += 2;
                        continue;
                }
                if (*p != '%') {
                        lit_add(b, *p++);
                        continue;
                }
                if (p[1] == '%') {
                        lit_add(b, '%');
                        p += 2;
                        continue;
                }
                const char *start = p++;
                while (*p && strchr("<>!,0123456789", *p))
                        p++;
                const char *arg = NULL;
                size_t n = 0;
                if (*p == '{') {
                        arg = ++p;
                        while (*p && *p != '}')
                                p++;
                        if (!*p)
                                return fail(err, "'%%{' at byte %zu has no closing '}'",
                                            (size_t) (start - s) + 1);
                        n = (size_t) (p++ - arg);
                }
                if (!isalpha((unsigned char) *p))
                        return fail(err, "'%%' at byte %zu is not followed by a format letter",
                                    (size_t) (start - s) + 1);
                Platform platform = _PLATFORM_INVALID;
                LogVar var = apache_var(*p, arg, n, &platform);
                p++;
                int r = field_add(b, var, platform, start, (size_t) (p - start), err);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* An nginx format pasted with its config quoting: 'piece one ' 'piece two' -> piece one piece two. */
static char *unquote_config(const char *s) {
        size_t n = strlen(s);
        char *out = xmalloc(n + 1), *o = out;

        while (*s) {
                while (*s == ' ' || *s == '\t' || *s == '\n')
                        s++;
                if (*s != '\'')
                        break;
                for (s++; *s && *s != '\''; s++) {
                        if (*s == '\\' && s[1])
                                s++;
                        *o++ = *s;
                }
                if (*s)
                        s++;
        }
        *o = 0;
        return out;
}

static bool has_var(const LogFormat *f, LogVar v) {
        for (size_t i = 0; i < f->n_fields; i++)
                if (f->fields[i].var == v)
                        return true;
        return false;
}

int log_format_compile(const char *spec, LogFormat **ret, char err[static LOG_FORMAT_ERROR_MAX]) {
        _cleanup_(log_format_freep) LogFormat *f = xcalloc(1, sizeof(LogFormat));
        _cleanup_free_ char *unquoted = NULL;
        Builder b = { .f = f };
        int r;

        err[0] = 0;
        for (const LogPreset *p = presets; p->name; p++)
                if (streq(spec, p->name)) {
                        spec = p->spec;
                        break;
                }
        if (streq(spec, "json")) {
                f->json = true;
                *ret = TAKE_PTR(f);
                return 0;
        }
        if (spec[strspn(spec, " \t\n")] == '\'')
                spec = unquoted = unquote_config(spec);
        if (strchr(spec, '$'))
                r = compile_nginx(&b, spec, err);
        else if (strchr(spec, '%'))
                r = compile_apache(&b, spec, err);
        else
                r = fail(err,
                         "'%.60s' is neither a preset nor a log format (nginx $variables or Apache "
                         "%%letters)",
                         spec);
        if (r < 0) {
                free(b.lit);
                return r;
        }
        lit_end(&b);
        if (!has_var(f, LOG_VAR_MAC) && !has_var(f, LOG_VAR_BASE_MAC) && !has_var(f, LOG_VAR_REQUEST) &&
            !has_var(f, LOG_VAR_URI))
                return fail(err,
                            "the format logs no device identity: add the x-ESP8266-STA-MAC (and x-ESP32-*) "
                            "request headers, e.g. \"$http_x_esp8266_sta_mac\"");
        r = log_format_set_product(f, LOG_PRODUCT_PATTERN_DEFAULT, err);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(f);
        return 0;
}

static void product_pattern_done(ProductPattern *pp) {
        free(pp->path);
        free(pp->after);
        free(pp->key);
        *pp = (ProductPattern) {};
}

int log_format_set_product(LogFormat *f, const char *pattern, char err[static LOG_FORMAT_ERROR_MAX]) {
        static const char var[] = "{product}";
        const char *at = strstr(pattern, var), *q = strchr(pattern, '?');
        ProductPattern pp = {};

        err[0] = 0;
        if (!at || strstr(at + strlen(var), var) || pattern[0] != '/')
                return fail(err, "product pattern '%.60s': expected a path with one {product}, such as %s",
                            pattern, LOG_PRODUCT_PATTERN_DEFAULT);
        if (q && q < at) {
                /* "/update?p={product}": a query value, the whole value */
                const char *key = q + 1;
                size_t key_len = at[-1] == '=' ? (size_t) (at - 1 - key) : 0;
                if (key_len == 0 || at[strlen(var)] != 0 || memchr(key, '&', key_len))
                        return fail(err, "product pattern '%.60s': a query pattern is PATH?KEY={product}",
                                    pattern);
                pp.path = xstrndup(pattern, (size_t) (q - pattern));
                pp.key = xstrndup(key, key_len);
                pp.after = xstrdup("");
        } else {
                if (q)
                        return fail(
                                err,
                                "product pattern '%.60s': nothing may follow {product}'s path but the query",
                                pattern);
                pp.path = xstrndup(pattern, (size_t) (at - pattern));
                pp.after = xstrdup(at + strlen(var));
        }
        product_pattern_done(&f->product);
        f->product = pp;
        return 0;
}

LogFormat *log_format_free(LogFormat *f) {
        if (!f)
                return NULL;
        product_pattern_done(&f->product);
        free(f->prefix);
        for (size_t i = 0; i < f->n_fields; i++)
                free(f->fields[i].lit);
        free(f);
        return NULL;
}
