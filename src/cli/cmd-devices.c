/* SPDX-License-Identifier: MIT */
/*
 * flota devices [filters], flota device ID, flota pin ID RELEASE, flota unpin ID,
 * flota assign RELEASE --devices FILE|- (read from flotad; the local inventory comes later).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "flota/alloc.h"
#include "flota/device-request.h"
#include "flota/inventory.h"
#include "flota/strutil.h"
#include "flota/time-util.h"

#define PAGE 1000

static const char *const device_headers[] = { "DEVICE", "PRODUCT", "PLATFORM", "VERSION", "CHANNEL", "LAST SEEN",
                                              "LAST ANSWER" };

static void device_row(Table *t, const cJSON *d) {
        char answer[64];
        snprintf(answer, sizeof(answer), "%.0f %s", jnum(d, "last_status"), jstr(d, "last_reason"));
        const char *cells[] = { jstr(d, "id"),      jstr(d, "product"),   jstr(d, "platform"), jstr(d, "version"),
                                jstr(d, "channel"), jstr(d, "last_seen"), answer };
        table_add(t, cells);
}

static char *append_arg(char *path, const char *name, const char *value) {
        char *p = xasprintf("%s&%s=%s", path, name, value);
        free(path);
        return p;
}

int verb_devices(Cli *cli, int argc, char **argv) {
        static const struct option options[] = {
                { "product", required_argument, NULL, 'p' },
                { "version", required_argument, NULL, 'v' },
                { "label", required_argument, NULL, 'l' },
                { "seen-since", required_argument, NULL, 's' },
                { "limit", required_argument, NULL, 'n' },
                {},
        };
        char *filters = xstrdup("");
        uint64_t limit = UINT64_MAX;
        usec_t since;
        int c;

        while ((c = getopt_long(argc, argv, "p:v:l:s:n:", options, NULL)) >= 0) {
                switch (c) {
                case 'p':
                        if (!name_is_valid(optarg))
                                goto bad;
                        filters = append_arg(filters, "product", optarg);
                        break;
                case 'v':
                        if (!version_is_valid(optarg))
                                goto bad;
                        filters = append_arg(filters, "version", optarg);
                        break;
                case 'l':
                        if (!label_is_valid(optarg))
                                goto bad;
                        filters = append_arg(filters, "label", optarg);
                        break;
                case 's':
                        if (parse_timestamp(optarg, &since) < 0)
                                goto bad;
                        filters = append_arg(filters, "seen_since", optarg);
                        break;
                case 'n':
                        if (parse_u64(optarg, &limit) < 0 || limit == 0)
                                goto bad;
                        break;
                default:
                        free(filters);
                        return -2;
                }
        }
        if (optind < argc) {
                free(filters);
                return cli_usage("devices: unexpected argument '%s'", argv[optind]);
        }

        /* page through flotad's list; --json prints one array of every device */
        cJSON *all = cJSON_CreateArray();
        char *after = NULL;
        uint64_t count = 0;
        int r = 0;
        while (count < limit) {
                cJSON *j;
                _cleanup_free_ char *path = xasprintf("/api/v1/devices?limit=%d%s%s%s", PAGE, filters,
                                                      after ? "&after=" : "", after ? after : "");
                r = cli_api(cli, "GET", path, NULL, &j);
                if (r < 0)
                        break;
                cJSON *list = cJSON_DetachItemFromObject(j, "devices");
                const cJSON *next = cJSON_GetObjectItem(j, "next");
                free(after);
                after = cJSON_IsString(next) ? xstrdup(next->valuestring) : NULL;
                cJSON_Delete(j);
                cJSON *d;
                while (list && count < limit && (d = cJSON_DetachItemFromArray(list, 0))) {
                        cJSON_AddItemToArray(all, d);
                        count++;
                }
                cJSON_Delete(list);
                if (!after)
                        break;
        }
        free(after);
        free(filters);
        if (r < 0) {
                cJSON_Delete(all);
                return -1;
        }
        if (cli->json) {
                cJSON *o = cJSON_CreateObject();
                cJSON_AddItemToObject(o, "devices", all);
                print_json(o);
                cJSON_Delete(o);
                return 0;
        }
        Table *t = table_new(device_headers, ELEMENTSOF(device_headers));
        const cJSON *d;
        cJSON_ArrayForEach(d, all)
                device_row(t, d);
        table_print(t);
        table_free(t);
        cJSON_Delete(all);
        return 0;
bad:
        free(filters);
        return cli_usage("devices: bad value '%s'", optarg);
}

/* A device id from the command line, normalised, or a usage error. */
static int device_arg(const char *verb, const char *s, char id[static DEVICE_ID_MAX + 1]) {
        if (device_id_normalize(s, id) < 0)
                return cli_usage("%s: '%s' is not a MAC address or device id", verb, s);
        return 0;
}

static int add_history(const char *version, usec_t at, const char *source, void *userdata) {
        char when[RFC3339_MAX];
        cJSON *h = cJSON_CreateObject();

        cJSON_AddStringToObject(h, "version", version);
        cJSON_AddStringToObject(h, "at", format_rfc3339(when, at));
        cJSON_AddStringToObject(h, "source", source);
        cJSON_AddItemToArray(userdata, h);
        return 0;
}

int verb_device(Cli *cli, int argc, char **argv) {
        char id[DEVICE_ID_MAX + 1];
        Store *inv;
        cJSON *j;

        if (argc != 2)
                return cli_usage("device: expected MAC");
        if (device_arg("device", argv[1], id) < 0)
                return -2;
        _cleanup_free_ char *path = xasprintf("/api/v1/devices/%s", id);
        if (cli_api(cli, "GET", path, NULL, &j) < 0)
                return -1;
        /* the versions the inventory has seen it run, newest first */
        cJSON *history = cJSON_AddArrayToObject(j, "history");
        if (cli_inventory_existing(cli, &inv) == 0 && inv)
                (void) inventory_history(inv, id, add_history, history);
        if (cli->json)
                print_json(j);
        else {
                static const char *const keys[] = { "id", "mac", "product", "platform", "version", "sketch_md5",
                                                    "channel", "pin", "assigned", "ip", "sdk", "free_space",
                                                    "chip_size", "first_seen", "last_seen", "last_reason" };
                print_fields(j, keys, ELEMENTSOF(keys));
                const cJSON *c;
                printf("\nversion history (inventory):\n");
                cJSON_ArrayForEach(c, history)
                        printf("  %s  %-12s seen by %s\n", jstr(c, "at"), jstr(c, "version"), jstr(c, "source"));
                printf("\nrecent check-ins:\n");
                cJSON_ArrayForEach(c, cJSON_GetObjectItem(j, "checkins"))
                        printf("  %s  %-12s %3.0f %s\n", jstr(c, "at"), jstr(c, "version"), jnum(c, "status"),
                               jstr(c, "reason"));
        }
        cJSON_Delete(j);
        return 0;
}

static int set_pin(Cli *cli, const char *verb, const char *device, const char *release) {
        char id[DEVICE_ID_MAX + 1];
        uint64_t rel = 0;
        cJSON *j;

        if (device_arg(verb, device, id) < 0)
                return -2;
        if (release && (parse_u64(release, &rel) < 0 || rel == 0))
                return cli_usage("%s: '%s' is not a release id", verb, release);
        _cleanup_free_ char *path = xasprintf("/api/v1/devices/%s/pin", id);
        _cleanup_free_ char *body = release ? xasprintf("{\"release\":%llu}", (unsigned long long) rel) : NULL;
        if (cli_api(cli, release ? "PUT" : "DELETE", path, body, &j) < 0)
                return -1;
        if (release)
                cli_audit(cli, "pin", "%s -> release %llu", id, (unsigned long long) rel);
        else
                cli_audit(cli, "unpin", "%s", id);
        if (cli->json)
                print_json(j);
        else if (release)
                printf("%s pinned to release %llu\n", id, (unsigned long long) rel);
        else
                printf("%s unpinned\n", id);
        cJSON_Delete(j);
        return 0;
}

int verb_pin(Cli *cli, int argc, char **argv) {
        if (argc != 3)
                return cli_usage("pin: expected MAC RELEASE");
        return set_pin(cli, "pin", argv[1], argv[2]);
}

int verb_unpin(Cli *cli, int argc, char **argv) {
        if (argc != 2)
                return cli_usage("unpin: expected MAC");
        return set_pin(cli, "unpin", argv[1], NULL);
}

/* flota label DEVICE [LABEL...]: the device's labels on flotad, mirrored into the inventory. */
int verb_label(Cli *cli, int argc, char **argv) {
        char id[DEVICE_ID_MAX + 1];
        cJSON *j;
        Store *inv = NULL;

        if (argc < 2)
                return cli_usage("label: expected DEVICE [LABEL...] (no labels: clear them)");
        if (device_id_normalize(argv[1], id) < 0)
                return cli_usage("label: '%s' is not a MAC address or device id", argv[1]);
        cJSON *body = cJSON_CreateObject(), *list = cJSON_AddArrayToObject(body, "labels");
        for (int i = 2; i < argc; i++) {
                if (!label_is_valid(argv[i])) {
                        cJSON_Delete(body);
                        return cli_usage("label: '%s' is not a label (1-64 letters, digits or ._:=/-)", argv[i]);
                }
                cJSON_AddItemToArray(list, cJSON_CreateString(argv[i]));
        }
        char *text = cJSON_PrintUnformatted(body);
        cJSON_Delete(body);
        _cleanup_free_ char *path = xasprintf("/api/v1/devices/%s/labels", id);
        int r = cli_api(cli, "PUT", path, text, &j);
        free(text);
        if (r < 0)
                return -1;
        cJSON_Delete(j);
        if (cli_inventory(cli, &inv) < 0 || inventory_set_labels(inv, id, argv + 2, (size_t) (argc - 2)) < 0)
                fprintf(stderr, "flota: warning: the labels are set on the server but not in the inventory\n");
        _cleanup_free_ char *joined = NULL;
        if (inv)
                (void) inventory_labels(inv, id, &joined);
        cli_audit(cli, "label", "%s: %s", id, argc > 2 ? joined ? joined : "" : "(none)");
        if (cli->json) {
                cJSON *o = cJSON_CreateObject(), *l = cJSON_AddArrayToObject(o, "labels");
                cJSON_AddStringToObject(o, "device", id);
                for (int i = 2; i < argc; i++)
                        cJSON_AddItemToArray(l, cJSON_CreateString(argv[i]));
                print_json(o);
                cJSON_Delete(o);
        } else if (argc > 2)
                printf("%s labels: %s\n", id, joined ? joined : "");
        else
                printf("%s has no labels\n", id);
        return 0;
}

/* Reads device ids, one a line ('#' comments and blank lines skipped), into a JSON array. */
static int read_devices(const char *file, cJSON *array) {
        FILE *f = streq(file, "-") ? stdin : fopen(file, "re");
        char line[256];
        unsigned n = 0;
        int r = 0;

        if (!f)
                return cli_error("assign: cannot read %s: %s", file, strerror(errno));
        while (fgets(line, sizeof(line), f)) {
                char id[DEVICE_ID_MAX + 1];
                n++;
                line[strcspn(line, "\r\n")] = 0;
                char *s = line + strspn(line, " \t");
                if (!*s || *s == '#')
                        continue;
                if (device_id_normalize(s, id) < 0) {
                        r = cli_error("assign: %s:%u: '%s' is not a MAC address or device id", file, n, s);
                        break;
                }
                cJSON_AddItemToArray(array, cJSON_CreateString(id));
        }
        if (f != stdin)
                fclose(f);
        return r;
}

int verb_assign(Cli *cli, int argc, char **argv) {
        static const struct option options[] = { { "devices", required_argument, NULL, 'd' }, {} };
        const char *file = NULL;
        uint64_t rel;
        int c;

        while ((c = getopt_long(argc, argv, "d:", options, NULL)) >= 0)
                if (c == 'd')
                        file = optarg;
                else
                        return -2;
        if (argc - optind != 1 || !file)
                return cli_usage("assign: expected RELEASE --devices FILE|-");
        if (parse_u64(argv[optind], &rel) < 0 || rel == 0)
                return cli_usage("assign: '%s' is not a release id", argv[optind]);
        cJSON *body = cJSON_CreateObject();
        cJSON_AddNumberToObject(body, "release", (double) rel);
        cJSON *list = cJSON_AddArrayToObject(body, "devices");
        if (read_devices(file, list) < 0) {
                cJSON_Delete(body);
                return -1;
        }
        if (cJSON_GetArraySize(list) == 0) {
                cJSON_Delete(body);
                return cli_error("assign: no devices in %s", file);
        }
        char *text = cJSON_PrintUnformatted(body);
        cJSON_Delete(body);
        cJSON *j;
        int r = cli_api(cli, "POST", "/api/v1/assignments", text, &j);
        free(text);
        if (r < 0)
                return -1;
        cli_audit(cli, "assign", "%.0f devices -> release %llu", jnum(j, "devices"), (unsigned long long) rel);
        if (cli->json)
                print_json(j);
        else
                printf("%.0f devices assigned to release %llu\n", jnum(j, "devices"), (unsigned long long) rel);
        cJSON_Delete(j);
        return 0;
}
