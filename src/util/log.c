/* SPDX-License-Identifier: MIT */
/* Log sink: stderr or an append-only file that can be reopened after rotation. */
#include "flota/log.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "flota/alloc.h"
#include "flota/strutil.h"
#include "flota/time-util.h"

static const char *log_ident = "flota";
static LogLevel log_max = LOG_LEVEL_INFO;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static int log_fd = -1;
static char *log_path;

static const char *const level_names[_LOG_LEVEL_MAX] = {
        [LOG_LEVEL_ERROR] = "error",
        [LOG_LEVEL_WARNING] = "warning",
        [LOG_LEVEL_INFO] = "info",
        [LOG_LEVEL_DEBUG] = "debug",
};

void log_set_ident(const char *ident) {
        log_ident = ident;
}

void log_set_level(LogLevel level) {
        log_max = level;
}

LogLevel log_get_level(void) {
        return log_max;
}

LogLevel log_level_from_string(const char *s) {
        for (int i = 0; i < _LOG_LEVEL_MAX; i++)
                if (streq(s, level_names[i]))
                        return (LogLevel) i;
        return _LOG_LEVEL_INVALID;
}

static int open_log(const char *path) {
        int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
        return fd < 0 ? -errno : fd;
}

int log_open_file(const char *path) {
        int fd = -1;

        if (path) {
                fd = open_log(path);
                if (fd < 0)
                        return fd;
        }
        pthread_mutex_lock(&log_lock);
        if (log_fd >= 0)
                (void) close(log_fd);
        free(log_path);
        log_fd = fd;
        log_path = path ? xstrdup(path) : NULL;
        pthread_mutex_unlock(&log_lock);
        return 0;
}

int log_reopen(void) {
        int r = 0;

        pthread_mutex_lock(&log_lock);
        if (log_path) {
                int fd = open_log(log_path);
                if (fd < 0)
                        r = fd;
                else {
                        (void) close(log_fd);
                        log_fd = fd;
                }
        }
        pthread_mutex_unlock(&log_lock);
        return r;
}

void log_close(void) {
        (void) log_open_file(NULL);
}

int log_internal(LogLevel level, int error, const char *fmt, ...) {
        char line[2048], ts[RFC3339_MAX];
        int saved = errno, n = 0;
        va_list ap;

        if (error < 0)
                error = -error;
        errno = error;
        pthread_mutex_lock(&log_lock);
        if (log_fd >= 0)
                n = snprintf(line, sizeof(line), "%s ", format_rfc3339(ts, now_usec(CLOCK_REALTIME)));
        n += snprintf(line + n, sizeof(line) - (size_t) n, "%s: %s%s", log_ident,
                      level <= LOG_LEVEL_WARNING ? level_names[level] : "",
                      level <= LOG_LEVEL_WARNING ? ": " : "");
        va_start(ap, fmt);
        if (n < (int) sizeof(line))
                n += vsnprintf(line + n, sizeof(line) - (size_t) n, fmt, ap);
        va_end(ap);
        if (n >= (int) sizeof(line) - 1)
                n = (int) sizeof(line) - 2;
        line[n++] = '\n';
        ssize_t w = write(log_fd >= 0 ? log_fd : STDERR_FILENO, line, (size_t) n);
        (void) w;
        pthread_mutex_unlock(&log_lock);
        errno = saved;
        return error ? -error : -EIO;
}
