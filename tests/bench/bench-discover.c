/* SPDX-License-Identifier: MIT */
/*
 * bench-discover N SECONDS [--until-all]: browses _arduino._tcp with flota's discovery on its own loop, and
 * prints how long until N services were resolved (cold: the daemon's cache is empty when it
 * starts) and how responsive the loop stayed: a 5 ms ticker measures how late each turn came
 * (worst and 99th percentile). Runs SECONDS in all, so the services can churn meanwhile
 * (bench-discover.sh makes them), or with --until-all until all N are resolved. Output: one
 * line of key=value pairs. BENCH_TYPES (default _arduino._tcp) is what it browses: a type
 * nobody announces makes it a baseline, the same loop and ticker with nothing to discover.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flota/alloc.h"
#include "flota/discovery.h"
#include "flota/loop.h"

#define TICK (5 * USEC_PER_MSEC)

typedef struct Bench {
        Loop *loop;
        unsigned want, resolved_peak, added, removed;
        bool until_all;
        usec_t start, all_resolved, end;
        usec_t next_tick, worst_lag;
        uint64_t ticks, late_10ms;
        usec_t *lags;
        size_t n_lags, alloc_lags;
} Bench;

static void on_event(Discovery *d, DiscoveryEvent ev, const DiscoveryService *s, void *userdata) {
        Bench *b = userdata;

        (void) s;
        if (ev == DISCOVERY_ADDED)
                b->added++;
        else if (ev == DISCOVERY_REMOVED)
                b->removed++;
        unsigned n = discovery_count(d);
        if (n > b->resolved_peak)
                b->resolved_peak = n;
        if (!b->all_resolved && n >= b->want) {
                b->all_resolved = now_usec(CLOCK_MONOTONIC);
                if (b->until_all)
                        loop_quit(b->loop);
        }
}

static void on_tick(Loop *l, void *userdata) {
        Bench *b = userdata;
        usec_t now = now_usec(CLOCK_MONOTONIC), lag = now > b->next_tick ? now - b->next_tick : 0;

        b->ticks++;
        b->lags = xgrow(b->lags, &b->alloc_lags, b->n_lags + 1, sizeof(usec_t));
        b->lags[b->n_lags++] = lag;
        if (lag > b->worst_lag)
                b->worst_lag = lag;
        if (lag > 10 * USEC_PER_MSEC)
                b->late_10ms++;
        if (now >= b->end) {
                loop_quit(l);
                return;
        }
        b->next_tick = now + TICK;
        loop_timer(l, b->next_tick, on_tick, b);
}

static int cmp_usec(const void *a, const void *b) {
        usec_t x = *(const usec_t *) a, y = *(const usec_t *) b;
        return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
        Bench b = {};
        Discovery *d = NULL;

        if (argc < 3 || argc > 4 || (argc == 4 && strcmp(argv[3], "--until-all") != 0)) {
                fprintf(stderr, "usage: bench-discover SERVICES SECONDS [--until-all]\n");
                return 2;
        }
        b.until_all = argc == 4;
        b.want = (unsigned) atoi(argv[1]);
        b.loop = loop_new();
        b.start = now_usec(CLOCK_MONOTONIC);
        b.end = b.start + (usec_t) (atof(argv[2]) * USEC_PER_SEC);
        const char *types = getenv("BENCH_TYPES");
        if (discovery_new(b.loop, types ? types : "_arduino._tcp", on_event, &b, &d) < 0)
                return 1;
        b.next_tick = b.start + TICK;
        loop_timer(b.loop, b.next_tick, on_tick, &b);
        (void) loop_run(b.loop);
        qsort_safe(b.lags, b.n_lags, sizeof(usec_t), cmp_usec);
        usec_t p99 = b.n_lags > 0 ? b.lags[(b.n_lags * 99) / 100] : 0;
        printf("resolved=%u want=%u all_resolved_ms=%.0f added=%u removed=%u ticks=%llu worst_lag_ms=%.2f "
               "p99_lag_ms=%.2f late_over_10ms=%llu\n",
               b.resolved_peak, b.want,
               b.all_resolved ? (double) (b.all_resolved - b.start) / USEC_PER_MSEC : -1.0, b.added,
               b.removed, (unsigned long long) b.ticks, (double) b.worst_lag / USEC_PER_MSEC,
               (double) p99 / USEC_PER_MSEC, (unsigned long long) b.late_10ms);
        free(b.lags);
        discovery_free(d);
        loop_free(b.loop);
        return b.all_resolved ? 0 : 1;
}
