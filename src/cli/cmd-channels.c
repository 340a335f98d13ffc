/* SPDX-License-Identifier: MIT */
/* flota channels, flota promote PRODUCT CHANNEL RELEASE. */
#include <getopt.h>
#include <stdio.h>

#include "cli.h"
#include "flota/alloc.h"
#include "flota/strutil.h"

int verb_channels(Cli *cli, int argc, char **argv) {
        static const char *const headers[] = { "PRODUCT", "CHANNEL", "KIND", "RELEASE", "VERSION", "UPDATED" };
        cJSON *j;

        if (argc > 1)
                return cli_usage("channels: unexpected argument '%s'", argv[1]);
        if (cli_api(cli, "GET", "/api/v1/channels", NULL, &j) < 0)
                return -1;
        if (cli->json)
                print_json(j);
        else {
                Table *t = table_new(headers, ELEMENTSOF(headers));
                const cJSON *c;
                cJSON_ArrayForEach(c, cJSON_GetObjectItem(j, "channels")) {
                        char id[24];
                        snprintf(id, sizeof(id), "%.0f", jnum(c, "release"));
                        const char *cells[] = { jstr(c, "product"), jstr(c, "name"), jstr(c, "kind"), id,
                                                jstr(c, "version"), jstr(c, "updated") };
                        table_add(t, cells);
                }
                table_print(t);
                table_free(t);
        }
        cJSON_Delete(j);
        return 0;
}

int verb_promote(Cli *cli, int argc, char **argv) {
        uint64_t release;
        cJSON *j;

        if (argc != 4)
                return cli_usage("promote: expected PRODUCT CHANNEL RELEASE");
        if (!name_is_valid(argv[1]) || !name_is_valid(argv[2]))
                return cli_usage("promote: '%s/%s' is not a product and channel name", argv[1], argv[2]);
        if (parse_u64(argv[3], &release) < 0 || release == 0)
                return cli_usage("promote: '%s' is not a release id", argv[3]);
        _cleanup_free_ char *path = xasprintf("/api/v1/channels/%s/%s", argv[1], argv[2]);
        _cleanup_free_ char *body = xasprintf("{\"release\":%llu}", (unsigned long long) release);
        if (cli_api(cli, "PUT", path, body, &j) < 0)
                return -1;
        cli_audit(cli, "promote", "%s/%s -> release %llu", argv[1], argv[2], (unsigned long long) release);
        if (cli->json)
                print_json(j);
        else
                printf("%s/%s now serves release %.0f (%s)\n", jstr(j, "product"), jstr(j, "name"),
                       jnum(j, "release"), jstr(j, "version"));
        cJSON_Delete(j);
        return 0;
}
