/* SPDX-License-Identifier: MIT */
/* flota releases, flota release show ID, flota release upload FILE --product P [--version V]. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "flota/alloc.h"
#include "flota/strutil.h"

static void release_row(Table *t, const Release *r) {
        char id[24], size[24], created[RFC3339_MAX] = "";

        snprintf(id, sizeof(id), "%" PRId64, r->id);
        snprintf(size, sizeof(size), "%" PRIu64, r->size);
        if (r->created)
                format_rfc3339(created, r->created);
        const char *cells[] = {
                id,   r->product, r->version, r->chip ? r->chip : "", image_kind_to_string(r->kind),
                size, created
        };
        table_add(t, cells);
}

static const char *const release_headers[] = {
        "ID", "PRODUCT", "VERSION", "CHIP", "KIND", "SIZE", "CREATED"
};

static void print_releases(const ApiReleaseList *l, bool json) {
        if (json) {
                cJSON *o = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(o, "releases");
                for (size_t i = 0; i < l->n; i++)
                        cJSON_AddItemToArray(arr, release_to_json(&l->items[i]));
                print_json(o);
                cJSON_Delete(o);
                return;
        }
        Table *t = table_new(release_headers, ELEMENTSOF(release_headers));
        for (size_t i = 0; i < l->n; i++)
                release_row(t, &l->items[i]);
        table_print(t);
        table_free(t);
}

int verb_releases(Cli *cli, int argc, char **argv) {
        static const struct option options[] = { { "product", required_argument, NULL, 'p' }, {} };
        char err[API_CLIENT_ERROR_MAX];
        const char *product = NULL;
        ApiReleaseList l;
        ApiClient *api;
        int c, r;

        while ((c = getopt_long(argc, argv, "p:", options, NULL)) >= 0)
                if (c == 'p')
                        product = optarg;
                else
                        return CLI_USAGE;
        if (optind < argc)
                return cli_usage("releases: unexpected argument '%s'", argv[optind]);
        if (product && !name_is_valid(product))
                return cli_usage("releases: '%s' is not a product name", product);
        if (cli_client(cli, "releases", &api) < 0)
                return -1;
        r = api_releases_list(api, product, &l, err);
        if (r < 0)
                return cli_api_error(cli, "releases", r, err);
        print_releases(&l, cli->json);
        api_release_list_done(&l);
        return 0;
}

static int release_show(Cli *cli, const char *id) {
        char err[API_CLIENT_ERROR_MAX];
        ApiClient *api;
        Release rel;
        uint64_t n;
        int r;

        if (parse_u64(id, &n) < 0 || n == 0 || n > INT64_MAX)
                return cli_usage("release show: '%s' is not a release id", id);
        if (cli_client(cli, "release show", &api) < 0)
                return -1;
        r = api_release_get(api, (int64_t) n, &rel, err);
        if (r < 0)
                return cli_api_error(cli, "release show", r, err);
        cJSON *j = release_to_json(&rel);
        if (cli->json)
                print_json(j);
        else {
                static const char *const keys[] = { "id",         "product", "version", "platform", "chip",
                                                    "kind",       "size",    "md5",     "sha256",   "signed",
                                                    "compressed", "notes",   "created" };
                print_fields(j, keys, ELEMENTSOF(keys));
        }
        cJSON_Delete(j);
        release_done(&rel);
        return 0;
}

static int upload(Cli *cli, const ApiReleaseUpload *u, const char *file, Release *ret) {
        char err[API_CLIENT_ERROR_MAX];
        ApiClient *api;
        uint64_t size;

        if (cli_client(cli, "release upload", &api) < 0)
                return -1;
        _cleanup_close_ int fd = cli_open_upload("release upload", file, &size);
        if (fd < 0)
                return -1;
        void (*progress)(uint64_t, uint64_t, void *) = cli_upload_progress();
        int r = api_release_upload(api, u, fd, size, progress, NULL, ret, err);
        if (progress)
                fputc('\n', stderr);
        return r < 0 ? cli_api_error(cli, "release upload", r, err) : 0;
}

static int release_upload(Cli *cli, int argc, char **argv) {
        static const struct option options[] = {
                { "product", required_argument, NULL, 'p' },
                { "version", required_argument, NULL, 'v' },
                { "platform", required_argument, NULL, 'P' },
                { "kind", required_argument, NULL, 'k' },
                {},
        };
        ApiReleaseUpload u = {};
        Release rel;
        int c;

        optind = 0;
        while ((c = getopt_long(argc, argv, "p:v:", options, NULL)) >= 0)
                switch (c) {
                case 'p': u.product = optarg; break;
                case 'v': u.version = optarg; break;
                case 'P': u.platform = optarg; break;
                case 'k': u.kind = optarg; break;
                default: return CLI_USAGE;
                }
        if (argc - optind != 1)
                return cli_usage("release upload: expected FILE");
        if (!u.product || !name_is_valid(u.product))
                return cli_usage("release upload: --product NAME is required");
        if (u.version && !version_is_valid(u.version))
                return cli_usage("release upload: '%s' is not a version", u.version);
        if (u.platform && !streq(u.platform, "esp8266") && !streq(u.platform, "esp32"))
                return cli_usage("release upload: --platform is esp8266 or esp32");
        if (u.kind && !streq(u.kind, "sketch") && !streq(u.kind, "filesystem"))
                return cli_usage("release upload: --kind is sketch or filesystem");
        if (upload(cli, &u, argv[optind], &rel) < 0)
                return -1;
        cli_audit(cli, "release upload", "release %" PRId64 ": %s %s from %s", rel.id, rel.product,
                  rel.version, argv[optind]);
        if (cli->json) {
                cJSON *j = release_to_json(&rel);
                print_json(j);
                cJSON_Delete(j);
        } else {
                _cleanup_free_ char *product = term_escape(rel.product), *version = term_escape(rel.version),
                                    *chip = term_escape(rel.chip), *md5 = term_escape(rel.md5);
                printf("release %" PRId64 ": %s %s (%s, %" PRIu64 " bytes, md5 %s)\n", rel.id, product,
                       version, chip, rel.size, md5);
        }
        release_done(&rel);
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
