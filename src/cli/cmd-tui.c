/* SPDX-License-Identifier: MIT */
/* flota tui: the terminal dashboard (src/tui) on the inventory and cli->server. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "flota/strutil.h"
#include "tui.h"

static void usage(void) {
        printf("Usage: flota tui [--interval SECS] [--no-tick] [--stats]\n"
               "\n"
               "The dashboard: the fleet, each device, rollouts and events, live. It follows\n"
               "flotad's check-in feed every few seconds and, unless --no-tick, steps running\n"
               "rollouts as 'flota rollout tick' does (under the same lock). Press ? for the keys.\n"
               "\n"
               "  --interval SECS   time between passes over flotad's feed (default 3)\n"
               "  --no-tick         follow the feed only; leave the rollouts' steps to cron\n"
               "  --stats           on exit, print the first paint's and the last redraw's times\n"
               "  --list-keys       print the key table (as flota(1) lists it) and exit\n");
}

int verb_tui(Cli *cli, int argc, char **argv) {
        enum { ARG_INTERVAL = 0x100, ARG_NO_TICK, ARG_STATS, ARG_LIST_KEYS };
        static const struct option options[] = {
                { "interval", required_argument, NULL, ARG_INTERVAL },
                { "no-tick", no_argument, NULL, ARG_NO_TICK },
                { "stats", no_argument, NULL, ARG_STATS },
                { "list-keys", no_argument, NULL, ARG_LIST_KEYS },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        TuiOptions o = { .tick = true, .timeout_sec = cli->timeout };
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
                default: return CLI_USAGE;
                }
        }
        if (optind < argc)
                return cli_usage("tui: unexpected argument '%s'", argv[optind]);
        /* creates the inventory (and its directory) when there is none yet */
        if (cli_inventory(cli, &inv) < 0)
                return -1;
        _cleanup_free_ char *path = cli_inventory_path(cli);
        o.inventory_path = path;
        o.server = cli->server;
        o.token = cli->token;
        /* the CLI's colour decision (--color, NO_COLOR) holds for the dashboard too */
        o.color = style_on(STYLE_GOOD)[0] != 0;
        if (tui_run(&o, err) < 0)
                return cli_error("tui: %s", err);
        return 0;
}
