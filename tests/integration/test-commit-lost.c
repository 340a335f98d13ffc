/* SPDX-License-Identifier: MIT */
/*
 * A check-in batch whose COMMIT reached PostgreSQL and committed, but whose answer was lost
 * with the connection, is in the database once and not twice: flotad reads the batch's
 * journal mark back on a new connection and counts the batch as written. A batch whose COMMIT
 * never reached the server is written again after the reconnect, once.
 *
 * flotad reaches the cluster through a proxy in this test (127.0.0.1, forwarding to the
 * cluster's unix socket) that reads the protocol's frontend messages: armed, it cuts the
 * connection of the first check-in batch's COMMIT (the transaction that records a journal
 * mark), either after the server answered it (the answer withheld) or before sending it.
 * Runs under tests/pg/with-postgres.sh only (77 without a cluster).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "flota/alloc.h"
#include "flota/time-util.h"
#include "flotad-harness.h"

/* Connections the proxy carries at once (the cluster takes 60); more are refused. */
#define PROXY_PAIRS 48
/* A protocol message bigger than this closes its connection. */
#define MESSAGE_MAX (1u << 20)
/* The startup phase's requests that the server answers with a single byte. */
#define SSL_REQUEST_CODE 80877103u
#define GSSENC_REQUEST_CODE 80877104u

#define POLLS 20

typedef enum CutMode {
        CUT_NONE,
        CUT_AFTER_ANSWER, /* COMMIT sent on; its answer withheld, then both sides closed */
        CUT_BEFORE_SEND,  /* both sides closed instead of sending the COMMIT on */
} CutMode;

/* One direction of a proxied connection, read into whole protocol messages. */
typedef struct Stream {
        uint8_t *buf;
        size_t len, allocated;
        bool typed; /* past the startup packets: a type byte, then an int32 length */
} Stream;

typedef struct Pair {
        int client, server;   /* -1: the slot is free */
        Stream up, down;      /* frontend to backend, backend to frontend */
        unsigned raw_replies; /* single-byte answers the server owes (SSL, GSS requests) */
        bool writes_mark;     /* the open transaction records a check-in journal mark */
        bool withholding;     /* the cut COMMIT was sent on: its answer is dropped */
} Pair;

typedef struct PgProxy {
        int listener;
        int port;
        struct sockaddr_un target;
        pthread_t thread;
        atomic_int mode;        /* a CutMode; back to CUT_NONE once it is taken */
        atomic_int cuts;        /* connections cut */
        atomic_bool saw_commit; /* a withheld answer said COMMIT */
        atomic_bool stop;
        Pair pairs[PROXY_PAIRS];
} PgProxy;

typedef struct Fixture {
        Flotad f;
        PgProxy proxy;
        char *db_name;
} Fixture;

static void sleep_ms(long ms) {
        struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
        nanosleep(&ts, NULL);
}

static uint32_t be32(const uint8_t *p) {
        return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3];
}

static void stream_done(Stream *s) {
        free(s->buf);
        *s = (Stream) {};
}

static void pair_close(Pair *c) {
        if (c->client >= 0)
                close(c->client);
        if (c->server >= 0)
                close(c->server);
        stream_done(&c->up);
        stream_done(&c->down);
        *c = (Pair) { .client = -1, .server = -1 };
}

static int send_all(int fd, const uint8_t *p, size_t n) {
        while (n > 0) {
                ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
                if (w < 0 && errno == EINTR)
                        continue;
                if (w <= 0)
                        return -1;
                p += w;
                n -= (size_t) w;
        }
        return 0;
}

/* The length of the whole message at the start of buf (0: not all there yet), or -1 when bad. */
static long message_length(const uint8_t *buf, size_t len, bool typed, unsigned raw_replies) {
        if (raw_replies > 0)
                return len >= 1 ? 1 : 0;
        size_t head = typed ? 5 : 4;
        if (len < head)
                return 0;
        uint32_t n = be32(buf + head - 4);
        if (n < 4 || n > MESSAGE_MAX)
                return -1;
        size_t total = head - 4 + n;
        return len >= total ? (long) total : 0;
}

/* A simple query ('Q') whose text is exactly sql. */
static bool is_query(const uint8_t *m, size_t n, const char *sql) {
        size_t k = strlen(sql);
        return m[0] == 'Q' && n == 5 + k + 1 && memcmp(m + 5, sql, k) == 0 && m[5 + k] == 0;
}

typedef enum Verdict {
        FORWARD,
        DROP,
        CUT,
} Verdict;

static Verdict on_frontend(PgProxy *p, Pair *c, const uint8_t *m, size_t n) {
        if (!c->up.typed) {
                uint32_t code = n >= 8 ? be32(m + 4) : 0;
                if (code == SSL_REQUEST_CODE || code == GSSENC_REQUEST_CODE)
                        c->raw_replies++;
                else
                        c->up.typed = true;
                return FORWARD;
        }
        if ((m[0] == 'P' || m[0] == 'Q') && memmem(m + 5, n - 5, "INSERT INTO checkin_journals", 28))
                c->writes_mark = true;
        if (is_query(m, n, "ROLLBACK"))
                c->writes_mark = false;
        if (!is_query(m, n, "COMMIT"))
                return FORWARD;
        bool batch = c->writes_mark;
        c->writes_mark = false;
        if (!batch)
                return FORWARD;
        switch (atomic_exchange(&p->mode, CUT_NONE)) {
        case CUT_BEFORE_SEND: return CUT;
        case CUT_AFTER_ANSWER: c->withholding = true; return FORWARD;
        default: return FORWARD;
        }
}

static Verdict on_backend(PgProxy *p, Pair *c, const uint8_t *m, size_t n) {
        if (c->raw_replies > 0) {
                c->raw_replies--;
                return FORWARD;
        }
        if (!c->withholding)
                return FORWARD;
        /* CommandComplete with the tag COMMIT: the transaction committed */
        if (m[0] == 'C' && n == 5 + 7 && memcmp(m + 5, "COMMIT", 7) == 0)
                atomic_store(&p->saw_commit, true);
        return m[0] == 'Z' ? CUT : DROP;
}

/*
 * Reads what fd has into s and passes the whole messages on, in one write (a write per
 * message would wait for the peer's delayed acknowledgements); false when the pair is done
 * (end of file, an error, a message too big or cut).
 */
static bool pump(PgProxy *p, Pair *c, bool up) {
        Stream *s = up ? &c->up : &c->down;
        int from = up ? c->client : c->server, to = up ? c->server : c->client;
        size_t done = 0, kept = 0;
        long n;

        s->buf = xgrow(s->buf, &s->allocated, s->len + 65536, 1);
        ssize_t k = recv(from, s->buf + s->len, 65536, 0);
        if (k < 0 && errno == EINTR)
                return true;
        if (k <= 0)
                return false;
        s->len += (size_t) k;
        /* the messages to pass on are moved together to the start of the buffer */
        while ((n = message_length(s->buf + done, s->len - done, s->typed, up ? 0 : c->raw_replies)) > 0) {
                uint8_t *m = s->buf + done;
                Verdict v = up ? on_frontend(p, c, m, (size_t) n) : on_backend(p, c, m, (size_t) n);
                if (v == CUT) {
                        /* what came before the cut still goes */
                        if (kept > 0)
                                (void) send_all(to, s->buf, kept);
                        atomic_fetch_add(&p->cuts, 1);
                        return false;
                }
                if (v == FORWARD) {
                        memmove(s->buf + kept, m, (size_t) n);
                        kept += (size_t) n;
                }
                done += (size_t) n;
        }
        if (kept > 0 && send_all(to, s->buf, kept) < 0)
                return false;
        s->len -= done;
        memmove(s->buf, s->buf + done, s->len);
        return n == 0;
}

static void accept_one(PgProxy *p) {
        int client = accept4(p->listener, NULL, NULL, SOCK_CLOEXEC);
        if (client < 0)
                return;
        Pair *c = NULL;
        for (size_t i = 0; i < PROXY_PAIRS && !c; i++)
                if (p->pairs[i].client < 0)
                        c = &p->pairs[i];
        int server = c ? socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0) : -1;
        if (server < 0 || connect(server, (struct sockaddr *) &p->target, sizeof(p->target)) < 0) {
                fprintf(stderr, "proxy: refusing a connection: %s\n",
                        c ? strerror(errno) : "all slots taken");
                if (server >= 0)
                        close(server);
                close(client);
                return;
        }
        *c = (Pair) { .client = client, .server = server, .down.typed = true };
}

static void *proxy_main(void *userdata) {
        PgProxy *p = userdata;

        while (!atomic_load(&p->stop)) {
                struct pollfd fds[1 + 2 * PROXY_PAIRS];
                Pair *owner[1 + 2 * PROXY_PAIRS];
                size_t n = 0;

                fds[n] = (struct pollfd) { .fd = p->listener, .events = POLLIN };
                owner[n++] = NULL;
                for (size_t i = 0; i < PROXY_PAIRS; i++) {
                        if (p->pairs[i].client < 0)
                                continue;
                        fds[n] = (struct pollfd) { .fd = p->pairs[i].client, .events = POLLIN };
                        owner[n++] = &p->pairs[i];
                        fds[n] = (struct pollfd) { .fd = p->pairs[i].server, .events = POLLIN };
                        owner[n++] = &p->pairs[i];
                }
                if (poll(fds, n, 100) <= 0)
                        continue;
                for (size_t i = 1; i < n; i++) {
                        Pair *c = owner[i];
                        bool up = fds[i].fd == c->client;
                        /* a pair closed earlier in this round shows as free */
                        if (c->client < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
                                continue;
                        if (!pump(p, c, up))
                                pair_close(c);
                }
                if (fds[0].revents & POLLIN)
                        accept_one(p);
        }
        return NULL;
}

/* Listens on 127.0.0.1 (an ephemeral port, in p->port), forwarding to the test cluster's socket. */
static void proxy_start(PgProxy *p) {
        const char *dir = getenv("PGHOST"), *port = getenv("PGPORT");
        struct sockaddr_in sa = { .sin_family = AF_INET };
        socklen_t len = sizeof(sa);

        assert_non_null(dir);
        assert_non_null(port);
        *p = (PgProxy) { .target.sun_family = AF_UNIX };
        for (size_t i = 0; i < PROXY_PAIRS; i++)
                p->pairs[i] = (Pair) { .client = -1, .server = -1 };
        int k = snprintf(p->target.sun_path, sizeof(p->target.sun_path), "%s/.s.PGSQL.%s", dir, port);
        assert_true(k > 0 && (size_t) k < sizeof(p->target.sun_path));
        p->listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_true(p->listener >= 0);
        inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
        assert_int_equal(bind(p->listener, (struct sockaddr *) &sa, sizeof(sa)), 0);
        assert_int_equal(listen(p->listener, 64), 0);
        assert_int_equal(getsockname(p->listener, (struct sockaddr *) &sa, &len), 0);
        p->port = ntohs(sa.sin_port);
        assert_int_equal(pthread_create(&p->thread, NULL, proxy_main, p), 0);
}

static void proxy_stop(PgProxy *p) {
        atomic_store(&p->stop, true);
        pthread_join(p->thread, NULL);
        for (size_t i = 0; i < PROXY_PAIRS; i++)
                pair_close(&p->pairs[i]);
        close(p->listener);
}

static const char *const every_poll[] = { "--checkin-heartbeat", "0", NULL };

/* flotad on a database of its own, through the proxy. */
static int setup(void **state) {
        Fixture *x = xcalloc(1, sizeof(Fixture));

        flotad_init(&x->f);
        assert_non_null(x->f.database);
        /* postgresql:///NAME?host=...: the tokens are in; from now on flotad goes through the proxy */
        char *url = x->f.database;
        url[strcspn(url, "?")] = 0;
        x->db_name = xstrdup(strrchr(url, '/') + 1);
        free(url);
        proxy_start(&x->proxy);
        x->f.database = xasprintf("postgresql://flota@127.0.0.1:%d/%s?sslmode=disable&gssencmode=disable",
                                  x->proxy.port, x->db_name);
        if (flotad_start(&x->f, every_poll) < 0) {
                _cleanup_free_ char *log = slurp(x->f.log_path, NULL);
                fail_msg("flotad did not start on the proxied database:\n%s", log);
        }
        *state = x;
        return 0;
}

static int teardown(void **state) {
        Fixture *x = *state;

        /* flotad first: without its database it would take its time to stop */
        int k = flotad_finish(&x->f);
        flotad_cleanup(&x->f);
        proxy_stop(&x->proxy);
        free(x->db_name);
        free(x);
        return k;
}

static void make_product(const Flotad *f) {
        HttpResponse r;
        assert_int_equal(api(f, "POST", "/api/v1/products", "{\"name\":\"door\"}", &r), 201);
        http_response_done(&r);
}

static void poll_devices(const Flotad *f, int n) {
        for (int i = 0; i < n; i++) {
                HttpResponse r;
                char mac[18];
                snprintf(mac, sizeof(mac), "18:FE:AD:00:00:%02X", i);
                _cleanup_free_ char *req =
                        esp8266_poll("/update/door", f->port, mac, "1", NULL, 1 << 20, NULL);
                assert_int_equal(http_raw(f->port, req, strlen(req), &r), 0);
                assert_int_equal(r.status, 304);
                http_response_done(&r);
        }
}

/* Waits (bounded, 10 s) until the proxy has cut a connection. */
static void wait_cut(PgProxy *p) {
        for (int i = 0; i < 200 && atomic_load(&p->cuts) == 0; i++)
                sleep_ms(50);
        assert_int_equal(atomic_load(&p->cuts), 1);
}

/* Waits (bounded, 20 s) until flotad has written n check-ins and has none waiting. */
static void wait_written(const Flotad *f, long n) {
        long written = -1, pending = -1;

        for (int i = 0; i < 200; i++) {
                _cleanup_free_ char *req =
                        xstrdup("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
                HttpResponse h;
                assert_int_equal(http_raw(f->port, req, strlen(req), &h), 0);
                written = json_int(h.body, "checkins_written");
                pending = json_int(h.body, "checkins_pending");
                http_response_done(&h);
                if (written >= n && pending == 0)
                        break;
                sleep_ms(100);
        }
        assert_int_equal(written, n);
        assert_int_equal(pending, 0);
}

/* The rows of the checkins table, read on the cluster directly (not through the proxy). */
static long count_rows(const Fixture *x) {
        _cleanup_free_ char *psql = xasprintf("%s/psql", getenv("FLOTA_TEST_PG_BINDIR"));
        char *argv[] = { psql,
                         (char *) "-X",
                         (char *) "-At",
                         (char *) "-d",
                         x->db_name,
                         (char *) "-c",
                         (char *) "SELECT count(*) FROM checkins",
                         NULL };
        _cleanup_free_ char *out = NULL;

        assert_int_equal(run_program(argv, false, &out), 0);
        return strtol(out, NULL, 10);
}

/* The count of the check-in feed read through the API. */
static long count_feed(const Flotad *f) {
        HttpResponse r;
        long n = 0;

        assert_int_equal(api(f, "GET", "/api/v1/checkins?after=0&limit=10000", NULL, &r), 200);
        for (const char *p = r.body; (p = strstr(p, "\"reason\":")); p++)
                n++;
        http_response_done(&r);
        return n;
}

/* The batch size in flotad's "were committed before" line, 0 without one. */
static long committed_before_break(const Flotad *f) {
        _cleanup_free_ char *log = slurp(f->log_path, NULL);
        const char *p = strstr(log, " check-ins were committed before the database connection broke");
        if (!p)
                return 0;
        while (p > log && p[-1] >= '0' && p[-1] <= '9')
                p--;
        return strtol(p, NULL, 10);
}

static bool log_has(const Flotad *f, const char *needle) {
        _cleanup_free_ char *log = slurp(f->log_path, NULL);
        return strstr(log, needle) != NULL;
}

/* The COMMIT committed, its answer was lost: the batch is in the database once. */
static void test_commit_answer_lost(void **state) {
        Fixture *x = *state;
        usec_t t0 = now_usec(CLOCK_MONOTONIC);

        make_product(&x->f);
        atomic_store(&x->proxy.mode, CUT_AFTER_ANSWER);
        poll_devices(&x->f, POLLS);
        wait_cut(&x->proxy);
        assert_true(atomic_load(&x->proxy.saw_commit));
        wait_written(&x->f, POLLS);
        long batch = committed_before_break(&x->f);
        fprintf(stderr, "cut after the COMMIT's answer: a batch of %ld of %d check-ins; %.1f s\n", batch,
                POLLS, (double) (now_usec(CLOCK_MONOTONIC) - t0) / USEC_PER_SEC);
        /* not 2 x POLLS (the batch written again), not 0 */
        assert_int_equal(count_rows(x), POLLS);
        assert_int_equal(count_feed(&x->f), POLLS);
        assert_true(log_has(&x->f, "database connection lost, the change may or may not have been made"));
        assert_true(batch >= 1 && batch <= POLLS);
}

/* The COMMIT never reached the server: the batch is written again after the reconnect, once. */
static void test_commit_never_sent(void **state) {
        Fixture *x = *state;
        usec_t t0 = now_usec(CLOCK_MONOTONIC);

        make_product(&x->f);
        atomic_store(&x->proxy.mode, CUT_BEFORE_SEND);
        poll_devices(&x->f, POLLS);
        wait_cut(&x->proxy);
        wait_written(&x->f, POLLS);
        fprintf(stderr, "cut before the COMMIT was sent: %.1f s\n",
                (double) (now_usec(CLOCK_MONOTONIC) - t0) / USEC_PER_SEC);
        assert_true(log_has(&x->f, "database connection lost, the change may or may not have been made"));
        assert_int_equal(committed_before_break(&x->f), 0);
        assert_int_equal(count_rows(x), POLLS);
        assert_int_equal(count_feed(&x->f), POLLS);
}

int main(void) {
        if (!getenv("FLOTA_TEST_PG")) {
                fprintf(stderr, "SKIP: needs a PostgreSQL cluster (run under tests/pg/with-postgres.sh)\n");
                return 77;
        }
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_commit_answer_lost, setup, teardown),
                cmocka_unit_test_setup_teardown(test_commit_never_sent, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
