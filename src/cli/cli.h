/* SPDX-License-Identifier: MIT */
/* flota's headless front end: global options, the verb table's types and shared helpers. */
#pragma once

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "flota/api.h"
#include "flota/json-encode.h"
#include "flota/log-format.h"
#include "flota/store.h"

#define EXIT_USAGE 2

/*
 * What a verb (and any helper of one) returns for a usage error. It lies below every -errno
 * (the kernel's are 1..4095), so an error from the core, -ENOENT (-2) included, can never be
 * taken for a usage error.
 */
#define CLI_USAGE (-4096)

/*
 * flota's exit status for what a verb returned: CLI_USAGE -> 2, any other negative value (an
 * error already reported, or a -errno) -> 1, otherwise the value itself (0, or a documented
 * status: 3 when a rollout halted or a gate holds).
 */
static inline int cli_exit_status(int r) {
        return r == CLI_USAGE ? EXIT_USAGE : r < 0 ? EXIT_FAILURE : r;
}

typedef struct Cli {
        char *server;
        char *token;
        unsigned timeout;
        bool json;
        char *db;    /* --db, or the default under $XDG_STATE_HOME */
        char *types; /* types= in the config: what discover browses; NULL: the default */
        ApiClient *client;
        Store *inventory;
        /* the config file's [push] section, in file order: keys[i] = values[i] */
        char **push_keys, **push_values;
        size_t n_push;
} Cli;

typedef struct Verb {
        const char *name;
        const char *args; /* for --help */
        const char *summary;
        int (*run)(Cli *cli, int argc, char **argv);
} Verb;

/*
 * Reports an error the way every verb does ("flota: VERB: message") and returns -1. The message
 * may quote outside text (server answers, file names): its control characters are escaped.
 */
int cli_error(const char *fmt, ...) _printf_(1, 2);
/* A usage error: message, then CLI_USAGE (exit status 2). */
int cli_usage(const char *fmt, ...) _printf_(1, 2);

/*
 * The typed client of flotad's API (flota/api.h) for cli->server, opened on first use. 0, or
 * -1 after reporting "flota: VERB: why" (no server configured, a URL that is not one).
 */
int cli_client(Cli *cli, const char *verb, ApiClient **ret);
/*
 * Reports a failed API call r with the client's sentence err as "flota: VERB: err" (adding
 * how to give a token when flotad refused none) and returns -1.
 */
int cli_api_error(Cli *cli, const char *verb, int r, const char *err);
/* Opens file for an upload: a regular file, its size in *ret_size. Returns the fd, or -1 after reporting. */
int cli_open_upload(const char *verb, const char *file, uint64_t *ret_size);
/* The progress callback of uploads: a line on stderr that counts up, when stderr is a terminal (else NULL).
 */
void (*cli_upload_progress(void))(uint64_t sent, uint64_t total, void *userdata);

/* Values decoded from flotad as flota's --json writes them (the encoders of json-encode.h). */
cJSON *cli_channel_json(const ApiChannel *c);
cJSON *cli_device_json(const DeviceRecord *d);

/* Prints the named fields of o as "key  value" lines (JSON for non-strings), control characters escaped. */
void print_fields(const cJSON *o, const char *const *keys, size_t n);

/* Opens (once) the inventory database, creating its directory. Reports and returns -1 on failure. */
int cli_inventory(Cli *cli, Store **ret);
/* The same for readers: *ret is NULL (and nothing is created) when there is no inventory yet. */
int cli_inventory_existing(Cli *cli, Store **ret);
/* The inventory's path (--db or the default), or NULL when neither is known. Owned. */
char *cli_inventory_path(const Cli *cli);
/* True when flotad answers /healthz; otherwise err says why. */
bool cli_ping(Cli *cli, char err[static API_CLIENT_ERROR_MAX]);

/*
 * The fleet's status as 'flota status --json' prints it: the inventory's counts, and whether
 * cli->server answers. Returns 0 with a new object in *ret, or -1 after reporting.
 */
int cli_status_build(Cli *cli, cJSON **ret);
/* Prints a status object from cli_status_build() as 'flota status' does. */
void cli_status_print(const cJSON *status, FILE *f);
/*
 * Follows cli->server's check-in feed into the inventory from where the last run stopped, as
 * 'flota ingest --from-server' does. Returns 0 with the number of check-ins read, or -1 after reporting.
 */
int cli_ingest_server(Cli *cli, uint64_t *ret_total);
/*
 * A poll log's format: spec is a preset's name, a log_format string, or "auto" (the preset
 * that reads the file's first lines); product_pattern (NULL: the default) says where requests
 * name the product. 0, or -1 / CLI_USAGE after reporting as "flota: VERB: ...".
 */
int cli_log_format(const char *verb, const char *path, const char *spec, const char *product_pattern,
                   LogFormat **ret);
/* The same without reporting: -errno with a sentence in err (for verbs that go on without it). */
int cli_ingest_server_quiet(Cli *cli, uint64_t *ret_total, char err[static API_CLIENT_ERROR_MAX]);
/*
 * flotad's own list of devices (flota devices --from-server), a page at a time, as a table or
 * --json. 0, or -1 after reporting.
 */
int cli_devices_from_server(Cli *cli, const ApiDeviceQuery *filters, uint64_t limit);

/*
 * Records an action flota took (a promotion, a pin, an upload...) in the inventory's audit log,
 * with the server it went to. A failure to record is reported on stderr but is not an error:
 * the action itself was done.
 */
void cli_audit(Cli *cli, const char *action, const char *fmt, ...) _printf_(3, 4);

/* Prints s on stdout between prefix and suffix, with s's control characters escaped (term_escape()). */
void print_escaped(const char *prefix, const char *s, const char *suffix);

/* Prints j as indented JSON on stdout. */
void print_json(const cJSON *j);

/*
 * Colour by semantic role. --color=auto (the default) colours only a terminal, and not when
 * NO_COLOR is set and not empty (https://no-color.org); always and never do what they say.
 * The mode is set once, from main(), before anything is printed.
 */
typedef enum ColorMode {
        COLOR_AUTO,
        COLOR_ALWAYS,
        COLOR_NEVER,
        _COLOR_MODE_MAX,
        _COLOR_MODE_INVALID = -EINVAL,
} ColorMode;
ColorMode color_mode_from_string(const char *s);
void cli_set_color(ColorMode mode);

typedef enum Style {
        STYLE_HEADER, /* table headers, section titles: bold */
        STYLE_GOOD,   /* green */
        STYLE_BAD,    /* red */
        _STYLE_MAX,
} Style;
/* The escape that starts style s on stdout, and the one that ends it; "" when stdout gets no colour. */
const char *style_on(Style s);
const char *style_off(void);

/*
 * A table: columns are added once, then rows of as many strings; printed to fit the terminal.
 * Cells are outside text: table_add() stores them with term_escape(), so no cell reaches the
 * terminal with a control character.
 */
typedef struct Table Table;
Table *table_new(const char *const *headers, size_t n);
void table_add(Table *t, const char *const *cells);
void table_print(Table *t);
Table *table_free(Table *t);

/* Field helpers over cJSON objects: "" / 0 for missing or null values. */
const char *jstr(const cJSON *o, const char *key);
double jnum(const cJSON *o, const char *key);

/* Verbs. */
int verb_releases(Cli *cli, int argc, char **argv);
int verb_release(Cli *cli, int argc, char **argv);
int verb_channels(Cli *cli, int argc, char **argv);
int verb_promote(Cli *cli, int argc, char **argv);
int verb_devices(Cli *cli, int argc, char **argv);
int verb_device(Cli *cli, int argc, char **argv);
int verb_pin(Cli *cli, int argc, char **argv);
int verb_unpin(Cli *cli, int argc, char **argv);
int verb_assign(Cli *cli, int argc, char **argv);
int verb_ingest(Cli *cli, int argc, char **argv);
int verb_status(Cli *cli, int argc, char **argv);
int verb_audit(Cli *cli, int argc, char **argv);
int verb_label(Cli *cli, int argc, char **argv);
int verb_discover(Cli *cli, int argc, char **argv);
int verb_demo(Cli *cli, int argc, char **argv);
int verb_rollout(Cli *cli, int argc, char **argv);
int verb_tui(Cli *cli, int argc, char **argv);
int verb_push(Cli *cli, int argc, char **argv);

/*
 * The password a push uses: the [push] key from (when given), else the first of password.<name>
 * for names[], then password.<product>, then password. NULL: none.
 */
const char *cli_push_password(Cli *cli, const char *from, const char *const *names, size_t n,
                              const char *product);

/*
 * The rollout engine's push_password callback (RolloutEngine): the [push] password of a device
 * by id, then host name, then product, as 'flota push' picks it; userdata is the Cli.
 */
const char *cli_rollout_push_password(const char *device, const char *host, const char *product,
                                      void *userdata);

/* Adds a [push] setting read from the config file (a password.<MAC> key canonical), and frees them all. */
void cli_push_settings_add(Cli *cli, const char *name, const char *value);
void cli_push_settings_free(Cli *cli);
/* A [push] setting of the config file, NULL when it is not set (the last one wins). */
const char *cli_push_setting(const Cli *cli, const char *key);
