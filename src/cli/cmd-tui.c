/* SPDX-License-Identifier: MIT */
/* flota tui: the terminal dashboard (src/tui) on the inventory and cli->server. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "flota/discovery.h"
#include "flota/strutil.h"
#include "tui.h"

typedef struct LogFormats {
        LogFormat *v[TUI_LOGS_MAX];
        size_t n;
} LogFormats;

static void log_formats_done(LogFormats *f) {
        for (size_t i = 0; i < f->n; i++)
                log_format_free(f->v[i]);
}

static void usage(void) {
        printf("Usage: flota tui [--interval SECS] [--no-tick] [--log FILE]... [--format F] [--no-mdns] "
               "[--stats]\n"
               "\n"
               "The dashboard: the fleet, each device, rollouts and events, live. It follows\n"
               "flotad's check-in feed every few seconds and, unless --no-tick, steps running\n"
               "rollouts as 'flota rollout tick' does (under the same lock). Press ? for the keys.\n"
               "\n"
               "  --interval SECS   time between passes over flotad's feed (default 3)\n"
               "  --no-tick         follow the feed only; leave the rollouts' steps to cron\n"
               "  --log FILE        also follow a poll log (nginx, Apache, flotad's JSON lines) as\n"
               "                    it grows, into the inventory as 'flota ingest --log' does\n"
               "                    (repeatable)\n"
               "  --format F        the logs' format: a preset or a log_format string (default auto)\n"
               "  --no-mdns         do not discover devices by mDNS (types= in the config picks the\n"
               "                    service types; avahi-daemon must run for discovery)\n"
               "  --stats           on exit, print the first paint's and the last redraw's times\n"
               "  --list-keys       print the key table (as flota(1) lists it) and exit\n");
}

int verb_tui(Cli *cli, int argc, char **argv) {
        enum {
                ARG_INTERVAL = 0x100,
                ARG_NO_TICK,
                ARG_STATS,
                ARG_LIST_KEYS,
                ARG_LOG,
                ARG_FORMAT,
                ARG_NO_MDNS
        };
        static const struct option options[] = {
                { "interval", required_argument, NULL, ARG_INTERVAL },
                { "no-tick", no_argument, NULL, ARG_NO_TICK },
                { "stats", no_argument, NULL, ARG_STATS },
                { "list-keys", no_argument, NULL, ARG_LIST_KEYS },
                { "log", required_argument, NULL, ARG_LOG },
                { "format", required_argument, NULL, ARG_FORMAT },
                { "no-mdns", no_argument, NULL, ARG_NO_MDNS },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        TuiOptions o = { .tick = true, .timeout_sec = cli->timeout, .mdns = true, .mdns_types = cli->types };
        _cleanup_(log_formats_done) LogFormats formats = {};
        const char *logs[TUI_LOGS_MAX], *spec = "auto";
        size_t n_logs = 0;
        char err[256];
        uint32_t secs;
        Store *inv;
        int c;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                switch (c) {
                case 'h': usage(); return 0;
                case ARG_INTERVAL:
                        if (parse_u32(optarg, &secs) < 0 || secs == 0 || secs > 3600)
                                return cli_usage("tui: --interval expects seconds from 1 to 3600");
                        o.interval = secs * USEC_PER_SEC;
                        break;
                case ARG_NO_TICK: o.tick = false; break;
                case ARG_STATS: o.stats = true; break;
                case ARG_LIST_KEYS: tui_print_keys(stdout); return 0;
                case ARG_LOG:
                        if (n_logs == TUI_LOGS_MAX)
                                return cli_usage("tui: at most %d --log files", TUI_LOGS_MAX);
                        logs[n_logs++] = optarg;
                        break;
                case ARG_FORMAT: spec = optarg; break;
                case ARG_NO_MDNS: o.mdns = false; break;
                default: return CLI_USAGE;
                }
        }
        if (optind < argc)
                return cli_usage("tui: unexpected argument '%s'", argv[optind]);
        if (o.mdns && o.mdns_types && discovery_types_validate(o.mdns_types) < 0)
                return cli_usage("tui: types= expects service types such as _arduino._tcp,_http._tcp");
        /* the logs' formats are known before the screen is taken: a wrong one is an error here */
        for (size_t i = 0; i < n_logs; i++) {
                int r = cli_log_format("tui", logs[i], spec, NULL, &formats.v[i]);
                if (r < 0)
                        return r;
                formats.n = i + 1;
        }
        o.logs = logs;
        o.log_formats = (const LogFormat *const *) formats.v;
        o.n_logs = n_logs;
        /* creates the inventory (and its directory) when there is none yet */
        if (cli_inventory(cli, &inv) < 0)
                return -1;
        _cleanup_free_ char *path = cli_inventory_path(cli);
        o.inventory_path = path;
        o.server = cli->server;
        o.token = cli->token;
        o.push_password = cli_rollout_push_password;
        o.push_userdata = cli;
        o.push_user = cli_push_setting(cli, "web-user");
        /* the CLI's colour decision (--color, NO_COLOR) holds for the dashboard too */
        o.color = style_on(STYLE_GOOD)[0] != 0;
        if (tui_run(&o, err) < 0)
                return cli_error("tui: %s", err);
        return 0;
}
