/* SPDX-License-Identifier: MIT */
/* flota: global options, configuration and the verb table. */
#include <errno.h>
#include <getopt.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "flota/alloc.h"
#include "flota/discovery.h"
#include "flota/strutil.h"

/*
 * The verbs. args is shown by --help and read by the shell completion (flota --list-verbs):
 * lowercase words are keywords (subcommands), UPPERCASE words placeholders (FILE completes
 * file names), --options are the verb's own, "|" separates alternatives.
 */
static const Verb verbs[] = {
        { "status", "", "the fleet in the inventory, and whether flotad answers", verb_status },
        { "discover", "[--timeout T] [--watch] [--types LIST]",
          "devices announcing themselves by mDNS (ArduinoOTA, ESPHome, WLED, Tasmota)", verb_discover },
        { "audit", "[--limit N]", "what flota did: promotions, pins, assignments, uploads, ingests",
          verb_audit },
        { "ingest",
          "[--from-server] [--batch N] [--log FILE] [--format F] [--backfill] [--commit-every SIZE] "
          "[--list-formats]",
          "feed the inventory from flotad's check-ins and poll logs", verb_ingest },
        { "devices",
          "[--product P] [--version V] [--label L] [--seen-since T] [--where EXPR] [--sort COL] [--reverse] "
          "[--limit N] [--no-refresh] [--from-server]",
          "list every device flota knows (flotad, logs, mDNS)", verb_devices },
        { "device", "MAC", "one device with its recent check-ins", verb_device },
        { "releases", "[--product P]", "list releases", verb_releases },
        { "release", "show ID | upload FILE --product P [--version V] [--platform X] [--kind K]",
          "show or upload a release", verb_release },
        { "channels", "", "list channels and the release each serves", verb_channels },
        { "promote", "PRODUCT CHANNEL RELEASE [--gate from=CH,soak=D,healthy=P%,min=N]",
          "point a channel at a release, with a gate on how it ran elsewhere", verb_promote },
        { "rollout",
          "create|plan|start|pause|resume|approve|abort|retry-failed|rollback|promote|list|show|history|"
          "delete|tick ...",
          "staged rollouts in waves with health gates; 'rollout tick' is the cron job", verb_rollout },
        { "pin", "MAC RELEASE", "pin a device to a release", verb_pin },
        { "unpin", "MAC", "remove a device's pin", verb_unpin },
        { "label", "MAC [LABEL...]", "set a device's labels (none: clear them)", verb_label },
        { "assign", "RELEASE --devices FILE|-", "assign a release to the listed devices", verb_assign },
        { "demo", "[--devices N] [--port P] [--duration S] [--keep]",
          "a private flotad and a simulated fleet, its status live until Ctrl-C", verb_demo },
        { "push",
          "DEVICE FILE|--release ID | --devices FILE|- FILE|--release ID [--transport espota|web] "
          "[--password-from KEY] "
          "[--filesystem] [--parallel N] [--port P] [--path PATH] [--phase-timeout SECS] [--deadline SECS] "
          "[--verify-timeout SECS] [--stats]",
          "upload an image to devices that do not poll: ArduinoOTA (espota) or their web updater",
          verb_push },
        { "tui", "[--interval SECS] [--no-tick] [--log FILE] [--format F] [--no-mdns] [--stats]",
          "the dashboard (also 'flota' with no verb on a terminal)", verb_tui },
};

/* Whether a verb's arguments ask for help (-h or --help before a "--"). */
static bool wants_help(int argc, char **argv) {
        for (int i = 1; i < argc; i++) {
                if (streq(argv[i], "--"))
                        return false;
                if (streq(argv[i], "--help") || streq(argv[i], "-h"))
                        return true;
        }
        return false;
}

static void help(void) {
        printf("Usage: flota [OPTIONS] VERB [ARGS]\n"
               "\n"
               "The operator's tool for fleets of ESP8266/ESP32 devices served by flotad.\n"
               "\n"
               "Options:\n"
               "  -s, --server URL     flotad's address (FLOTA_SERVER, server= in the config)\n"
               "  -t, --token TOKEN    API token (FLOTA_TOKEN, token= in the config)\n"
               "  -c, --config FILE    configuration file (default $XDG_CONFIG_HOME/flota/config)\n"
               "      --timeout SECS   give up on the server after this long (default 10)\n"
               "      --db FILE        the inventory (db= in the config; default "
               "$XDG_STATE_HOME/flota/flota.db)\n"
               "  -j, --json           machine-readable output\n"
               "      --color=WHEN     colour: auto (on a terminal, unless NO_COLOR is set), always, never\n"
               "  -h, --help           show this help\n"
               "      --version        show the version\n"
               "\n"
               "Verbs:\n");
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                printf("  %-9s %s\n            %s\n", verbs[i].name, verbs[i].args, verbs[i].summary);
        printf("\nExit status: 0 success, 1 error, 2 usage error, 3 a rollout halted or a gate holds.\n");
}

/* Hidden, for the shell completion: the verb table, one "name<TAB>args" a line. */
static void list_verbs(void) {
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                printf("%s\t%s\n", verbs[i].name, verbs[i].args);
}

/* Hidden, for the shell completion: the global options, "--long<TAB>arg|none[<TAB>-s]" a line. */
static void list_options(const struct option *options) {
        for (const struct option *o = options; o->name; o++) {
                if (startswith(o->name, "list-"))
                        continue;
                printf("--%s\t%s", o->name, o->has_arg == required_argument ? "arg" : "none");
                if (o->val > 0 && o->val < 0x100)
                        printf("\t-%c", o->val);
                putchar('\n');
        }
}

static void set(char **dst, const char *value) {
        free(*dst);
        *dst = value ? xstrdup(value) : NULL;
}

typedef struct ConfigFile {
        Cli *cli;
        const char *path;
        int line;
        bool has_password;
        char error[256];
} ConfigFile;

static int on_ini(void *user, const char *section, const char *name, const char *value) {
        ConfigFile *cf = user;
        uint32_t t;

        if (streq(section, "push")) {
                /* [push]: password, password.<product|MAC|host>, web-user, web-path[.<product>] */
                if (!streq(name, "password") && !startswith(name, "password.") && !streq(name, "web-user") &&
                    !streq(name, "web-path") && !startswith(name, "web-path.")) {
                        snprintf(cf->error, sizeof(cf->error), "unknown [push] setting '%s'", name);
                        return 0;
                }
                if (startswith(name, "password"))
                        cf->has_password = true;
                cli_push_settings_add(cf->cli, name, value);
                return 1;
        }
        if (!streq(section, "flota")) {
                snprintf(cf->error, sizeof(cf->error), "unknown section [%s] (expected [flota] or [push])",
                         section);
                return 0;
        }
        if (streq(name, "server"))
                set(&cf->cli->server, value);
        else if (streq(name, "token"))
                set(&cf->cli->token, value);
        else if (streq(name, "db"))
                set(&cf->cli->db, value);
        else if (streq(name, "types")) {
                if (discovery_types_validate(value) < 0) {
                        snprintf(cf->error, sizeof(cf->error),
                                 "types: expected service types such as _arduino._tcp,_http._tcp");
                        return 0;
                }
                set(&cf->cli->types, value);
        } else if (streq(name, "timeout")) {
                if (parse_u32(value, &t) < 0 || t == 0 || t > 3600) {
                        snprintf(cf->error, sizeof(cf->error), "timeout: expected seconds from 1 to 3600");
                        return 0;
                }
                cf->cli->timeout = t;
        } else {
                snprintf(cf->error, sizeof(cf->error), "unknown setting '%s'", name);
                return 0;
        }
        return 1;
}

/* Reads the config file; a missing default file is fine, a missing named one is not. */
static int load_config(Cli *cli, const char *path, bool named) {
        _cleanup_free_ char *fallback = NULL;

        if (!path) {
                const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
                if (!isempty(xdg))
                        fallback = xasprintf("%s/flota/config", xdg);
                else if (!isempty(home))
                        fallback = xasprintf("%s/.config/flota/config", home);
                else
                        return 0;
                path = fallback;
        }
        FILE *f = fopen(path, "re");
        if (!f) {
                if (!named && errno == ENOENT)
                        return 0;
                return cli_error("cannot read %s: %s", path, strerror(errno));
        }
        ConfigFile cf = { .cli = cli, .path = path };
        struct stat st;
        int line = ini_parse_file(f, on_ini, &cf);
        bool others = fstat(fileno(f), &st) == 0 && (st.st_mode & (S_IRGRP | S_IROTH | S_IWGRP | S_IWOTH));
        fclose(f);
        if (line != 0)
                return cli_error("%s:%d: %s", path, line, cf.error[0] ? cf.error : "syntax error");
        if (cf.has_password && others)
                return cli_error("%s holds push passwords and others can read it: chmod 600 it", path);
        return 0;
}

/*
 * The global options that may also follow the verb, anywhere before "--" ("flota devices --json",
 * "flota device MAC --color=never"), are taken out of argv; the rest go to the verb in vargv.
 * 0, or CLI_USAGE after reporting.
 */
static int verb_args(Cli *cli, int argc, char **argv, char **vargv, int *ret_vargc) {
        bool options = true;
        int n = 0;

        for (int i = 0; i < argc; i++) {
                const char *a = argv[i], *color = NULL;
                if (options && streq(a, "--"))
                        options = false;
                if (options && (streq(a, "--json") || streq(a, "-j"))) {
                        cli->json = true;
                        continue;
                }
                if (options && startswith(a, "--color="))
                        color = a + strlen("--color=");
                else if (options && streq(a, "--color")) {
                        if (i + 1 >= argc)
                                return cli_usage("--color expects auto, always or never");
                        color = argv[++i];
                }
                if (color) {
                        ColorMode mode = color_mode_from_string(color);
                        if (mode < 0)
                                return cli_usage("--color expects auto, always or never");
                        cli_set_color(mode);
                        continue;
                }
                vargv[n++] = argv[i];
        }
        *ret_vargc = n;
        return 0;
}

int main(int argc, char **argv) {
        enum { ARG_TIMEOUT = 0x100, ARG_VERSION, ARG_DB, ARG_COLOR, ARG_LIST_VERBS, ARG_LIST_OPTIONS };
        static const struct option options[] = {
                { "server", required_argument, NULL, 's' },
                { "token", required_argument, NULL, 't' },
                { "config", required_argument, NULL, 'c' },
                { "timeout", required_argument, NULL, ARG_TIMEOUT },
                { "db", required_argument, NULL, ARG_DB },
                { "json", no_argument, NULL, 'j' },
                { "color", required_argument, NULL, ARG_COLOR },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "list-verbs", no_argument, NULL, ARG_LIST_VERBS },
                { "list-options", no_argument, NULL, ARG_LIST_OPTIONS },
                {},
        };
        Cli cli = { .timeout = 10 };
        const char *config = NULL, *server = NULL, *token = NULL, *db = NULL;
        uint32_t timeout = 0;
        int c, r;

        while ((c = getopt_long(argc, argv, "+s:t:c:jh", options, NULL)) >= 0) {
                switch (c) {
                case 's': server = optarg; break;
                case 't': token = optarg; break;
                case 'c': config = optarg; break;
                case 'j': cli.json = true; break;
                case 'h': help(); return 0;
                case ARG_VERSION: printf("flota " FLOTA_VERSION "\n"); return 0;
                case ARG_LIST_VERBS: list_verbs(); return 0;
                case ARG_LIST_OPTIONS: list_options(options); return 0;
                case ARG_DB: db = optarg; break;
                case ARG_COLOR: {
                        ColorMode mode = color_mode_from_string(optarg);
                        if (mode < 0) {
                                cli_usage("--color expects auto, always or never");
                                return EXIT_USAGE;
                        }
                        cli_set_color(mode);
                        break;
                }
                case ARG_TIMEOUT:
                        if (parse_u32(optarg, &timeout) < 0 || timeout == 0 || timeout > 3600) {
                                cli_usage("--timeout expects seconds from 1 to 3600");
                                return EXIT_USAGE;
                        }
                        break;
                default: return EXIT_USAGE;
                }
        }
        if (optind >= argc) {
                /* no verb: the dashboard on a terminal, the help elsewhere */
                static char *no_verb[] = { (char *) "tui", NULL };
                if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
                        help();
                        free(cli.db);
                        free(cli.types);
                        return EXIT_USAGE;
                }
                argv = no_verb;
                argc = 1;
                optind = 0;
        }
        /* precedence: flags, then the environment, then the config file */
        if (load_config(&cli, config, config != NULL) < 0) {
                free(cli.server);
                free(cli.token);
                free(cli.db);
                cli_push_settings_free(&cli);
                free(cli.types);
                return EXIT_USAGE;
        }
        if (getenv("FLOTA_SERVER"))
                set(&cli.server, getenv("FLOTA_SERVER"));
        if (getenv("FLOTA_TOKEN"))
                set(&cli.token, getenv("FLOTA_TOKEN"));
        if (server)
                set(&cli.server, server);
        if (token)
                set(&cli.token, token);
        if (db)
                set(&cli.db, db);
        if (timeout)
                cli.timeout = timeout;

        const Verb *verb = NULL;
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                if (streq(argv[optind], verbs[i].name))
                        verb = &verbs[i];
        if (!verb) {
                r = cli_usage("unknown verb '%s'", argv[optind]);
        } else {
                char **vargv = xcalloc((size_t) (argc - optind) + 1, sizeof(char *));
                int vargc = 0;
                r = verb_args(&cli, argc - optind, argv + optind, vargv, &vargc);
                if (r == 0 && wants_help(vargc, vargv) && !streq(verb->name, "tui") &&
                    !streq(verb->name, "push")) {
                        /* the verb's line of the help; tui and push print their own */
                        printf("Usage: flota %s %s\n\n%s.\nSee flota(1) for the details.\n", verb->name,
                               verb->args, verb->summary);
                        r = 0;
                } else if (r == 0) {
                        /* 0, not 1: glibc then resets its scanning mode for the verb's own options */
                        optind = 0;
                        r = verb->run(&cli, vargc, vargv);
                }
                free(vargv);
        }
        api_client_free(cli.client);
        store_free(cli.inventory);
        cli_push_settings_free(&cli);
        free(cli.server);
        free(cli.token);
        free(cli.db);
        free(cli.types);
        return cli_exit_status(r);
}
