/* SPDX-License-Identifier: MIT */
/*
 * The terminal (our htop CRT.c): the only module that sets curses up and tears it down.
 * Signal handlers restore the terminal before the process dies; stderr goes to a memory file
 * while curses owns the screen and is replayed on the real stderr afterwards. Drawing names
 * semantic roles, never colours: the theme table maps each role to colour attributes, or to
 * mono ones under NO_COLOR or on a terminal without colours. A locale that is not UTF-8
 * gets ASCII line art. Every text drawn through term_print() has its control characters
 * escaped, so text from devices and servers cannot drive the terminal.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* role, colour foreground, colour background (-1: the terminal's), colour extra attributes, mono attributes
 */
#define THEME_ROLES(X)                                        \
        X(NORMAL, -1, -1, A_NORMAL, A_NORMAL)                 \
        X(OK, COLOR_GREEN, -1, A_NORMAL, A_NORMAL)            \
        X(BUSY, COLOR_CYAN, -1, A_NORMAL, A_NORMAL)           \
        X(WARN, COLOR_YELLOW, -1, A_NORMAL, A_BOLD)           \
        X(BAD, COLOR_RED, -1, A_BOLD, A_REVERSE)              \
        X(DIM, COLOR_WHITE, -1, A_DIM, A_DIM)                 \
        X(ACCENT, COLOR_WHITE, COLOR_BLUE, A_BOLD, A_REVERSE) \
        X(TITLE, -1, -1, A_BOLD, A_BOLD)

typedef enum Role {
#define X(role, fg, bg, extra, mono) ROLE_##role,
        /* clang-format off */
        THEME_ROLES(X)
#undef X
        _ROLE_MAX,
        /* clang-format on */
} Role;

typedef enum Glyph {
        GLYPH_FULL,  /* a filled bar cell */
        GLYPH_HALF,  /* a bar cell of the second segment kind */
        GLYPH_EMPTY, /* an empty bar cell */
        GLYPH_HLINE,
        GLYPH_VSEP,   /* " | " between header fields */
        GLYPH_MARK,   /* a marked row */
        GLYPH_CURSOR, /* the row under the cursor */
        GLYPH_RUNNING,
        GLYPH_PAUSED,
        GLYPH_DOT, /* a status light */
        GLYPH_BACK,
        GLYPH_DASH, /* nothing to show */
        _GLYPH_MAX,
} Glyph;

typedef struct TermOptions {
        bool color; /* false: mono attributes even on a colour terminal */
} TermOptions;

/* Takes the terminal. 0 or -errno (-ENOTTY when stdin or stdout is not a terminal). */
int term_init(const TermOptions *o);
/* Gives the terminal back and replays what was written to stderr meanwhile. Idempotent. */
void term_done(void);

/* A descriptor that turns readable when a signal arrived (resize, interrupt, termination). */
int term_signal_fd(void);
/* Drains term_signal_fd(): whether the size changed and whether to quit. */
void term_read_signals(bool *ret_resized, bool *ret_quit);
/* Reads the terminal's size again and tells curses (the KEY_RESIZE path). */
void term_resize(void);

bool term_is_utf8(void);
bool term_has_color(void);
const char *term_glyph(Glyph g);
int term_role_attr(Role r);

/*
 * Draws text at (y, x) in at most width columns (text beyond is cut), with control characters
 * escaped. Returns the columns written.
 */
int term_print(int y, int x, int width, Role role, const char *text);
/* printf-style term_print(). */
int term_printf(int y, int x, int width, Role role, const char *fmt, ...)
        __attribute__((format(printf, 5, 6)));
/* Fills width cells at (y, x) with spaces in role. */
void term_fill(int y, int x, int width, Role role);
/* A horizontal rule across the screen on line y. */
void term_hline(int y, int x, int width);

/*
 * A bar of width cells at (y, x): segment i covers parts[i]/total of it in role roles[i] (with
 * glyphs[i]), the rest is empty. Rounds so that a non-zero part shows at least one cell.
 */
void term_bar(int y, int x, int width, const uint64_t *parts, const Role *roles, const Glyph *glyphs,
              size_t n, uint64_t total);

/* The display width of text after escaping (as term_print() would draw it, uncut). */
int term_text_width(const char *text);
