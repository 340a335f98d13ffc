/* SPDX-License-Identifier: MIT */
/*
 * flota demo's shared state: its settings, the products it serves, the run's state (struct
 * Demo), its notes, the logs of its directory, and the stop that a signal requests. The
 * set-up (demo-setup.h) and the verb (cmd-demo.c) both stand on this.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "cli.h"
#include "flota/firmware.h"
#include "flota/macro.h"
#include "flota/time-util.h"

#define DEMO_PORT_DEFAULT 8070
#define DEMO_DEVICES_DEFAULT 50
#define DEMO_UNATTENDED_DURATION (30 * USEC_PER_SEC) /* no terminal and no --duration */
#define DEMO_TICK (2 * USEC_PER_SEC)                 /* a frame, and the devices' poll interval */
#define DEMO_PROMOTE_AFTER (10 * USEC_PER_SEC)       /* when the staged rollouts start */
#define DEMO_START_TIMEOUT (10 * USEC_PER_SEC)
#define DEMO_STOP_TIMEOUT (5 * USEC_PER_SEC)
#define DEMO_IMAGE_SIZE (256 << 10)
#define DEMO_OLD "1.0.0"
#define DEMO_NEW "1.1.0"
/* the fleet starts on these (weights), the older ones below the first stable release */
#define DEMO_FLEET_VERSIONS "0.8.2=10,0.9.0=30," DEMO_OLD "=60"

typedef struct DemoProduct {
        const char *name;
        const char *platform;
        Platform id;
} DemoProduct;

/* The products the demo creates, door (ESP8266) and meter (ESP32); flota-sim's fleet is made of them. */
#define DEMO_PRODUCTS 2
extern const DemoProduct demo_products[DEMO_PRODUCTS];

typedef struct Demo {
        Cli *cli;
        /* options */
        uint32_t devices;
        uint32_t port;
        usec_t duration; /* 0: until stopped */
        bool keep;
        bool dashboard; /* a terminal, no --json: the dashboard; else notes on stderr, one report */
        /* state */
        char *flotad_path;
        char *sim_path;
        char *dir;
        pid_t flotad;
        pid_t sim;
        char *token;
        int64_t new_release[DEMO_PRODUCTS];
        usec_t started;    /* when the fleet started */
        usec_t promote_at; /* when the rollouts start (monotonic) */
        bool promoted;     /* the rollouts started */
        bool over;         /* the last frame */
} Demo;

/*
 * The stop: demo_on_stop_signal() is the handler the verb installs for SIGINT, SIGTERM and
 * SIGHUP; it only sets a flag, which demo_stop_requested() reads. Every wait of the demo ends
 * early once it is set.
 */
void demo_on_stop_signal(int sig);
bool demo_stop_requested(void);

/* Sleeps up to t in short steps; false when a stop was requested (before or during the sleep). */
bool demo_pause_unless_stopped(usec_t t);

/* A note on stderr ("demo: ..."); under the dashboard it would spoil its screen, so only before it opens. */
void demo_note(const Demo *d, const char *fmt, ...) _printf_(2, 3);

/* Opens name in the demo's directory for appending (a child's log): the fd, or -1 with errno set. */
int demo_open_log(const Demo *d, const char *name);

/*
 * The last line of the log name in the demo's directory that contains needle ("" for any),
 * owned; NULL when there is none (or no such log).
 */
char *demo_log_line(const Demo *d, const char *name, const char *needle);
