/* SPDX-License-Identifier: MIT */
/* flotad settings: one table of options, shared by the command line, the INI file and --help. */
#include "config.h"

#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flota/alloc.h"
#include "flota/log.h"
#include "flota/store.h"
#include "flota/strutil.h"
#include "flota/time-util.h"

void config_init(Config *c) {
        *c = (Config) {
                .listen = xstrdup(FLOTAD_DEFAULT_LISTEN),
                .update_path = xstrdup("/update"),
                .max_image_size = FLOTAD_DEFAULT_MAX_IMAGE,
                .max_json_size = FLOTAD_DEFAULT_MAX_JSON,
                .connection_limit = 4096,
                .timeout_sec = 30,
                .head_timeout_sec = 10,
                .per_address_limit = 256,
                .checkin_retention = FLOTAD_DEFAULT_RETENTION_DAYS * 86400 * USEC_PER_SEC,
                .checkin_heartbeat = STORE_CHECKIN_HEARTBEAT_DEFAULT,
                .checkin_queue_size = 24000,
                .image_delivery = IMAGE_DELIVERY_SENDFILE,
        };
}

void config_done(Config *c) {
        free(c->data_dir);
        free(c->checkin_journal);
        free(c->database);
        free(c->image_dir);
        free(c->listen);
        free(c->log_file);
        free(c->log_level);
        free(c->update_path);
        free(c->checkin_log);
        *c = (Config) {};
}

static const char *const delivery_names[_IMAGE_DELIVERY_MAX] = {
        [IMAGE_DELIVERY_SENDFILE] = "sendfile",
        [IMAGE_DELIVERY_X_ACCEL] = "x-accel",
};

const char *image_delivery_to_string(ImageDelivery d) {
        return d >= 0 && d < _IMAGE_DELIVERY_MAX ? delivery_names[d] : NULL;
}

ImageDelivery image_delivery_from_string(const char *s) {
        for (int i = 0; s && i < _IMAGE_DELIVERY_MAX; i++)
                if (streq(s, delivery_names[i]))
                        return (ImageDelivery) i;
        return _IMAGE_DELIVERY_INVALID;
}

char *config_database(const Config *c) {
        if (c->database)
                return xstrdup(c->database);
        return xasprintf("%s/flotad.db", c->data_dir);
}

char *config_image_dir(const Config *c) {
        if (c->image_dir)
                return xstrdup(c->image_dir);
        return xasprintf("%s/images", c->data_dir);
}

char *config_checkin_journal(const Config *c) {
        if (c->checkin_journal)
                return streq(c->checkin_journal, "none") ? NULL : xstrdup(c->checkin_journal);
        return c->data_dir ? xasprintf("%s/checkins.journal", c->data_dir) : NULL;
}

int config_check(const Config *c, char *err, size_t errlen) {
        if (c->data_dir)
                return 0;
        if (store_url_is_postgresql(c->database) && c->image_dir)
                return 0;
        snprintf(err, errlen,
                 "--data-dir is required (or data-dir= in the config file), unless --database is a "
                 "postgresql:// URL and --image-dir is set");
        return -EINVAL;
}

static void set_string(char **dst, const char *value) {
        free(*dst);
        *dst = isempty(value) ? NULL : xstrdup(value);
}

static int parse_log_level(Config *c, const char *value) {
        if (log_level_from_string(value) < 0)
                return -EINVAL;
        set_string(&c->log_level, value);
        return 0;
}

static int parse_update_path(Config *c, const char *value) {
        if (!value || value[0] != '/' || strlen(value) < 2 || strlen(value) > 64 ||
            value[strlen(value) - 1] == '/' || startswith(value, "/api/") || streq(value, "/healthz") ||
            streq(value, "/metrics") || strpbrk(value, "?# "))
                return -EINVAL;
        set_string(&c->update_path, value);
        return 0;
}

static int parse_max_image_size(Config *c, const char *value) {
        uint64_t size;
        if (parse_size(value, &size) < 0 || size < 4096 || size > (1u << 30))
                return -EINVAL;
        c->max_image_size = size;
        return 0;
}

static int parse_retention(Config *c, const char *value) {
        usec_t d;
        if (streq(value ? value : "", "forever")) {
                c->checkin_retention = 0;
                return 0;
        }
        if (parse_duration(value, &d) < 0 || d == 0)
                return -EINVAL;
        c->checkin_retention = d;
        return 0;
}

static int parse_heartbeat(Config *c, const char *value) {
        usec_t d;
        if (streq(value ? value : "", "0")) {
                c->checkin_heartbeat = 0;
                return 0;
        }
        if (parse_duration(value, &d) < 0 || d == 0)
                return -EINVAL;
        c->checkin_heartbeat = d;
        return 0;
}

static int parse_database(Config *c, const char *value) {
        if (isempty(value))
                return -EINVAL;
        if (!store_url_is_postgresql(value) && !(startswith(value, "sqlite:") && value[strlen("sqlite:")]))
                return -EINVAL;
        set_string(&c->database, value);
        return 0;
}

static int parse_image_delivery(Config *c, const char *value) {
        ImageDelivery d = image_delivery_from_string(value);
        if (d < 0)
                return -EINVAL;
        c->image_delivery = d;
        return 0;
}

/* One row each; designated initializers leave the rest zero. */
#define COMMAND_LINE(n, s, m, h) \
        { .name = n, .short_name = s, .metavar = m, .help = h, .type = OPTION_COMMAND_LINE }
#define TEXT(n, s, m, h, t, f) \
        { .name = n, .short_name = s, .metavar = m, .help = h, .type = t, .offset = offsetof(Config, f) }
#define NUMBER(n, m, h, f, lo, hi, e)                                                                       \
        {                                                                                                   \
                .name = n, .metavar = m, .help = h, .type = OPTION_UNSIGNED, .offset = offsetof(Config, f), \
                .min = lo, .max = hi, .expected = e                                                         \
        }
#define CUSTOM(n, m, h, p, e) \
        { .name = n, .metavar = m, .help = h, .type = OPTION_CUSTOM, .parse = p, .expected = e }

/* In --help order. */
const ConfigOption config_options[] = {
        COMMAND_LINE("config", 'c', "FILE", "read settings from an INI file ([flotad] section)"),
        TEXT("data-dir", 'd', "DIR", "database and image store (required, but see --database)",
             OPTION_REQUIRED, data_dir),
        TEXT("listen", 'l', "ADDR:PORT", "address to serve on (default " FLOTAD_DEFAULT_LISTEN ")",
             OPTION_REQUIRED, listen),
        CUSTOM("database", "URL", "postgresql://... shared by replicas (default DATA_DIR/flotad.db)",
               parse_database, "expected postgresql://... or sqlite:PATH"),
        TEXT("image-dir", 0, "DIR", "image store, shared by replicas (default DATA_DIR/images)",
             OPTION_STRING, image_dir),
        CUSTOM("image-delivery", "HOW", "sendfile (default) or x-accel (nginx sends the image)",
               parse_image_delivery, "expected sendfile or x-accel"),
        TEXT("log-file", 0, "FILE", "log here instead of stderr (reopened on SIGHUP)", OPTION_STRING,
             log_file),
        CUSTOM("log-level", "LEVEL", "error, warning, info (default) or debug", parse_log_level,
               "expected error, warning, info or debug"),
        CUSTOM("max-image-size", "SIZE", "largest accepted image, e.g. 16M (default)", parse_max_image_size,
               "expected a size between 4K and 1G"),
        NUMBER("threads", "N", "HTTP worker threads (default: one per CPU)", threads, 0, 256,
               "expected 0 (one per CPU) to 256"),
        CUSTOM("update-path", "PATH", "device endpoint prefix (default /update)", parse_update_path,
               "expected a path such as /update (not /api/..., /healthz or /metrics)"),
        CUSTOM("checkin-retention", "D", "keep check-ins this long, e.g. 30d (default), or forever",
               parse_retention, "expected a duration such as 30d or 12h, or forever"),
        TEXT("checkin-log", 0, "FILE", "also append every check-in to FILE as a JSON line", OPTION_STRING,
             checkin_log),
        TEXT("checkin-journal", 0, "FILE",
             "answered check-ins, kept for a crash (DATA_DIR/checkins.journal; none)", OPTION_STRING,
             checkin_journal),
        CUSTOM("checkin-heartbeat", "D",
               "a row for an unchanged device at least this often (15m; 0: every poll)", parse_heartbeat,
               "expected a duration such as 15m, or 0"),
        NUMBER("checkin-queue-size", "N",
               "check-ins held in memory for the database (24000); more wait in the journal",
               checkin_queue_size, 16, 10000000, "expected a number from 16 to 10000000"),
        NUMBER("connection-limit", "N", "connections open at once (4096)", connection_limit, 1, 1000000,
               "expected a number from 1"),
        NUMBER("per-address-connection-limit", "N", "connections from one client address (256; 0: no limit)",
               per_address_limit, 0, 1000000, "expected a number, 0 for none"),
        NUMBER("timeout", "SEC", "seconds an idle connection is kept (30)", timeout_sec, 1, 3600,
               "expected seconds from 1 to 3600"),
        NUMBER("request-head-timeout", "SEC", "seconds for a request head to arrive whole (10)",
               head_timeout_sec, 1, 3600, "expected seconds from 1 to 3600"),
        COMMAND_LINE("help", 'h', NULL, "show this help"),
        COMMAND_LINE("version", 0, NULL, "show the version"),
};

const size_t config_n_options = ELEMENTSOF(config_options);

const ConfigOption *config_option_find(const char *name) {
        for (size_t i = 0; name && i < config_n_options; i++)
                if (streq(config_options[i].name, name))
                        return &config_options[i];
        return NULL;
}

void config_print_help(FILE *f) {
        for (size_t i = 0; i < config_n_options; i++) {
                const ConfigOption *o = &config_options[i];
                char head[64];
                int n;

                snprintf(head, sizeof(head), "--%s%s%s", o->name, o->metavar ? " " : "",
                         o->metavar ? o->metavar : "");
                n = fprintf(f, "  %c%c%c %s", o->short_name ? '-' : ' ', o->short_name ? o->short_name : ' ',
                            o->short_name ? ',' : ' ', head);
                /* the help text in its column, on a line of its own below a long option */
                if (n >= 29)
                        fprintf(f, "\n%29s%s\n", "", o->help);
                else
                        fprintf(f, "%*s%s\n", 29 - n, "", o->help);
        }
}

int config_set(Config *c, const char *key, const char *value, char *err, size_t errlen) {
        const ConfigOption *o = config_option_find(key);
        uint32_t v;
        int r = 0;

        if (!o || o->type == OPTION_COMMAND_LINE) {
                snprintf(err, errlen, "unknown setting '%s'", key);
                return -EINVAL;
        }
        switch (o->type) {
        case OPTION_REQUIRED:
                if (isempty(value)) {
                        snprintf(err, errlen, "%s: a value is required", key);
                        return -EINVAL;
                }
                __attribute__((fallthrough));
        case OPTION_STRING: set_string((char **) ((uint8_t *) c + o->offset), value); break;
        case OPTION_UNSIGNED:
                if (parse_u32(value, &v) < 0 || v < o->min || v > o->max)
                        r = -EINVAL;
                else
                        *(unsigned *) ((uint8_t *) c + o->offset) = v;
                break;
        case OPTION_CUSTOM: r = o->parse(c, value); break;
        default: r = -EINVAL;
        }
        if (r < 0)
                snprintf(err, errlen, "%s: %s", key, o->expected ? o->expected : "bad value");
        return r;
}

typedef struct LoadState {
        Config *config;
        char *err;
        size_t errlen;
        bool failed;
} LoadState;

static int on_ini(void *user, const char *section, const char *name, const char *value) {
        LoadState *st = user;

        if (st->failed)
                return 0;
        if (!streq(section, "flotad")) {
                snprintf(st->err, st->errlen, "unknown section [%s] (expected [flotad])", section);
                st->failed = true;
                return 0;
        }
        if (config_set(st->config, name, value, st->err, st->errlen) < 0) {
                st->failed = true;
                return 0;
        }
        return 1;
}

int config_load_file(Config *c, const char *path, char *err, size_t errlen) {
        char msg[256] = "syntax error";
        LoadState st = { .config = c, .err = msg, .errlen = sizeof(msg) };
        FILE *f = fopen(path, "re");

        if (!f)
                return -errno;
        int line = ini_parse_file(f, on_ini, &st);
        fclose(f);
        if (line != 0) {
                snprintf(err, errlen, "%s:%d: %s", path, line, msg);
                return -EINVAL;
        }
        return 0;
}
