/* SPDX-License-Identifier: MIT */
/* Layer: util. Allocation that never returns NULL: on out-of-memory the process aborts. */
#pragma once

#include <stddef.h>

#include "flota/macro.h"

void *xmalloc(size_t size);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t size);
/* Grows *p (of *allocated elements of elsize bytes) so it holds at least need elements. */
void *xgrow(void *p, size_t *allocated, size_t need, size_t elsize);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) _printf_(1, 2);
