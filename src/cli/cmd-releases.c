/* SPDX-License-Identifier: MIT */
/* flota releases, flota release show ID, flota release upload FILE --product P [--version V]. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "flota/alloc.h"
#include "flota/strutil.h"

static void release_row(Table *t, const cJSON *r) {
        char id[24], size[24];
        snprintf(id, sizeof(id), "%.0f", jnum(r, "id"));
        snprintf(size, sizeof(size), "%.0f", jnum(r, "size"));
        const char *cells[] = { id, jstr(r, "product"), jstr(r, "version"), jstr(r, "chip"), jstr(r, "kind"),
                                size, jstr(r, "created") };
        table_add(t, cells);
}

static const char *const release_headers[] = { "ID", "PRODUCT", "VERSION", "CHIP", "KIND", "SIZE", "CREATED" };

int verb_releases(Cli *cli, int argc, char **argv) {
        static const struct option options[] = { { "product", required_argument, NULL, 'p' }, {} };
        const char *product = NULL;
        cJSON *j;
        int c;

        while ((c = getopt_long(argc, argv, "p:", options, NULL)) >= 0)
                if (c == 'p')
                        product = optarg;
                else
                        return -2;
        if (optind < argc)
                return cli_usage("releases: unexpected argument '%s'", argv[optind]);
        if (product && !name_is_valid(product))
                return cli_usage("releases: '%s' is not a product name", product);
        _cleanup_free_ char *path = product ? xasprintf("/api/v1/releases?product=%s", product)
                                            : xstrdup("/api/v1/releases");
        if (cli_api(cli, "GET", path, NULL, &j) < 0)
                return -1;
        if (cli->json)
                print_json(j);
        else {
                Table *t = table_new(release_headers, ELEMENTSOF(release_headers));
                const cJSON *r;
                cJSON_ArrayForEach(r, cJSON_GetObjectItem(j, "releases"))
                        release_row(t, r);
                table_print(t);
                table_free(t);
        }
        cJSON_Delete(j);
        return 0;
}

static int release_show(Cli *cli, const char *id) {
        uint64_t n;
        cJSON *j;

        if (parse_u64(id, &n) < 0 || n == 0)
                return cli_usage("release show: '%s' is not a release id", id);
        _cleanup_free_ char *path = xasprintf("/api/v1/releases/%llu", (unsigned long long) n);
        if (cli_api(cli, "GET", path, NULL, &j) < 0)
                return -1;
        if (cli->json)
                print_json(j);
        else {
                static const char *const keys[] = { "id", "product", "version", "platform", "chip", "kind", "size",
                                                    "md5", "sha256", "signed", "compressed", "notes", "created" };
                print_fields(j, keys, ELEMENTSOF(keys));
        }
        cJSON_Delete(j);
        return 0;
}

static int release_upload(Cli *cli, int argc, char **argv) {
        static const struct option options[] = {
                { "product", required_argument, NULL, 'p' },
                { "version", required_argument, NULL, 'v' },
                { "platform", required_argument, NULL, 'P' },
                { "kind", required_argument, NULL, 'k' },
                {},
        };
        const char *product = NULL, *version = NULL, *platform = NULL, *kind = NULL;
        cJSON *j;
        int c;

        optind = 0;
        while ((c = getopt_long(argc, argv, "p:v:", options, NULL)) >= 0)
                switch (c) {
                case 'p': product = optarg; break;
                case 'v': version = optarg; break;
                case 'P': platform = optarg; break;
                case 'k': kind = optarg; break;
                default: return -2;
                }
        if (argc - optind != 1)
                return cli_usage("release upload: expected FILE");
        if (!product || !name_is_valid(product))
                return cli_usage("release upload: --product NAME is required");
        if (version && !version_is_valid(version))
                return cli_usage("release upload: '%s' is not a version", version);
        if (platform && !streq(platform, "esp8266") && !streq(platform, "esp32"))
                return cli_usage("release upload: --platform is esp8266 or esp32");
        if (kind && !streq(kind, "sketch") && !streq(kind, "filesystem"))
                return cli_usage("release upload: --kind is sketch or filesystem");
        _cleanup_free_ char *path = xasprintf("/api/v1/releases?product=%s%s%s%s%s%s%s", product,
                                              version ? "&version=" : "", version ? version : "",
                                              platform ? "&platform=" : "", platform ? platform : "",
                                              kind ? "&kind=" : "", kind ? kind : "");
        if (cli_api_upload(cli, path, argv[optind], &j) < 0)
                return -1;
        cli_audit(cli, "release upload", "release %.0f: %s %s from %s", jnum(j, "id"), jstr(j, "product"),
                  jstr(j, "version"), argv[optind]);
        if (cli->json)
                print_json(j);
        else
                printf("release %.0f: %s %s (%s, %.0f bytes, md5 %s)\n", jnum(j, "id"), jstr(j, "product"),
                       jstr(j, "version"), jstr(j, "chip"), jnum(j, "size"), jstr(j, "md5"));
        cJSON_Delete(j);
        return 0;
}

int verb_release(Cli *cli, int argc, char **argv) {
        if (argc < 2)
                return cli_usage("release: expected 'show ID' or 'upload FILE --product P'");
        if (streq(argv[1], "show") && argc == 3)
                return release_show(cli, argv[2]);
        if (streq(argv[1], "upload"))
                return release_upload(cli, argc - 1, argv + 1);
        return cli_usage("release: expected 'show ID' or 'upload FILE --product P'");
}
