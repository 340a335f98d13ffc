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

static void print_counts(const char *title, const cJSON *o) {
        const cJSON *v;
        printf("%-12s", title);
        cJSON_ArrayForEach(v, o)
                printf(" %s %.0f%s", v->string, v->valuedouble, v->next ? "," : "");
        putchar('\n');
}

int verb_status(Cli *cli, int argc, char **argv) {
        Store *inv;
        InventorySummary sum;
        char when[RFC3339_MAX];

        if (argc > 1)
                return cli_usage("status: unexpected argument '%s'", argv[1]);
        if (cli_inventory(cli, &inv) < 0)
                return -1;
        if (inventory_summary(inv, now_usec(CLOCK_REALTIME) - ONLINE_WINDOW, &sum) < 0)
                return cli_error("status: reading the inventory failed: %s", store_last_error(inv));

        cJSON *o = cJSON_CreateObject();
        cJSON *server = cJSON_AddObjectToObject(o, "server");
        if (cli->server) {
                char err[API_CLIENT_ERROR_MAX] = "";
                bool reachable = cli_ping(cli, err);
                cJSON_AddStringToObject(server, "url", cli->server);
                cJSON_AddBoolToObject(server, "reachable", reachable);
                if (!reachable)
                        cJSON_AddStringToObject(server, "error", err);
        }
        cJSON_AddNumberToObject(o, "devices", (double) sum.devices);
        cJSON_AddNumberToObject(o, "online", (double) sum.online);
        if (sum.last_seen)
                cJSON_AddStringToObject(o, "last_seen", format_rfc3339(when, sum.last_seen));
        else
                cJSON_AddNullToObject(o, "last_seen");
        static const char *const groups[] = { "product", "version", "platform" };
        for (size_t i = 0; i < ELEMENTSOF(groups); i++) {
                _cleanup_free_ char *key = xasprintf("by_%s", groups[i]);
                cJSON *g = cJSON_AddObjectToObject(o, key);
                (void) inventory_count_by(inv, groups[i], add_count, g);
        }

        if (cli->json)
                print_json(o);
        else {
                if (cli->server) {
                        bool up = cJSON_IsTrue(cJSON_GetObjectItem(server, "reachable"));
                        printf("%-12s %s %s%s%s%s\n", "server", cli->server, style_on(up ? STYLE_GOOD : STYLE_BAD),
                               up ? "answers" : "does not answer: ", up ? "" : jstr(server, "error"), style_off());
                } else
                        printf("%-12s none configured\n", "server");
                printf("%-12s %lld (%lld seen in the last 10 minutes)\n", "devices", (long long) sum.devices,
                       (long long) sum.online);
                printf("%-12s %s\n", "last seen", sum.last_seen ? when : "never");
                print_counts("products", cJSON_GetObjectItem(o, "by_product"));
                print_counts("versions", cJSON_GetObjectItem(o, "by_version"));
                print_counts("platforms", cJSON_GetObjectItem(o, "by_platform"));
        }
        cJSON_Delete(o);
        return 0;
}
