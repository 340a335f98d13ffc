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
#include "flota/json-scan.h"
#include "flota/strutil.h"
#include "flota/time-util.h"

/* flotad's largest page: 100,000 devices are ten requests */
#define PAGE 10000

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

/* The query of one page: at most n devices after the cursor (NULL: from the start). */
static char *page_path(const char *filters, const char *after, uint64_t n) {
        return xasprintf("/api/v1/devices?limit=%llu%s%s%s", (unsigned long long) (n < PAGE ? n : PAGE), filters,
                         after ? "&after=" : "", after ? after : "");
}

/* The list as a table: pages are read as cJSON trees, the table holds every row anyway. */
static int list_table(Cli *cli, const char *filters, uint64_t limit) {
        _cleanup_free_ char *after = NULL;
        Table *t = table_new(device_headers, ELEMENTSOF(device_headers));
        uint64_t count = 0;
        int r = 0;

        while (count < limit) {
                cJSON *j;
                _cleanup_free_ char *path = page_path(filters, after, limit - count);
                r = cli_api(cli, "GET", path, NULL, &j);
                if (r < 0)
                        break;
                const cJSON *d, *next = cJSON_GetObjectItem(j, "next");
                cJSON_ArrayForEach(d, cJSON_GetObjectItem(j, "devices"))
                        if (count++ < limit)
                                device_row(t, d);
                free(after);
                after = cJSON_IsString(next) ? xstrdup(next->valuestring) : NULL;
                cJSON_Delete(j);
                if (!after)
                        break;
        }
        if (r == 0)
                table_print(t);
        table_free(t);
        return r;
}

/* The devices array of a page: each element goes to out (NULL: only checked) while *count < limit. */
static int copy_devices(JsonScan *s, FILE *out, uint64_t *count, uint64_t limit) {
        int r;

        if (!json_scan_char(s, '['))
                return -EBADMSG;
        if (json_scan_char(s, ']'))
                return 0;
        do {
                bool print = out && *count < limit;
                if (print && *count > 0)
                        fputs(", ", out);
                /* laid out as an element of "devices" in {"devices": [...]} */
                r = json_scan_value(s, 2, print ? out : NULL);
                if (r < 0)
                        return r;
                *count += print;
        } while (json_scan_char(s, ','));
        return json_scan_char(s, ']') ? 0 : -EBADMSG;
}

/* The page's cursor: a device id, or null after the last page. */
static int read_next(JsonScan *s, char **ret) {
        const char *text;
        size_t len;

        if (json_scan_literal(s, "null"))
                return 0;
        if (json_scan_string(s, &text, &len) < 0 || len == 0 || len > DEVICE_ID_MAX || memchr(text, '\\', len))
                return -EBADMSG;
        *ret = xstrndup(text, len);
        return 0;
}

static bool key_is(const char *key, size_t len, const char *name) {
        return len == strlen(name) && memcmp(key, name, len) == 0;
}

/*
 * Reads one page of GET /api/v1/devices ({"devices": [...], "next": ID|null}) as text: its
 * devices go to out (NULL: the page is only checked) while *count < limit, and *ret_next
 * (unless NULL) is the cursor of the next page (NULL after the last). 0 or -EBADMSG.
 */
static int copy_page(const ApiResponse *resp, FILE *out, uint64_t *count, uint64_t limit, char **ret_next) {
        JsonScan s = json_scan_init(resp->body, resp->len);
        _cleanup_free_ char *next = NULL;
        bool has_devices = false;
        int r = 0;

        if (!json_scan_char(&s, '{'))
                return -EBADMSG;
        do {
                const char *key;
                size_t len;
                if (json_scan_string(&s, &key, &len) < 0 || !json_scan_char(&s, ':'))
                        return -EBADMSG;
                if (key_is(key, len, "devices") && !has_devices) {
                        has_devices = true;
                        r = copy_devices(&s, out, count, limit);
                } else if (key_is(key, len, "next") && !next)
                        r = read_next(&s, &next);
                else
                        r = json_scan_value(&s, 0, NULL);
                if (r < 0)
                        return r;
        } while (json_scan_char(&s, ','));
        if (!json_scan_char(&s, '}') || !json_scan_at_end(&s) || !has_devices)
                return -EBADMSG;
        if (ret_next)
                *ret_next = TAKE_PTR(next);
        return 0;
}

/*
 * The list as {"devices": [...]} in print_json()'s layout, streamed: each page is checked
 * whole, then laid out as text straight to stdout, without a tree (a second pass over a page
 * in the cache costs less than holding its layout in memory); memory stays at one page. A
 * failure on the first page prints nothing; one on a later page leaves the output cut short
 * (and the exit status 1).
 */
static int list_json(Cli *cli, const char *filters, uint64_t limit) {
        _cleanup_free_ char *after = NULL;
        uint64_t count = 0;
        bool started = false;

        do {
                ApiResponse resp;
                char *next = NULL;
                _cleanup_free_ char *path = page_path(filters, after, limit - count);
                if (cli_api_get_text(cli, path, &resp) < 0)
                        return -1;
                int r = copy_page(&resp, NULL, &count, limit, &next);
                if (r == 0) {
                        if (!started)
                                fputs("{\n\t\"devices\":\t[", stdout);
                        started = true;
                        (void) copy_page(&resp, stdout, &count, limit, NULL);
                }
                api_response_done(&resp);
                /* cursors only grow: anything else would page forever */
                if (r == 0 && next && after && strcmp(next, after) <= 0)
                        r = -EBADMSG;
                if (r < 0) {
                        free(next);
                        return cli_error("%s sent a device list that cannot be read",
                                         api_client_server(cli->client));
                }
                free(after);
                after = next;
        } while (after && count < limit);
        fputs("]\n}\n", stdout);
        return 0;
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
        _cleanup_free_ char *filters = xstrdup("");
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
                        return -2;
                }
        }
        if (optind < argc)
                return cli_usage("devices: unexpected argument '%s'", argv[optind]);
        return cli->json ? list_json(cli, filters, limit) : list_table(cli, filters, limit);
bad:
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
                printf("\n%sversion history (inventory):%s\n", style_on(STYLE_HEADER), style_off());
                cJSON_ArrayForEach(c, history)
                        printf("  %s  %-12s seen by %s\n", jstr(c, "at"), jstr(c, "version"), jstr(c, "source"));
                printf("\n%srecent check-ins:%s\n", style_on(STYLE_HEADER), style_off());
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
