/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "flota/loop.h"

typedef struct Log {
        char text[64];
} Log;

static void note(Loop *l, void *userdata) {
        (void) l;
        strcat(((Log *) userdata)->text, "t");
}

typedef struct Tagged {
        Log *log;
        char tag;
} Tagged;

static void note_tag(Loop *l, void *userdata) {
        Tagged *t = userdata;
        size_t n = strlen(t->log->text);
        t->log->text[n] = t->tag;
        t->log->text[n + 1] = 0;
}

static void test_timers_in_order(void **state) {
        Loop *l = loop_new();
        Log log = {};
        Tagged a = { &log, 'a' }, b = { &log, 'b' }, c = { &log, 'c' }, d = { &log, 'd' };
        usec_t now = loop_now(l);

        loop_timer(l, now + 30000, note_tag, &c);
        loop_timer(l, now + 10000, note_tag, &a);
        loop_timer(l, now + 20000, note_tag, &b);
        loop_timer(l, now + 20000, note_tag, &d); /* same time: after b */
        assert_int_equal(loop_run(l), 0);
        assert_string_equal(log.text, "abdc");
        assert_true(now_usec(CLOCK_MONOTONIC) - now >= 30000);
        loop_free(l);
}

typedef struct Pipe {
        int fds[2];
        int reads;
} Pipe;

static void on_readable(Loop *l, int fd, short revents, void *userdata) {
        Pipe *p = userdata;
        char c;

        assert_true(revents & POLLIN);
        assert_int_equal(read(fd, &c, 1), 1);
        if (++p->reads == 3)
                loop_unwatch(l, fd); /* removing itself from inside its callback */
}

static void write_one(Loop *l, void *userdata) {
        Pipe *p = userdata;
        assert_int_equal(write(p->fds[1], "x", 1), 1);
}

static void test_io_and_unwatch(void **state) {
        Loop *l = loop_new();
        Pipe p = {};
        Log log = {};

        assert_int_equal(pipe(p.fds), 0);
        assert_int_equal(loop_watch(l, p.fds[0], POLLIN, on_readable, &p), 0);
        for (int i = 0; i < 3; i++)
                loop_timer(l, loop_now(l) + (usec_t) (i + 1) * 1000, write_one, &p);
        loop_timer(l, loop_now(l) + 5000, note, &log);
        assert_int_equal(loop_run(l), 0);
        assert_int_equal(p.reads, 3);
        assert_string_equal(log.text, "t");
        assert_int_equal(loop_watch(l, -1, POLLIN, on_readable, &p), -EINVAL);
        close(p.fds[0]);
        close(p.fds[1]);
        loop_free(l);
}

static void quit_now(Loop *l, void *userdata) {
        loop_quit(l);
}

static void test_quit(void **state) {
        Loop *l = loop_new();
        Log log = {};

        loop_timer(l, loop_now(l), quit_now, NULL);
        loop_timer(l, loop_now(l) + 1000000, note, &log);
        assert_int_equal(loop_run(l), 0);
        assert_string_equal(log.text, "");
        loop_free(l);
}

static void test_cancel(void **state) {
        Loop *l = loop_new();
        Log log = {};
        Tagged a = { &log, 'a' }, b = { &log, 'b' }, c = { &log, 'c' }, d = { &log, 'd' };
        LoopTimerHandle hb = {}, hc = {}, hd = {};
        usec_t now = loop_now(l);

        loop_timer(l, now + 1000, note_tag, &a);
        loop_timer_start(l, now + 2000, note_tag, &b, &hb);
        loop_timer_start(l, now + 3000, note_tag, &c, &hc);
        loop_timer_start(l, now + 4000, note_tag, &d, &hd);
        assert_true(loop_timer_is_pending(&hb) && loop_timer_is_pending(&hc));
        loop_timer_cancel(l, &hc);
        assert_false(loop_timer_is_pending(&hc));
        loop_timer_cancel(l, &hc); /* cancelling again is a no-op */
        assert_int_equal(loop_run(l), 0);
        assert_string_equal(log.text, "abd");
        assert_false(loop_timer_is_pending(&hb) || loop_timer_is_pending(&hd)); /* reset when they fired */

        /* a cancelled handle can start a new timer */
        loop_timer_start(l, loop_now(l), note_tag, &c, &hc);
        assert_int_equal(loop_run(l), 0);
        assert_string_equal(log.text, "abdc");
        loop_free(l);
}

typedef struct Canceller {
        Log *log;
        LoopTimerHandle *victim;
} Canceller;

static void cancel_other(Loop *l, void *userdata) {
        Canceller *c = userdata;
        strcat(c->log->text, "x");
        loop_timer_cancel(l, c->victim);
}

static void test_cancel_from_callback(void **state) {
        Loop *l = loop_new();
        Log log = {};
        Tagged b = { &log, 'b' };
        LoopTimerHandle hb = {};
        Canceller x = { &log, &hb };
        usec_t now = loop_now(l);

        /* both due in the same turn: the first cancels the second before it runs */
        loop_timer(l, now, cancel_other, &x);
        loop_timer_start(l, now, note_tag, &b, &hb);
        assert_int_equal(loop_run(l), 0);
        assert_string_equal(log.text, "x");
        loop_free(l);
}

#define MANY 2000

typedef struct Fired {
        usec_t last;
        unsigned count;
        bool in_order;
} Fired;

typedef struct Many {
        Fired *fired;
        usec_t when;
        bool cancelled;
        LoopTimerHandle h;
} Many;

static void many_fired(Loop *l, void *userdata) {
        Many *m = userdata;
        assert_false(m->cancelled);
        assert_false(loop_timer_is_pending(&m->h));
        if (m->when < m->fired->last)
                m->fired->in_order = false;
        m->fired->last = m->when;
        m->fired->count++;
}

/* The heap stays a heap, and handles stay right, through many cancels at random places. */
static void test_cancel_many(void **state) {
        Loop *l = loop_new();
        Fired fired = { .in_order = true };
        Many *m = calloc(MANY, sizeof(Many));
        usec_t base = loop_now(l);
        unsigned x = 12345, expected = 0;

        for (unsigned i = 0; i < MANY; i++) {
                x = x * 1103515245u + 12345u;
                m[i] = (Many) { .fired = &fired, .when = base + (x >> 8) % 20000 };
                loop_timer_start(l, m[i].when, many_fired, &m[i], &m[i].h);
        }
        for (unsigned i = 0; i < MANY; i++) {
                x = x * 1103515245u + 12345u;
                if ((x >> 16) % 3 == 0) {
                        m[i].cancelled = true;
                        loop_timer_cancel(l, &m[i].h);
                } else
                        expected++;
        }
        assert_int_equal(loop_run(l), 0);
        assert_int_equal(fired.count, expected);
        assert_true(fired.in_order);
        free(m);
        loop_free(l);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_timers_in_order),
                cmocka_unit_test(test_io_and_unwatch),
                cmocka_unit_test(test_quit),
                cmocka_unit_test(test_cancel),
                cmocka_unit_test(test_cancel_from_callback),
                cmocka_unit_test(test_cancel_many),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
