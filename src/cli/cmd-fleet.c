/* SPDX-License-Identifier: MIT */
/*
 * flota devices: every device flota knows, merged from flotad's check-ins, poll logs and mDNS,
 * from the same snapshot of the inventory as the dashboard's Fleet view (fleet-snapshot.h).
 * Before listing, flotad's check-in feed is read into the inventory when a server is
 * configured (as 'flota ingest --from-server' would); if flotad does not answer, the list is
 * the inventory as it stands, with a warning. 'flota devices --from-server' is flotad's own list.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "flota/alloc.h"
#include "flota/device-request.h"
#include "flota/fleet-snapshot.h"
#include "flota/rollout-rules.h"
#include "flota/strutil.h"

typedef struct FleetFilter {
        const char *product;
        const char *version;
        const char *label;
        usec_t seen_since;
} FleetFilter;

static bool has_label(const char *labels, const char *label) {
        size_t n = strlen(label);

        for (const char *p = labels; *p;) {
                size_t k = strcspn(p, ",");
                if (k == n && memcmp(p, label, n) == 0)
                        return true;
                p += k + (p[k] == ',');
        }
        return false;
}

static bool filter_matches(const FleetFilter *f, const FleetRow *r) {
        return (!f->product || streq(r->product, f->product)) &&
               (!f->version || streq(r->version, f->version)) &&
               (!f->label || has_label(r->labels, f->label)) && r->last_seen >= f->seen_since;
}

static void add_list(cJSON *o, const char *key, const char *text, char sep) {
        cJSON *a = cJSON_AddArrayToObject(o, key);

        for (const char *p = text; *p;) {
                size_t k = strcspn(p, (char[]) { sep, 0 });
                if (k > 0) {
                        _cleanup_free_ char *item = xstrndup(p, k);
                        cJSON_AddItemToArray(a, cJSON_CreateString(item));
                }
                p += k + (p[k] == sep);
        }
}

/* A row as 'flota devices --json' writes it. */
static cJSON *row_json(const FleetRow *r) {
        cJSON *o = cJSON_CreateObject();
        char buf[32];

        cJSON_AddStringToObject(o, "id", r->id);
        json_add_string_or_null(o, "name", r->name);
        json_add_string_or_null(o, "ip", r->ip);
        cJSON_AddStringToObject(o, "product", r->product);
        cJSON_AddStringToObject(o, "platform", r->platform);
        cJSON_AddStringToObject(o, "version", r->version);
        json_add_string_or_null(o, "target", r->target);
        json_add_string_or_null(o, "rollout", r->rollout);
        json_add_string_or_null(o, "state", r->state >= 0 ? device_rollout_state_to_string(r->state) : NULL);
        add_list(o, "sources", fleet_row_sources(r, buf), ' ');
        cJSON_AddBoolToObject(o, "online", r->online);
        cJSON_AddBoolToObject(o, "announced", r->announced);
        cJSON_AddBoolToObject(o, "pinned", r->pinned);
        cJSON_AddNumberToObject(o, "polls", (double) r->polls);
        json_add_time(o, "last_seen", r->last_seen);
        add_list(o, "labels", r->labels, ',');
        return o;
}

static void print_table(const Snapshot *s, const size_t *idx, size_t n) {
        const char *headers[_FLEET_COL_MAX];

        for (int c = 0; c < _FLEET_COL_MAX; c++)
                headers[c] = c == FLEET_COL_ID ? "DEVICE" : fleet_column_title(c);
        Table *t = table_new(headers, _FLEET_COL_MAX);
        for (size_t i = 0; i < n; i++) {
                const FleetRow *r = &s->rows[idx[i]];
                char bufs[_FLEET_COL_MAX][32];
                const char *cells[_FLEET_COL_MAX];
                for (int c = 0; c < _FLEET_COL_MAX; c++)
                        cells[c] = c == FLEET_COL_SEEN
                                           ? (r->last_seen ? format_rfc3339(bufs[c], r->last_seen) : "-")
                                           : fleet_cell(r, c, s->taken, "-", bufs[c]);
                table_add(t, cells);
        }
        table_print(t);
        table_free(t);
}

/* Whether a failed read of flotad leaves the inventory worth showing: flotad is away, not wrong. */
static bool server_is_away(int r) {
        return r == -ECONNREFUSED || r == -EHOSTUNREACH || r == -ETIMEDOUT || r == -EIO || r == -EAGAIN;
}

/*
 * Reads flotad's feed into the inventory. A server that does not answer (or answers 5xx) is
 * only a warning: the inventory is listed as it stands. One that answers wrongly (a foreign
 * server, a refused token) is an error, as for any verb.
 */
static int refresh(Cli *cli) {
        char err[API_CLIENT_ERROR_MAX];
        uint64_t n;

        if (!cli->server)
                return 0;
        int r = cli_ingest_server_quiet(cli, &n, err);
        if (r >= 0)
                return 0;
        if (!server_is_away(r))
                return cli_api_error(cli, "devices", r, err);
        _cleanup_free_ char *why = term_escape(err);
        fprintf(stderr,
                "flota: devices: warning: flotad's check-ins were not read (%s); the list is the "
                "inventory as it stands\n",
                why);
        return 0;
}

static int list_inventory(Cli *cli, const FleetFilter *f, const char *where, FleetColumn sort, bool reverse,
                          uint64_t limit, bool no_refresh) {
        _cleanup_(snapshot_freep) Snapshot *s = NULL;
        _cleanup_free_ size_t *idx = NULL;
        char err[SELECTION_ERROR_MAX];
        size_t n = 0, kept = 0;
        Store *inv;
        int r;

        if (!no_refresh && refresh(cli) < 0)
                return -1;
        if (cli_inventory(cli, &inv) < 0)
                return -1;
        usec_t now = now_usec(CLOCK_REALTIME);
        r = snapshot_build(inv, now, &s);
        if (r < 0)
                return cli_error("devices: reading the inventory failed: %s", store_last_error(inv));
        r = fleet_view_build(s, where, now, sort, reverse, &idx, &n, err);
        if (r < 0)
                return cli_usage("devices: --where: %s", err);
        for (size_t i = 0; i < n && kept < limit; i++)
                if (filter_matches(f, &s->rows[idx[i]]))
                        idx[kept++] = idx[i];
        if (cli->json) {
                cJSON *o = cJSON_CreateObject(), *a = cJSON_AddArrayToObject(o, "devices");
                for (size_t i = 0; i < kept; i++)
                        cJSON_AddItemToArray(a, row_json(&s->rows[idx[i]]));
                print_json(o);
                cJSON_Delete(o);
                return 0;
        }
        print_table(s, idx, kept);
        if (s->n_rows == 0)
                fprintf(stderr,
                        "flota: devices: the inventory has no devices yet (flota ingest, flota "
                        "discover%s)\n",
                        cli->server ? "" : ", or --server URL to read flotad's check-ins");
        return 0;
}

int verb_devices(Cli *cli, int argc, char **argv) {
        static const struct option options[] = {
                { "product", required_argument, NULL, 'p' },
                { "version", required_argument, NULL, 'v' },
                { "label", required_argument, NULL, 'l' },
                { "seen-since", required_argument, NULL, 's' },
                { "limit", required_argument, NULL, 'n' },
                { "where", required_argument, NULL, 'w' },
                { "sort", required_argument, NULL, 'S' },
                { "reverse", no_argument, NULL, 'r' },
                { "from-server", no_argument, NULL, 'F' },
                { "no-refresh", no_argument, NULL, 'N' },
                {},
        };
        FleetFilter f = {};
        ApiDeviceQuery q = {};
        const char *where = NULL;
        FleetColumn sort = FLEET_COL_ID;
        bool reverse = false, from_server = false, no_refresh = false, inventory_only = false;
        uint64_t limit = UINT64_MAX;
        int c;

        while ((c = getopt_long(argc, argv, "p:v:l:s:n:w:S:r", options, NULL)) >= 0) {
                switch (c) {
                case 'p':
                        if (!name_is_valid(optarg))
                                goto bad;
                        f.product = q.product = optarg;
                        break;
                case 'v':
                        if (!version_is_valid(optarg))
                                goto bad;
                        f.version = q.version = optarg;
                        break;
                case 'l':
                        if (!label_is_valid(optarg))
                                goto bad;
                        f.label = q.label = optarg;
                        break;
                case 's':
                        if (parse_timestamp(optarg, &q.seen_since) < 0 || q.seen_since == 0)
                                goto bad;
                        f.seen_since = q.seen_since;
                        break;
                case 'n':
                        if (parse_u64(optarg, &limit) < 0 || limit == 0)
                                goto bad;
                        break;
                case 'w':
                        where = optarg;
                        inventory_only = true;
                        break;
                case 'S': {
                        int k = fleet_column_from_name(optarg);
                        if (k < 0)
                                return cli_usage(
                                        "devices: --sort: no column '%s' (id, name, product, platform, "
                                        "version, target, state, sources, online, last-seen, labels)",
                                        optarg);
                        sort = (FleetColumn) k;
                        inventory_only = true;
                        break;
                }
                case 'r': reverse = inventory_only = true; break;
                case 'F': from_server = true; break;
                case 'N': no_refresh = inventory_only = true; break;
                default: return CLI_USAGE;
                }
        }
        if (optind < argc)
                return cli_usage("devices: unexpected argument '%s'", argv[optind]);
        if (from_server && inventory_only)
                return cli_usage("devices: --where, --sort, --reverse and --no-refresh list the inventory, "
                                 "not --from-server");
        if (from_server)
                return cli_devices_from_server(cli, &q, limit);
        return list_inventory(cli, &f, where, sort, reverse, limit, no_refresh);
bad:
        return cli_usage("devices: bad value '%s'", optarg);
}
