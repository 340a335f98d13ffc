/* SPDX-License-Identifier: MIT */
/*
 * Slow and greedy clients: a request head that trickles in is cut off at its deadline, one
 * address cannot hold more than its share of connections, and connections beyond the limit
 * are closed at once instead of left hanging.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "flota/alloc.h"
#include "flotad-harness.h"

/* Starts flotad with these [flotad] settings in a config file. */
static Flotad *start_with(const char *settings) {
        Flotad *f = xcalloc(1, sizeof(Flotad));
        HttpResponse r;

        flotad_init(f);
        _cleanup_free_ char *conf = xasprintf("%s/flotad.conf", f->dir);
        FILE *o = fopen(conf, "w");
        assert_non_null(o);
        fprintf(o, "[flotad]\n%s", settings);
        fclose(o);
        const char *args[] = { "-c", conf, NULL };
        assert_int_equal(flotad_start(f, args), 0);
        assert_int_equal(api(f, "POST", "/api/v1/products", "{\"name\":\"door\"}", &r), 201);
        http_response_done(&r);
        return f;
}

static int teardown(void **state) {
        assert_int_equal(flotad_finish(*state), 0);
        flotad_cleanup(*state);
        free(*state);
        return 0;
}

static int setup_head_timeout(void **state) {
        *state = start_with("request-head-timeout = 1\ntimeout = 30\n");
        return 0;
}

static int setup_per_address(void **state) {
        *state = start_with("per-address-connection-limit = 4\n");
        return 0;
}

static int setup_connection_limit(void **state) {
        *state = start_with("connection-limit = 3\nper-address-connection-limit = 0\n");
        return 0;
}

static int connect_local(int port) {
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t) port) };
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

        inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
        assert_int_equal(connect(fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
        return fd;
}

/* True when the server closes fd within ms (reads EOF or an error). */
static bool closed_within(int fd, int ms) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        char buf[256];

        if (poll(&p, 1, ms) <= 0)
                return false;
        return recv(fd, buf, sizeof(buf), MSG_DONTWAIT) <= 0;
}

static void assert_poll_answered(Flotad *f) {
        _cleanup_free_ char *req =
                esp8266_poll("/update/door", f->port, "AA:BB:CC:00:00:01", "1", NULL, 1 << 20, NULL);
        HttpResponse r;

        assert_int_equal(http_raw(f->port, req, strlen(req), &r), 0);
        assert_int_equal(r.status, 304);
        http_response_done(&r);
}

/* A head sent a byte at a time, never idle for long, is cut off at the head deadline (1 s here). */
static void test_trickled_head_cut_off(void **state) {
        Flotad *f = *state;
        int fd = connect_local(f->port);
        const char *start = "GET /update/door HTTP/1.0\r\nX-Slow: ";
        bool closed = false;

        assert_int_equal(send(fd, start, strlen(start), MSG_NOSIGNAL), (ssize_t) strlen(start));
        /* a byte every 200 ms for up to 6 s: far inside the idle timeout (30 s) */
        for (int i = 0; i < 30 && !closed; i++) {
                if (send(fd, "a", 1, MSG_NOSIGNAL) != 1) {
                        closed = true;
                        break;
                }
                closed = closed_within(fd, 200);
        }
        close(fd);
        if (!closed)
                fail_msg("a trickled request head was still open after 6 s");
        assert_poll_answered(f);
}

/* One address gets at most per-address-connection-limit connections; more are closed at once. */
static void test_per_address_limit(void **state) {
        Flotad *f = *state;
        int fds[4];

        for (int i = 0; i < 4; i++)
                fds[i] = connect_local(f->port);
        int extra = connect_local(f->port);
        assert_true(closed_within(extra, 2000));
        close(extra);
        for (int i = 0; i < 4; i++)
                assert_false(closed_within(fds[i], 0));
        for (int i = 0; i < 4; i++)
                close(fds[i]);
        /* the address's connections are free again: bounded retry while the server notices the closes */
        for (int i = 0; i < 50; i++) {
                _cleanup_free_ char *req =
                        esp8266_poll("/update/door", f->port, "AA:BB:CC:00:00:01", "1", NULL, 1 << 20, NULL);
                HttpResponse r;
                int rc = http_raw(f->port, req, strlen(req), &r);
                int status = rc == 0 ? r.status : -1;
                http_response_done(&r);
                if (status == 304)
                        return;
                struct pollfd none = { .fd = -1 };
                poll(&none, 0, 50);
        }
        fail_msg("polls were not answered after the idle connections closed");
}

/* Beyond connection-limit a connection is closed as soon as it is accepted, not left hanging. */
static void test_connection_limit_closes(void **state) {
        Flotad *f = *state;
        int fds[3];

        for (int i = 0; i < 3; i++)
                fds[i] = connect_local(f->port);
        int extra = connect_local(f->port);
        if (!closed_within(extra, 2000))
                fail_msg("a connection beyond connection-limit was left open");
        close(extra);
        for (int i = 0; i < 3; i++)
                close(fds[i]);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_trickled_head_cut_off, setup_head_timeout, teardown),
                cmocka_unit_test_setup_teardown(test_per_address_limit, setup_per_address, teardown),
                cmocka_unit_test_setup_teardown(test_connection_limit_closes, setup_connection_limit,
                                                teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
