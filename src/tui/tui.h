/* SPDX-License-Identifier: MIT */
/*
 * Layer: tui. The dashboard's entry point for the flota binary (src/cli/cmd-tui.c): takes the
 * terminal, runs the views on one poll(2) loop and gives the terminal back.
 */
#pragma once

#include <stdbool.h>
#include <stdio.h>

#include "flota/log-format.h"
#include "flota/time-util.h"

#define TUI_LOGS_MAX 16

typedef struct TuiOptions {
        const char *inventory_path; /* required */
        const char *server;         /* NULL: the inventory only, no actions */
        const char *token;
        unsigned timeout_sec;    /* per request to flotad */
        usec_t interval;         /* between passes over flotad's feed; 0: 3 s */
        bool color;              /* false: mono attributes (NO_COLOR, --color=never) */
        bool tick;               /* step running rollouts on each pass, as 'rollout tick' */
        bool stats;              /* print first-paint and redraw times on exit */
        usec_t duration;         /* > 0: quit by itself after this long (flota demo --duration) */
        const char *const *logs; /* poll logs followed into the inventory as they grow */
        const LogFormat *const *log_formats; /* each log's format (borrowed for the run) */
        size_t n_logs;                       /* at most TUI_LOGS_MAX */
        /* for rollouts with a push transport, stepped by the dashboard's tick (RolloutEngine's) */
        const char *(*push_password)(const char *device, const char *host, const char *product,
                                     void *userdata);
        void *push_userdata; /* read from the worker thread: must not change during the run */
        const char *push_user;
        bool mdns;              /* discover devices by mDNS (avahi-daemon) while running */
        const char *mdns_types; /* service types (NULL: DISCOVERY_TYPES_DEFAULT) */
} TuiOptions;

/*
 * Runs the dashboard until the operator quits. 0, or -errno with a sentence in err (256
 * bytes): -ENOTTY when stdin or stdout is not a terminal.
 */
int tui_run(const TuiOptions *o, char err[static 256]);

/* The key table as the man page's DASHBOARD section lists it (scdoc). */
void tui_print_keys(FILE *f);
