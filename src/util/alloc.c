/* SPDX-License-Identifier: MIT */
/* Allocation wrappers that abort on exhaustion, so callers have no -ENOMEM paths. */
#include "flota/alloc.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static _noreturn_ void oom(void) {
        fputs("flota: out of memory\n", stderr);
        abort();
}

void *xmalloc(size_t size) {
        void *p = malloc(size ? size : 1);
        if (!p)
                oom();
        return p;
}

void *xcalloc(size_t n, size_t size) {
        void *p = calloc(n ? n : 1, size ? size : 1);
        if (!p)
                oom();
        return p;
}

void *xrealloc(void *p, size_t size) {
        void *q = realloc(p, size ? size : 1);
        if (!q)
                oom();
        return q;
}

void *xgrow(void *p, size_t *allocated, size_t need, size_t elsize) {
        if (need <= *allocated)
                return p;
        size_t n = *allocated ? *allocated : 16;
        while (n < need)
                n *= 2;
        if (n > SIZE_MAX / elsize)
                oom();
        p = xrealloc(p, n * elsize);
        *allocated = n;
        return p;
}

char *xstrdup(const char *s) {
        char *p = strdup(s);
        if (!p)
                oom();
        return p;
}

char *xstrndup(const char *s, size_t n) {
        char *p = strndup(s, n);
        if (!p)
                oom();
        return p;
}

char *xasprintf(const char *fmt, ...) {
        va_list ap;
        char *p;

        va_start(ap, fmt);
        int r = vasprintf(&p, fmt, ap);
        va_end(ap);
        if (r < 0)
                oom();
        return p;
}
