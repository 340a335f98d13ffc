/* SPDX-License-Identifier: MIT */
/*
 * flota ingest --from-server: follows flotad's check-in feed into the inventory. Each page of
 * check-ins and the new resume point are committed in one transaction, so a run killed at
 * any moment loses nothing and counts nothing twice.
 */
#include <getopt.h>
#include <stdio.h>

#include "cli.h"
#include "flota/alloc.h"
#include "flota/inventory.h"
#include "flota/strutil.h"

#define PAGE_DEFAULT 2000

static int record_page(Store *inv, const char *source, const cJSON *list, const char *next, int *ret_n) {
        const cJSON *c;
        int n = 0, r;

        r = store_begin(inv);
        if (r < 0)
                return r;
        cJSON_ArrayForEach(c, list) {
                usec_t at = 0;
                (void) parse_timestamp(jstr(c, "at"), &at);
                Sighting x = {
                        .device = jstr(c, "device"),
                        .product = jstr(c, "product"),
                        .platform = jstr(c, "platform"),
                        .version = jstr(c, "version"),
                        .sketch_md5 = jstr(c, "sketch_md5"),
                        .ip = jstr(c, "ip"),
                        .at = at,
                        .source = "flotad",
                };
                if (isempty(x.device))
                        continue;
                r = inventory_record(inv, &x);
                if (r < 0)
                        break;
                n++;
        }
        if (r == 0)
                r = inventory_advance(inv, source, next, (uint64_t) cJSON_GetArraySize(list));
        if (r == 0)
                r = store_commit(inv);
        if (r < 0) {
                store_rollback(inv);
                return r;
        }
        *ret_n = n;
        return 0;
}

static int ingest_from_server(Cli *cli, Store *inv, int page, uint64_t *ret_total) {
        _cleanup_free_ char *source = xasprintf("flotad:%s", cli->server);
        _cleanup_free_ char *cursor = NULL;
        uint64_t total = 0;

        if (inventory_cursor(inv, source, &cursor) < 0)
                cursor = xstrdup("0");
        for (;;) {
                cJSON *j;
                _cleanup_free_ char *path = xasprintf("/api/v1/checkins?after=%s&limit=%d", cursor, page);
                if (cli_api(cli, "GET", path, NULL, &j) < 0)
                        return -1;
                const cJSON *list = cJSON_GetObjectItem(j, "checkins");
                int size = cJSON_GetArraySize(list), n = 0;
                char next[32];
                snprintf(next, sizeof(next), "%.0f", jnum(j, "next"));
                if (size > 0) {
                        int r = record_page(inv, source, list, next, &n);
                        if (r < 0) {
                                cJSON_Delete(j);
                                return cli_error("ingest: writing the inventory failed: %s", store_last_error(inv));
                        }
                        free(cursor);
                        cursor = xstrdup(next);
                        total += (uint64_t) size;
                }
                cJSON_Delete(j);
                if (size < page)
                        break;
        }
        *ret_total = total;
        return 0;
}

int verb_ingest(Cli *cli, int argc, char **argv) {
        static const struct option options[] = {
                { "from-server", no_argument, NULL, 's' },
                { "batch", required_argument, NULL, 'b' },
                {},
        };
        Store *inv;
        uint64_t total = 0;
        uint32_t page = PAGE_DEFAULT;
        int c;

        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0) {
                if (c == 'b') {
                        if (parse_u32(optarg, &page) < 0 || page == 0 || page > 10000)
                                return cli_usage("ingest: --batch expects 1 to 10000");
                } else if (c != 's')
                        return -2;
        }
        if (optind < argc)
                return cli_usage("ingest: unexpected argument '%s'", argv[optind]);
        if (cli_inventory(cli, &inv) < 0)
                return -1;
        if (ingest_from_server(cli, inv, (int) page, &total) < 0)
                return -1;
        _cleanup_free_ char *detail = xasprintf("%llu check-ins from %s", (unsigned long long) total, cli->server);
        (void) inventory_audit(inv, "ingest", detail);
        InventorySummary sum = {};
        (void) inventory_summary(inv, 0, &sum);
        if (cli->json) {
                cJSON *o = cJSON_CreateObject();
                cJSON_AddNumberToObject(o, "checkins", (double) total);
                cJSON_AddNumberToObject(o, "devices", (double) sum.devices);
                print_json(o);
                cJSON_Delete(o);
        } else
                printf("ingested %llu check-ins from %s; the inventory knows %lld devices\n",
                       (unsigned long long) total, cli->server, (long long) sum.devices);
        return 0;
}

int cli_ingest_server(Cli *cli, uint64_t *ret_total) {
        Store *inv;

        if (cli_inventory(cli, &inv) < 0)
                return -1;
        return ingest_from_server(cli, inv, PAGE_DEFAULT, ret_total);
}
