/* SPDX-License-Identifier: MIT */
/* Poll-log formats: compiling, parsing lines of every preset and of custom formats, guessing, batching. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flota/alloc.h"
#include "flota/log-batch.h"
#include "flota/log-format.h"

typedef struct Parsed {
        int r;
        LogRecord rec;
        const char *why;
        char version[80], md5[40], addr[64], product[80];
} Parsed;

static void slice_copy(char *dst, size_t size, const LogSlice *s) {
        snprintf(dst, size, "%.*s", (int) s->n, s->p ? s->p : "");
}

static Parsed parse(const char *spec, const char *line) {
        _cleanup_(log_format_freep) LogFormat *f = NULL;
        char err[LOG_FORMAT_ERROR_MAX];
        Parsed out = {};

        assert_int_equal(log_format_compile(spec, &f, err), 0);
        _cleanup_(log_parser_freep) LogParser *p = log_parser_new(f);
        out.r = log_parse_line(p, line, strlen(line), &out.rec, &out.why);
        if (out.r < 0)
                print_message("%s: %s\n", line, out.why);
        slice_copy(out.version, sizeof(out.version), &out.rec.version);
        slice_copy(out.md5, sizeof(out.md5), &out.rec.sketch_md5);
        slice_copy(out.addr, sizeof(out.addr), &out.rec.addr);
        slice_copy(out.product, sizeof(out.product), &out.rec.product);
        return out;
}

/* A line of ../shared/peers/gen_log.c, the format of the peers' nginx.conf. */
static void test_nginx_esp(void **state) {
        Parsed p = parse("nginx-esp",
                         "10.0.1.2 - - [31/Oct/2026:08:00:00 +0000] \"GET /update HTTP/1.1\" 304 0 \"-\" "
                         "\"ESP8266-http-Update\" \"18:FE:AA:00:01:02\" \"DOOR-3-g1a2b3c4\"");
        assert_int_equal(p.r, 0);
        assert_string_equal(p.rec.device, "18:FE:AA:00:01:02");
        assert_string_equal(p.version, "DOOR-3-g1a2b3c4");
        assert_string_equal(p.addr, "10.0.1.2");
        assert_int_equal(p.rec.platform, PLATFORM_ESP8266);
        assert_int_equal(p.rec.status, 304);
        assert_int_equal(p.rec.at, (usec_t) 1793433600 * USEC_PER_SEC);
}

static void test_not_a_poll(void **state) {
        Parsed p = parse("nginx-esp",
                         "198.51.100.4 - - [31/Oct/2026:08:00:00 +0000] \"GET /favicon.ico HTTP/1.1\" 404 "
                         "153 \"-\" \"Mozilla/5.0 (X11; Linux x86_64)\" \"-\" \"-\"");
        assert_int_equal(p.r, 0);
        assert_string_equal(p.rec.device, "");
}

static void test_bad_lines(void **state) {
        static const struct {
                const char *line, *why;
        } cases[] = {
                { "garbage", "fewer fields than the format" },
                { "", "fewer fields than the format" },
                { "10.0.0.1 - - [31/Oct/2026:08:00:00 +0000] \"GET / HTTP/1.1\" 304 0 \"-\" \"u\" "
                  "\"18:FE:AA:00:01:02\"",
                  "fewer fields than the format" },
                { "10.0.0.1 - - [31/Oct/2026:08:00:00 +0000] \"GET / HTTP/1.1\" 304 0 \"-\" \"u\" "
                  "\"18:FE:AA:00:01:02\" "
                  "\"1.0\" extra",
                  "more text than the format" },
                { "10.0.0.1 - - [31/Foo/2026:08:00:00 +0000] \"GET / HTTP/1.1\" 304 0 \"-\" \"u\" "
                  "\"18:FE:AA:00:01:02\" "
                  "\"1.0\"",
                  "malformed time" },
                /* no 31 November, no 29 February in 2026, no hour 24 (time_from_civil()) */
                { "10.0.0.1 - - [31/Nov/2026:08:00:00 +0000] \"GET / HTTP/1.1\" 304 0 \"-\" \"u\" "
                  "\"18:FE:AA:00:01:02\" "
                  "\"1.0\"",
                  "malformed time" },
                { "10.0.0.1 - - [29/Feb/2026:08:00:00 +0000] \"GET / HTTP/1.1\" 304 0 \"-\" \"u\" "
                  "\"18:FE:AA:00:01:02\" "
                  "\"1.0\"",
                  "malformed time" },
                { "10.0.0.1 - - [30/Oct/2026:24:00:00 +0000] \"GET / HTTP/1.1\" 304 0 \"-\" \"u\" "
                  "\"18:FE:AA:00:01:02\" "
                  "\"1.0\"",
                  "malformed time" },
                { "10.0.0.1 - - [31/Oct/2026:08:00:00 +0000] \"GET / HTTP/1.1\" 304 0 \"-\" \"u\" "
                  "\"18:FE:AA:00:01\" "
                  "\"1.0\"",
                  "malformed device MAC or id" },
                { "10.0.0.1 - - [31/Oct/2026:08:00:00 +0000] \"GET / HTTP/1.1\" 304 0 \"-\" \"u\" "
                  "\"18:FE:AA:00:01:02\" "
                  "\"1 0\"",
                  "malformed version" },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                Parsed p = parse("nginx-esp", cases[i].line);
                if (p.r == 0)
                        print_message("case %zu parsed\n", i);
                assert_int_equal(p.r, -EINVAL);
                assert_string_equal(p.why, cases[i].why);
        }
}

/* Both cores' headers: an ESP32 line is known by its BASE-MAC, as flotad does. */
static void test_nginx_flota_esp32(void **state) {
        Parsed p = parse(
                "nginx-flota",
                "10.0.0.9 - - [01/Nov/2026:10:00:00 +0100] \"GET /update/meter HTTP/1.1\" 200 1024 \"-\" "
                "\"ESP32-http-Update\" \"-\" \"-\" \"-\" \"24:6F:28:00:00:0A\" \"24:6F:28:00:00:09\" "
                "\"2.0.0\" "
                "\"0123456789ABCDEF0123456789ABCDEF\"");
        assert_int_equal(p.r, 0);
        assert_string_equal(p.rec.device, "24:6F:28:00:00:09");
        assert_int_equal(p.rec.platform, PLATFORM_ESP32);
        assert_string_equal(p.version, "2.0.0");
        assert_string_equal(p.md5, "0123456789ABCDEF0123456789ABCDEF");
        /* +0100: an hour earlier in UTC */
        assert_int_equal(p.rec.at, (usec_t) 1793523600 * USEC_PER_SEC);
}

/* Apache escapes quotes in values with a backslash; %t brings its own brackets. */
static void test_apache(void **state) {
        Parsed p = parse("apache-esp",
                         "192.0.2.1 - - [31/Oct/2026:08:00:00 +0000] \"GET /a\\\"b HTTP/1.1\" 304 - "
                         "\"-\" \"agent \\\"x\\\"\" \"18:fe:aa:00:00:01\" \"1.0\"");
        assert_int_equal(p.r, 0);
        assert_string_equal(p.rec.device, "18:FE:AA:00:00:01");
        assert_string_equal(p.version, "1.0");

        p = parse("%h %t \\\"%r\\\" %>s \\\"%{X-Esp32-Sta-Mac}i\\\" \\\"%{x-ESP32-version}i\\\"",
                  "10.1.1.1 [23/Nov/2026:10:00:00 -0500] \"GET / HTTP/1.1\" 304 \"24:6F:28:AA:BB:CD\" "
                  "\"3.1\"");
        assert_int_equal(p.r, 0);
        assert_string_equal(p.rec.device, "24:6F:28:AA:BB:CD");
        assert_int_equal(p.rec.platform, PLATFORM_ESP32);
        assert_int_equal(p.rec.at, (usec_t) 1795446000 * USEC_PER_SEC);
}

/* Custom nginx formats: other time variables, ${braces}, the query form, config quoting. */
static void test_custom_nginx(void **state) {
        Parsed p = parse("$remote_addr ${msec} \"$request\" \"$http_x_esp8266_sta_mac\"",
                         "10.1.1.1 1795435200.250 \"GET /update?k=key&s=aa-bb-cc-dd-ee-01&v=1.2%2B3 "
                         "HTTP/1.1\" \"-\"");
        assert_int_equal(p.r, 0);
        assert_string_equal(p.rec.device, "AA:BB:CC:DD:EE:01");
        assert_string_equal(p.version, "1.2+3");
        assert_int_equal(p.rec.at, (usec_t) 1795435200 * USEC_PER_SEC + 250000);

        p = parse("'$remote_addr [$time_iso8601] '\n    '\"$http_x_esp8266_sta_mac\" "
                  "\"$http_x_esp8266_version\"'",
                  "10.1.1.1 [2026-11-23T10:00:00+01:00] \"18:FE:AA:00:00:07\" \"4.0\"");
        assert_int_equal(p.r, 0);
        assert_string_equal(p.rec.device, "18:FE:AA:00:00:07");
        assert_int_equal(p.rec.at, (usec_t) 1795424400 * USEC_PER_SEC);
}

static void test_compile_errors(void **state) {
        static const char *const specs[] = {
                "plain text",                                     /* neither syntax */
                "$remote_addr $status",                           /* no identity */
                "$http_x_esp8266_sta_mac$http_x_esp8266_version", /* fields that touch */
                "%h %{x-ESP8266-STA-MAC",                         /* unclosed brace */
                "$ \"$http_x_esp8266_sta_mac\"",                  /* $ without a name */
        };
        for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
                LogFormat *f = NULL;
                char err[LOG_FORMAT_ERROR_MAX] = "";
                assert_int_equal(log_format_compile(specs[i], &f, err), -EINVAL);
                assert_null(f);
                assert_true(strlen(err) > 10);
        }
}

static void test_json(void **state) {
        Parsed p = parse("flotad",
                         "{\"id\":7,\"at\":\"2026-11-23T10:00:00.500Z\",\"device\":\"aa:bb:cc:dd:ee:01\","
                         "\"mac\":null,\"product\":\"door\",\"ip\":\"127.0.0.1\",\"chip_id\":1234,"
                         "\"platform\":\"esp32\",\"version\":\"1.\\u0030\",\"sketch_md5\":null,"
                         "\"status\":304,\"reason\":\"up-to-date\"}");
        assert_int_equal(p.r, 0);
        assert_string_equal(p.rec.device, "AA:BB:CC:DD:EE:01");
        assert_string_equal(p.version, "1.0");
        assert_string_equal(p.product, "door");
        assert_string_equal(p.addr, "127.0.0.1");
        assert_int_equal(p.rec.platform, PLATFORM_ESP32);
        assert_int_equal(p.rec.status, 304);
        assert_int_equal(p.rec.at, (usec_t) 1795428000 * USEC_PER_SEC + 500000);

        p = parse("flotad", "{\"device\": \"chip-42\", \"version\": \"2.0\"}");
        assert_int_equal(p.r, 0);
        assert_string_equal(p.rec.device, "chip-42");

        /* escapes in keys and values are decoded (json_scan_unescape()), a non-ASCII product is no name */
        p = parse("flotad",
                  "{\"\\u0064evice\":\"chip-43\",\"product\":\"d\\u006f\\u006fr\",\"version\":\"3\\/1\"}");
        assert_int_equal(p.r, 0);
        assert_string_equal(p.rec.device, "chip-43");
        assert_string_equal(p.product, "door");
        assert_string_equal(p.version, "3/1");
        p = parse("flotad", "{\"device\":\"chip-44\",\"product\":\"caf\\u00e9\",\"version\":\"1\"}");
        assert_int_equal(p.r, 0);
        assert_string_equal(p.product, "");

        static const char *const bad[] = { "{\"device\":", "[1,2]", "{\"device\":\"x\",\"n\":{\"a\":1}}",
                                           "{\"device\":\"AA:BB\\q\"}", "{} trailing" };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                assert_int_equal(parse("flotad", bad[i]).r, -EINVAL);
}

static void test_guess(void **state) {
        const LogPreset *preset = NULL;
        const char *nginx = "10.0.1.2 - - [31/Oct/2026:08:00:00 +0000] \"GET /update HTTP/1.1\" 304 0 \"-\" "
                            "\"ESP8266-http-Update\" \"18:FE:AA:00:01:02\" \"DOOR-3-g1a2b3c4\"\n"
                            "198.51.100.4 - - [31/Oct/2026:08:00:00 +0000] \"GET / HTTP/1.1\" 200 1 \"-\" "
                            "\"M\" \"-\" \"-\"\n";
        const char *json = "{\"device\":\"AA:BB:CC:DD:EE:01\",\"version\":\"1\"}\n";

        assert_int_equal(log_format_guess(nginx, strlen(nginx), &preset), 0);
        assert_string_equal(preset->name, "nginx-esp");
        assert_int_equal(log_format_guess(json, strlen(json), &preset), 0);
        assert_string_equal(preset->name, "flotad");
        assert_int_equal(log_format_guess("hello\nworld\n", 12, &preset), -ENODATA);
}

static int collect_change(const LogChange *c, void *userdata) {
        char buf[128];
        snprintf(buf, sizeof(buf), "%s=%s ", c->device, c->version);
        strcat(userdata, buf);
        return 0;
}

static int collect_seen(const LogSeen *s, void *userdata) {
        char buf[128];
        snprintf(buf, sizeof(buf), "%s:%s:%llu-%llu ", s->device, s->version, (unsigned long long) s->first,
                 (unsigned long long) s->last);
        strcat(userdata, buf);
        return 0;
}

static void add(LogBatch *b, const char *device, const char *version, usec_t at) {
        LogRecord rec = { .version = { version, strlen(version) }, .at = at, .platform = _PLATFORM_INVALID };
        strcpy(rec.device, device);
        log_batch_add(b, &rec);
}

/* A known version is no change; each later change is, in log order; clear keeps the versions. */
static void test_batch(void **state) {
        _cleanup_(log_batch_freep) LogBatch *b = log_batch_new();
        char changes[512] = "", seen[512] = "";

        log_batch_known(b, "A", "1");
        add(b, "A", "1", 10);
        add(b, "B", "1", 11);
        add(b, "A", "2", 12);
        add(b, "A", "2", 13);
        assert_int_equal(log_batch_foreach_change(b, collect_change, changes), 0);
        assert_string_equal(changes, "B=1 A=2 ");
        assert_int_equal(log_batch_foreach_seen(b, collect_seen, seen), 0);
        assert_string_equal(seen, "A:2:10-13 B:1:11-11 ");

        log_batch_clear(b);
        assert_int_equal(log_batch_pending(b), 0);
        changes[0] = 0;
        add(b, "A", "2", 20);
        assert_int_equal(log_batch_foreach_change(b, collect_change, changes), 0);
        assert_string_equal(changes, "");
        assert_int_equal(log_batch_devices(b), 2);

        /* many devices: the index grows and every one is found again */
        for (int i = 0; i < 5000; i++) {
                char id[64];
                snprintf(id, sizeof(id), "dev-%d-with-a-long-name-past-the-inline-room", i);
                add(b, id, "1", 30);
                add(b, id, "1", 31);
        }
        assert_int_equal(log_batch_devices(b), 5002);
}

/* The format string in a shipped snippet: nginx's quoted pieces joined, or Apache's quoted string unescaped.
 */
static char *snippet_format(const char *path) {
        FILE *f = fopen(path, "r");
        char line[1024], *out = xcalloc(1, 4096);
        size_t n = 0;
        bool in_format = false;

        assert_non_null(f);
        while (fgets(line, sizeof(line), f)) {
                if (line[0] == '#')
                        continue;
                if (strncmp(line, "LogFormat \"", 11) == 0) {
                        char *end = strrchr(line, '"');
                        for (char *p = line + 11; p < end; p++) {
                                if (*p == '\\' && p[1] == '"')
                                        p++;
                                out[n++] = *p;
                        }
                        break;
                }
                if (strncmp(line, "log_format ", 11) == 0)
                        in_format = true;
                for (char *p = strchr(line, '\''); in_format && p; p = strchr(p, '\'')) {
                        char *end = strchr(p + 1, '\'');
                        assert_non_null(end);
                        memcpy(out + n, p + 1, (size_t) (end - p - 1));
                        n += (size_t) (end - p - 1);
                        p = end + 1;
                }
                if (strchr(line, ';'))
                        in_format = false;
        }
        fclose(f);
        return out;
}

/* The product a line names under pattern (NULL: the default), as parse() gives it. */
static Parsed parse_product(const char *spec, const char *pattern, const char *line) {
        _cleanup_(log_format_freep) LogFormat *f = NULL;
        char err[LOG_FORMAT_ERROR_MAX];
        Parsed out = {};

        assert_int_equal(log_format_compile(spec, &f, err), 0);
        if (pattern && log_format_set_product(f, pattern, err) < 0)
                fail_msg("%s: %s", pattern, err);
        _cleanup_(log_parser_freep) LogParser *p = log_parser_new(f);
        out.r = log_parse_line(p, line, strlen(line), &out.rec, &out.why);
        slice_copy(out.product, sizeof(out.product), &out.rec.product);
        return out;
}

#define NGINX_LINE(target)                                                                   \
        "10.0.1.2 - - [31/Oct/2026:08:00:00 +0000] \"GET " target " HTTP/1.1\" 304 0 \"-\" " \
        "\"ESP8266-http-Update\" \"18:FE:AA:00:01:02\" \"1.0\""
#define QUERY_FORMAT "$remote_addr \"$request\""
#define QUERY_LINE(target) "10.1.1.1 \"GET " target " HTTP/1.1\""

/* Access logs name the product in the request: flotad's /update/<product> by default, or a pattern. */
static void test_product_from_request(void **state) {
        static const struct {
                const char *spec, *pattern, *line, *product;
        } cases[] = {
                /* the default: flotad's device endpoint, header and query forms */
                { "nginx-esp", NULL, NGINX_LINE("/update/door"), "door" },
                { "nginx-esp", NULL, NGINX_LINE("/update/door?x=1"), "door" },
                { QUERY_FORMAT, NULL, QUERY_LINE("/update/lamp?s=aa-bb-cc-dd-ee-01&v=1.2"), "lamp" },
                { "nginx-esp", NULL, NGINX_LINE("/update"), "" },
                { "nginx-esp", NULL, NGINX_LINE("/update/"), "" },
                { "nginx-esp", NULL, NGINX_LINE("/update/door/extra"), "" },
                { "nginx-esp", NULL, NGINX_LINE("/updates/door"), "" },
                { "nginx-esp", NULL, NGINX_LINE("/update/do%20or"), "" },
                { "apache-esp", NULL,
                  "192.0.2.1 - - [31/Oct/2026:08:00:00 +0000] \"GET /update/meter HTTP/1.1\" 304 - \"-\" "
                  "\"ESP8266-http-Update\" "
                  "\"18:fe:aa:00:00:01\" \"1.0\"",
                  "meter" },
                /* a pattern of the user's */
                { "nginx-esp", "/ota/{product}/firmware.bin", NGINX_LINE("/ota/gate-2/firmware.bin"),
                  "gate-2" },
                { "nginx-esp", "/ota/{product}/firmware.bin", NGINX_LINE("/ota/gate-2/other.bin"), "" },
                { "nginx-esp", "/ota/{product}/firmware.bin", NGINX_LINE("/update/door"), "" },
                /* the product as a query value */
                { QUERY_FORMAT, "/update.php?product={product}",
                  QUERY_LINE("/update.php?s=aa-bb-cc-dd-ee-01&product=pump&v=2"), "pump" },
                { QUERY_FORMAT, "/update.php?product={product}",
                  QUERY_LINE("/update.php?s=aa-bb-cc-dd-ee-01&v=2"), "" },
                { QUERY_FORMAT, "/update.php?product={product}",
                  QUERY_LINE("/other.php?s=aa-bb-cc-dd-ee-01&product=pump"), "" },
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                Parsed p = parse_product(cases[i].spec, cases[i].pattern, cases[i].line);
                assert_int_equal(p.r, 0);
                assert_true(p.rec.device[0] != 0);
                if (strcmp(p.product, cases[i].product) != 0)
                        fail_msg("%s under %s: product '%s', want '%s'", cases[i].line,
                                 cases[i].pattern ? cases[i].pattern : "the default", p.product,
                                 cases[i].product);
        }

        static const char *const bad[] = { "/update/",     "update/{product}", "/a/{product}/{product}",
                                           "/a?{product}", "/a/{product}?k=1", "/a?x&y={product}" };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                _cleanup_(log_format_freep) LogFormat *f = NULL;
                char err[LOG_FORMAT_ERROR_MAX] = "";
                assert_int_equal(log_format_compile("nginx-esp", &f, err), 0);
                if (log_format_set_product(f, bad[i], err) != -EINVAL)
                        fail_msg("pattern %s accepted", bad[i]);
                assert_true(strlen(err) > 10);
        }
}

/* The snippets in share/log-formats write exactly what their presets read. */
static void test_shipped_snippets(void **state) {
        const char *root = getenv("FLOTA_SOURCE_ROOT");
        size_t checked = 0;

        assert_non_null(root); /* main() checked */
        for (const LogPreset *p = log_format_presets(); p->name; p++) {
                if (strcmp(p->name, "flotad") == 0)
                        continue;
                _cleanup_free_ char *path = xasprintf("%s/share/log-formats/%s.conf", root, p->name);
                _cleanup_free_ char *format = snippet_format(path);
                if (strcmp(format, p->spec) != 0)
                        fail_msg("%s:\n  snippet: %s\n  preset:  %s", path, format, p->spec);
                checked++;
        }
        assert_int_equal(checked, 4);
}

/* The exit status meson reports as SKIP. */
#define EXIT_SKIP 77

int main(void) {
        /* meson test sets it; run by hand without it, the snippets cannot be found: a skip, not a pass */
        if (!getenv("FLOTA_SOURCE_ROOT")) {
                fprintf(stderr,
                        "FLOTA_SOURCE_ROOT is not set (meson test sets it): the shipped snippets cannot be "
                        "checked\n");
                return EXIT_SKIP;
        }
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_nginx_esp),
                cmocka_unit_test(test_not_a_poll),
                cmocka_unit_test(test_bad_lines),
                cmocka_unit_test(test_nginx_flota_esp32),
                cmocka_unit_test(test_apache),
                cmocka_unit_test(test_custom_nginx),
                cmocka_unit_test(test_compile_errors),
                cmocka_unit_test(test_json),
                cmocka_unit_test(test_guess),
                cmocka_unit_test(test_batch),
                cmocka_unit_test(test_shipped_snippets),
                cmocka_unit_test(test_product_from_request),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
