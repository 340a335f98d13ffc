/* SPDX-License-Identifier: MIT */
/* flota channels, flota promote PRODUCT CHANNEL RELEASE. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>

#include "cli.h"
#include "flota/alloc.h"
#include "flota/strutil.h"

static void print_channels(const ApiChannelList *l, bool json) {
        static const char *const headers[] = { "PRODUCT", "CHANNEL", "KIND", "RELEASE", "VERSION", "UPDATED" };

        if (json) {
                cJSON *o = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(o, "channels");
                for (size_t i = 0; i < l->n; i++)
                        cJSON_AddItemToArray(arr, cli_channel_json(&l->items[i]));
                print_json(o);
                cJSON_Delete(o);
                return;
        }
        Table *t = table_new(headers, ELEMENTSOF(headers));
        for (size_t i = 0; i < l->n; i++) {
                const ApiChannel *c = &l->items[i];
                char id[24], updated[RFC3339_MAX] = "";
                snprintf(id, sizeof(id), "%" PRId64, c->release);
                if (c->updated)
                        format_rfc3339(updated, c->updated);
                const char *cells[] = { c->product, c->name,    image_kind_to_string(c->kind),
                                        id,         c->version, updated };
                table_add(t, cells);
        }
        table_print(t);
        table_free(t);
}

int verb_channels(Cli *cli, int argc, char **argv) {
        char err[API_CLIENT_ERROR_MAX];
        ApiChannelList l;
        ApiClient *api;

        if (argc > 1)
                return cli_usage("channels: unexpected argument '%s'", argv[1]);
        if (cli_client(cli, "channels", &api) < 0)
                return -1;
        int r = api_channels_list(api, &l, err);
        if (r < 0)
                return cli_api_error(cli, "channels", r, err);
        print_channels(&l, cli->json);
        api_channel_list_done(&l);
        return 0;
}

int verb_promote(Cli *cli, int argc, char **argv) {
        char err[API_CLIENT_ERROR_MAX];
        ApiClient *api;
        ApiChannel ch;
        uint64_t release;

        if (argc != 4)
                return cli_usage("promote: expected PRODUCT CHANNEL RELEASE");
        if (!name_is_valid(argv[1]) || !name_is_valid(argv[2]))
                return cli_usage("promote: '%s/%s' is not a product and channel name", argv[1], argv[2]);
        if (parse_u64(argv[3], &release) < 0 || release == 0 || release > INT64_MAX)
                return cli_usage("promote: '%s' is not a release id", argv[3]);
        if (cli_client(cli, "promote", &api) < 0)
                return -1;
        int r = api_channel_set(api, argv[1], argv[2], (int64_t) release, &ch, err);
        if (r < 0)
                return cli_api_error(cli, "promote", r, err);
        cli_audit(cli, "promote", "%s/%s -> release %llu", argv[1], argv[2], (unsigned long long) release);
        if (cli->json) {
                cJSON *j = cli_channel_json(&ch);
                print_json(j);
                cJSON_Delete(j);
        } else
                printf("%s/%s now serves release %" PRId64 " (%s)\n", ch.product, ch.name, ch.release,
                       ch.version);
        return 0;
}
