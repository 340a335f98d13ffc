/* SPDX-License-Identifier: MIT */
/*
 * Layer: discovery. An AvahiPoll (avahi-common/watch.h) whose watches and timeouts run on a
 * flota Loop, so avahi-client objects live on the program's own event loop: no threads, no
 * avahi_simple_poll, no blocking in the adapter. Not thread-safe, like the loop.
 *
 * Contract, as avahi's simple-watch.c and glib-watch.c implement it:
 * - watch_new(fd, events): the callback gets the events that happened, restricted to the ones
 *   asked for plus AVAHI_WATCH_ERR and AVAHI_WATCH_HUP; several watches may share one fd
 *   (libdbus keeps a read and a write watch on its socket). watch_get_events() returns them
 *   while the callback runs, 0 otherwise. A watch may update or free itself (or another
 *   watch) inside a callback; a freed watch gets no further call.
 * - timeout_new(tv): tv is an absolute CLOCK_REALTIME time (avahi_elapse_time()); NULL
 *   creates it disabled, a time in the past fires in the next loop turn. It fires once and
 *   is then disabled until timeout_update() sets a new time; update(NULL) disables it.
 *   Timeouts due in the same turn fire in the order of their times. The callback may update
 *   or free its timeout.
 */
#pragma once

#include <avahi-common/watch.h>

#include "flota/loop.h"
#include "flota/macro.h"

typedef struct AvahiLoop AvahiLoop;

/* An AvahiPoll whose watches and timeouts run on loop (no threads, no blocking calls). loop outlives it. */
AvahiLoop *avahi_loop_new(Loop *loop);
/* The AvahiPoll for avahi_client_new() and friends. Valid until avahi_loop_free(). */
const AvahiPoll *avahi_loop_get(AvahiLoop *a);
/*
 * Call after every avahi object using it is freed. Watches and timeouts still left are
 * released (their fds are no longer watched, their timers cancelled). Accepts NULL; returns NULL.
 */
AvahiLoop *avahi_loop_free(AvahiLoop *a);
DEFINE_TRIVIAL_CLEANUP_FUNC(AvahiLoop *, avahi_loop_free);
