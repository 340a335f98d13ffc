/* SPDX-License-Identifier: MIT */
/* JSON-lines check-in log. */
#include "checkin-log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "flota/alloc.h"
#include "flota/fileio.h"
#include "flota/json-encode.h"
#include "flota/log.h"

static int open_append(const char *path) {
        int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
        return fd < 0 ? -errno : fd;
}

int checkin_log_open(CheckinLog *l, const char *path) {
        int fd = open_append(path);

        if (fd < 0)
                return fd;
        *l = (CheckinLog) { .path = xstrdup(path), .fd = fd };
        return 0;
}

void checkin_log_request_reopen(CheckinLog *l) {
        atomic_store(&l->reopen, true);
}

static void reopen_if_asked(CheckinLog *l) {
        if (!atomic_exchange(&l->reopen, false))
                return;
        int fd = open_append(l->path);
        if (fd < 0) {
                log_error("reopening the check-in log %s failed: %s", l->path, strerror(-fd));
                return;
        }
        (void) close(l->fd);
        l->fd = fd;
}

int checkin_log_write(CheckinLog *l, const Checkin *c, size_t n) {
        _cleanup_free_ char *buf = NULL;
        size_t len = 0, allocated = 0;

        reopen_if_asked(l);
        for (size_t i = 0; i < n; i++) {
                cJSON *j = checkin_to_json(&c[i]);
                char *line = json_print(j);
                size_t k = strlen(line);
                cJSON_Delete(j);
                buf = xgrow(buf, &allocated, len + k + 1, 1);
                memcpy(buf + len, line, k);
                buf[len + k] = '\n';
                len += k + 1;
                free(line);
        }
        return len ? write_all(l->fd, buf, len) : 0;
}

void checkin_log_close(CheckinLog *l) {
        if (l->fd >= 0)
                (void) close(l->fd);
        free(l->path);
        *l = (CheckinLog) { .fd = -1 };
}
