/* SPDX-License-Identifier: MIT */
/*
 * flota-sim against a server that answers badly: every kind of answer maps to the error
 * the real core reports, the simulated device stays on its version, and the simulator
 * neither crashes nor hangs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "flota/alloc.h"
#include "flota/hash.h"
#include "flota/image.h"

typedef struct Server {
        int fd;
        int port;
        atomic_bool stop;
        atomic_int served;
        uint8_t *image;
        size_t image_len;
        char md5[33];
} Server;

static void send_all(int fd, const void *data, size_t n) {
        const char *p = data;
        while (n > 0) {
                ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
                if (w <= 0)
                        return;
                p += w;
                n -= (size_t) w;
        }
}

static void send_str(int fd, const char *text) {
        send_all(fd, text, strlen(text));
}

/* The scripted answers, one per connection, in turn. */
static void answer(Server *s, int fd, int turn) {
        char head[512];
        switch (turn % 8) {
        case 0: /* 500 */
                send_str(fd, "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n");
                break;
        case 1: /* not HTTP at all */ send_str(fd, "garbage garbage\r\n\r\n"); break;
        case 2: /* 200 without a length */
                send_str(fd, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nxxxx");
                break;
        case 3: /* wrong MD5 */
                snprintf(head, sizeof(head),
                         "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\nx-MD5: "
                         "00000000000000000000000000000000\r\n\r\n",
                         s->image_len);
                send_all(fd, head, strlen(head));
                send_all(fd, s->image, s->image_len);
                break;
        case 4: /* truncated body */
                snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\nx-MD5: %s\r\n\r\n",
                         s->image_len, s->md5);
                send_all(fd, head, strlen(head));
                send_all(fd, s->image, s->image_len / 3);
                break;
        case 5: /* not a firmware image */
                send_str(fd, "HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nHELLO!!!");
                break;
        case 6: /* a redirect (the cores do not follow by default) */
                send_str(fd, "HTTP/1.1 302 Found\r\nLocation: /elsewhere\r\nContent-Length: 0\r\n\r\n");
                break;
        default: /* a faulty MD5 header */
                send_str(fd, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\nx-MD5: abc\r\n\r\n0123456789");
                break;
        }
}

static void *serve(void *userdata) {
        Server *s = userdata;

        while (!atomic_load(&s->stop)) {
                struct pollfd p = { .fd = s->fd, .events = POLLIN };
                if (poll(&p, 1, 100) <= 0)
                        continue;
                int c = accept(s->fd, NULL, NULL);
                if (c < 0)
                        continue;
                char req[4096];
                size_t n = 0;
                /* read the request head (bounded) */
                while (n < sizeof(req) - 1) {
                        struct pollfd q = { .fd = c, .events = POLLIN };
                        if (poll(&q, 1, 1000) <= 0)
                                break;
                        ssize_t k = recv(c, req + n, sizeof(req) - 1 - n, 0);
                        if (k <= 0)
                                break;
                        n += (size_t) k;
                        req[n] = 0;
                        if (strstr(req, "\r\n\r\n"))
                                break;
                }
                answer(s, c, atomic_fetch_add(&s->served, 1));
                close(c);
        }
        return NULL;
}

static void test_bad_answers(void **state) {
        Server s = { .fd = socket(AF_INET, SOCK_STREAM, 0) };
        struct sockaddr_in sa = { .sin_family = AF_INET };
        socklen_t len = sizeof(sa);
        pthread_t t;

        inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
        assert_int_equal(bind(s.fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
        assert_int_equal(listen(s.fd, 64), 0);
        getsockname(s.fd, (struct sockaddr *) &sa, &len);
        s.port = ntohs(sa.sin_port);
        image_build(PLATFORM_ESP8266, "9.9.9", 100000, 1, &s.image, &s.image_len);
        md5_hex(s.image, s.image_len, s.md5);
        pthread_create(&t, NULL, serve, &s);

        char server[64], cmd[512];
        snprintf(server, sizeof(server), "http://127.0.0.1:%d", s.port);
        snprintf(cmd, sizeof(cmd), "'%s' --server %s --devices 2 --interval 0.05 --duration 2 --json",
                 getenv("FLOTA_SIM"), server);
        FILE *p = popen(cmd, "r");
        char out[8192];
        size_t n = fread(out, 1, sizeof(out) - 1, p);
        out[n] = 0;
        int status = pclose(p);
        atomic_store(&s.stop, true);
        pthread_join(t, NULL);
        close(s.fd);
        free(s.image);

        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                fail_msg("flota-sim: status %d: %s", status, out);
        assert_true(atomic_load(&s.served) >= 16);
        const char *expected[] = {
                "\"-104 server-wrong-http-code\"", /* 500 and 302 */
                "\"-1 connection-failed\"",        /* garbage instead of HTTP */
                "\"-101 server-not-report-size\"",   "\"7 md5-verification-failed\"",
                "\"6 stream-read-timeout\"", /* truncated */
                "\"-106 bin-verify-header-failed\"", "\"-105 server-faulty-md5\"",
        };
        for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++)
                if (!strstr(out, expected[i]))
                        fail_msg("no %s in %s", expected[i], out);
        /* nothing was flashed */
        assert_non_null(strstr(out, "\"updates_applied\":\t0"));
        assert_non_null(strstr(out, "\"1.0.0\":\t2"));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_bad_answers),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
