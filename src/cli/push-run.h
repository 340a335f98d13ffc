/* SPDX-License-Identifier: MIT */
/* flota push's run and its jobs (cmd-push.c), and who each job goes to (push-targets.c). */
#pragma once

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>

#include "cli.h"
#include "flota/discovery.h"
#include "flota/firmware.h"
#include "flota/hash.h"
#include "flota/loop.h"
#include "flota/push.h"

#define IMAGE_MAX ((size_t) 16 << 20)
#define DEVICES_MAX 100000
#define VERIFY_EVERY (500 * USEC_PER_MSEC)

typedef enum Verified {
        VERIFIED_NONE, /* the push failed: nothing to verify */
        VERIFIED_UPDATED,
        VERIFIED_FAILED,     /* came back on another version */
        VERIFIED_SILENT,     /* never came back within the wait */
        VERIFIED_UNVERIFIED, /* nothing to check with: no server, MAC or version */
} Verified;

typedef struct Job {
        char *device; /* as the user named it */
        char *id;     /* inventory id (a MAC) or "" */
        char *product;
        char host[INET6_ADDRSTRLEN];
        uint16_t port;
        PushTransport transport;
        const char *password; /* borrowed from the config */
        const char *path;
        bool started, done;
        PushResult result;
        Verified verified;
        char seen_version[VERSION_MAX + 1];
        usec_t ok_wall; /* wall clock of the device's OK */
        usec_t verify_until;
        LoopTimerHandle verify_timer;
        uint64_t sent;
        usec_t ok_mono;       /* loop time of the OK */
        bool announced;       /* the inventory knows it from mDNS */
        bool went_away, back; /* mDNS: its service went after the OK, and came back */
        char announced_version[VERSION_MAX + 1];
} Job;

typedef struct PushRun {
        Cli *cli;
        Loop *loop;
        Pusher *pusher;
        Job *jobs;
        size_t n, next, running, finished;
        unsigned parallel;
        const char *file; /* the image's name, for the audit log */
        char *file_owned; /* its text when it is a release's ("release 3 (door 1.2.0)") */
        uint8_t *image;
        size_t size;
        bool filesystem;
        char version[VERSION_MAX + 1]; /* what the image carries, "" when it does not say */
        char md5[MD5_HEX_LEN + 1];
        usec_t phase, deadline, verify;
        bool progress;
        usec_t drawn; /* when the progress bar was last drawn */
        ApiClient *api;
        Discovery *mdns; /* watching the devices come back (NULL: no avahi) */
        bool mdns_down;  /* avahi-daemon said it is away */
        bool stats;      /* --stats: how responsive the loop stayed */
        LoopTimerHandle beat;
        usec_t beat_due, worst_turn;
        uint64_t beats;
} PushRun;

typedef struct JobOptions {
        int transport; /* -1: choose */
        uint32_t port;
        const char *path;
        const char *password_from;
} JobOptions;

/* Fills j for the device the user named (a MAC or host from the inventory, or an address[:port]). -1 after
 * reporting. */
int push_resolve_job(Cli *cli, const JobOptions *o, const char *name, Job *j);
void push_job_done(Job *j);
/* Reads the devices of a --devices list, one a line ('#' comments). -1 after reporting. */
int push_read_list(const char *file, char ***ret, size_t *ret_n);
