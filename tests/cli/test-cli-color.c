/* SPDX-License-Identifier: MIT */
/*
 * flota's colour and table width: plain text into a pipe, colour on a terminal unless
 * NO_COLOR is set and not empty (or TERM=dumb, or --color=never), --color=always anywhere,
 * and tables cut to the terminal's width. The terminal is a pseudo-terminal from script(1)
 * (util-linux; bsdutils on Debian, which share/dev/deps.sh installs) with its width set by stty.
 * Without script the whole test exits 77, which meson reports as SKIP: never as a pass.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "flota/alloc.h"
#include "flota/strutil.h"
#include "flotad-harness.h"

typedef struct Fixture {
        Flotad f;
        char *common; /* flota and its --server, --token and --db, quoted for sh */
} Fixture;

static int setup(void **state) {
        Fixture *x = xcalloc(1, sizeof(Fixture));
        HttpResponse r;

        flotad_init(&x->f);
        if (flotad_start(&x->f, NULL) < 0)
                return -1;
        x->common = xasprintf("'%s' --server http://127.0.0.1:%d --token %s --db '%s/inventory.db'",
                              getenv("FLOTA"), x->f.port, x->f.admin_token, x->f.dir);
        if (api(&x->f, "POST", "/api/v1/products", "{\"name\":\"door\"}", &r) != 201)
                return -1;
        http_response_done(&r);
        _cleanup_free_ char *img = make_image(&x->f, "esp8266", "2.0.0", "64K");
        _cleanup_free_ char *cmd =
                xasprintf("%s release upload '%s' --product door --version 2.0.0 >/dev/null && "
                          "%s promote door stable 1 >/dev/null",
                          x->common, img, x->common);
        if (system(cmd) != 0)
                return -1;
        *state = x;
        return 0;
}

static int teardown(void **state) {
        Fixture *x = *state;
        int r = flotad_finish(&x->f);

        flotad_cleanup(&x->f);
        free(x->common);
        free(x);
        return r;
}

/* Runs "flota ARGS" through sh with env (assignments, or "-u NO_COLOR") into a pipe. */
static char *run_pipe(const Fixture *x, const char *env, const char *args) {
        _cleanup_free_ char *cmd = xasprintf("env %s %s %s </dev/null", env, x->common, args);
        const char *argv[] = { "/bin/sh", "-c", cmd, NULL };
        char *out = NULL;

        assert_int_equal(run_program((char *const *) argv, false, &out), 0);
        return out;
}

/* The same on a pseudo-terminal cols columns wide (its output has \r\n line ends). */
static char *run_tty(const Fixture *x, const char *env, int cols, const char *args) {
        _cleanup_free_ char *cmd =
                xasprintf("env %s script -qec \"stty cols %d; exec %s %s\" /dev/null </dev/null", env, cols,
                          x->common, args);
        const char *argv[] = { "/bin/sh", "-c", cmd, NULL };
        char *out = NULL;

        assert_int_equal(run_program((char *const *) argv, false, &out), 0);
        return out;
}

static bool has_escape(const char *s) {
        return strchr(s, '\033') != NULL;
}

static void test_pipe_is_plain(void **state) {
        const Fixture *x = *state;
        static const char *const verbs[] = { "channels", "releases", "devices", "status", "release show 1" };

        for (size_t i = 0; i < ELEMENTSOF(verbs); i++) {
                _cleanup_free_ char *out = run_pipe(x, "-u NO_COLOR TERM=xterm", verbs[i]);
                if (has_escape(out))
                        fail_msg("flota %s into a pipe printed an escape sequence: %s", verbs[i], out);
        }
        _cleanup_free_ char *forced = run_pipe(x, "-u NO_COLOR", "--color=always channels");
        assert_non_null(strstr(forced, "\033[1mPRODUCT"));
}

static void test_terminal_colour(void **state) {
        const Fixture *x = *state;

        _cleanup_free_ char *on = run_tty(x, "-u NO_COLOR TERM=xterm", 200, "channels");
        assert_non_null(strstr(on, "\033[1mPRODUCT"));
        assert_non_null(strstr(on, "UPDATED\033[0m\r\n"));
        /* only the header: the rows are plain */
        assert_null(strstr(strstr(on, "\r\n"), "\033"));

        /* NO_COLOR set and not empty, TERM=dumb, --color=never: plain; an empty NO_COLOR is unset */
        _cleanup_free_ char *no_color = run_tty(x, "NO_COLOR=1 TERM=xterm", 200, "channels");
        assert_false(has_escape(no_color));
        _cleanup_free_ char *dumb = run_tty(x, "-u NO_COLOR TERM=dumb", 200, "channels");
        assert_false(has_escape(dumb));
        _cleanup_free_ char *never = run_tty(x, "-u NO_COLOR TERM=xterm", 200, "--color=never channels");
        assert_false(has_escape(never));
        _cleanup_free_ char *empty = run_tty(x, "NO_COLOR= TERM=xterm", 200, "channels");
        assert_true(has_escape(empty));
        /* --color=always wins over NO_COLOR, as no-color.org asks of explicit flags */
        _cleanup_free_ char *always = run_tty(x, "NO_COLOR=1 TERM=xterm", 200, "--color=always channels");
        assert_true(has_escape(always));
        /* JSON is never coloured */
        _cleanup_free_ char *json =
                run_tty(x, "-u NO_COLOR TERM=xterm", 200, "--color=always --json channels");
        assert_false(has_escape(json));
}

static void test_status_colour(void **state) {
        const Fixture *x = *state;

        _cleanup_free_ char *up = run_tty(x, "-u NO_COLOR TERM=xterm", 200, "status");
        assert_non_null(strstr(up, "\033[32manswers\033[0m"));
        _cleanup_free_ char *cmd =
                xasprintf("env -u NO_COLOR TERM=xterm script -qec \"'%s' --server "
                          "http://127.0.0.1:9 --timeout 2 --db '%s/inventory.db' status\" "
                          "/dev/null </dev/null",
                          getenv("FLOTA"), x->f.dir);
        const char *argv[] = { "/bin/sh", "-c", cmd, NULL };
        char *down = NULL;
        assert_int_equal(run_program((char *const *) argv, false, &down), 0);
        assert_non_null(strstr(down, "\033[31mdoes not answer: "));
        free(down);
}

/* Every line of a table fits the terminal; escapes take no columns. */
static void test_table_width(void **state) {
        const Fixture *x = *state;

        _cleanup_free_ char *narrow = run_tty(x, "-u NO_COLOR TERM=xterm", 30, "channels");
        _cleanup_free_ char *wide = run_tty(x, "-u NO_COLOR TERM=xterm", 200, "channels");
        int lines = 0;
        for (char *line = strtok(narrow, "\r\n"); line; line = strtok(NULL, "\r\n"), lines++) {
                size_t columns = 0;
                for (const char *p = line; *p; p++)
                        if (*p == '\033')
                                p += strcspn(p, "m");
                        else
                                columns++;
                if (columns > 30)
                        fail_msg("a line of %zu columns on a 30-column terminal: '%s'", columns, line);
        }
        assert_int_equal(lines, 2);
        /* wide enough, nothing is cut */
        assert_non_null(strstr(wide, "UPDATED"));
        assert_null(strstr(narrow, "UPDATED"));
}

/* The exit status meson reports as SKIP. */
#define EXIT_SKIP 77

int main(void) {
        if (system("command -v script >/dev/null 2>&1") != 0) {
                fprintf(stderr,
                        "script(1) from util-linux is not installed: no pseudo-terminal to test with\n");
                return EXIT_SKIP;
        }
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_pipe_is_plain),
                cmocka_unit_test(test_terminal_colour),
                cmocka_unit_test(test_status_colour),
                cmocka_unit_test(test_table_width),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
