/* SPDX-License-Identifier: MIT */
/*
 * flotad --image-delivery x-accel behind a real nginx configured with the shipped
 * share/nginx/flotad.conf: the device sees a plain 200 with the image's Content-Length,
 * x-MD5 (and x-SHA256 for an ESP32) and the right bytes, never a redirect; 304 passes
 * through; the image location is not reachable from outside. 77 when nginx is not installed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "flota/alloc.h"
#include "flota/hash.h"
#include "flota/strutil.h"
#include "flotad-harness.h"

static const char *nginx_path(void) {
        const char *p = getenv("NGINX");
        if (p)
                return p;
        if (access("/usr/sbin/nginx", X_OK) == 0)
                return "/usr/sbin/nginx";
        return NULL;
}

typedef struct Front {
        Flotad f;
        pid_t nginx;
        int port;
} Front;

static void sleep_ms(long ms) {
        struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
        nanosleep(&ts, NULL);
}

static int free_port(void) {
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t len = sizeof(sa);
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

        assert_true(fd >= 0);
        assert_int_equal(bind(fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
        assert_int_equal(getsockname(fd, (struct sockaddr *) &sa, &len), 0);
        close(fd);
        return ntohs(sa.sin_port);
}

/* Replaces the first occurrence of from in *text with to. */
static void replace(char **text, const char *from, const char *to) {
        char *at = strstr(*text, from);
        if (!at)
                fail_msg("share/nginx/flotad.conf no longer has '%s'", from);
        char *out = xasprintf("%.*s%s%s", (int) (at - *text), *text, to, at + strlen(from));
        free(*text);
        *text = out;
}

/* The shipped snippet with its ADAPT lines set for this test, inside a minimal nginx.conf. */
static void write_nginx_conf(Front *fr) {
        _cleanup_free_ char *src = xasprintf("%s/share/nginx/flotad.conf", getenv("FLOTA_SOURCE_ROOT"));
        size_t n;
        char *snippet = slurp(src, &n);
        _cleanup_free_ char *upstream = xasprintf("server 127.0.0.1:%d;", fr->f.port);
        _cleanup_free_ char *listen = xasprintf("listen 127.0.0.1:%d;", fr->port);
        _cleanup_free_ char *alias = xasprintf("alias %s/images/;", fr->f.data_dir);

        replace(&snippet, "server 127.0.0.1:8070;", upstream);
        replace(&snippet, "listen 8080;", listen);
        replace(&snippet, "alias /var/lib/flota/images/;", alias);
        _cleanup_free_ char *snippet_path = xasprintf("%s/flotad-nginx.conf", fr->f.dir);
        FILE *o = fopen(snippet_path, "w");
        assert_non_null(o);
        fputs(snippet, o);
        fclose(o);
        free(snippet);

        _cleanup_free_ char *conf = xasprintf("%s/nginx.conf", fr->f.dir);
        o = fopen(conf, "w");
        assert_non_null(o);
        /* as root the workers would drop to nobody, who cannot read the private test directory */
        fprintf(o,
                "%s"
                "worker_processes 1;\n"
                "daemon off;\n"
                "pid %s/nginx.pid;\n"
                "error_log %s/nginx-error.log;\n"
                "events { worker_connections 64; }\n"
                "http {\n"
                "    access_log off;\n"
                "    client_body_temp_path %s/nginx-body;\n"
                "    proxy_temp_path %s/nginx-proxy;\n"
                "    fastcgi_temp_path %s/nginx-fastcgi;\n"
                "    uwsgi_temp_path %s/nginx-uwsgi;\n"
                "    scgi_temp_path %s/nginx-scgi;\n"
                "    include %s;\n"
                "}\n",
                geteuid() == 0 ? "user root;\n" : "", fr->f.dir, fr->f.dir, fr->f.dir, fr->f.dir, fr->f.dir,
                fr->f.dir, fr->f.dir, snippet_path);
        fclose(o);
}

static int connect_ok(int port) {
        struct sockaddr_in sa = { .sin_family = AF_INET,
                                  .sin_port = htons((uint16_t) port),
                                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        int ok = connect(fd, (struct sockaddr *) &sa, sizeof(sa)) == 0;
        close(fd);
        return ok;
}

static void start_nginx(Front *fr) {
        _cleanup_free_ char *conf = xasprintf("%s/nginx.conf", fr->f.dir);
        _cleanup_free_ char *err = xasprintf("%s/nginx-error.log", fr->f.dir);

        fr->port = free_port();
        write_nginx_conf(fr);
        fr->nginx = fork();
        if (fr->nginx == 0) {
                execl(nginx_path(), "nginx", "-p", fr->f.dir, "-e", err, "-c", conf, (char *) NULL);
                _exit(127);
        }
        for (int i = 0; i < 200 && !connect_ok(fr->port); i++) {
                int status;
                if (waitpid(fr->nginx, &status, WNOHANG) == fr->nginx) {
                        size_t log_len;
                        _cleanup_free_ char *log = slurp(err, &log_len);
                        fail_msg("nginx exited: %s", log);
                }
                sleep_ms(50);
        }
        assert_true(connect_ok(fr->port));
}

static int setup(void **state) {
        Front *fr = xcalloc(1, sizeof(Front));
        const char *args[] = { "--image-delivery", "x-accel", NULL };

        flotad_init(&fr->f);
        assert_int_equal(flotad_start(&fr->f, args), 0);
        start_nginx(fr);
        *state = fr;
        return 0;
}

static int teardown(void **state) {
        Front *fr = *state;
        int status, r;

        if (fr->nginx > 0) {
                kill(fr->nginx, SIGQUIT);
                for (int i = 0; i < 200 && waitpid(fr->nginx, &status, WNOHANG) != fr->nginx; i++)
                        sleep_ms(50);
                kill(fr->nginx, SIGKILL);
                (void) waitpid(fr->nginx, &status, WNOHANG);
        }
        r = flotad_finish(&fr->f);
        flotad_cleanup(&fr->f);
        free(fr);
        return r;
}

static long upload(Flotad *f, const char *product, const char *platform, const char *version, char *md5,
                   char *sha256) {
        _cleanup_free_ char *img = make_image(f, platform, version, "300K");
        _cleanup_free_ char *url = xasprintf("/api/v1/releases?product=%s&version=%s", product, version);
        size_t len;
        _cleanup_free_ char *data = slurp(img, &len);
        HttpResponse r;

        assert_int_equal(api_call(f, "POST", url, f->admin_token, data, len, &r), 0);
        if (r.status != 201)
                fail_msg("upload: %d %s", r.status, r.body);
        const char *m = strstr(r.body, "\"md5\":\""), *s = strstr(r.body, "\"sha256\":\"");
        assert_non_null(m);
        assert_non_null(s);
        snprintf(md5, 33, "%.32s", m + 7);
        snprintf(sha256, 65, "%.64s", s + 10);
        long id = json_int(r.body, "id");
        http_response_done(&r);
        return (long) len + 0 * id;
}

static void promote(Flotad *f, const char *product, const char *version) {
        HttpResponse r;
        _cleanup_free_ char *path = xasprintf("/api/v1/releases?product=%s", product);
        assert_int_equal(api(f, "GET", path, NULL, &r), 200);
        long id = json_int(r.body, "id");
        http_response_done(&r);
        _cleanup_free_ char *body = xasprintf("{\"release\":%ld}", id);
        _cleanup_free_ char *ch = xasprintf("/api/v1/channels/%s/stable", product);
        assert_int_equal(api(f, "PUT", ch, body, &r), 200);
        http_response_done(&r);
        (void) version;
}

/* The device's view through nginx: one plain 200, its length, its checksums, the bytes. */
static void test_update_through_nginx(void **state) {
        Front *fr = *state;
        Flotad *f = &fr->f;
        char md5[33], sha[65], body_md5[33];
        HttpResponse r;

        assert_int_equal(api(f, "POST", "/api/v1/products", "{\"name\":\"door\"}", &r), 201);
        http_response_done(&r);
        long size = upload(f, "door", "esp8266", "2.0", md5, sha);
        promote(f, "door", "2.0");

        _cleanup_free_ char *poll =
                esp8266_poll("/update/door", fr->port, "18:FE:AA:00:00:01", "1.0", NULL, 1 << 22, NULL);
        assert_int_equal(http_raw(fr->port, poll, strlen(poll), &r), 0);
        if (r.status != 200)
                fail_msg("through nginx: %d %s", r.status, r.head);
        assert_int_equal(r.body_len, size);
        const char *cl = http_header(&r, "Content-Length");
        assert_non_null(cl);
        assert_int_equal(atol(cl), size);
        const char *xmd5 = http_header(&r, "x-MD5");
        assert_non_null(xmd5);
        assert_string_equal(xmd5, md5);
        md5_hex(r.body, r.body_len, body_md5);
        assert_string_equal(body_md5, md5);
        assert_null(http_header(&r, "Location"));
        assert_null(http_header(&r, "X-Accel-Redirect"));
        assert_null(http_header(&r, "Transfer-Encoding"));
        assert_null(http_header(&r, "x-SHA256")); /* an ESP8266 image: none, as from flotad itself */
        http_response_done(&r);

        /* a device that runs it gets 304 through nginx */
        _cleanup_free_ char *same =
                esp8266_poll("/update/door", fr->port, "18:FE:AA:00:00:01", "2.0", md5, 1 << 22, NULL);
        assert_int_equal(http_raw(fr->port, same, strlen(same), &r), 0);
        assert_int_equal(r.status, 304);
        http_response_done(&r);

        /* the image location is internal: not reachable from outside */
        _cleanup_free_ char *direct = xasprintf(
                "GET /_flota_images/%.2s/%s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", sha, sha);
        assert_int_equal(http_raw(fr->port, direct, strlen(direct), &r), 0);
        assert_int_equal(r.status, 404);
        http_response_done(&r);

        /* flotad on its own answers headers and the redirect for nginx, no body */
        assert_int_equal(http_raw(f->port, poll, strlen(poll), &r), 0);
        assert_int_equal(r.status, 200);
        const char *accel = http_header(&r, "X-Accel-Redirect");
        assert_non_null(accel);
        _cleanup_free_ char *want = xasprintf("/_flota_images/%.2s/%s", sha, sha);
        assert_string_equal(accel, want);
        assert_int_equal(r.body_len, 0);
        http_response_done(&r);
}

/* An ESP32 gets x-SHA256 (and x-MD5) through nginx. */
static void test_esp32_sha256_through_nginx(void **state) {
        Front *fr = *state;
        Flotad *f = &fr->f;
        char md5[33], sha[65], body_sha[65];
        HttpResponse r;

        assert_int_equal(
                api(f, "POST", "/api/v1/products", "{\"name\":\"lamp\",\"platform\":\"esp32\"}", &r), 201);
        http_response_done(&r);
        long size = upload(f, "lamp", "esp32", "3.0", md5, sha);
        promote(f, "lamp", "3.0");
        _cleanup_free_ char *poll =
                esp32_poll("/update/lamp", fr->port, "24:0A:C4:00:00:01", "1.0", NULL, 1 << 22, NULL);
        assert_int_equal(http_raw(fr->port, poll, strlen(poll), &r), 0);
        if (r.status != 200)
                fail_msg("through nginx: %d %s", r.status, r.head);
        assert_int_equal(r.body_len, size);
        const char *xsha = http_header(&r, "x-SHA256");
        assert_non_null(xsha);
        assert_string_equal(xsha, sha);
        const char *xmd5 = http_header(&r, "x-MD5");
        assert_non_null(xmd5);
        assert_string_equal(xmd5, md5);
        sha256_hex(r.body, r.body_len, body_sha);
        assert_string_equal(body_sha, sha);
        http_response_done(&r);
}

int main(void) {
        if (!nginx_path()) {
                fprintf(stderr, "SKIP: nginx is not installed (Debian: nginx)\n");
                return 77;
        }
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_update_through_nginx, setup, teardown),
                cmocka_unit_test_setup_teardown(test_esp32_sha256_through_nginx, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
