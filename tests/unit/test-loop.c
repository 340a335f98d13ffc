/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
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

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_timers_in_order),
                cmocka_unit_test(test_io_and_unwatch),
                cmocka_unit_test(test_quit),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
