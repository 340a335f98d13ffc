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
               "\n"
               "The flota update server: ESP8266/ESP32 devices poll it with the stock Arduino\n"
               "update clients; operators and 'flota' manage it through a JSON API.\n"
               "\n"
               "Options:\n"
               "  -c, --config FILE          read settings from an INI file ([flotad] section)\n"
               "  -d, --data-dir DIR         database and image store (required)\n"
               "  -l, --listen ADDR:PORT     address to serve on (default " FLOTAD_DEFAULT_LISTEN ")\n"
               "      --log-file FILE        log here instead of stderr (reopened on SIGHUP)\n"
               "      --log-level LEVEL      error, warning, info (default) or debug\n"
               "      --max-image-size SIZE  largest accepted image, e.g. 16M (default)\n"
               "      --threads N            HTTP worker threads (default: one per CPU)\n"
               "      --update-path PATH     device endpoint prefix (default /update)\n"
               "      --checkin-retention D  keep check-ins this long, e.g. 30d (default), or forever\n"
               "      --checkin-log FILE     also append every check-in to FILE as a JSON line\n"
               "      --checkin-heartbeat D  a row for an unchanged device at least this often (15m; 0: every poll)\n"
               "      --checkin-queue-size N check-ins that may wait for the database (24000); more are dropped\n"
               "  -h, --help                 show this help\n"
               "      --version              show the version\n"
               "\n"
               "Command-line options override the config file. See flotad(8).\n");
}

typedef struct Args {
        const char *config_file;
        /* options given on the command line, applied after the file */
        const char *keys[16];
        const char *values[16];
        size_t n;
} Args;

static int parse_argv(int argc, char **argv, Args *a) {
        enum { ARG_LOG_FILE = 0x100, ARG_LOG_LEVEL, ARG_MAX_IMAGE, ARG_THREADS, ARG_UPDATE_PATH, ARG_VERSION,
               ARG_RETENTION, ARG_CHECKIN_LOG, ARG_HEARTBEAT, ARG_QUEUE_SIZE };
        static const struct option options[] = {
                { "config", required_argument, NULL, 'c' },
                { "data-dir", required_argument, NULL, 'd' },
                { "listen", required_argument, NULL, 'l' },
                { "log-file", required_argument, NULL, ARG_LOG_FILE },
                { "log-level", required_argument, NULL, ARG_LOG_LEVEL },
                { "max-image-size", required_argument, NULL, ARG_MAX_IMAGE },
                { "threads", required_argument, NULL, ARG_THREADS },
                { "update-path", required_argument, NULL, ARG_UPDATE_PATH },
                { "checkin-retention", required_argument, NULL, ARG_RETENTION },
                { "checkin-log", required_argument, NULL, ARG_CHECKIN_LOG },
                { "checkin-heartbeat", required_argument, NULL, ARG_HEARTBEAT },
                { "checkin-queue-size", required_argument, NULL, ARG_QUEUE_SIZE },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                {},
        };
        int c, index;

        while ((c = getopt_long(argc, argv, "+c:d:l:h", options, &index)) >= 0) {
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("flotad " FLOTA_VERSION "\n");
                        return 0;
                case 'c':
                        a->config_file = optarg;
                        break;
                case '?':
                        return -EINVAL;
                default:
                        if (a->n >= ELEMENTSOF(a->keys)) {
                                log_error("too many options");
                                return -E2BIG;
                        }
                        for (const struct option *o = options; o->name; o++)
                                if (o->val == c) {
                                        a->keys[a->n] = o->name;
                                        a->values[a->n++] = optarg;
                                }
                        break;
                }
        }
        return 1;
}

static int load_config(const Args *a, Config *config) {
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
        if (!config->data_dir)
                return log_error_errno(EINVAL, "--data-dir is required (or data-dir= in the config file)");
        if (config->log_level)
                log_set_level(log_level_from_string(config->log_level));
        return 0;
}

static int open_store(const Config *config, Store **ret) {
        _cleanup_free_ char *path = xasprintf("%s/flotad.db", config->data_dir);
        int r = mkdir_p(config->data_dir, 0750);

        if (r < 0)
                return log_error_errno(r, "cannot create %s: %s", config->data_dir, strerror(-r));
        r = store_open(path, ret);
        if (r == -EPROTO)
                return log_error_errno(r, "%s was written by a newer flotad", path);
        if (r < 0)
                return log_error_errno(r, "cannot open %s: %s", path, strerror(-r));
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
                return log_error_errno(EINVAL, "token create: NAME is required (letters, digits, '.', '_', '-')");
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
        if (!streq(argv[0], "create")) {
                _cleanup_free_ char *path = xasprintf("%s/flotad.db", config->data_dir);
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
        return log_error_errno(EINVAL, "token: expected 'create NAME --role admin|read', 'list' or 'revoke NAME'");
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
        r = load_config(&args, &config);
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
