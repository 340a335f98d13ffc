/* SPDX-License-Identifier: MIT */
/* flotad settings: one table of keys shared by the INI file and the command line. */
#include "config.h"

#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>

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
        };
}

void config_done(Config *c) {
        free(c->data_dir);
        free(c->listen);
        free(c->log_file);
        free(c->log_level);
        free(c->update_path);
        free(c->checkin_log);
        *c = (Config) {};
}

static void set_string(char **dst, const char *value) {
        free(*dst);
        *dst = isempty(value) ? NULL : xstrdup(value);
}

static int set_unsigned(unsigned *dst, const char *value, unsigned min, unsigned max) {
        uint32_t v;
        if (parse_u32(value, &v) < 0 || v < min || v > max)
                return -EINVAL;
        *dst = v;
        return 0;
}

int config_set(Config *c, const char *key, const char *value, char *err, size_t errlen) {
        uint64_t size;

        if ((streq(key, "data-dir") || streq(key, "listen")) && isempty(value)) {
                snprintf(err, errlen, "%s: a value is required", key);
                return -EINVAL;
        }
        if (streq(key, "data-dir"))
                set_string(&c->data_dir, value);
        else if (streq(key, "listen"))
                set_string(&c->listen, value);
        else if (streq(key, "log-file"))
                set_string(&c->log_file, value);
        else if (streq(key, "checkin-log"))
                set_string(&c->checkin_log, value);
        else if (streq(key, "log-level")) {
                if (log_level_from_string(value) < 0) {
                        snprintf(err, errlen, "log-level: expected error, warning, info or debug");
                        return -EINVAL;
                }
                set_string(&c->log_level, value);
        } else if (streq(key, "update-path")) {
                if (!value || value[0] != '/' || strlen(value) < 2 || strlen(value) > 64 ||
                    value[strlen(value) - 1] == '/' || startswith(value, "/api/") || streq(value, "/healthz") ||
                    streq(value, "/metrics") || strpbrk(value, "?# ")) {
                        snprintf(err, errlen, "update-path: expected a path such as /update (not /api/..., "
                                              "/healthz or /metrics)");
                        return -EINVAL;
                }
                set_string(&c->update_path, value);
        } else if (streq(key, "max-image-size")) {
                if (parse_size(value, &size) < 0 || size < 4096 || size > (1u << 30)) {
                        snprintf(err, errlen, "max-image-size: expected a size between 4K and 1G");
                        return -EINVAL;
                }
                c->max_image_size = size;
        } else if (streq(key, "threads")) {
                if (set_unsigned(&c->threads, value, 0, 256) < 0) {
                        snprintf(err, errlen, "threads: expected 0 (one per CPU) to 256");
                        return -EINVAL;
                }
        } else if (streq(key, "connection-limit")) {
                if (set_unsigned(&c->connection_limit, value, 1, 1000000) < 0) {
                        snprintf(err, errlen, "connection-limit: expected a number from 1");
                        return -EINVAL;
                }
        } else if (streq(key, "timeout")) {
                if (set_unsigned(&c->timeout_sec, value, 1, 3600) < 0) {
                        snprintf(err, errlen, "timeout: expected seconds from 1 to 3600");
                        return -EINVAL;
                }
        } else if (streq(key, "request-head-timeout")) {
                if (set_unsigned(&c->head_timeout_sec, value, 1, 3600) < 0) {
                        snprintf(err, errlen, "request-head-timeout: expected seconds from 1 to 3600");
                        return -EINVAL;
                }
        } else if (streq(key, "per-address-connection-limit")) {
                if (set_unsigned(&c->per_address_limit, value, 0, 1000000) < 0) {
                        snprintf(err, errlen, "per-address-connection-limit: expected a number, 0 for none");
                        return -EINVAL;
                }
        } else if (streq(key, "checkin-retention")) {
                usec_t d;
                if (streq(value ? value : "", "forever"))
                        c->checkin_retention = 0;
                else if (parse_duration(value, &d) < 0 || d == 0) {
                        snprintf(err, errlen, "checkin-retention: expected a duration such as 30d or 12h, or forever");
                        return -EINVAL;
                } else
                        c->checkin_retention = d;
        } else if (streq(key, "checkin-queue-size")) {
                if (set_unsigned(&c->checkin_queue_size, value, 16, 10000000) < 0) {
                        snprintf(err, errlen, "checkin-queue-size: expected a number from 16 to 10000000");
                        return -EINVAL;
                }
        } else if (streq(key, "checkin-heartbeat")) {
                usec_t d;
                if (streq(value ? value : "", "0"))
                        c->checkin_heartbeat = 0;
                else if (parse_duration(value, &d) < 0 || d == 0) {
                        snprintf(err, errlen, "checkin-heartbeat: expected a duration such as 15m, or 0");
                        return -EINVAL;
                } else
                        c->checkin_heartbeat = d;
        } else {
                snprintf(err, errlen, "unknown setting '%s'", key);
                return -EINVAL;
        }
        return 0;
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
