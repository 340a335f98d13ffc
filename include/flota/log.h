/* SPDX-License-Identifier: MIT */
/*
 * Layer: util. Process-wide logging for the front ends. Core code logs only at
 * debug level; front ends report errors. Thread-safe: one line is one write(2).
 */
#pragma once

#include <errno.h>

#include "flota/macro.h"

typedef enum LogLevel {
        LOG_LEVEL_ERROR,
        LOG_LEVEL_WARNING,
        LOG_LEVEL_INFO,
        LOG_LEVEL_DEBUG,
        _LOG_LEVEL_MAX,
        _LOG_LEVEL_INVALID = -EINVAL,
} LogLevel;

/* The program name that prefixes every line ("flotad"). Borrowed; must outlive logging. */
void log_set_ident(const char *ident);
void log_set_level(LogLevel level);
LogLevel log_get_level(void);
LogLevel log_level_from_string(const char *s);

/*
 * Sends log lines to path (appending) instead of stderr; NULL goes back to stderr.
 * Lines in a file carry an RFC 3339 timestamp. Returns 0 or -errno (target unchanged).
 */
int log_open_file(const char *path);
/* Reopens the current log file (after rotation). 0 or -errno; stays on the old fd on failure. */
int log_reopen(void);
void log_close(void);

/* Logs and returns -abs(error) (or -EIO when error is 0), so callers can `return log_error_errno(r, ...)`.
 */
int log_internal(LogLevel level, int error, const char *fmt, ...) _printf_(3, 4);

#define log_full_errno(level, error, ...)                                            \
        ({                                                                           \
                int _level_ = (level), _e_ = (error);                                \
                _level_ <= log_get_level() ? log_internal(_level_, _e_, __VA_ARGS__) \
                                           : -(_e_ < 0 ? -_e_ : (_e_ ? _e_ : EIO));  \
        })

#define log_error(...) ((void) log_full_errno(LOG_LEVEL_ERROR, 0, __VA_ARGS__))
#define log_warning(...) ((void) log_full_errno(LOG_LEVEL_WARNING, 0, __VA_ARGS__))
#define log_info(...) ((void) log_full_errno(LOG_LEVEL_INFO, 0, __VA_ARGS__))
#define log_debug(...) ((void) log_full_errno(LOG_LEVEL_DEBUG, 0, __VA_ARGS__))
#define log_error_errno(e, ...) log_full_errno(LOG_LEVEL_ERROR, e, __VA_ARGS__)
#define log_warning_errno(e, ...) log_full_errno(LOG_LEVEL_WARNING, e, __VA_ARGS__)
