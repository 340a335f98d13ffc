/* SPDX-License-Identifier: MIT */
/* flota status: the fleet in the inventory, and whether flotad answers. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "flota/alloc.h"
#include "flota/inventory.h"
#include "flota/strutil.h"

#define ONLINE_WINDOW (10 * 60 * USEC_PER_SEC)

static int add_count(const char *key, int64_t n, void *userdata) {
        cJSON_AddNumberToObject(userdata, *key ? key : "unknown", (double) n);
        return 0;
}

static void print_counts(FILE *f, const char *title, const cJSON *o) {
        const cJSON *v;
        fprintf(f, "%-12s", title);
        cJSON_ArrayForEach(v, o) {
                /* products and versions as logs and devices named them */
                _cleanup_free_ char *name = term_escape(v->string);
                fprintf(f, " %s %.0f%s", name, v->valuedouble, v->next ? "," : "");
        }
        fputc('\n', f);
}

static void add_server(Cli *cli, cJSON *o) {
        cJSON *server = cJSON_AddObjectToObject(o, "server");
        char err[API_CLIENT_ERROR_MAX] = "";

        if (!cli->server)
                return;
        bool reachable = cli_ping(cli, err);
        cJSON_AddStringToObject(server, "url", cli->server);
        cJSON_AddBoolToObject(server, "reachable", reachable);
        if (!reachable)
                cJSON_AddStringToObject(server, "error", err);
}

/* What discover recorded last (see cmd-discover.c): its state and since when; nothing when never run. */
static void add_discovery(Store *inv, cJSON *o) {
        _cleanup_free_ char *cursor = NULL;
        char state[16], when[RFC3339_MAX];
        unsigned long long at;

        if (inventory_cursor(inv, "mdns", &cursor) < 0 || sscanf(cursor, "%15s %llu", state, &at) != 2)
                return;
        cJSON *d = cJSON_AddObjectToObject(o, "discovery");
        cJSON_AddStringToObject(d, "state", state);
        cJSON_AddStringToObject(d, "since", format_rfc3339(when, (usec_t) at));
}

int cli_status_build(Cli *cli, cJSON **ret) {
        Store *inv;
        InventorySummary sum;
        char when[RFC3339_MAX];

        if (cli_inventory(cli, &inv) < 0)
                return -1;
        if (inventory_summary(inv, now_usec(CLOCK_REALTIME) - ONLINE_WINDOW, &sum) < 0)
                return cli_error("status: reading the inventory failed: %s", store_last_error(inv));

        cJSON *o = cJSON_CreateObject();
        add_server(cli, o);
        cJSON_AddNumberToObject(o, "devices", (double) sum.devices);
        cJSON_AddNumberToObject(o, "online", (double) sum.online);
        if (sum.last_seen)
                cJSON_AddStringToObject(o, "last_seen", format_rfc3339(when, sum.last_seen));
        else
                cJSON_AddNullToObject(o, "last_seen");
        add_discovery(inv, o);
        static const char *const groups[] = { "product", "version", "platform" };
        for (size_t i = 0; i < ELEMENTSOF(groups); i++) {
                _cleanup_free_ char *key = xasprintf("by_%s", groups[i]);
                cJSON *g = cJSON_AddObjectToObject(o, key);
                (void) inventory_count_by(inv, groups[i], add_count, g);
        }
        *ret = o;
        return 0;
}

void cli_status_print(const cJSON *status, FILE *f) {
        const cJSON *server = cJSON_GetObjectItem(status, "server");
        const char *url = jstr(server, "url"), *last = jstr(status, "last_seen");

        if (*url) {
                _cleanup_free_ char *safe_url = term_escape(url), *why = term_escape(jstr(server, "error"));
                bool up = cJSON_IsTrue(cJSON_GetObjectItem(server, "reachable"));
                /* colour only where style_on() judged the output: stdout */
                const char *on = f == stdout ? style_on(up ? STYLE_GOOD : STYLE_BAD) : "";
                const char *off = f == stdout ? style_off() : "";
                fprintf(f, "%-12s %s %s%s%s%s\n", "server", safe_url, on,
                        up ? "answers" : "does not answer: ", up ? "" : why, off);
        } else
                fprintf(f, "%-12s none configured\n", "server");
        fprintf(f, "%-12s %.0f (%.0f seen in the last 10 minutes)\n", "devices", jnum(status, "devices"),
                jnum(status, "online"));
        _cleanup_free_ char *safe_last = term_escape(*last ? last : "never");
        fprintf(f, "%-12s %s\n", "last seen", safe_last);
        const cJSON *disc = cJSON_GetObjectItem(status, "discovery");
        if (disc) {
                const char *state = jstr(disc, "state");
                bool down = streq(state, "down");
                const char *on = f == stdout && down ? style_on(STYLE_BAD) : "",
                           *off = *on ? style_off() : "";
                /* both written by flota itself, escaped all the same */
                _cleanup_free_ char *safe_state = term_escape(state),
                                    *since = term_escape(jstr(disc, "since"));
                fprintf(f, "%-12s %s%s%s since %s%s\n", "mdns", on, safe_state, off, since,
                        down ? " (avahi-daemon away; devices kept as they were)" : "");
        }
        print_counts(f, "products", cJSON_GetObjectItem(status, "by_product"));
        print_counts(f, "versions", cJSON_GetObjectItem(status, "by_version"));
        print_counts(f, "platforms", cJSON_GetObjectItem(status, "by_platform"));
}

int verb_status(Cli *cli, int argc, char **argv) {
        cJSON *o;

        if (argc > 1)
                return cli_usage("status: unexpected argument '%s'", argv[1]);
        if (cli_status_build(cli, &o) < 0)
                return -1;
        if (cli->json)
                print_json(o);
        else
                cli_status_print(o, stdout);
        cJSON_Delete(o);
        return 0;
}
