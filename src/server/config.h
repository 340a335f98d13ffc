/* SPDX-License-Identifier: MIT */
/* flotad configuration: defaults, the INI file ([flotad] section) and command-line overrides. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define FLOTAD_DEFAULT_LISTEN "0.0.0.0:8070"
#define FLOTAD_DEFAULT_MAX_IMAGE (16u << 20)
#define FLOTAD_DEFAULT_MAX_JSON (8u << 20)
#define FLOTAD_DEFAULT_RETENTION_DAYS 30

typedef struct Config {
        char *data_dir;
        char *listen;
        char *log_file;
        char *log_level;
        char *update_path;        /* device endpoint prefix, default /update */
        char *checkin_log;        /* JSON-lines copy of the check-ins, or NULL */
        uint64_t max_image_size;
        uint64_t max_json_size;
        unsigned threads;         /* 0: one per CPU */
        unsigned connection_limit;
        unsigned timeout_sec;
        unsigned head_timeout_sec;   /* the first request head on a connection must be complete in this time */
        unsigned per_address_limit;  /* connections open at once from one client address; 0: no limit */
        uint64_t checkin_retention; /* usec; 0 keeps check-ins forever */
        uint64_t checkin_heartbeat; /* usec; an unchanged device gets a row this often; 0: every poll */
        unsigned checkin_queue_size; /* check-ins that may wait for the writer; more are dropped and counted */
} Config;

void config_init(Config *c);
void config_done(Config *c);

/* Sets one key (as named in the file and as the long option). 0 or -EINVAL with a message in err. */
int config_set(Config *c, const char *key, const char *value, char *err, size_t errlen);

/* Loads path into c. 0, -errno when unreadable, -EINVAL with "file:line: message" in err. */
int config_load_file(Config *c, const char *path, char *err, size_t errlen);
