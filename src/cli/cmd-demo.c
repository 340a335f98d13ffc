/* SPDX-License-Identifier: MIT */
/*
 * flota demo: a private flotad on a temporary directory, a flota-sim fleet on mixed versions
 * and platforms, two releases per product, and the fleet's status refreshed live while the
 * fleet updates itself. Every process it starts is stopped by pid on every way out, and the
 * directory is removed (unless --keep).
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "child.h"
#include "cli.h"
#include "demo-setup.h"
#include "demo.h"
#include "flota/alloc.h"
#include "flota/inventory.h"
#include "flota/rollout.h"
#include "flota/strutil.h"
#include "tui.h"

/* A child that went away in the middle of the demo ends it, with its last words. */
static int check_child(Demo *d, pid_t *pid, const char *name) {
        int status;

        if (!child_exited(pid, &status))
                return 0;
        _cleanup_free_ char *log = xasprintf("%s.log", name);
        _cleanup_free_ char *last = demo_log_line(d, log, "");
        return cli_error("demo: %s exited (status %d): %s", name, child_exit_status(status),
                         last ? last : "no reason given");
}

/* ---- the screen ---- */

/* What print_rollout() needs: the inventory the rollouts are in, and where their lines go. */
typedef struct StageLines {
        Store *inv;
        FILE *f;
} StageLines;

static int print_rollout(const Rollout *r, void *userdata) {
        StageLines *s = userdata;
        char line[256];

        if (rollout_summary(s->inv, r, 0, line) < 0)
                return 0;
        _cleanup_free_ char *safe = term_escape(line);
        fprintf(s->f, "rollout      %s\n", safe);
        return 0;
}

static void print_stage(const Demo *d, FILE *f, usec_t now) {
        Store *inv;

        if (!d->promoted) {
                fprintf(f,
                        "stable       " DEMO_OLD " for door and meter; staged rollouts of " DEMO_NEW
                        " start in %llu s\n",
                        (unsigned long long) ((d->promote_at - now + USEC_PER_SEC - 1) / USEC_PER_SEC));
                return;
        }
        if (cli_inventory(d->cli, &inv) < 0)
                return;
        StageLines s = { inv, f };
        (void) rollout_list(inv, print_rollout, &s);
}

/* One refresh: the feed into the inventory, then the status; on a terminal, a frame. */
static int refresh(Demo *d, cJSON **ret_status) {
        uint64_t n;
        cJSON *status;

        /* the tick reads the feed too, and steps the rollouts */
        if (d->promoted ? demo_tick_rollouts(d) < 0 : cli_ingest_server(d->cli, &n) < 0)
                return -1;
        if (cli_status_build(d->cli, &status) < 0)
                return -1;
        if (ret_status)
                *ret_status = status;
        else
                cJSON_Delete(status);
        return 0;
}

static int run_fleet(Demo *d) {
        d->started = now_usec(CLOCK_MONOTONIC);
        /* a short demo starts its rollouts sooner, so its fleet still updates before the end */
        usec_t after = DEMO_PROMOTE_AFTER;
        if (d->duration && d->duration / 3 < after)
                after = d->duration / 3;
        d->promote_at = d->started + after;
        for (;;) {
                usec_t now = now_usec(CLOCK_MONOTONIC);
                if (demo_stop_requested() || (d->duration && now >= d->started + d->duration))
                        return 0;
                if (check_child(d, &d->flotad, "flotad") < 0 || check_child(d, &d->sim, "flota-sim") < 0)
                        return -1;
                if (!d->promoted && now >= d->promote_at && demo_start_rollouts(d) < 0)
                        return -1;
                if (refresh(d, NULL) < 0)
                        return -1;
                usec_t next = now + DEMO_TICK;
                if (!d->promoted && d->promote_at < next)
                        next = d->promote_at;
                if (d->duration && d->started + d->duration < next)
                        next = d->started + d->duration;
                now = now_usec(CLOCK_MONOTONIC);
                (void) demo_pause_unless_stopped(next > now ? next - now : 0);
        }
}

/* The end: the last status on stdout, the same as 'flota status' (with --json, its JSON). */
static int report(Demo *d) {
        cJSON *status;

        d->over = true;
        if (refresh(d, &status) < 0)
                return -1;
        if (d->cli->json)
                print_json(status);
        else {
                cli_status_print(status, stdout);
                print_stage(d, stdout, now_usec(CLOCK_MONOTONIC));
        }
        cJSON_Delete(status);
        return 0;
}

/* ---- the dashboard ---- */

/* Follows the feed until the inventory knows the whole fleet (or a few seconds went by). */
static int wait_for_fleet(Demo *d) {
        usec_t deadline = now_usec(CLOCK_MONOTONIC) + 5 * DEMO_TICK;
        InventorySummary sum = {};
        Store *inv;
        uint64_t n;

        if (cli_inventory(d->cli, &inv) < 0)
                return -1;
        while (!demo_stop_requested() && now_usec(CLOCK_MONOTONIC) < deadline) {
                if (cli_ingest_server(d->cli, &n) < 0 || check_child(d, &d->sim, "flota-sim") < 0)
                        return -1;
                if (inventory_summary(inv, 0, &sum) >= 0 && sum.devices >= (int64_t) d->devices)
                        break;
                (void) demo_pause_unless_stopped(DEMO_TICK / 4);
        }
        return 0;
}

/*
 * On a terminal: the dashboard on the demo's inventory, server and token, stepping the
 * rollouts as the cron tick would; the rollouts start as it opens (their first wave is one
 * device, so the fleet is seen on its old versions first).
 */
static int run_dashboard(Demo *d) {
        char err[256];

        if (wait_for_fleet(d) < 0 || demo_stop_requested() || demo_start_rollouts(d) < 0)
                return demo_stop_requested() ? 0 : -1;
        _cleanup_free_ char *path = cli_inventory_path(d->cli);
        TuiOptions o = {
                .inventory_path = path,
                .server = d->cli->server,
                .token = d->token,
                .timeout_sec = d->cli->timeout,
                .interval = DEMO_TICK,
                .tick = true,
                .color = style_on(STYLE_GOOD)[0] != 0,
                .duration = d->duration,
        };
        if (tui_run(&o, err) < 0)
                return cli_error("demo: %s", err);
        return 0;
}

static int demo_run(Demo *d) {
        if (demo_set_up(d) < 0)
                return demo_stop_requested() ? 0 : -1;
        if (d->dashboard)
                return run_dashboard(d);
        if (run_fleet(d) < 0)
                return -1;
        return report(d);
}

static int parse_argv(Demo *d, int argc, char **argv) {
        static const struct option options[] = {
                { "devices", required_argument, NULL, 'n' },
                { "duration", required_argument, NULL, 'd' },
                { "keep", no_argument, NULL, 'k' },
                { "port", required_argument, NULL, 'p' },
                {},
        };
        uint32_t v;
        int c;

        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (c) {
                case 'n':
                        if (parse_u32(optarg, &d->devices) < 0 || d->devices == 0 || d->devices > 100000)
                                return cli_usage("demo: --devices expects 1 to 100000");
                        break;
                case 'd':
                        if (parse_u32(optarg, &v) < 0 || v == 0 || v > 7 * 24 * 3600)
                                return cli_usage("demo: --duration expects seconds (at least 1)");
                        d->duration = v * USEC_PER_SEC;
                        break;
                case 'k': d->keep = true; break;
                case 'p':
                        if (parse_u32(optarg, &d->port) < 0 || d->port > 65535)
                                return cli_usage("demo: --port expects 0 to 65535 (0: any free port)");
                        break;
                default: return CLI_USAGE;
                }
        if (optind < argc)
                return cli_usage("demo: unexpected argument '%s'", argv[optind]);
        return 0;
}

int verb_demo(Cli *cli, int argc, char **argv) {
        Demo d = { .cli = cli, .devices = DEMO_DEVICES_DEFAULT, .port = DEMO_PORT_DEFAULT };
        struct sigaction sa = { .sa_handler = demo_on_stop_signal }, old[3];
        static const int signals[] = { SIGINT, SIGTERM, SIGHUP };
        int r;

        r = parse_argv(&d, argc, argv);
        if (r < 0)
                return r;
        bool tty = isatty(STDOUT_FILENO);
        d.dashboard = tty && !cli->json;
        /* a script never waits forever */
        if (!tty && !d.duration)
                d.duration = DEMO_UNATTENDED_DURATION;
        if (child_find_program("demo", "FLOTAD", "flotad", "server", &d.flotad_path) < 0 ||
            child_find_program("demo", "FLOTA_SIM", "flota-sim", "sim", &d.sim_path) < 0) {
                free(d.flotad_path);
                return -1;
        }
        for (size_t i = 0; i < ELEMENTSOF(signals); i++)
                (void) sigaction(signals[i], &sa, &old[i]);

        r = demo_run(&d);
        if (demo_tear_down(&d) < 0 && r == 0)
                r = -1;

        for (size_t i = 0; i < ELEMENTSOF(signals); i++)
                (void) sigaction(signals[i], &old[i], NULL);
        free(d.flotad_path);
        free(d.sim_path);
        free(d.dir);
        free(d.token);
        return r;
}
