/* SPDX-License-Identifier: MIT */
/*
 * What flota demo sets up and tears down: its temporary directory, a private flotad on it (and
 * the Cli pointed at that server, with an admin token and an inventory in the directory), the
 * catalog (products, releases, the stable channel, then the staged rollouts), and the
 * flota-sim fleet. Each returns 0, or -1 after reporting "flota: demo: why"; after a stop was
 * requested (demo_stop_requested()) a -1 may come without a report.
 */
#pragma once

#include "demo.h"

/*
 * In order, each only when the one before succeeded: the directory (d->dir), flotad (d->flotad,
 * d->token, d->cli's server, token and db), each product with DEMO_OLD on stable and DEMO_NEW
 * uploaded (d->new_release), and the fleet (d->sim). d->flotad_path and d->sim_path are set.
 * What was started is left for demo_tear_down(), which is called in every case.
 */
int demo_set_up(Demo *d);

/*
 * A staged rollout of DEMO_NEW per product (a canary, 10 %, half, all; stable at the end),
 * created and started under the rollout lock; sets d->promoted.
 */
int demo_start_rollouts(Demo *d);

/* One step of the running rollouts (which also reads flotad's feed), under the rollout lock. */
int demo_tick_rollouts(Demo *d);

/*
 * Stops what the demo started, fleet first, each by its pid with a bounded wait (SIGKILL past
 * it), closes the Cli's client and inventory, and removes d->dir, or keeps it with --keep (and
 * says so on stderr). -1 when something did not stop cleanly or the directory stayed.
 */
int demo_tear_down(Demo *d);
