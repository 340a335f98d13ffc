/* SPDX-License-Identifier: MIT */
/*
 * AvahiPoll on flota's Loop. The loop has one callback per fd, so every fd with watches gets
 * one loop watch for the union of their events and its events are handed out to the watches.
 *
 * Timeouts use loop_timer_start()/loop_timer_cancel(): avahi-client (through libdbus) arms a
 * timeout for every method call and drops it when the reply comes, so a timeout can be freed
 * right away instead of lingering in the loop until its time (deferred free) or being checked
 * again when it fires (deadline re-check). Watches are freed late instead: while watch
 * callbacks run, a freed watch is only marked dead, because the dispatch still walks the list.
 */
#include "flota/avahi-loop.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/time.h>

#include "flota/alloc.h"
#include "flota/log.h"
#include "flota/time-util.h"

struct AvahiWatch {
        AvahiLoop *owner;
        int fd;
        AvahiWatchEvent events;  /* asked for */
        AvahiWatchEvent revents; /* happened; set while the callback runs */
        AvahiWatchCallback callback;
        void *userdata;
        bool dead; /* freed during a dispatch; released after it */
        AvahiWatch *next;
};

struct AvahiTimeout {
        AvahiLoop *owner;
        LoopTimerHandle timer; /* pending while enabled */
        AvahiTimeoutCallback callback;
        void *userdata;
        AvahiTimeout *prev, *next;
};

struct AvahiLoop {
        AvahiPoll api; /* api.userdata points back here */
        Loop *loop;
        AvahiWatch *watches; /* newest first */
        AvahiTimeout *timeouts;
        unsigned dispatching; /* watch callbacks running: frees are deferred */
        bool has_dead;
};

/* Tells the loop what the live watches of fd want: the union of their events, or nothing. */
static void sync_fd(AvahiLoop *a, int fd);

static void release_dead(AvahiLoop *a) {
        for (AvahiWatch **p = &a->watches; *p;) {
                AvahiWatch *w = *p;
                if (w->dead) {
                        *p = w->next;
                        free(w);
                } else
                        p = &w->next;
        }
        a->has_dead = false;
}

static AvahiWatchEvent to_avahi(short revents) {
        AvahiWatchEvent e = (AvahiWatchEvent) (revents & (POLLIN | POLLOUT | POLLERR | POLLHUP));

        /* POLLNVAL (a closed fd still watched) is reported as an error */
        return revents & POLLNVAL ? e | AVAHI_WATCH_ERR : e;
}

static void on_io(Loop *l, int fd, short revents, void *userdata) {
        AvahiLoop *a = userdata;
        AvahiWatchEvent happened = to_avahi(revents);

        /* watches added by a callback are put in front of the list: this walk does not see them */
        a->dispatching++;
        for (AvahiWatch *w = a->watches; w; w = w->next) {
                if (w->dead || w->fd != fd)
                        continue;
                AvahiWatchEvent e = happened & (w->events | AVAHI_WATCH_ERR | AVAHI_WATCH_HUP);
                if (!e)
                        continue;
                w->revents = e;
                w->callback(w, fd, e, w->userdata);
                w->revents = 0; /* still allocated even if it freed itself */
        }
        if (--a->dispatching == 0 && a->has_dead)
                release_dead(a);
}

static void sync_fd(AvahiLoop *a, int fd) {
        bool any = false;
        short events = 0;

        for (AvahiWatch *w = a->watches; w; w = w->next)
                if (!w->dead && w->fd == fd) {
                        any = true;
                        events |= (short) w->events;
                }
        if (any)
                /* with no events asked for, poll(2) still reports errors and hang-ups (simple-watch too) */
                (void) loop_watch(a->loop, fd, events, on_io, a);
        else
                loop_unwatch(a->loop, fd);
}

static AvahiWatch *watch_new(const AvahiPoll *api, int fd, AvahiWatchEvent events,
                             AvahiWatchCallback callback, void *userdata) {
        AvahiLoop *a = api->userdata;

        if (fd < 0 || !callback)
                return NULL;
        AvahiWatch *w = xcalloc(1, sizeof(AvahiWatch));
        *w = (AvahiWatch) { .owner = a,
                            .fd = fd,
                            .events = events,
                            .callback = callback,
                            .userdata = userdata,
                            .next = a->watches };
        a->watches = w;
        sync_fd(a, fd);
        return w;
}

static void watch_update(AvahiWatch *w, AvahiWatchEvent events) {
        w->events = events;
        sync_fd(w->owner, w->fd);
}

static AvahiWatchEvent watch_get_events(AvahiWatch *w) {
        return w->revents;
}

static void watch_free(AvahiWatch *w) {
        AvahiLoop *a = w->owner;

        w->dead = true;
        a->has_dead = true;
        sync_fd(a, w->fd);
        if (a->dispatching == 0)
                release_dead(a);
}

/* Absolute CLOCK_REALTIME time tv as a time on the loop's monotonic clock. */
static usec_t to_monotonic(const struct timeval *tv) {
        usec_t mono = now_usec(CLOCK_MONOTONIC);
        int64_t real = (int64_t) now_usec(CLOCK_REALTIME);
        int64_t when = tv->tv_sec < 0 ? 0 : (int64_t) tv->tv_sec * (int64_t) USEC_PER_SEC + tv->tv_usec;
        int64_t delta = when - real;

        if (delta >= 0)
                return mono + (usec_t) delta;
        /* past times keep their order ({0, 0}, "as soon as possible", comes first) */
        return (usec_t) -delta < mono ? mono - (usec_t) -delta : 0;
}

static void on_timer(Loop *l, void *userdata) {
        AvahiTimeout *t = userdata;

        /* the handle was reset before this call: the timeout is disabled, as the contract wants */
        t->callback(t, t->userdata);
}

static void timeout_arm(AvahiTimeout *t, const struct timeval *tv) {
        loop_timer_cancel(t->owner->loop, &t->timer);
        if (tv)
                loop_timer_start(t->owner->loop, to_monotonic(tv), on_timer, t, &t->timer);
}

static AvahiTimeout *timeout_new(const AvahiPoll *api, const struct timeval *tv,
                                 AvahiTimeoutCallback callback, void *userdata) {
        AvahiLoop *a = api->userdata;

        if (!callback)
                return NULL;
        AvahiTimeout *t = xcalloc(1, sizeof(AvahiTimeout));
        *t = (AvahiTimeout) { .owner = a, .callback = callback, .userdata = userdata, .next = a->timeouts };
        if (a->timeouts)
                a->timeouts->prev = t;
        a->timeouts = t;
        timeout_arm(t, tv);
        return t;
}

static void timeout_update(AvahiTimeout *t, const struct timeval *tv) {
        timeout_arm(t, tv);
}

static void timeout_free(AvahiTimeout *t) {
        AvahiLoop *a = t->owner;

        loop_timer_cancel(a->loop, &t->timer);
        if (t->prev)
                t->prev->next = t->next;
        else
                a->timeouts = t->next;
        if (t->next)
                t->next->prev = t->prev;
        free(t);
}

AvahiLoop *avahi_loop_new(Loop *loop) {
        AvahiLoop *a = xcalloc(1, sizeof(AvahiLoop));

        a->loop = loop;
        a->api = (AvahiPoll) {
                .userdata = a,
                .watch_new = watch_new,
                .watch_update = watch_update,
                .watch_get_events = watch_get_events,
                .watch_free = watch_free,
                .timeout_new = timeout_new,
                .timeout_update = timeout_update,
                .timeout_free = timeout_free,
        };
        return a;
}

const AvahiPoll *avahi_loop_get(AvahiLoop *a) {
        return &a->api;
}

AvahiLoop *avahi_loop_free(AvahiLoop *a) {
        if (!a)
                return NULL;
        unsigned left = 0;
        while (a->watches) {
                AvahiWatch *w = a->watches;
                a->watches = w->next;
                left += !w->dead;
                if (!w->dead)
                        loop_unwatch(a->loop, w->fd);
                free(w);
        }
        while (a->timeouts) {
                left++;
                timeout_free(a->timeouts);
        }
        if (left > 0)
                log_debug("avahi-loop: %u watches and timeouts were still left at free", left);
        free(a);
        return NULL;
}
