/* SPDX-License-Identifier: MIT */
/* poll(2) event loop with a binary heap of timers (cancellable through a handle tracking its place). */
#include "flota/loop.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>

#include "flota/alloc.h"

typedef struct Watch {
        int fd;
        short events;
        LoopIoFn fn;
        void *userdata;
} Watch;

typedef struct Timer {
        usec_t when;
        uint64_t seq; /* ties keep the order timers were added in */
        LoopTimerFn fn;
        void *userdata;
        LoopTimerHandle *handle; /* NULL for loop_timer() */
} Timer;

struct Loop {
        Watch *watches; /* dense; index of fd in slot_of */
        size_t n_watches, allocated_watches;
        int *slot_of; /* fd -> index + 1 in watches, 0 when not watched */
        size_t n_slots;
        struct pollfd *pfds;
        size_t allocated_pfds;
        Timer *timers; /* min-heap on (when, seq) */
        size_t n_timers, allocated_timers;
        uint64_t seq;
        usec_t now;
        bool quit;
};

Loop *loop_new(void) {
        Loop *l = xcalloc(1, sizeof(Loop));
        l->now = now_usec(CLOCK_MONOTONIC);
        return l;
}

Loop *loop_free(Loop *l) {
        if (!l)
                return NULL;
        free(l->watches);
        free(l->slot_of);
        free(l->pfds);
        free(l->timers);
        free(l);
        return NULL;
}

int loop_watch(Loop *l, int fd, short events, LoopIoFn fn, void *userdata) {
        if (fd < 0 || !fn)
                return -EINVAL;
        if ((size_t) fd >= l->n_slots) {
                size_t n = l->n_slots ? l->n_slots : 64;
                while (n <= (size_t) fd)
                        n *= 2;
                l->slot_of = xrealloc(l->slot_of, n * sizeof(int));
                for (size_t i = l->n_slots; i < n; i++)
                        l->slot_of[i] = 0;
                l->n_slots = n;
        }
        int slot = l->slot_of[fd];
        if (slot == 0) {
                l->watches = xgrow(l->watches, &l->allocated_watches, l->n_watches + 1, sizeof(Watch));
                slot = (int) ++l->n_watches;
                l->slot_of[fd] = slot;
        }
        l->watches[slot - 1] = (Watch) { .fd = fd, .events = events, .fn = fn, .userdata = userdata };
        return 0;
}

void loop_unwatch(Loop *l, int fd) {
        if (fd < 0 || (size_t) fd >= l->n_slots || l->slot_of[fd] == 0)
                return;
        size_t i = (size_t) l->slot_of[fd] - 1, last = l->n_watches - 1;
        if (i != last) {
                l->watches[i] = l->watches[last];
                l->slot_of[l->watches[i].fd] = (int) i + 1;
        }
        l->n_watches--;
        l->slot_of[fd] = 0;
}

static bool timer_before(const Timer *a, const Timer *b) {
        return a->when < b->when || (a->when == b->when && a->seq < b->seq);
}

/* Puts t at heap index i and tells its handle where it is now. */
static void place(Loop *l, size_t i, Timer t) {
        l->timers[i] = t;
        if (t.handle)
                t.handle->pos = i + 1;
}

static void sift_up(Loop *l, size_t i, Timer t) {
        while (i > 0 && timer_before(&t, &l->timers[(i - 1) / 2])) {
                place(l, i, l->timers[(i - 1) / 2]);
                i = (i - 1) / 2;
        }
        place(l, i, t);
}

static void sift_down(Loop *l, size_t i, Timer t) {
        for (;;) {
                size_t c = 2 * i + 1;
                if (c >= l->n_timers)
                        break;
                if (c + 1 < l->n_timers && timer_before(&l->timers[c + 1], &l->timers[c]))
                        c++;
                if (!timer_before(&l->timers[c], &t))
                        break;
                place(l, i, l->timers[c]);
                i = c;
        }
        place(l, i, t);
}

static void push_timer(Loop *l, Timer t) {
        l->timers = xgrow(l->timers, &l->allocated_timers, l->n_timers + 1, sizeof(Timer));
        sift_up(l, l->n_timers++, t);
}

/* Takes the timer at heap index i out; the last one fills the hole. */
static Timer remove_timer(Loop *l, size_t i) {
        Timer t = l->timers[i], last = l->timers[--l->n_timers];

        if (t.handle)
                t.handle->pos = 0;
        if (i < l->n_timers) {
                if (i > 0 && timer_before(&last, &l->timers[(i - 1) / 2]))
                        sift_up(l, i, last);
                else
                        sift_down(l, i, last);
        }
        return t;
}

void loop_timer(Loop *l, usec_t when, LoopTimerFn fn, void *userdata) {
        push_timer(l, (Timer) { .when = when, .seq = l->seq++, .fn = fn, .userdata = userdata });
}

void loop_timer_start(Loop *l, usec_t when, LoopTimerFn fn, void *userdata, LoopTimerHandle *h) {
        assert(h && h->pos == 0);
        push_timer(l,
                   (Timer) { .when = when, .seq = l->seq++, .fn = fn, .userdata = userdata, .handle = h });
}

void loop_timer_cancel(Loop *l, LoopTimerHandle *h) {
        if (h->pos == 0)
                return;
        assert(h->pos <= l->n_timers && l->timers[h->pos - 1].handle == h);
        (void) remove_timer(l, h->pos - 1);
}

usec_t loop_now(Loop *l) {
        return l->now;
}

void loop_quit(Loop *l) {
        l->quit = true;
}

static void run_due_timers(Loop *l) {
        /* only timers due now; ones added by callbacks for "now" run in the next iteration's turn */
        size_t budget = l->n_timers;
        while (budget-- > 0 && l->n_timers > 0 && l->timers[0].when <= l->now && !l->quit) {
                Timer t = remove_timer(l, 0);
                t.fn(l, t.userdata);
        }
}

static int poll_once(Loop *l) {
        int timeout = -1;

        if (l->n_timers > 0) {
                usec_t when = l->timers[0].when;
                timeout = when <= l->now ? 0 : (int) ((when - l->now + 999) / 1000);
        }
        l->pfds = xgrow(l->pfds, &l->allocated_pfds, l->n_watches + 1, sizeof(struct pollfd));
        size_t n = l->n_watches;
        for (size_t i = 0; i < n; i++)
                l->pfds[i] = (struct pollfd) { .fd = l->watches[i].fd, .events = l->watches[i].events };
        int r = poll(l->pfds, n, timeout);
        if (r < 0)
                return errno == EINTR ? 0 : -errno;
        l->now = now_usec(CLOCK_MONOTONIC);
        for (size_t i = 0; i < n && r > 0 && !l->quit; i++) {
                short revents = l->pfds[i].revents;
                int fd = l->pfds[i].fd;
                if (!revents)
                        continue;
                r--;
                /* a callback may have removed or replaced this watch */
                if ((size_t) fd >= l->n_slots || l->slot_of[fd] == 0)
                        continue;
                Watch w = l->watches[l->slot_of[fd] - 1];
                w.fn(l, fd, revents, w.userdata);
        }
        return 0;
}

int loop_run(Loop *l) {
        l->quit = false;
        while (!l->quit && (l->n_watches > 0 || l->n_timers > 0)) {
                l->now = now_usec(CLOCK_MONOTONIC);
                run_due_timers(l);
                if (l->quit || (l->n_watches == 0 && l->n_timers == 0))
                        break;
                int r = poll_once(l);
                if (r < 0)
                        return r;
        }
        return 0;
}
