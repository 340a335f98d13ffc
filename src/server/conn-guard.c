/* SPDX-License-Identifier: MIT */
/* Connection limit that closes, and a deadline for the whole first request head. */
#include "conn-guard.h"

#include <errno.h>
#include <sys/socket.h>
#include <time.h>

#include "flota/alloc.h"
#include "flota/log.h"

struct GuardEntry {
        GuardEntry *prev, *next;
        int fd;
        usec_t deadline; /* monotonic; 0 once the head is complete */
        bool shut;
};

enum MHD_Result conn_guard_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen) {
        ConnGuard *g = cls;

        /* the slot is taken here, not when the connection starts: accepts run in several threads */
        if (atomic_fetch_add(&g->active, 1) >= g->limit) {
                atomic_fetch_sub(&g->active, 1);
                atomic_fetch_add(&g->refused, 1);
                return MHD_NO; /* closed right away */
        }
        return MHD_YES;
}

void conn_guard_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                       enum MHD_ConnectionNotificationCode toe) {
        ConnGuard *g = cls;
        GuardEntry *e;

        if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
                const union MHD_ConnectionInfo *info =
                        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
                e = xcalloc(1, sizeof(GuardEntry));
                e->fd = info ? info->connect_fd : -1;
                e->deadline = now_usec(CLOCK_MONOTONIC) + g->head_timeout;
                pthread_mutex_lock(&g->lock);
                e->next = g->head;
                if (g->head)
                        g->head->prev = e;
                g->head = e;
                pthread_mutex_unlock(&g->lock);
                *socket_context = e;
                return;
        }
        e = *socket_context;
        if (!e)
                return;
        /* libmicrohttpd closes the socket after this returns: the watchdog must be done with it */
        pthread_mutex_lock(&g->lock);
        if (e->prev)
                e->prev->next = e->next;
        else
                g->head = e->next;
        if (e->next)
                e->next->prev = e->prev;
        pthread_mutex_unlock(&g->lock);
        atomic_fetch_sub(&g->active, 1);
        free(e);
        *socket_context = NULL;
}

void conn_guard_head_done(struct MHD_Connection *conn) {
        const union MHD_ConnectionInfo *info =
                MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
        GuardEntry *e = info ? info->socket_context : NULL;

        /* a plain store: the watchdog reads it under the lock and a late read only delays a shutdown */
        if (e)
                __atomic_store_n(&e->deadline, 0, __ATOMIC_RELAXED);
}

static void *watchdog_main(void *userdata) {
        ConnGuard *g = userdata;

        pthread_mutex_lock(&g->lock);
        while (!g->stopping) {
                struct timespec ts;
                clock_gettime(CLOCK_MONOTONIC, &ts);
                ts.tv_nsec += 200 * 1000000L;
                ts.tv_sec += ts.tv_nsec / 1000000000L;
                ts.tv_nsec %= 1000000000L;
                (void) pthread_cond_timedwait(&g->wake, &g->lock, &ts);
                usec_t now = now_usec(CLOCK_MONOTONIC);
                for (GuardEntry *e = g->head; e; e = e->next) {
                        usec_t deadline = __atomic_load_n(&e->deadline, __ATOMIC_RELAXED);
                        if (deadline == 0 || e->shut || now < deadline || e->fd < 0)
                                continue;
                        /* the socket stays open until libmicrohttpd closes it (after our notify) */
                        (void) shutdown(e->fd, SHUT_RDWR);
                        e->shut = true;
                        atomic_fetch_add(&g->head_timeouts, 1);
                }
        }
        pthread_mutex_unlock(&g->lock);
        return NULL;
}

int conn_guard_start(ConnGuard *g, unsigned limit, usec_t head_timeout) {
        pthread_condattr_t attr;
        int r;

        *g = (ConnGuard) { .limit = limit, .head_timeout = head_timeout };
        pthread_mutex_init(&g->lock, NULL);
        pthread_condattr_init(&attr);
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
        pthread_cond_init(&g->wake, &attr);
        pthread_condattr_destroy(&attr);
        r = pthread_create(&g->thread, NULL, watchdog_main, g);
        if (r != 0)
                return -r;
        g->started = true;
        return 0;
}

void conn_guard_stop(ConnGuard *g) {
        if (!g->started)
                return;
        pthread_mutex_lock(&g->lock);
        g->stopping = true;
        pthread_cond_signal(&g->wake);
        pthread_mutex_unlock(&g->lock);
        pthread_join(g->thread, NULL);
        g->started = false;
        pthread_mutex_destroy(&g->lock);
        pthread_cond_destroy(&g->wake);
}
