/* SPDX-License-Identifier: MIT */
/*
 * Connection guard: the limits libmicrohttpd does not enforce the way flotad(8) promises.
 *  - connection-limit: a connection beyond the limit is closed as soon as it is accepted
 *    (libmicrohttpd itself stops accepting, which leaves clients hanging in the backlog);
 *  - request-head-timeout: the first request head on a connection must be complete within
 *    this time, however slowly it trickles in (the idle timeout alone lets a client that
 *    sends a byte every few seconds hold a connection for ever).
 * The per-address limit is libmicrohttpd's own (MHD_OPTION_PER_IP_CONNECTION_LIMIT), which
 * closes at once. A watchdog thread shuts down connections past their head deadline.
 */
#pragma once

#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "flota/time-util.h"

typedef struct GuardEntry GuardEntry;

typedef struct ConnGuard {
        pthread_mutex_t lock;
        pthread_cond_t wake;
        GuardEntry *head; /* open connections, newest first */
        unsigned limit;
        usec_t head_timeout;
        bool stopping;
        bool started;
        pthread_t thread;
        atomic_uint active;
        atomic_uint_fast64_t refused;       /* closed at accept: over connection-limit */
        atomic_uint_fast64_t head_timeouts; /* closed: request head not complete in time */
} ConnGuard;

/* Starts the watchdog. 0 or -errno. */
int conn_guard_start(ConnGuard *g, unsigned limit, usec_t head_timeout);
void conn_guard_stop(ConnGuard *g);

/* libmicrohttpd callbacks (cls is the ConnGuard). */
enum MHD_Result conn_guard_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen);
void conn_guard_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                       enum MHD_ConnectionNotificationCode toe);
/* Marks the connection's first request head as complete (called from the access handler). */
void conn_guard_head_done(struct MHD_Connection *conn);
