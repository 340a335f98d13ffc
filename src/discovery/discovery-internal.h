/* SPDX-License-Identifier: MIT */
/*
 * Between the two halves of discovery: the scout (scout.c), which owns every avahi object and
 * runs on avahi's threaded poll, and discovery.c, which hands what the scout posts to callers
 * on flota's loop. Nothing here is for the rest of flota.
 */
#pragma once

#include <avahi-common/watch.h>
#include <stdbool.h>
#include <stddef.h>

#include "flota/discovery.h"

#define DISCOVERY_ERROR_MAX 128

/* One thing the scout saw, for the main loop; owns its strings. */
typedef struct DiscoveryMsg {
        DiscoveryEvent event;
        bool quiet;               /* a change of state only: DAEMON_UP the caller never saw go down */
        DiscoveryService service; /* ADDED, UPDATED, REMOVED; its strings point into strings */
        char *strings;
        char error[DISCOVERY_ERROR_MAX]; /* DAEMON_DOWN: why */
        struct DiscoveryMsg *next;
} DiscoveryMsg;

DiscoveryMsg *discovery_msg_free(DiscoveryMsg *m);

typedef struct Scout Scout;

/* Called on the scout's thread; takes m. */
typedef void (*ScoutPostFn)(DiscoveryMsg *m, void *userdata);

/*
 * A scout that will browse types (taken) with avahi-client on api. Nothing happens until
 * scout_start(); every later call into avahi comes from api's own callbacks, so on its thread.
 */
Scout *scout_new(const AvahiPoll *api, char **types, size_t n_types, ScoutPostFn post, void *userdata);
/* Arms the first timeout (connect to avahi-daemon); call before the poll's thread starts. */
void scout_start(Scout *s);
/* With api's thread stopped: frees every avahi object and the scout. Accepts NULL. */
Scout *scout_free(Scout *s);
