/* SPDX-License-Identifier: MIT */
/*
 * The ':' command line: runs a flota verb as a child process (this same binary, the same
 * inventory, server and token, no colour) and shows what it prints in the Output view, read
 * from a pipe on the loop so the screen never waits for it. Esc stops it.
 */
#include <curses.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "app.h"
#include "flota/alloc.h"
#include "flota/strutil.h"

#define OUTPUT_LINES_MAX 10000
#define ARGS_MAX 64

extern char **environ;

static void add_line(App *a, const char *s, size_t n) {
        if (a->n_out >= OUTPUT_LINES_MAX) {
                a->out_cut = true;
                return;
        }
        /* tabs (JSON output) become spaces to the next multiple of 8 */
        char *line = xmalloc(n * 8 + 1);
        size_t o = 0;
        for (size_t i = 0; i < n; i++) {
                if (s[i] == '\t')
                        do
                                line[o++] = ' ';
                        while (o % 8);
                else
                        line[o++] = s[i];
        }
        line[o] = 0;
        a->out = xgrow(a->out, &a->out_allocated, a->n_out + 1, sizeof(char *));
        a->out[a->n_out++] = line;
}

void command_clear(App *a) {
        command_stop(a);
        for (size_t i = 0; i < a->n_out; i++)
                free(a->out[i]);
        free(a->out);
        a->out = NULL;
        a->n_out = a->out_allocated = 0;
        a->out_cut = false;
        free(a->partial);
        a->partial = NULL;
        a->out_top = 0;
}

static void reap(Loop *l, void *userdata) {
        App *a = userdata;
        int status;

        if (a->cmd_pid <= 0)
                return;
        pid_t p = waitpid(a->cmd_pid, &status, WNOHANG);
        if (p == 0) {
                /* it closed its output but has not exited yet: look again soon */
                loop_timer(l, loop_now(l) + 100 * USEC_PER_MSEC, reap, a);
                return;
        }
        a->cmd_pid = 0;
        if (p > 0 && WIFEXITED(status))
                a->cmd_status = WEXITSTATUS(status);
        else
                a->cmd_status = p > 0 && WIFSIGNALED(status) ? 128 + WTERMSIG(status) : 1;
        app_status(a, a->cmd_status == 0 ? ROLE_OK : ROLE_WARN, "flota %s: exit status %d", a->cmd_line,
                   a->cmd_status);
        app_redraw(a);
}

static void on_output(Loop *l, int fd, short revents, void *userdata) {
        App *a = userdata;
        char buf[8192];
        ssize_t n = read(fd, buf, sizeof(buf));

        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return;
        if (n <= 0) {
                if (a->partial) {
                        add_line(a, a->partial, strlen(a->partial));
                        free(TAKE_PTR(a->partial));
                }
                loop_unwatch(l, fd);
                close(fd);
                a->cmd_fd = -1;
                reap(l, a);
                app_redraw(a);
                return;
        }
        /* split into lines; a line without its newline yet waits in partial */
        _cleanup_free_ char *text = xasprintf("%s%.*s", a->partial ? a->partial : "", (int) n, buf);
        free(TAKE_PTR(a->partial));
        char *p = text, *nl;
        while ((nl = strchr(p, '\n'))) {
                add_line(a, p, (size_t) (nl - p));
                p = nl + 1;
        }
        if (*p)
                a->partial = xstrdup(p);
        app_redraw(a);
}

/* Splits line into words: spaces separate, '...' and "..." quote. Returns the count, or -EINVAL. */
static int split(char *line, char *argv[static ARGS_MAX]) {
        int n = 0;
        char *r = line, *w = line;

        while (*r) {
                while (*r == ' ')
                        r++;
                if (!*r)
                        break;
                if (n >= ARGS_MAX - 1)
                        return -E2BIG;
                argv[n++] = w;
                char quote = 0;
                for (; *r && (quote || *r != ' '); r++) {
                        if (!quote && (*r == '\'' || *r == '"'))
                                quote = *r;
                        else if (quote && *r == quote)
                                quote = 0;
                        else
                                *w++ = *r;
                }
                if (quote)
                        return -EINVAL;
                if (*r)
                        r++;
                *w++ = 0;
        }
        argv[n] = NULL;
        return n;
}

/* the environment with FLOTA_SERVER, FLOTA_TOKEN and NO_COLOR as the dashboard has them */
static char **child_env(App *a) {
        size_t n = 0;
        while (environ[n])
                n++;
        char **env = xcalloc(n + 4, sizeof(char *));
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
                if (!startswith(environ[i], "FLOTA_SERVER=") && !startswith(environ[i], "FLOTA_TOKEN=") &&
                    !startswith(environ[i], "NO_COLOR="))
                        env[k++] = xstrdup(environ[i]);
        if (a->server)
                env[k++] = xasprintf("FLOTA_SERVER=%s", a->server);
        if (a->token)
                env[k++] = xasprintf("FLOTA_TOKEN=%s", a->token);
        env[k++] = xstrdup("NO_COLOR=1");
        return env;
}

static void env_free(char **env) {
        for (size_t i = 0; env && env[i]; i++)
                free(env[i]);
        free(env);
}

int command_start(App *a, const char *line) {
        _cleanup_free_ char *copy = xstrdup(line);
        char *words[ARGS_MAX], *argv[ARGS_MAX + 4];
        posix_spawn_file_actions_t fa;
        int pfd[2], r;

        int n = split(copy, words);
        if (n <= 0) {
                app_status(a, ROLE_BAD,
                           n == 0 ? "type a verb: devices, status, rollout list, audit..."
                                  : "unbalanced quotes or too many words");
                return CHANGE_REDRAW;
        }
        if (streq(words[0], "tui") || streq(words[0], "demo")) {
                app_status(a, ROLE_WARN, "'%s' needs the terminal: run it outside the dashboard", words[0]);
                return CHANGE_REDRAW;
        }
        command_clear(a);
        size_t k = 0;
        argv[k++] = (char *) "flota";
        argv[k++] = (char *) "--db";
        argv[k++] = (char *) a->inventory_path;
        for (int i = 0; i < n; i++)
                argv[k++] = words[i];
        argv[k] = NULL;
        if (pipe2(pfd, O_CLOEXEC) < 0) {
                app_status(a, ROLE_BAD, "cannot run it: %s", strerror(errno));
                return CHANGE_REDRAW;
        }
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_adddup2(&fa, pfd[1], STDOUT_FILENO);
        posix_spawn_file_actions_adddup2(&fa, pfd[1], STDERR_FILENO);
        char **env = child_env(a);
        r = posix_spawn(&a->cmd_pid, "/proc/self/exe", &fa, NULL, argv, env);
        env_free(env);
        posix_spawn_file_actions_destroy(&fa);
        close(pfd[1]);
        if (r != 0) {
                close(pfd[0]);
                a->cmd_pid = 0;
                app_status(a, ROLE_BAD, "cannot run it: %s", strerror(r));
                return CHANGE_REDRAW;
        }
        (void) fcntl(pfd[0], F_SETFL, O_NONBLOCK);
        a->cmd_fd = pfd[0];
        free(a->cmd_line);
        a->cmd_line = xstrdup(line);
        (void) loop_watch(a->loop, a->cmd_fd, POLLIN, on_output, a);
        app_set_view(a, VIEW_OUTPUT);
        app_status(a, ROLE_BUSY, "flota %s: running (Esc stops it)", line);
        return CHANGE_REDRAW;
}

void command_stop(App *a) {
        if (a->cmd_fd >= 0) {
                loop_unwatch(a->loop, a->cmd_fd);
                close(a->cmd_fd);
                a->cmd_fd = -1;
        }
        if (a->cmd_pid > 0) {
                (void) kill(a->cmd_pid, SIGTERM);
                (void) waitpid(a->cmd_pid, NULL, 0);
                a->cmd_pid = 0;
                app_status(a, ROLE_WARN, "flota %s: stopped", a->cmd_line ? a->cmd_line : "");
        }
}

/* ---- the Output view ---- */

static void draw(App *a) {
        int rows = LINES - 4;

        term_printf(1, 1, COLS - 1, ROLE_TITLE, "$ flota %s", a->cmd_line ? a->cmd_line : "");
        if (a->out_top + (size_t) rows > a->n_out)
                a->out_top = a->n_out > (size_t) rows ? a->n_out - (size_t) rows : 0;
        for (int i = 0; i < rows && a->out_top + (size_t) i < a->n_out; i++)
                term_print(2 + i, 1, COLS - 1, ROLE_NORMAL, a->out[a->out_top + (size_t) i]);
        if (a->out_cut)
                term_print(LINES - 3, 1, COLS - 1, ROLE_WARN, "(output cut after 10,000 lines)");
}

static int act(App *a, Action action) {
        size_t rows = (size_t) (LINES > 4 ? LINES - 4 : 1);

        if (action == ACTION_BACK) {
                if (a->cmd_pid > 0) {
                        command_stop(a);
                        return CHANGE_REDRAW;
                }
                app_set_view(a, a->back_view);
                return CHANGE_REDRAW;
        }
        if (app_move(action, &a->out_top, a->n_out > rows ? a->n_out - rows + 1 : 1, rows))
                return CHANGE_REDRAW;
        return CHANGE_NONE;
}

const ViewOps view_output_ops = { .draw = draw, .act = act };
