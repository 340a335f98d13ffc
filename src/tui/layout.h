/* SPDX-License-Identifier: MIT */
/*
 * Where things go on a screen of (lines, cols): a pure function, so it is unit-tested without
 * a terminal. Header meters collapse first when the terminal is short; narrow terminals drop
 * the least important columns (LABELS, SOURCES, TARGET, PLATFORM). Below 80x24 the dashboard
 * only says the terminal is too small.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "flota/fleet-snapshot.h"

#define LAYOUT_MIN_LINES 24
#define LAYOUT_MIN_COLS 80
#define LAYOUT_MIN_TABLE_ROWS 12
/* the most header lines given to product meters and to rollouts on a tall terminal */
#define LAYOUT_MAX_PRODUCTS 4
#define LAYOUT_MAX_ROLLOUTS 4

typedef struct Layout {
        int lines, cols;
        bool too_small;
        int title_y;                /* the status/title line */
        int products_y, n_products; /* product meters shown */
        int rollouts_y, n_rollouts; /* active rollouts shown */
        int rule_y;                 /* the rule above the table */
        int header_y;               /* the table's column titles */
        int table_y, table_rows;    /* first row and how many rows fit */
        int status_y;               /* messages, prompts, the filter */
        int bar_y;                  /* the F-key bar */
        bool shown[_FLEET_COL_MAX];
        int col_x[_FLEET_COL_MAX];
        int col_w[_FLEET_COL_MAX];
} Layout;

/* The Fleet screen's layout for a terminal of lines x cols with so many products and active rollouts. */
void layout_compute(int lines, int cols, size_t n_products, size_t n_rollouts, Layout *ret);

/* The first visible row that keeps cursor on a page of rows rows, given the current top. */
size_t layout_scroll(size_t top, size_t cursor, size_t rows, size_t n);
