/* SPDX-License-Identifier: MIT */
/* The AvahiPoll contract of avahi-loop, driven directly (no avahi-daemon, no D-Bus). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "flota/avahi-loop.h"

/* An absolute CLOCK_REALTIME time msec from now, as avahi_elapse_time() makes it. */
static struct timeval in_msec(long msec) {
        struct timeval tv;
        gettimeofday(&tv, NULL);
        long usec = tv.tv_usec + msec * 1000;
        tv.tv_sec += usec / 1000000;
        tv.tv_usec = usec % 1000000;
        if (tv.tv_usec < 0) {
                tv.tv_usec += 1000000;
                tv.tv_sec--;
        }
        return tv;
}

typedef struct Reader {
        const AvahiPoll *api;
        int fds[2];
        int reads;
        AvahiWatchEvent last;
        AvahiWatchEvent seen_inside; /* watch_get_events() inside the callback */
} Reader;

static void on_readable(AvahiWatch *w, int fd, AvahiWatchEvent event, void *userdata) {
        Reader *r = userdata;
        char c;

        r->last = event;
        r->seen_inside = r->api->watch_get_events(w);
        assert_int_equal(fd, r->fds[0]);
        if (event & AVAHI_WATCH_IN)
                assert_int_equal(read(fd, &c, 1), 1);
        if (++r->reads == 3 || (event & AVAHI_WATCH_HUP))
                r->api->watch_free(w); /* inside its own callback */
}

typedef struct Writer {
        Reader *r;
        int left;
} Writer;

static void write_one(Loop *l, void *userdata) {
        Writer *wr = userdata;
        assert_int_equal(write(wr->r->fds[1], "x", 1), 1);
        if (--wr->left > 0)
                loop_timer(l, loop_now(l) + 1000, write_one, wr);
}

static void test_watch_fires_and_frees_itself(void **state) {
        Loop *l = loop_new();
        AvahiLoop *a = avahi_loop_new(l);
        Reader r = { .api = avahi_loop_get(a) };
        Writer wr = { &r, 5 };

        assert_int_equal(pipe(r.fds), 0);
        AvahiWatch *w = r.api->watch_new(r.api, r.fds[0], AVAHI_WATCH_IN, on_readable, &r);
        assert_non_null(w);
        assert_int_equal(r.api->watch_get_events(w), 0); /* nothing happened yet */
        loop_timer(l, loop_now(l) + 1000, write_one, &wr);
        /* the loop ends when the watch is gone and the writes are done */
        assert_int_equal(loop_run(l), 0);
        assert_int_equal(r.reads, 3);
        assert_int_equal(r.last, AVAHI_WATCH_IN);
        assert_int_equal(r.seen_inside, AVAHI_WATCH_IN);
        close(r.fds[0]);
        close(r.fds[1]);
        avahi_loop_free(a);
        loop_free(l);
}

static void test_watch_hangup(void **state) {
        Loop *l = loop_new();
        AvahiLoop *a = avahi_loop_new(l);
        Reader r = { .api = avahi_loop_get(a) };

        assert_int_equal(pipe(r.fds), 0);
        assert_non_null(r.api->watch_new(r.api, r.fds[0], AVAHI_WATCH_IN, on_readable, &r));
        close(r.fds[1]);
        assert_int_equal(loop_run(l), 0);
        assert_int_equal(r.reads, 1);
        assert_true(r.last & AVAHI_WATCH_HUP);
        close(r.fds[0]);
        avahi_loop_free(a);
        loop_free(l);
}

typedef struct Outw {
        const AvahiPoll *api;
        AvahiWatch *w;
        int calls;
        AvahiWatchEvent last;
} Outw;

static void on_writable(AvahiWatch *w, int fd, AvahiWatchEvent event, void *userdata) {
        Outw *o = userdata;
        o->calls++;
        o->last = event;
        o->api->watch_update(w, 0); /* inside its callback: no more calls until asked again */
}

static void enable_out(Loop *l, void *userdata) {
        Outw *o = userdata;
        assert_int_equal(o->calls, 0); /* created with no events: never called */
        o->api->watch_update(o->w, AVAHI_WATCH_OUT);
}

static void free_out(Loop *l, void *userdata) {
        Outw *o = userdata;
        o->api->watch_free(o->w);
}

static void test_watch_update(void **state) {
        Loop *l = loop_new();
        AvahiLoop *a = avahi_loop_new(l);
        Outw o = { .api = avahi_loop_get(a) };
        int fds[2];

        assert_int_equal(pipe(fds), 0);
        o.w = o.api->watch_new(o.api, fds[1], 0, on_writable, &o);
        loop_timer(l, loop_now(l) + 5000, enable_out, &o);
        loop_timer(l, loop_now(l) + 20000, free_out, &o);
        assert_int_equal(loop_run(l), 0);
        /* writable all the time, yet called once: its callback turned the events off */
        assert_int_equal(o.calls, 1);
        assert_int_equal(o.last, AVAHI_WATCH_OUT);
        close(fds[0]);
        close(fds[1]);
        avahi_loop_free(a);
        loop_free(l);
}

/* Two watches on one fd (as libdbus keeps a read and a write watch on its socket). */
typedef struct Pair {
        const AvahiPoll *api;
        AvahiWatch *in, *out;
        int in_calls, out_calls;
        AvahiWatchEvent in_event, out_event;
        int turns;
} Pair;

static void pair_in(AvahiWatch *w, int fd, AvahiWatchEvent event, void *userdata) {
        Pair *p = userdata;
        char c;
        p->in_calls++;
        p->in_event = event;
        assert_int_equal(read(fd, &c, 1), 1);
}

static void pair_out(AvahiWatch *w, int fd, AvahiWatchEvent event, void *userdata) {
        Pair *p = userdata;
        p->out_calls++;
        p->out_event = event;
        if (p->out_calls == 1)
                return;
        /* the second time: free both, the other one first, while it may still be due in this turn */
        p->api->watch_free(p->in);
        p->api->watch_free(w);
}

static void pair_write(Loop *l, void *userdata) {
        int *fd = userdata;
        assert_int_equal(write(*fd, "x", 1), 1);
}

static void test_two_watches_one_fd(void **state) {
        Loop *l = loop_new();
        AvahiLoop *a = avahi_loop_new(l);
        Pair p = { .api = avahi_loop_get(a) };
        int sv[2];

        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
        /* the write watch is the older one: it is handed its events after the read watch */
        p.out = p.api->watch_new(p.api, sv[0], AVAHI_WATCH_OUT, pair_out, &p);
        p.in = p.api->watch_new(p.api, sv[0], AVAHI_WATCH_IN, pair_in, &p);
        loop_timer(l, loop_now(l), pair_write, &sv[1]);
        assert_int_equal(loop_run(l), 0);
        /* each got only its own kind of event */
        assert_int_equal(p.out_event, AVAHI_WATCH_OUT);
        assert_int_equal(p.in_event, AVAHI_WATCH_IN);
        assert_int_equal(p.out_calls, 2);
        assert_int_equal(p.in_calls, 1);
        close(sv[0]);
        close(sv[1]);
        avahi_loop_free(a);
        loop_free(l);
}

/* The other order: the read watch frees the write watch before it gets this turn's events. */
static void in_frees_out(AvahiWatch *w, int fd, AvahiWatchEvent event, void *userdata) {
        Pair *p = userdata;
        char c;
        p->in_calls++;
        assert_int_equal(read(fd, &c, 1), 1);
        p->api->watch_free(p->out);
        p->api->watch_free(w);
}

static void count_out(AvahiWatch *w, int fd, AvahiWatchEvent event, void *userdata) {
        ((Pair *) userdata)->out_calls++;
}

static void test_free_other_watch_in_callback(void **state) {
        Loop *l = loop_new();
        AvahiLoop *a = avahi_loop_new(l);
        Pair p = { .api = avahi_loop_get(a) };
        int sv[2];

        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
        assert_int_equal(write(sv[1], "x", 1), 1);
        /* both due in the first turn; the read watch (newer) goes first and frees the other */
        p.out = p.api->watch_new(p.api, sv[0], AVAHI_WATCH_OUT, count_out, &p);
        p.in = p.api->watch_new(p.api, sv[0], AVAHI_WATCH_IN, in_frees_out, &p);
        assert_int_equal(loop_run(l), 0);
        assert_int_equal(p.in_calls, 1);
        assert_int_equal(p.out_calls, 0);
        close(sv[0]);
        close(sv[1]);
        avahi_loop_free(a);
        loop_free(l);
}

typedef struct Trace {
        char text[64];
        usec_t started;
} Trace;

typedef struct Tag {
        Trace *trace;
        char tag;
        const AvahiPoll *api;
        int rearm; /* times the callback sets itself again */
        bool free_self;
        usec_t fired_at;
} Tag;

static void on_timeout(AvahiTimeout *t, void *userdata) {
        Tag *g = userdata;
        size_t n = strlen(g->trace->text);

        g->trace->text[n] = g->tag;
        g->trace->text[n + 1] = 0;
        g->fired_at = now_usec(CLOCK_MONOTONIC);
        if (g->rearm-- > 0) {
                struct timeval tv = in_msec(10);
                g->api->timeout_update(t, &tv);
        } else if (g->free_self)
                g->api->timeout_free(t);
}

static void test_timeouts_in_order(void **state) {
        Loop *l = loop_new();
        AvahiLoop *a = avahi_loop_new(l);
        const AvahiPoll *api = avahi_loop_get(a);
        Trace tr = {};
        Tag ta = { .trace = &tr, .tag = 'a' }, tb = { .trace = &tr, .tag = 'b' },
            tc = { .trace = &tr, .tag = 'c' }, tz = { .trace = &tr, .tag = 'z' },
            ty = { .trace = &tr, .tag = 'y' }, tn = { .trace = &tr, .tag = 'n' };
        struct timeval c = in_msec(30), a10 = in_msec(10), b = in_msec(20), y = in_msec(-1000);
        const struct timeval zero = { 0, 0 };

        AvahiTimeout *t[6] = {
                api->timeout_new(api, &c, on_timeout, &tc),
                api->timeout_new(api, &a10, on_timeout, &ta),
                api->timeout_new(api, &b, on_timeout, &tb),
                api->timeout_new(api, &y, on_timeout, &ty),    /* past: fires at once, after z */
                api->timeout_new(api, &zero, on_timeout, &tz), /* {0, 0}: as soon as possible */
                api->timeout_new(api, NULL, on_timeout, &tn),  /* disabled */
        };
        usec_t t0 = now_usec(CLOCK_MONOTONIC);
        assert_int_equal(loop_run(l), 0);
        assert_string_equal(tr.text, "zyabc");
        assert_true(tc.fired_at - t0 >= 25 * USEC_PER_MSEC);
        /* each fired once and is disabled now: the loop has nothing left */
        assert_int_equal(loop_run(l), 0);
        assert_string_equal(tr.text, "zyabc");
        for (size_t i = 0; i < ELEMENTSOF(t); i++)
                api->timeout_free(t[i]);
        avahi_loop_free(a);
        loop_free(l);
}

static void test_timeout_update_disable_free(void **state) {
        Loop *l = loop_new();
        AvahiLoop *a = avahi_loop_new(l);
        const AvahiPoll *api = avahi_loop_get(a);
        Trace tr = {};
        Tag td = { .trace = &tr, .tag = 'd' }, te = { .trace = &tr, .tag = 'e' },
            tf = { .trace = &tr, .tag = 'f' }, tg = { .trace = &tr, .tag = 'g' },
            tr2 = { .trace = &tr, .tag = 'r', .api = api, .rearm = 1 },
            ts = { .trace = &tr, .tag = 's', .api = api, .free_self = true };
        struct timeval t10 = in_msec(10), t50 = in_msec(50), t5 = in_msec(5), t15 = in_msec(15),
                       t20 = in_msec(20), t25 = in_msec(25);

        AvahiTimeout *disabled = api->timeout_new(api, &t10, on_timeout, &td);
        api->timeout_update(disabled, NULL); /* d never fires */
        AvahiTimeout *earlier = api->timeout_new(api, &t50, on_timeout, &te);
        api->timeout_update(earlier, &t5); /* e moves to 5 ms */
        AvahiTimeout *freed = api->timeout_new(api, &t10, on_timeout, &tf);
        api->timeout_free(freed); /* f never fires */
        AvahiTimeout *enabled = api->timeout_new(api, NULL, on_timeout, &tg);
        api->timeout_update(enabled, &t15);                                  /* g at 15 ms */
        AvahiTimeout *again = api->timeout_new(api, &t20, on_timeout, &tr2); /* r twice */
        (void) api->timeout_new(api, &t25, on_timeout, &ts);                 /* s frees itself */

        /* e before g proves it moved from 50 ms to 5 ms */
        assert_int_equal(loop_run(l), 0);
        assert_string_equal(tr.text, "egrsr");
        api->timeout_free(disabled);
        api->timeout_free(earlier);
        api->timeout_free(enabled);
        api->timeout_free(again);
        avahi_loop_free(a);
        loop_free(l);
}

static void never(AvahiTimeout *t, void *userdata) {
        fail_msg("a timeout released by avahi_loop_free() fired");
}

static void never_io(AvahiWatch *w, int fd, AvahiWatchEvent event, void *userdata) {
        fail_msg("a watch released by avahi_loop_free() fired");
}

static void test_free_releases_leftovers(void **state) {
        Loop *l = loop_new();
        AvahiLoop *a = avahi_loop_new(l);
        const AvahiPoll *api = avahi_loop_get(a);
        struct timeval soon = in_msec(1);
        int fds[2];

        assert_int_equal(pipe(fds), 0);
        assert_non_null(api->watch_new(api, fds[1], AVAHI_WATCH_OUT, never_io, NULL));
        assert_non_null(api->timeout_new(api, &soon, never, NULL));
        avahi_loop_free(a);
        /* nothing is left on the loop: it returns at once */
        assert_int_equal(loop_run(l), 0);
        close(fds[0]);
        close(fds[1]);
        loop_free(l);
        assert_null(avahi_loop_free(NULL));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_watch_fires_and_frees_itself),
                cmocka_unit_test(test_watch_hangup),
                cmocka_unit_test(test_watch_update),
                cmocka_unit_test(test_two_watches_one_fd),
                cmocka_unit_test(test_free_other_watch_in_callback),
                cmocka_unit_test(test_timeouts_in_order),
                cmocka_unit_test(test_timeout_update_disable_free),
                cmocka_unit_test(test_free_releases_leftovers),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
