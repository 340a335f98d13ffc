/* SPDX-License-Identifier: MIT */
/*
 * Layer: loop. A single-threaded event loop over poll(2): file descriptors with callbacks
 * and one-shot timers on the monotonic clock. Callbacks may add and remove watches and
 * timers, including their own. Not thread-safe.
 */
#pragma once

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>

#include "flota/macro.h"
#include "flota/time-util.h"

typedef struct Loop Loop;

typedef void (*LoopIoFn)(Loop *l, int fd, short revents, void *userdata);
typedef void (*LoopTimerFn)(Loop *l, void *userdata);

Loop *loop_new(void);
Loop *loop_free(Loop *l);
DEFINE_TRIVIAL_CLEANUP_FUNC(Loop *, loop_free);

/* Watches fd for events (POLLIN, POLLOUT); replaces an earlier watch of the same fd. 0 or -EINVAL. */
int loop_watch(Loop *l, int fd, short events, LoopIoFn fn, void *userdata);
/* Stops watching fd (a no-op when it is not watched). Does not close it. */
void loop_unwatch(Loop *l, int fd);

/* Calls fn once at monotonic time when (or as soon as possible after). */
void loop_timer(Loop *l, usec_t when, LoopTimerFn fn, void *userdata);

/*
 * A timer that can be cancelled. The loop keeps the handle pointing at its timer while the
 * timer is pending (as systemd's prioq keeps an index), so the handle must stay at one address
 * until the timer has fired or been cancelled. Zero-initialize it. loop_free() does not touch
 * handles of timers still pending.
 */
typedef struct LoopTimerHandle {
        size_t pos; /* 1 + the timer's place in the loop's heap; 0: not pending */
} LoopTimerHandle;

/* Like loop_timer(), tracked by h (which must not be pending); h is reset before fn runs. */
void loop_timer_start(Loop *l, usec_t when, LoopTimerFn fn, void *userdata, LoopTimerHandle *h);
/* Cancels the timer of h if it is pending (fn will not run); a no-op otherwise. */
void loop_timer_cancel(Loop *l, LoopTimerHandle *h);

static inline bool loop_timer_is_pending(const LoopTimerHandle *h) {
        return h->pos > 0;
}

/* The monotonic time at the start of the current iteration. */
usec_t loop_now(Loop *l);

/* Runs until loop_quit() or until nothing is watched and no timer is left. 0 or -errno. */
int loop_run(Loop *l);
void loop_quit(Loop *l);
