/* SPDX-License-Identifier: MIT */
/* flotad: command line, configuration, token management, signal handling. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "flota/alloc.h"
#include "flota/fileio.h"
#include "flota/hash.h"
#include "flota/log.h"
#include "flota/store.h"
#include "flota/strutil.h"
#include "server.h"

#define EXIT_USAGE 2

static void help(void) {
        printf("Usage: flotad [OPTIONS]\n"
               "       flotad --data-dir DIR token create NAME [--role admin|read]\n"
               "       flotad --data-dir DIR token list\n"
               "       flotad --data-dir DIR token revoke NAME\n"
               "       (or --database postgresql://... instead of --data-dir for the token commands)\n"
               "\n"
               "The flota update server: ESP8266/ESP32 devices poll it with the stock Arduino\n"
               "update clients; operators and 'flota' manage it through a JSON API.\n"
               "\n"
               "Options (each also a key of the config file, but --config, --help and --version):\n");
        config_print_help(stdout);
        printf("\n"
               "Command-line options override the config file. See flotad(8).\n");
}

typedef struct Args {
        const char *config_file;
        /* options given on the command line, applied after the file */
        const char *keys[64];
        const char *values[64];
        size_t n;
} Args;

/* getopt's tables, from config_options[]: each option's index in the table is its value + 0x100. */
static void build_getopt(struct option *longopts, char *shortopts) {
        size_t k = 0;

        *shortopts++ = '+';
        for (size_t i = 0; i < config_n_options; i++) {
                const ConfigOption *o = &config_options[i];
                longopts[i] = (struct option) { o->name, o->metavar ? required_argument : no_argument, NULL,
                                                0x100 + (int) i };
                if (o->short_name) {
                        shortopts[k++] = o->short_name;
                        if (o->metavar)
                                shortopts[k++] = ':';
                }
        }
        longopts[config_n_options] = (struct option) {};
        shortopts[k] = 0;
}

/* The table row of what getopt_long returned (a short letter or 0x100 + index), or NULL. */
static const ConfigOption *option_of(int c) {
        if (c >= 0x100 && (size_t) (c - 0x100) < config_n_options)
                return &config_options[c - 0x100];
        for (size_t i = 0; i < config_n_options; i++)
                if (config_options[i].short_name && config_options[i].short_name == c)
                        return &config_options[i];
        return NULL;
}

static int parse_argv(int argc, char **argv, Args *a) {
        struct option longopts[config_n_options + 1];
        char shortopts[2 * config_n_options + 2];
        int c, index;

        build_getopt(longopts, shortopts);
        while ((c = getopt_long(argc, argv, shortopts, longopts, &index)) >= 0) {
                const ConfigOption *o = option_of(c);
                if (!o)
                        return -EINVAL;
                if (streq(o->name, "help")) {
                        help();
                        return 0;
                }
                if (streq(o->name, "version")) {
                        printf("flotad " FLOTA_VERSION "\n");
                        return 0;
                }
                if (streq(o->name, "config")) {
                        a->config_file = optarg;
                        continue;
                }
                if (a->n >= ELEMENTSOF(a->keys)) {
                        log_error("too many options");
                        return -E2BIG;
                }
                a->keys[a->n] = o->name;
                a->values[a->n++] = optarg;
        }
        return 1;
}

/* serving: the server needs somewhere for its images too; the token commands only the database */
static int load_config(const Args *a, Config *config, bool serving) {
        char err[512];
        int r;

        config_init(config);
        if (a->config_file) {
                r = config_load_file(config, a->config_file, err, sizeof(err));
                if (r == -EINVAL)
                        return log_error_errno(r, "%s", err);
                if (r < 0)
                        return log_error_errno(r, "cannot read %s: %s", a->config_file, strerror(-r));
        }
        for (size_t i = 0; i < a->n; i++) {
                r = config_set(config, a->keys[i], a->values[i], err, sizeof(err));
                if (r < 0)
                        return log_error_errno(r, "--%s", err);
        }
        if (serving || !store_url_is_postgresql(config->database)) {
                r = config_check(config, err, sizeof(err));
                if (r < 0)
                        return log_error_errno(r, "%s", err);
        }
        if (config->log_level)
                log_set_level(log_level_from_string(config->log_level));
        return 0;
}

static int open_store(const Config *config, Store **ret) {
        _cleanup_free_ char *db = config_database(config);
        int r;

        if (!store_url_is_postgresql(db) && config->data_dir) {
                r = mkdir_p(config->data_dir, 0750);
                if (r < 0)
                        return log_error_errno(r, "cannot create %s: %s", config->data_dir, strerror(-r));
        }
        /* a URL is not shown: it may hold a password */
        const char *name = store_url_is_postgresql(db) ? "the PostgreSQL database" : db;
        r = store_open_url(db, ret);
        if (r == -EPROTO)
                return log_error_errno(r, "%s was written by a newer flotad", name);
        if (r == -ECONNREFUSED)
                return log_error_errno(r,
                                       "cannot open %s: cannot connect to the server (see --database; "
                                       "--log-level debug shows its answer)",
                                       name);
        if (r < 0)
                return log_error_errno(r, "cannot open %s: %s", name, strerror(-r));
        return 0;
}

static int print_token(const Token *t, void *userdata) {
        char when[RFC3339_MAX];
        printf("%-24s %-6s %s\n", t->name, token_role_to_string(t->role), format_rfc3339(when, t->created));
        return 0;
}

static int token_create(Store *s, int argc, char **argv) {
        const char *name = NULL, *role_s = NULL;
        uint8_t secret[24];
        char hex[49], digest[SHA256_HEX_LEN + 1];

        for (int i = 0; i < argc; i++) {
                if (streq(argv[i], "--role") && i + 1 < argc)
                        role_s = argv[++i];
                else if (startswith(argv[i], "--role="))
                        role_s = argv[i] + 7;
                else if (!name && argv[i][0] != '-')
                        name = argv[i];
                else
                        return log_error_errno(EINVAL, "token create: unexpected argument '%s'", argv[i]);
        }
        if (!name || !name_is_valid(name))
                return log_error_errno(EINVAL,
                                       "token create: NAME is required (letters, digits, '.', '_', '-')");
        TokenRole role = token_role_from_string(role_s ? role_s : "read");
        if (role < 0)
                return log_error_errno(EINVAL, "token create: --role must be admin or read");
        if (random_bytes(secret, sizeof(secret)) < 0)
                return log_error_errno(EIO, "token create: no randomness available");
        hex_encode(secret, sizeof(secret), hex);
        _cleanup_free_ char *token = xasprintf("flota_%s", hex);
        sha256_hex(token, strlen(token), digest);
        int r = store_token_create(s, name, role, digest);
        if (r == -EEXIST)
                return log_error_errno(r, "token create: a token named '%s' exists (revoke it first)", name);
        if (r < 0)
                return log_error_errno(r, "token create: %s", store_last_error(s));
        /* the token itself is shown once and never stored */
        printf("%s\n", token);
        fprintf(stderr, "flotad: token '%s' (%s) created; it is shown only this once\n", name,
                token_role_to_string(role));
        return 0;
}

static int token_main(const Config *config, int argc, char **argv) {
        _cleanup_(store_freep) Store *s = NULL;
        int r;

        if (argc < 1)
                return log_error_errno(EINVAL, "token: expected create, list or revoke");
        if (!streq(argv[0], "create") && !config->database) {
                _cleanup_free_ char *path = config_database(config);
                if (access(path, F_OK) < 0)
                        return log_error_errno(ENOENT, "token: no flotad database in %s", config->data_dir);
        }
        r = open_store(config, &s);
        if (r < 0)
                return r;
        if (streq(argv[0], "create"))
                return token_create(s, argc - 1, argv + 1);
        if (streq(argv[0], "list") && argc == 1)
                return store_tokens_list(s, print_token, NULL);
        if (streq(argv[0], "revoke") && argc == 2) {
                r = store_token_delete(s, argv[1]);
                if (r == -ENOENT)
                        return log_error_errno(r, "token revoke: no token named '%s'", argv[1]);
                return r < 0 ? log_error_errno(r, "token revoke: %s", store_last_error(s)) : 0;
        }
        return log_error_errno(EINVAL,
                               "token: expected 'create NAME --role admin|read', 'list' or 'revoke NAME'");
}

static int serve(Config *config) {
        Server srv;
        sigset_t mask;
        int sig, r;

        /* block the signals before any thread starts, and take them synchronously below */
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        pthread_sigmask(SIG_BLOCK, &mask, NULL);
        signal(SIGPIPE, SIG_IGN);

        r = server_start(&srv, config);
        if (r < 0) {
                server_stop(&srv);
                return r;
        }
        for (;;) {
                if (sigwait(&mask, &sig) != 0)
                        continue;
                if (sig == SIGHUP) {
                        server_reopen_logs(&srv);
                        continue;
                }
                log_info("%s received, draining", sig == SIGTERM ? "SIGTERM" : "SIGINT");
                break;
        }
        server_stop(&srv);
        return 0;
}

int main(int argc, char **argv) {
        Args args = {};
        Config config;
        int r;

        log_set_ident("flotad");
        r = parse_argv(argc, argv, &args);
        if (r <= 0)
                return r < 0 ? EXIT_USAGE : 0;
        r = load_config(&args, &config, !(optind < argc));
        if (r < 0) {
                config_done(&config);
                return EXIT_USAGE;
        }
        if (config.log_file && !(optind < argc) && (r = log_open_file(config.log_file)) < 0) {
                log_error("cannot open log file %s: %s", config.log_file, strerror(-r));
                config_done(&config);
                return EXIT_FAILURE;
        }
        if (optind < argc) {
                if (!streq(argv[optind], "token")) {
                        log_error("unknown command '%s' (see --help)", argv[optind]);
                        config_done(&config);
                        return EXIT_USAGE;
                }
                r = token_main(&config, argc - optind - 1, argv + optind + 1);
                config_done(&config);
                return r == -EINVAL ? EXIT_USAGE : r < 0 ? EXIT_FAILURE : 0;
        } else
                r = serve(&config);
        config_done(&config);
        log_close();
        return r < 0 ? EXIT_FAILURE : 0;
}
