/* SPDX-License-Identifier: MIT */
/*
 * flota-sim: N simulated ESP8266/ESP32 devices in one event loop, each polling the update
 * server with the exact request of its core and acting on the answer as the core does.
 */
#pragma once

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "flota/esp-client.h"
#include "flota/loop.h"

#define SIM_MAX_VERSIONS 16
#define SIM_LATENCY_BUCKETS 160
#define SIM_OTA_FAULTS 6

typedef struct SimOptions {
        char host[256];
        uint16_t port;
        char path[128];               /* endpoint prefix, default /update */
        char *product[_PLATFORM_MAX]; /* per platform */
        uint32_t devices;
        uint32_t seed;
        double interval;             /* seconds between a device's polls */
        bool jitter;                 /* spread each interval by +-25% */
        unsigned mix[_PLATFORM_MAX]; /* weights */
        char *versions[SIM_MAX_VERSIONS];
        unsigned weights[SIM_MAX_VERSIONS];
        size_t n_versions;
        double duration;      /* seconds; 0: until stopped */
        unsigned concurrency; /* polls in flight at most */
        bool rate_max;        /* closed loop: poll again as soon as possible */
        char *until_version;  /* stop when every device runs it */
        char *key;            /* product key: query form */
        char *auth;           /* base64 user:pass for setAuthorization */
        char *state;          /* --state FILE */
        char *poll_log;       /* --poll-log FILE */
        bool json;
        bool progress;
        /* failure injection: fractions of the fleet (0..1) */
        double fail_download;    /* the link drops in the middle of every download */
        double brick;            /* takes an update, then never polls again */
        double bootloop;         /* takes an update, then comes back on the old version */
        uint64_t slow_link;      /* bytes per second a download is read at; 0: no limit */
        double offline;          /* fraction that drop off the network now and then */
        bool mdns;               /* publish each device as ArduinoOTA does */
        uint32_t mdns_addr_base; /* A record of device 0 (host order); device i: + i */
        bool list;               /* print the fleet's identities and exit */
        /* --ota: devices answer pushes (ota.c) */
        int ota;                /* SIM_OTA_NONE, _ESPOTA, _WEB */
        uint32_t ota_addr_base; /* device i listens on this + i (host order) */
        uint16_t ota_port;      /* 0: the core's default (8266/3232, web 80) */
        char *ota_password;
        char *ota_user;                    /* web updater user, default admin */
        bool ota_sha256;                   /* --ota-auth sha256: the ESP32 3.3.1+ challenge */
        bool ota_example;                  /* --ota-updater example: "OK"/"FAIL" pages */
        double ota_reboot;                 /* seconds a device is away while it reboots */
        double ota_faults[SIM_OTA_FAULTS]; /* fractions, see ota.c */
} SimOptions;

enum { SIM_OTA_NONE, SIM_OTA_ESPOTA, SIM_OTA_WEB };

typedef enum SimFault {
        FAULT_NONE,
        FAULT_FAIL_DOWNLOAD,
        FAULT_BRICK,
        FAULT_BOOTLOOP,
        _FAULT_MAX,
} SimFault;

typedef struct Sim Sim;

typedef struct SimDevice {
        Sim *sim;
        EspDevice esp;
        uint32_t index;
        Platform platform;
        SimFault fault;
        bool bricked;      /* took an update and died: polls no more */
        bool busy;         /* a poll is in flight: a device runs one at a time */
        bool reported;     /* an answered poll carried --until-version */
        bool goes_offline; /* --offline: sometimes misses 2 to 5 polls */
        bool offline;      /* in such a window now: off the network */
        int ota_fault;     /* --ota-*: what goes wrong with a push (ota.c) */
        bool rebooting;    /* after a push, until it boots the new image */
        bool back;         /* just back from one: stays for a whole interval */
} SimDevice;

typedef struct SimStats {
        uint64_t polls;        /* requests started */
        uint64_t answered;     /* a complete status line and head arrived */
        uint64_t status[6];    /* 200, 304, 401, 403, 404, other */
        uint64_t outcomes[32]; /* by outcome index, see stats.c */
        uint64_t updates_applied;
        uint64_t bootloops; /* updates taken and rolled back at boot */
        uint64_t bricked;
        uint64_t offline_windows; /* times a device dropped off the network */
        uint64_t bytes;
        uint64_t latency[SIM_LATENCY_BUCKETS];
        uint64_t ota_sketch, ota_filesystem;  /* pushes taken */
        uint64_t ota_auth_failed, ota_failed; /* refused or failed pushes */
} SimStats;

typedef struct Conn Conn;
typedef struct SimMdns SimMdns;

struct Sim {
        SimOptions *o;
        Loop *loop;
        struct sockaddr_storage addr;
        socklen_t addr_len;
        SimDevice *devices;
        uint32_t n_devices;
        uint32_t *ready; /* devices due while at the concurrency limit (ring) */
        uint32_t ready_head, ready_len;
        uint32_t next_device; /* round robin in closed-loop mode */
        unsigned in_flight;
        uint32_t on_target; /* devices running until_version */
        uint32_t can_reach; /* devices whose faults let them reach it */
        bool stopping;
        usec_t started;
        SimStats stats;
        Conn *conns;   /* live connections, for the timeout sweep */
        SimMdns *mdns; /* --mdns */
        /* called by conn.c when a device's poll is over: the scheduler's (main.c), so that conn.c
         * calls nothing of main.c's */
        void (*device_done)(Sim *s, SimDevice *d);
        /* called by ota.c after a push: the device reboots (main.c's sim_device_reboot()) */
        void (*device_reboot)(Sim *s, SimDevice *d, bool never_back);
        struct SimOta *ota; /* --ota */
        FILE *poll_log;     /* --poll-log: a line per poll the server answered */
};

/* Says "flota-sim: WHAT: 'ARG'" on stderr and returns -EINVAL (options.c). */
int sim_usage_error(const char *what, const char *arg);
/* Parses the command line into o. <0 error (message printed), 0 exit (help shown), >0 run. */
int sim_parse_argv(int argc, char **argv, SimOptions *o);
void sim_options_done(SimOptions *o);

/* Builds the fleet and runs it until the duration, the target version or SIGINT/SIGTERM. */
int sim_run(Sim *s, SimOptions *o);
void sim_done(Sim *s);

/* --state FILE (state.c): load before the run (a missing file is a first run), save after it. */
int sim_state_load(Sim *s, const char *path);
int sim_state_save(const Sim *s, const char *path);

/* Device polls (conn.c). */
void sim_poll(Sim *s, SimDevice *d);
void sim_sweep_timeouts(Sim *s);

/*
 * --mdns (mdns.c): publish every device that is up; sim_mdns_device_changed() after a device
 * went offline, came back or bricked; sim_mdns_stop() withdraws everything (goodbyes). When
 * avahi-daemon is missing, one line says so and the simulation runs on without it.
 */
int sim_mdns_start(Sim *s);
void sim_mdns_device_changed(Sim *s, SimDevice *d);
void sim_mdns_stop(Sim *s);
/* --list: one line per device (index, chip, MAC, mDNS instance name, host name, address). */
void sim_mdns_list(Sim *s);

/*
 * --ota (ota.c): every device answers ArduinoOTA's espota or a web updater on its own loopback
 * address, as the cores do; after a push it reboots into the image (sim_device_reboot()).
 */
int sim_ota_parse(SimOptions *o, const char *name, const char *arg);
int sim_ota_start(Sim *s);
void sim_ota_stop(Sim *s);
/* After a device went away or came back: its web updater stops or starts listening. */
void sim_ota_device_changed(Sim *s, SimDevice *d);
const char *sim_ota_fault_name(int fault);
/* main.c: the device goes away for --ota-reboot seconds, then runs version (and polls at once). */
void sim_device_reboot(Sim *s, SimDevice *d, bool never_back);

/* Stats (stats.c). */
void stats_record(Sim *s, SimDevice *d, int outcome, int status, usec_t latency);
void stats_print(const Sim *s, bool json);
void stats_progress(const Sim *s);
