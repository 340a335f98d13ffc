/* SPDX-License-Identifier: MIT */
/*
 * flota ingest: follows flotad's check-in feed, and reads poll logs (nginx/Apache access logs,
 * flotad's JSON-lines log) into the inventory. Each page of check-ins, or each stretch of log,
 * is committed in one transaction with its resume point, so a run killed at any moment loses
 * nothing and counts nothing twice.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "flota/alloc.h"
#include "flota/inventory.h"
#include "flota/log-ingest.h"
#include "flota/log-reader.h"
#include "flota/rollout.h"
#include "flota/strutil.h"

#define PAGE_DEFAULT 2000

/*
 * flotad's feed goes through the rollout engine's reader, so that the check-ins that move a
 * rollout's devices are seen by it whoever reads the feed first.
 */
static int feed_ingest(Cli *cli, Store *inv, ApiClient *api, size_t page, uint64_t *ret_total,
                       char err[static ROLLOUT_ERROR_MAX]) {
        RolloutEngine e = {
                .inventory = inv,
                .api = api,
                .server = cli->server,
                .now = now_usec(CLOCK_REALTIME),
                .feed_page = page,
        };
        return rollout_feed_ingest(&e, ret_total, err);
}

static int ingest_from_server(Cli *cli, Store *inv, size_t page, uint64_t *ret_total) {
        char err[ROLLOUT_ERROR_MAX];
        ApiClient *api;

        if (cli_client(cli, "ingest", &api) < 0)
                return -1;
        if (feed_ingest(cli, inv, api, page, ret_total, err) < 0)
                return cli_error("ingest: %s", err);
        return 0;
}

#define BAD_SHOWN 5

typedef struct BadLines {
        uint64_t n;
        cJSON *shown; /* the first few, for --json */
        bool json;
} BadLines;

static void on_bad_line(const char *path, uint64_t line, const char *why, const char *text, size_t n,
                        void *userdata) {
        BadLines *b = userdata;

        if (b->n++ >= BAD_SHOWN)
                return;
        _cleanup_free_ char *copy = xstrndup(text, n);
        for (char *c = copy; *c; c++)
                if ((unsigned char) *c < ' ')
                        *c = '?';
        if (b->json) {
                cJSON *o = cJSON_CreateObject();
                cJSON_AddStringToObject(o, "file", path);
                cJSON_AddNumberToObject(o, "line", (double) line);
                cJSON_AddStringToObject(o, "reason", why);
                cJSON_AddStringToObject(o, "text", copy);
                cJSON_AddItemToArray(b->shown, o);
        } else
                fprintf(stderr, "flota: ingest: %s:%llu: %s: %s\n", path, (unsigned long long) line, why,
                        copy);
}

/* The format named by --format, or the preset that reads the file's first lines. */
static int guess_format(const char *verb, const char *path, const char *spec, LogFormat **ret) {
        char err[LOG_FORMAT_ERROR_MAX];
        const LogPreset *preset;

        if (!streq(spec, "auto")) {
                if (log_format_compile(spec, ret, err) < 0)
                        return cli_usage("%s: --format: %s", verb, err);
                return 0;
        }
        _cleanup_(log_reader_freep) LogReader *rd = NULL;
        LogBlock b = {};
        int r = log_reader_open(path, &rd);
        if (r < 0)
                return cli_error("%s: cannot read %s: %s", verb, path, strerror(-r));
        r = log_reader_next(rd, &b);
        if (r < 0)
                return cli_error("%s: cannot read %s: %s", verb, path, strerror(-r));
        if (r == 0 || log_format_guess(b.data, b.len, &preset) < 0)
                return cli_error(
                        "%s: cannot tell the format of %s from its first lines; give --format "
                        "(a preset: flota ingest --list-formats, or your server's log_format string)",
                        verb, path);
        r = log_format_compile(preset->name, ret, err);
        return r < 0 ? cli_error("%s: %s", verb, err) : 0;
}

int cli_log_format(const char *verb, const char *path, const char *spec, const char *product_pattern,
                   LogFormat **ret) {
        char err[LOG_FORMAT_ERROR_MAX];
        int r = guess_format(verb, path, spec, ret);

        if (r < 0 || !product_pattern)
                return r;
        r = log_format_set_product(*ret, product_pattern, err);
        if (r < 0) {
                *ret = log_format_free(*ret);
                return cli_usage("%s: --product-pattern: %s", verb, err);
        }
        return 0;
}

static void log_notes(const char *path, const LogIngestStats *st) {
        if (st->truncated)
                fprintf(stderr,
                        "flota: ingest: %s was truncated since the last run; reading it again from the "
                        "start\n",
                        path);
        if (st->rotated_lost)
                fprintf(stderr,
                        "flota: ingest: %s was rotated and the previous file is not next to it any more; "
                        "what it logged after the last ingest is lost\n",
                        path);
        if (st->unread_rotated)
                fprintf(stderr,
                        "flota: ingest: %u rotated file%s of %s %s never been read; --backfill reads them\n",
                        st->unread_rotated, st->unread_rotated == 1 ? "" : "s", path,
                        st->unread_rotated == 1 ? "has" : "have");
}

static cJSON *log_stats_json(const char *path, const LogIngestStats *st, BadLines *bad) {
        cJSON *o = cJSON_CreateObject();

        cJSON_AddStringToObject(o, "log", path);
        cJSON_AddNumberToObject(o, "files", (double) st->files);
        cJSON_AddNumberToObject(o, "bytes", (double) st->bytes);
        cJSON_AddNumberToObject(o, "lines", (double) st->lines);
        cJSON_AddNumberToObject(o, "polls", (double) st->polls);
        cJSON_AddNumberToObject(o, "bad", (double) st->bad);
        cJSON_AddItemToObject(o, "bad_lines", bad->shown);
        bad->shown = NULL;
        cJSON_AddBoolToObject(o, "rotated", st->rotated);
        cJSON_AddBoolToObject(o, "rotated_lost", st->rotated_lost);
        cJSON_AddBoolToObject(o, "truncated", st->truncated);
        cJSON_AddNumberToObject(o, "unread_rotated", st->unread_rotated);
        cJSON_AddNumberToObject(o, "devices", (double) st->devices);
        return o;
}

static int ingest_log(Cli *cli, Store *inv, const char *path, const char *spec, const char *product_pattern,
                      bool backfill, uint64_t commit_bytes, cJSON *out) {
        _cleanup_(log_format_freep) LogFormat *format = NULL;
        BadLines bad = { .json = cli->json, .shown = cJSON_CreateArray() };
        LogIngestStats st;
        int r;

        r = cli_log_format("ingest", path, spec, product_pattern, &format);
        if (r < 0) {
                cJSON_Delete(bad.shown);
                return r;
        }
        LogIngestOptions o = { .path = path,
                               .format = format,
                               .backfill = backfill,
                               .commit_bytes = commit_bytes,
                               .bad_line = on_bad_line,
                               .userdata = &bad };
        r = log_ingest(inv, &o, &st);
        if (r < 0) {
                cJSON_Delete(bad.shown);
                if (r == -EIO)
                        return cli_error(
                                "ingest: %s: a rotated gzip file is damaged (see gzip's message); what was "
                                "read before it is kept",
                                path);
                if (store_last_error(inv) && r != -ENOENT && r != -EACCES && r != -EISDIR)
                        return cli_error("ingest: %s: %s (%s)", path, strerror(-r), store_last_error(inv));
                return cli_error("ingest: cannot read %s: %s", path, strerror(-r));
        }
        if (bad.n > BAD_SHOWN && !cli->json)
                fprintf(stderr, "flota: ingest: %s: %llu more bad lines not shown\n", path,
                        (unsigned long long) (bad.n - BAD_SHOWN));
        log_notes(path, &st);
        _cleanup_free_ char *detail = xasprintf("%llu polls from %s", (unsigned long long) st.polls, path);
        (void) inventory_audit(inv, "ingest", detail);
        if (cli->json)
                cJSON_AddItemToArray(out, log_stats_json(path, &st, &bad));
        else
                printf("%s: %llu lines, %llu polls, %llu bad; the inventory knows %llu devices\n", path,
                       (unsigned long long) st.lines, (unsigned long long) st.polls,
                       (unsigned long long) st.bad, (unsigned long long) st.devices);
        cJSON_Delete(bad.shown);
        if (st.lines > 0 && st.bad == st.lines)
                return cli_error("ingest: no line of %s matched the format; check --format", path);
        return 0;
}

static int ingest_server(Cli *cli, Store *inv, uint32_t page, cJSON *out) {
        uint64_t total = 0;

        if (ingest_from_server(cli, inv, page, &total) < 0)
                return -1;
        _cleanup_free_ char *detail =
                xasprintf("%llu check-ins from %s", (unsigned long long) total, cli->server);
        (void) inventory_audit(inv, "ingest", detail);
        InventorySummary sum = {};
        (void) inventory_summary(inv, 0, &sum);
        if (cli->json) {
                cJSON_AddNumberToObject(out, "checkins", (double) total);
                cJSON_AddNumberToObject(out, "devices", (double) sum.devices);
        } else
                printf("ingested %llu check-ins from %s; the inventory knows %lld devices\n",
                       (unsigned long long) total, cli->server, (long long) sum.devices);
        return 0;
}

static void list_formats(void) {
        for (const LogPreset *p = log_format_presets(); p->name; p++)
                printf("%-13s %s\n", p->name, p->summary);
}

int verb_ingest(Cli *cli, int argc, char **argv) {
        static const struct option options[] = {
                { "from-server", no_argument, NULL, 's' },
                { "batch", required_argument, NULL, 'b' },
                { "log", required_argument, NULL, 'l' },
                { "format", required_argument, NULL, 'f' },
                { "product-pattern", required_argument, NULL, 'P' },
                { "backfill", no_argument, NULL, 'B' },
                { "commit-every", required_argument, NULL, 'c' },
                { "list-formats", no_argument, NULL, 'L' },
                {},
        };
        _cleanup_free_ char **logs = NULL;
        size_t n_logs = 0, alloc_logs = 0;
        const char *format = "auto", *product_pattern = NULL;
        bool from_server = false, backfill = false;
        uint64_t commit_bytes = 0;
        uint32_t page = PAGE_DEFAULT;
        Store *inv;
        int c, r = 0;

        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0) {
                switch (c) {
                case 'b':
                        if (parse_u32(optarg, &page) < 0 || page == 0 || page > 10000)
                                return cli_usage("ingest: --batch expects 1 to 10000");
                        break;
                case 's': from_server = true; break;
                case 'l':
                        logs = xgrow(logs, &alloc_logs, n_logs + 1, sizeof(char *));
                        logs[n_logs++] = optarg;
                        break;
                case 'f': format = optarg; break;
                case 'P': product_pattern = optarg; break;
                case 'B': backfill = true; break;
                case 'c':
                        if (parse_size(optarg, &commit_bytes) < 0 || commit_bytes == 0)
                                return cli_usage("ingest: --commit-every expects a size such as 64M");
                        break;
                case 'L': list_formats(); return 0;
                default: return CLI_USAGE;
                }
        }
        if (optind < argc)
                return cli_usage("ingest: unexpected argument '%s'", argv[optind]);
        if (n_logs == 0)
                from_server = true;
        if (cli_inventory(cli, &inv) < 0)
                return -1;
        cJSON *out = cJSON_CreateObject(), *log_list = n_logs ? cJSON_AddArrayToObject(out, "logs") : NULL;
        if (from_server)
                r = ingest_server(cli, inv, page, out);
        for (size_t i = 0; i < n_logs && r == 0; i++)
                r = ingest_log(cli, inv, logs[i], format, product_pattern, backfill, commit_bytes, log_list);
        if (r == 0 && cli->json)
                print_json(out);
        cJSON_Delete(out);
        return r;
}

int cli_ingest_server(Cli *cli, uint64_t *ret_total) {
        Store *inv;

        if (cli_inventory(cli, &inv) < 0)
                return -1;
        return ingest_from_server(cli, inv, PAGE_DEFAULT, ret_total);
}

int cli_ingest_server_quiet(Cli *cli, uint64_t *ret_total, char err[static API_CLIENT_ERROR_MAX]) {
        char why[ROLLOUT_ERROR_MAX];
        Store *inv;
        int r;

        if (!cli->server) {
                snprintf(err, API_CLIENT_ERROR_MAX, "no server configured");
                return -EINVAL;
        }
        if (!cli->client) {
                r = api_client_new(cli->server, cli->token, cli->timeout, &cli->client, err);
                if (r < 0)
                        return r;
        }
        /* an inventory that cannot be opened is the caller's error, reported when it opens it */
        if (cli_inventory_existing(cli, &inv) < 0 || (!inv && cli_inventory(cli, &inv) < 0)) {
                snprintf(err, API_CLIENT_ERROR_MAX, "the inventory cannot be opened");
                return -EIO;
        }
        r = feed_ingest(cli, inv, cli->client, PAGE_DEFAULT, ret_total, why);
        if (r < 0)
                snprintf(err, API_CLIENT_ERROR_MAX, "%s", why);
        return r;
}
