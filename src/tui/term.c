/* SPDX-License-Identifier: MIT */
/* The terminal: curses set-up and tear-down, signals, captured stderr, theme, glyphs, drawing. */
#include "term.h"

#include <curses.h>
#include <errno.h>
#include <fcntl.h>
#include <langinfo.h>
#include <locale.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <wchar.h>

#include "flota/alloc.h"
#include "flota/macro.h"
#include "flota/strutil.h"

static struct {
        bool active;
        bool utf8;
        bool color;
        int stderr_saved;   /* the real stderr while curses is up, or -1 */
        int stderr_capture; /* the memory file stderr goes to */
        int sig_pipe[2];
        int attrs[_ROLE_MAX];
} term = { .stderr_saved = -1, .stderr_capture = -1, .sig_pipe = { -1, -1 } };

static const char *const glyphs_utf8[_GLYPH_MAX] = {
        [GLYPH_FULL] = "\u2588",   [GLYPH_HALF] = "\u2593",    [GLYPH_EMPTY] = "\u2591",
        [GLYPH_HLINE] = "\u2500",  [GLYPH_VSEP] = " \u2502 ",  [GLYPH_MARK] = "\u258c",
        [GLYPH_CURSOR] = "\u25b6", [GLYPH_RUNNING] = "\u25b6", [GLYPH_PAUSED] = "\u23f8",
        [GLYPH_DOT] = "\u25cf",    [GLYPH_BACK] = "\u25c0",    [GLYPH_DASH] = "\u2013",
};

static const char *const glyphs_ascii[_GLYPH_MAX] = {
        [GLYPH_FULL] = "#",    [GLYPH_HALF] = "=", [GLYPH_EMPTY] = ".",  [GLYPH_HLINE] = "-",
        [GLYPH_VSEP] = " | ",  [GLYPH_MARK] = "|", [GLYPH_CURSOR] = ">", [GLYPH_RUNNING] = ">",
        [GLYPH_PAUSED] = "||", [GLYPH_DOT] = "*",  [GLYPH_BACK] = "<",   [GLYPH_DASH] = "-",
};

/* ---- stderr ---- */

static void capture_stderr(void) {
        int fd = memfd_create("flota-tui-stderr", MFD_CLOEXEC);
        if (fd < 0)
                return;
        int saved = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
        if (saved < 0 || dup2(fd, STDERR_FILENO) < 0) {
                if (saved >= 0)
                        close(saved);
                close(fd);
                return;
        }
        term.stderr_saved = saved;
        term.stderr_capture = fd;
}

/* Puts the real stderr back and copies what was captured to it (async-signal-safe). */
static void release_stderr(void) {
        char buf[4096];
        ssize_t n;

        if (term.stderr_saved < 0)
                return;
        (void) dup2(term.stderr_saved, STDERR_FILENO);
        close(term.stderr_saved);
        term.stderr_saved = -1;
        (void) lseek(term.stderr_capture, 0, SEEK_SET);
        while ((n = read(term.stderr_capture, buf, sizeof(buf))) > 0)
                if (write(STDERR_FILENO, buf, (size_t) n) < 0)
                        break;
        close(term.stderr_capture);
        term.stderr_capture = -1;
}

/* ---- signals ---- */

static void on_signal(int sig) {
        int saved = errno;
        unsigned char c = (unsigned char) sig;
        if (write(term.sig_pipe[1], &c, 1) < 0) {
                /* the pipe is full: a wake-up is pending already */
        }
        errno = saved;
}

/* A crash: the terminal first, then the captured stderr, then die of the same signal. */
static void on_fatal(int sig) {
        if (term.active)
                endwin();
        term.active = false;
        release_stderr();
        signal(sig, SIG_DFL);
        raise(sig);
}

static void install_signals(void) {
        static const int soft[] = { SIGWINCH, SIGINT, SIGTERM, SIGHUP };
        static const int fatal[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT };
        struct sigaction sa = { .sa_flags = SA_RESTART };

        sigemptyset(&sa.sa_mask);
        sa.sa_handler = on_signal;
        for (size_t i = 0; i < ELEMENTSOF(soft); i++)
                (void) sigaction(soft[i], &sa, NULL);
        sa.sa_handler = on_fatal;
        sa.sa_flags = SA_RESETHAND;
        for (size_t i = 0; i < ELEMENTSOF(fatal); i++)
                (void) sigaction(fatal[i], &sa, NULL);
}

static void restore_signals(void) {
        static const int all[] = { SIGWINCH, SIGINT, SIGTERM, SIGHUP, SIGSEGV,
                                   SIGBUS,   SIGFPE, SIGILL,  SIGABRT };
        for (size_t i = 0; i < ELEMENTSOF(all); i++)
                signal(all[i], SIG_DFL);
}

int term_signal_fd(void) {
        return term.sig_pipe[0];
}

void term_read_signals(bool *ret_resized, bool *ret_quit) {
        unsigned char buf[64];
        ssize_t n;

        *ret_resized = *ret_quit = false;
        while ((n = read(term.sig_pipe[0], buf, sizeof(buf))) > 0)
                for (ssize_t i = 0; i < n; i++) {
                        if (buf[i] == SIGWINCH)
                                *ret_resized = true;
                        else
                                *ret_quit = true;
                }
}

void term_resize(void) {
        struct winsize ws;

        if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0)
                resizeterm(ws.ws_row, ws.ws_col);
        clearok(curscr, TRUE);
}

/* ---- theme ---- */

static void theme_init(void) {
        static const struct {
                short fg, bg;
                int extra, mono;
        } roles[_ROLE_MAX] = {
#define X(role, fg_, bg_, extra_, mono_) [ROLE_##role] = { fg_, bg_, extra_, mono_ },
                THEME_ROLES(X)
#undef X
        };

        for (int r = 0; r < _ROLE_MAX; r++) {
                if (!term.color) {
                        term.attrs[r] = roles[r].mono;
                        continue;
                }
                (void) init_pair((short) (r + 1), roles[r].fg, roles[r].bg);
                term.attrs[r] = (int) COLOR_PAIR(r + 1) | roles[r].extra;
        }
}

int term_role_attr(Role r) {
        return (unsigned) r < _ROLE_MAX ? term.attrs[r] : (int) A_NORMAL;
}

bool term_is_utf8(void) {
        return term.utf8;
}

bool term_has_color(void) {
        return term.color;
}

const char *term_glyph(Glyph g) {
        return term.utf8 ? glyphs_utf8[g] : glyphs_ascii[g];
}

/* ---- set-up ---- */

int term_init(const TermOptions *o) {
        if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))
                return -ENOTTY;
        (void) setlocale(LC_ALL, "");
        term.utf8 = streq(nl_langinfo(CODESET), "UTF-8");
        if (pipe2(term.sig_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
                return -errno;
        capture_stderr();
        if (!initscr()) {
                release_stderr();
                return -EIO;
        }
        term.active = true;
        install_signals();
        cbreak();
        noecho();
        nonl();
        keypad(stdscr, TRUE);
        nodelay(stdscr, TRUE);
        /* long enough that a slow moment (ssh, a loaded machine) does not split a key's escape
         * sequence into Esc and letters; short enough that Esc alone still feels immediate */
        set_escdelay(100);
        curs_set(0);
        /* clicks and the wheel; a press and its release come as one click */
        (void) mousemask(BUTTON1_CLICKED | BUTTON1_PRESSED | BUTTON4_PRESSED | BUTTON5_PRESSED, NULL);
        (void) mouseinterval(0);
        term.color = o->color && has_colors() && start_color() == OK;
        if (term.color)
                (void) use_default_colors();
        theme_init();
        return 0;
}

void term_done(void) {
        if (term.active) {
                endwin();
                term.active = false;
        }
        restore_signals();
        release_stderr();
        for (int i = 0; i < 2; i++)
                if (term.sig_pipe[i] >= 0) {
                        close(term.sig_pipe[i]);
                        term.sig_pipe[i] = -1;
                }
}

/* ---- drawing ---- */

/* text escaped, and in an ASCII locale without bytes above 127 (shown as '?') */
static char *safe_text(const char *text) {
        char *s = term_escape(text ? text : "");
        if (!term.utf8)
                for (char *p = s; *p; p++)
                        if ((unsigned char) *p > 127)
                                *p = '?';
        return s;
}

/* Draws s (already safe) cut at width columns; returns the columns used. */
static int put_cut(int y, int x, int width, const char *s) {
        mbstate_t st = {};
        const char *p = s;
        int used = 0;

        move(y, x);
        while (*p && used < width) {
                wchar_t wc;
                size_t n = mbrtowc(&wc, p, strlen(p), &st);
                if (n == (size_t) -1 || n == (size_t) -2 || n == 0) {
                        addch('?');
                        used++;
                        p++;
                        st = (mbstate_t) {};
                        continue;
                }
                int w = wcwidth(wc);
                if (w < 0)
                        w = 1;
                if (used + w > width)
                        break;
                addnstr(p, (int) n);
                used += w;
                p += n;
        }
        return used;
}

int term_print(int y, int x, int width, Role role, const char *text) {
        if (width <= 0 || y < 0 || y >= LINES || x >= COLS)
                return 0;
        if (x + width > COLS)
                width = COLS - x;
        _cleanup_free_ char *s = safe_text(text);
        attrset(term_role_attr(role));
        int n = put_cut(y, x, width, s);
        attrset(A_NORMAL);
        return n;
}

int term_printf(int y, int x, int width, Role role, const char *fmt, ...) {
        va_list ap;
        char buf[1024];

        va_start(ap, fmt);
        (void) vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        return term_print(y, x, width, role, buf);
}

void term_fill(int y, int x, int width, Role role) {
        if (y < 0 || y >= LINES)
                return;
        attrset(term_role_attr(role));
        for (int i = 0; i < width && x + i < COLS; i++)
                mvaddch(y, x + i, ' ');
        attrset(A_NORMAL);
}

void term_hline(int y, int x, int width) {
        attrset(term_role_attr(ROLE_DIM));
        for (int i = 0; i < width && x + i < COLS; i++)
                mvaddstr(y, x + i, term_glyph(GLYPH_HLINE));
        attrset(A_NORMAL);
}

void term_bar(int y, int x, int width, const uint64_t *parts, const Role *roles, const Glyph *glyphs,
              size_t n, uint64_t total) {
        int at = 0;

        for (size_t i = 0; i < n && total > 0; i++) {
                int cells = (int) ((parts[i] * (uint64_t) width) / total);
                if (cells == 0 && parts[i] > 0)
                        cells = 1;
                if (at + cells > width)
                        cells = width - at;
                attrset(term_role_attr(roles[i]));
                for (int c = 0; c < cells; c++)
                        mvaddstr(y, x + at + c, term_glyph(glyphs[i]));
                at += cells;
        }
        attrset(term_role_attr(ROLE_DIM));
        for (; at < width; at++)
                mvaddstr(y, x + at, term_glyph(GLYPH_EMPTY));
        attrset(A_NORMAL);
}

int term_text_width(const char *text) {
        _cleanup_free_ char *s = safe_text(text);
        mbstate_t st = {};
        int w = 0;

        for (const char *p = s; *p;) {
                wchar_t wc;
                size_t n = mbrtowc(&wc, p, strlen(p), &st);
                if (n == (size_t) -1 || n == (size_t) -2 || n == 0) {
                        w++;
                        p++;
                        st = (mbstate_t) {};
                        continue;
                }
                int cw = wcwidth(wc);
                w += cw < 0 ? 1 : cw;
                p += n;
        }
        return w;
}
