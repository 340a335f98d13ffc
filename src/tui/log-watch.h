/* SPDX-License-Identifier: MIT */
/*
 * Watches the dashboard's followed logs with inotify on the UI's loop: a write to a log, or a
 * new file of its name (a rotation), calls changed() at once, so the worker reads the new lines
 * without waiting for its next pass. Each log's directory is watched, not the file, so a log
 * that is rotated away (renamed, then created anew) stays watched.
 */
#pragma once

#include <stddef.h>

#include "flota/loop.h"

typedef struct LogWatch LogWatch;

/* 0, or -errno (no inotify: the logs are still read on every pass). */
int log_watch_new(Loop *l, const char *const *paths, size_t n, void (*changed)(void *userdata),
                  void *userdata, LogWatch **ret);
LogWatch *log_watch_free(LogWatch *w);
