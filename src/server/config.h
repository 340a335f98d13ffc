/* SPDX-License-Identifier: MIT */
/*
 * flotad configuration: defaults, the INI file ([flotad] section) and command-line overrides.
 * Every setting is one row of config_options[]: its long option, its config-file key (the
 * same name), its --help line and how its value is checked, so getopt, the file and --help
 * cannot disagree.
 */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define FLOTAD_DEFAULT_LISTEN "0.0.0.0:8070"
#define FLOTAD_DEFAULT_MAX_IMAGE (16u << 20)
#define FLOTAD_DEFAULT_MAX_JSON (8u << 20)
#define FLOTAD_DEFAULT_RETENTION_DAYS 30

typedef enum ImageDelivery {
        IMAGE_DELIVERY_SENDFILE, /* flotad sends the image itself (zero-copy) */
        IMAGE_DELIVERY_X_ACCEL,  /* headers only, plus X-Accel-Redirect: nginx sends the file */
        _IMAGE_DELIVERY_MAX,
        _IMAGE_DELIVERY_INVALID = -EINVAL,
} ImageDelivery;

/* The internal nginx location that X-Accel-Redirect names: PREFIX/XX/SHA256 under the image directory. */
#define FLOTAD_X_ACCEL_PREFIX "/_flota_images/"

typedef struct Config {
        char *data_dir;
        char *database;  /* postgresql://... or a SQLite path; NULL: DATA_DIR/flotad.db */
        char *image_dir; /* content-addressed images; NULL: DATA_DIR/images */
        ImageDelivery image_delivery;
        char *listen;
        char *log_file;
        char *log_level;
        char *update_path;     /* device endpoint prefix, default /update */
        char *checkin_log;     /* JSON-lines copy of the check-ins, or NULL */
        char *checkin_journal; /* NULL: DATA_DIR/checkins.journal; "none": no journal */
        uint64_t max_image_size;
        uint64_t max_json_size;
        unsigned threads; /* 0: one per CPU */
        unsigned connection_limit;
        unsigned timeout_sec;
        unsigned head_timeout_sec; /* the first request head on a connection must be complete in this time */
        unsigned per_address_limit;  /* connections open at once from one client address; 0: no limit */
        uint64_t checkin_retention;  /* usec; 0 keeps check-ins forever */
        uint64_t checkin_heartbeat;  /* usec; an unchanged device gets a row this often; 0: every poll */
        unsigned checkin_queue_size; /* check-ins held in memory for the writer; more wait in the journal */
} Config;

typedef enum OptionType {
        OPTION_COMMAND_LINE, /* --config, --help, --version: not a file key */
        OPTION_STRING,       /* char *; empty unsets */
        OPTION_REQUIRED,     /* char *; a value is required */
        OPTION_UNSIGNED,     /* unsigned in [min, max] */
        OPTION_CUSTOM,       /* parse() */
} OptionType;

typedef struct ConfigOption {
        const char *name;    /* long option and file key */
        char short_name;     /* 0: none */
        const char *metavar; /* the value's name in --help; NULL: takes none */
        const char *help;    /* its --help line */
        OptionType type;
        size_t offset;                              /* of the field in Config (STRING, REQUIRED, UNSIGNED) */
        unsigned min, max;                          /* UNSIGNED */
        int (*parse)(Config *c, const char *value); /* CUSTOM: 0 or -EINVAL */
        const char *expected;                       /* the error text after "NAME: " for a bad value */
} ConfigOption;

extern const ConfigOption config_options[];
extern const size_t config_n_options;

/* The row called name, or NULL. */
const ConfigOption *config_option_find(const char *name);
/* Prints the options part of --help, one line per row, from the table. */
void config_print_help(FILE *f);

const char *image_delivery_to_string(ImageDelivery d);
ImageDelivery image_delivery_from_string(const char *s);

/* Where flotad's database is: config->database, or DATA_DIR/flotad.db (malloc'ed). */
char *config_database(const Config *c);
/* Where the images are: config->image_dir, or DATA_DIR/images (malloc'ed). */
char *config_image_dir(const Config *c);
/* The check-in journal's path, or NULL for none ("none", or no data directory to put it in). */
char *config_checkin_journal(const Config *c);

/*
 * Checks the settings together once all are read: a data directory, unless a database
 * server and an image directory make it unneeded. 0 or -EINVAL with a message in err.
 */
int config_check(const Config *c, char *err, size_t errlen);

void config_init(Config *c);
void config_done(Config *c);

/* Sets one key (as named in the file and as the long option). 0 or -EINVAL with a message in err. */
int config_set(Config *c, const char *key, const char *value, char *err, size_t errlen);

/* Loads path into c. 0, -errno when unreadable, -EINVAL with "file:line: message" in err. */
int config_load_file(Config *c, const char *path, char *err, size_t errlen);
