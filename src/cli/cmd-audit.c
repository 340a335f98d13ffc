/* SPDX-License-Identifier: MIT */
/* flota audit: what flota did (promotions, pins, assignments, uploads, ingests), newest first. */
#include <getopt.h>
#include <stdio.h>

#include "cli.h"
#include "flota/inventory.h"
#include "flota/strutil.h"
#include "flota/time-util.h"

#define AUDIT_DEFAULT 50

static const char *const audit_headers[] = { "WHEN", "ACTION", "DETAIL" };

typedef struct AuditOut {
        Table *table;
        cJSON *list;
} AuditOut;

static int audit_row(usec_t at, const char *action, const char *detail, void *userdata) {
        AuditOut *o = userdata;
        char when[RFC3339_MAX];

        format_rfc3339(when, at);
        if (o->list) {
                cJSON *e = cJSON_CreateObject();
                cJSON_AddStringToObject(e, "at", when);
                cJSON_AddStringToObject(e, "action", action);
                cJSON_AddStringToObject(e, "detail", detail);
                cJSON_AddItemToArray(o->list, e);
        } else {
                const char *cells[] = { when, action, detail };
                table_add(o->table, cells);
        }
        return 0;
}

int verb_audit(Cli *cli, int argc, char **argv) {
        static const struct option options[] = { { "limit", required_argument, NULL, 'n' }, {} };
        uint32_t limit = AUDIT_DEFAULT;
        Store *inv;
        int c, r;

        while ((c = getopt_long(argc, argv, "n:", options, NULL)) >= 0)
                if (c != 'n' || parse_u32(optarg, &limit) < 0 || limit == 0)
                        return c == 'n' ? cli_usage("audit: --limit expects a positive number") : CLI_USAGE;
        if (optind < argc)
                return cli_usage("audit: unexpected argument '%s'", argv[optind]);
        if (cli_inventory_existing(cli, &inv) < 0)
                return -1;
        AuditOut o = {};
        if (cli->json)
                o.list = cJSON_CreateArray();
        else
                o.table = table_new(audit_headers, ELEMENTSOF(audit_headers));
        r = inv ? inventory_audit_list(inv, limit, audit_row, &o) : 0;
        if (r < 0) {
                cJSON_Delete(o.list);
                table_free(o.table);
                return cli_error("audit: reading the inventory failed: %s", store_last_error(inv));
        }
        if (o.list) {
                cJSON *j = cJSON_CreateObject();
                cJSON_AddItemToObject(j, "audit", o.list);
                print_json(j);
                cJSON_Delete(j);
        } else {
                table_print(o.table);
                table_free(o.table);
        }
        return 0;
}
