/* SPDX-License-Identifier: MIT */
/*
 * mDNS discovery (see discovery.h): the caller's side.
 *
 * Why a thread. avahi-client talks to avahi-daemon over D-Bus with blocking calls: creating
 * or freeing a browser or a resolver waits for the daemon's reply (libdbus's
 * send_with_reply_and_block). On flota's own loop (avahi-loop.c) that stalled the loop for
 * 1-2 s while a thousand services came and went, however the calls were rationed. The two
 * ways out were libdbus's asynchronous calls on flota's loop, which means speaking
 * avahi-daemon's D-Bus protocol ourselves (object paths, signal matches, the races between a
 * new object's path and its first signals that avahi-client already handles), or avahi-client
 * unchanged on avahi's threaded poll. flota takes the second: every avahi call happens on that
 * thread (scout.c), so no blocking call can reach flota's loop by construction, and the
 * client's reconnect and object lifetimes stay avahi's tested code. The libdbus variant was
 * not built; the figures of the threaded one (tests/bench/RESULTS.md) meet the targets.
 *
 * The scout posts what it sees as messages (DiscoveryMsg, owning copies of the strings) on a
 * list under a mutex and wakes the loop through an eventfd; the loop hands them to the caller
 * in order, a few milliseconds' worth per turn. Everything the caller can ask (running, error,
 * count) is a copy kept by this side as the messages are handed out, so it agrees with what the
 * caller has been told and needs no lock.
 */
#include "flota/discovery.h"

#include <avahi-common/thread-watch.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "discovery-internal.h"
#include "flota/alloc.h"
#include "flota/strutil.h"

/* Messages handed to the caller per loop turn, at most for this long. */
#define DISPATCH_BUDGET (2 * USEC_PER_MSEC)

struct Discovery {
        Loop *loop;
        DiscoveryFn fn;
        void *userdata;
        AvahiThreadedPoll *poll;
        Scout *scout;
        int efd;
        pthread_mutex_t lock;
        DiscoveryMsg *head, *tail; /* posted by the scout, under lock */
        DiscoveryMsg *taken;       /* taken from the list, not handed out yet (loop only) */
        LoopTimerHandle more;
        bool running;
        char error[DISCOVERY_ERROR_MAX];
        unsigned count;
};

static const char *const event_names[] = {
        [DISCOVERY_ADDED] = "added",         [DISCOVERY_UPDATED] = "updated",
        [DISCOVERY_REMOVED] = "removed",     [DISCOVERY_DAEMON_DOWN] = "daemon-down",
        [DISCOVERY_DAEMON_UP] = "daemon-up",
};

const char *discovery_event_to_string(DiscoveryEvent e) {
        return e >= 0 && e <= DISCOVERY_DAEMON_UP ? event_names[e] : NULL;
}

/* On the scout's thread. */
static void post(DiscoveryMsg *m, void *userdata) {
        Discovery *d = userdata;
        bool wake;

        pthread_mutex_lock(&d->lock);
        wake = !d->head;
        if (d->tail)
                d->tail->next = m;
        else
                d->head = m;
        d->tail = m;
        pthread_mutex_unlock(&d->lock);
        if (wake)
                (void) !write(d->efd, &(uint64_t) { 1 }, sizeof(uint64_t));
}

static void hand_out(Discovery *d, DiscoveryMsg *m) {
        switch (m->event) {
        case DISCOVERY_DAEMON_DOWN:
                d->running = false;
                snprintf(d->error, sizeof(d->error), "%s", m->error);
                break;
        case DISCOVERY_DAEMON_UP:
                d->running = true;
                d->error[0] = 0;
                break;
        case DISCOVERY_ADDED: d->count++; break;
        case DISCOVERY_REMOVED: d->count--; break;
        default: break;
        }
        if (!m->quiet)
                d->fn(d, m->event, m->event <= DISCOVERY_REMOVED ? &m->service : NULL, d->userdata);
}

static void dispatch(Loop *l, void *userdata) {
        Discovery *d = userdata;
        usec_t start = now_usec(CLOCK_MONOTONIC);

        for (;;) {
                if (!d->taken) {
                        pthread_mutex_lock(&d->lock);
                        d->taken = TAKE_PTR(d->head);
                        d->tail = NULL;
                        pthread_mutex_unlock(&d->lock);
                        if (!d->taken)
                                return;
                }
                DiscoveryMsg *m = d->taken;
                d->taken = m->next;
                hand_out(d, m);
                discovery_msg_free(m);
                if (now_usec(CLOCK_MONOTONIC) - start >= DISPATCH_BUDGET) {
                        /* the rest next turn, after whatever else the loop has to do */
                        if (!loop_timer_is_pending(&d->more))
                                loop_timer_start(l, loop_now(l), dispatch, d, &d->more);
                        return;
                }
        }
}

static void on_wake(Loop *l, int fd, short revents, void *userdata) {
        uint64_t n;

        (void) revents;
        (void) !read(fd, &n, sizeof(n));
        dispatch(l, userdata);
}

static int parse_types(const char *types, char ***ret, size_t *ret_n) {
        _cleanup_free_ char *copy = xstrdup(types);
        char **list = NULL;
        size_t n = 0, allocated = 0;

        for (char *save = NULL, *t = strtok_r(copy, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
                /* "_name._tcp" or "_name._udp" */
                size_t len = strlen(t);
                if (len < 7 || t[0] != '_' ||
                    (strcmp(t + len - 5, "._tcp") != 0 && strcmp(t + len - 5, "._udp") != 0)) {
                        for (size_t i = 0; i < n; i++)
                                free(list[i]);
                        free(list);
                        return -EINVAL;
                }
                list = xgrow(list, &allocated, n + 1, sizeof(char *));
                list[n++] = xstrdup(t);
        }
        if (n == 0)
                return -EINVAL;
        *ret = list;
        *ret_n = n;
        return 0;
}

int discovery_types_validate(const char *types) {
        char **list;
        size_t n;
        int r = parse_types(types, &list, &n);

        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++)
                free(list[i]);
        free(list);
        return 0;
}

int discovery_new(Loop *loop, const char *types, DiscoveryFn fn, void *userdata, Discovery **ret) {
        char **list;
        size_t n;
        int r = parse_types(types ? types : DISCOVERY_TYPES_DEFAULT, &list, &n);

        if (r < 0)
                return r;
        Discovery *d = xcalloc(1, sizeof(Discovery));
        *d = (Discovery) { .loop = loop, .fn = fn, .userdata = userdata, .efd = -1 };
        pthread_mutex_init(&d->lock, NULL);
        d->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        d->poll = avahi_threaded_poll_new();
        if (d->efd < 0 || !d->poll) {
                r = d->efd < 0 ? -errno : -ENOMEM;
                for (size_t i = 0; i < n; i++)
                        free(list[i]);
                free(list);
                discovery_free(d);
                return r;
        }
        (void) loop_watch(loop, d->efd, POLLIN, on_wake, d);
        d->scout = scout_new(avahi_threaded_poll_get(d->poll), list, n, post, d);
        scout_start(d->scout);
        if (avahi_threaded_poll_start(d->poll) < 0) {
                discovery_free(d);
                return -EAGAIN;
        }
        *ret = d;
        return 0;
}

Discovery *discovery_free(Discovery *d) {
        if (!d)
                return NULL;
        if (d->poll)
                avahi_threaded_poll_stop(d->poll); /* joins the thread (a no-op when it never ran) */
        d->scout = scout_free(d->scout);
        if (d->poll)
                avahi_threaded_poll_free(d->poll);
        if (d->efd >= 0) {
                loop_unwatch(d->loop, d->efd);
                close(d->efd);
        }
        loop_timer_cancel(d->loop, &d->more);
        while (d->taken) {
                DiscoveryMsg *m = d->taken;
                d->taken = m->next;
                discovery_msg_free(m);
        }
        while (d->head) {
                DiscoveryMsg *m = d->head;
                d->head = m->next;
                discovery_msg_free(m);
        }
        pthread_mutex_destroy(&d->lock);
        free(d);
        return NULL;
}

bool discovery_running(const Discovery *d) {
        return d->running;
}

const char *discovery_error(const Discovery *d) {
        return d->error;
}

unsigned discovery_count(const Discovery *d) {
        return d->count;
}
