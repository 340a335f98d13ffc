/* SPDX-License-Identifier: MIT */
/* The screen's layout as a pure function of its size. */
#include "layout.h"

static const int column_width[_FLEET_COL_MAX] = {
#define X(id, title, name, width, drop) [FLEET_COL_##id] = width,
        FLEET_COLUMNS(X)
#undef X
};

static const int column_drop[_FLEET_COL_MAX] = {
#define X(id, title, name, width, drop) [FLEET_COL_##id] = drop,
        FLEET_COLUMNS(X)
#undef X
};

static int min_int(int a, int b) {
        return a < b ? a : b;
}

/* Columns from the left, two cells for the cursor/mark gutter, one space between columns. */
static int columns_width(const Layout *l) {
        int w = 2;
        for (int c = 0; c < _FLEET_COL_MAX; c++)
                if (l->shown[c])
                        w += column_width[c] + 1;
        return w;
}

static void layout_columns(Layout *l) {
        for (int c = 0; c < _FLEET_COL_MAX; c++)
                l->shown[c] = true;
        /* drop the least important columns (drop order 1 first) until the rest fit */
        for (int order = 1; columns_width(l) > l->cols; order++) {
                bool any = false;
                for (int c = 0; c < _FLEET_COL_MAX; c++)
                        if (column_drop[c] == order) {
                                l->shown[c] = false;
                                any = true;
                        }
                if (!any)
                        break;
        }
        int x = 2;
        for (int c = 0; c < _FLEET_COL_MAX; c++) {
                l->col_x[c] = x;
                l->col_w[c] = l->shown[c] ? column_width[c] : 0;
                if (l->shown[c])
                        x += column_width[c] + 1;
        }
        /* the last shown column takes what is left of the line */
        for (int c = _FLEET_COL_MAX - 1; c >= 0; c--)
                if (l->shown[c]) {
                        l->col_w[c] = l->cols - l->col_x[c];
                        break;
                }
}

void layout_compute(int lines, int cols, size_t n_products, size_t n_rollouts, Layout *ret) {
        Layout l = { .lines = lines, .cols = cols };

        if (lines < LAYOUT_MIN_LINES || cols < LAYOUT_MIN_COLS) {
                l.too_small = true;
                *ret = l;
                return;
        }
        /* fixed: title, rule, column titles, status, bar */
        int meters = lines - 5 - LAYOUT_MIN_TABLE_ROWS;
        l.n_products = min_int(min_int((int) n_products, LAYOUT_MAX_PRODUCTS), meters);
        l.n_rollouts = min_int(min_int((int) n_rollouts, LAYOUT_MAX_ROLLOUTS), meters - l.n_products);
        l.title_y = 0;
        l.products_y = 1;
        l.rollouts_y = l.products_y + l.n_products;
        l.rule_y = l.rollouts_y + l.n_rollouts;
        l.header_y = l.rule_y + 1;
        l.table_y = l.header_y + 1;
        l.status_y = lines - 2;
        l.bar_y = lines - 1;
        l.table_rows = l.status_y - l.table_y;
        layout_columns(&l);
        *ret = l;
}

size_t layout_scroll(size_t top, size_t cursor, size_t rows, size_t n) {
        if (rows == 0 || n <= rows)
                return 0;
        if (cursor < top)
                top = cursor;
        else if (cursor >= top + rows)
                top = cursor - rows + 1;
        if (top + rows > n)
                top = n - rows;
        return top;
}
