/* SPDX-License-Identifier: MIT */
/*
 * flota devices --from-server [filters], flota device ID, flota pin ID RELEASE, flota unpin ID, flota label
 * ID [LABEL...], flota assign RELEASE --devices FILE|-: flotad's devices through the typed client.
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

/* flotad's largest page: 100,000 devices are ten requests */
#define PAGE 10000

static const char *const device_headers[] = { "DEVICE",  "PRODUCT",   "PLATFORM",   "VERSION",
                                              "CHANNEL", "LAST SEEN", "LAST ANSWER" };

static void device_row(Table *t, const DeviceRecord *d) {
        char answer[64], seen[RFC3339_MAX] = "";
        const char *platform = platform_to_string(d->platform);

        snprintf(answer, sizeof(answer), "%d %s", d->last_status, d->last_reason);
        if (d->last_seen)
                format_rfc3339(seen, d->last_seen);
        const char *cells[] = { d->id, d->product, platform ? platform : "", d->version, d->channel,
                                seen,  answer };
        table_add(t, cells);
}

/* Where a page's devices go: rows of a table, or --json laid out as print_json() would. */
typedef struct DeviceSink {
        Table *table; /* NULL: --json to stdout */
        bool started;
        uint64_t count;
} DeviceSink;

static void sink_page(DeviceSink *k, const DeviceRecordList *l, uint64_t limit) {
        if (!k->table && !k->started)
                fputs("{\n\t\"devices\":\t[", stdout);
        k->started = true;
        for (size_t i = 0; i < l->n && k->count < limit; i++, k->count++) {
                if (k->table) {
                        device_row(k->table, &l->items[i]);
                        continue;
                }
                Device v = device_record_view(&l->items[i]);
                if (k->count > 0)
                        fputs(", ", stdout);
                /* laid out as an element of "devices" in {"devices": [...]} */
                device_print_json(stdout, &v, 2);
        }
}

/*
 * The list, a page at a time: memory stays at one page whatever the fleet's size. A failure
 * on the first page prints nothing; one on a later page leaves --json cut short (and the exit
 * status 1); a table is printed only whole.
 */
int cli_devices_from_server(Cli *cli, const ApiDeviceQuery *filters, uint64_t limit) {
        char err[API_CLIENT_ERROR_MAX], after[DEVICE_ID_MAX + 1] = "";
        DeviceSink k = {};
        ApiClient *api;
        int r;

        if (cli_client(cli, "devices", &api) < 0)
                return -1;
        if (!cli->json)
                k.table = table_new(device_headers, ELEMENTSOF(device_headers));
        do {
                ApiDeviceQuery q = *filters;
                DeviceRecordList l;
                q.after = after[0] ? after : NULL;
                q.limit = limit - k.count < PAGE ? (size_t) (limit - k.count) : PAGE;
                r = api_device_records_page(api, &q, &l, err);
                if (r < 0)
                        break;
                sink_page(&k, &l, limit);
                strscpy(after, sizeof(after), l.next);
                device_record_list_done(&l);
        } while (after[0] && k.count < limit);
        if (r == 0 && k.table)
                table_print(k.table);
        else if (r == 0)
                fputs("]\n}\n", stdout);
        table_free(k.table);
        return r < 0 ? cli_api_error(cli, "devices", r, err) : 0;
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

static const char *time_or_empty(char buf[static RFC3339_MAX], usec_t t) {
        return t ? format_rfc3339(buf, t) : "";
}

static void print_device(const cJSON *j, const DeviceDetail *dd) {
        static const char *const keys[] = { "id",        "mac",        "product",   "platform",
                                            "version",   "sketch_md5", "channel",   "pin",
                                            "assigned",  "ip",         "sdk",       "free_space",
                                            "chip_size", "first_seen", "last_seen", "last_reason" };
        const cJSON *c;
        char when[RFC3339_MAX];

        print_fields(j, keys, ELEMENTSOF(keys));
        printf("\n%sversion history (inventory):%s\n", style_on(STYLE_HEADER), style_off());
        cJSON_ArrayForEach(c, cJSON_GetObjectItem(j, "history")) {
                _cleanup_free_ char *version = term_escape(jstr(c, "version")),
                                    *source = term_escape(jstr(c, "source"));
                printf("  %s  %-12s seen by %s\n", jstr(c, "at"), version, source);
        }
        printf("\n%srecent check-ins:%s\n", style_on(STYLE_HEADER), style_off());
        for (size_t i = 0; i < dd->n_checkins; i++) {
                const Checkin *k = &dd->checkins[i];
                const char *reason = reason_to_string(k->reason);
                _cleanup_free_ char *version = term_escape(k->version);
                printf("  %s  %-12s %3d %s\n", time_or_empty(when, k->at), version, k->status,
                       reason ? reason : "");
        }
}

int verb_device(Cli *cli, int argc, char **argv) {
        char id[DEVICE_ID_MAX + 1], err[API_CLIENT_ERROR_MAX];
        ApiClient *api;
        DeviceDetail dd;
        Store *inv;

        if (argc != 2)
                return cli_usage("device: expected MAC");
        if (device_arg("device", argv[1], id) < 0)
                return CLI_USAGE;
        if (cli_client(cli, "device", &api) < 0)
                return -1;
        int r = api_device_detail(api, id, &dd, err);
        if (r < 0)
                return cli_api_error(cli, "device", r, err);
        cJSON *j = cli_device_json(&dd.device), *checkins = cJSON_AddArrayToObject(j, "checkins");
        for (size_t i = 0; i < dd.n_checkins; i++)
                cJSON_AddItemToArray(checkins, checkin_to_json(&dd.checkins[i]));
        /* the versions the inventory has seen it run, newest first */
        cJSON *history = cJSON_AddArrayToObject(j, "history");
        if (cli_inventory_existing(cli, &inv) == 0 && inv)
                (void) inventory_history(inv, id, add_history, history);
        if (cli->json)
                print_json(j);
        else
                print_device(j, &dd);
        cJSON_Delete(j);
        device_detail_done(&dd);
        return 0;
}

static int set_pin(Cli *cli, const char *verb, const char *device, const char *release) {
        char id[DEVICE_ID_MAX + 1], err[API_CLIENT_ERROR_MAX];
        uint64_t rel = 0;
        ApiClient *api;
        DeviceRecord d;

        if (device_arg(verb, device, id) < 0)
                return CLI_USAGE;
        if (release && (parse_u64(release, &rel) < 0 || rel == 0 || rel > INT64_MAX))
                return cli_usage("%s: '%s' is not a release id", verb, release);
        if (cli_client(cli, verb, &api) < 0)
                return -1;
        int r = api_device_pin(api, id, (int64_t) rel, &d, err);
        if (r < 0)
                return cli_api_error(cli, verb, r, err);
        if (release)
                cli_audit(cli, "pin", "%s -> release %llu", id, (unsigned long long) rel);
        else
                cli_audit(cli, "unpin", "%s", id);
        if (cli->json) {
                cJSON *j = cli_device_json(&d);
                print_json(j);
                cJSON_Delete(j);
        } else if (release)
                printf("%s pinned to release %llu\n", id, (unsigned long long) rel);
        else
                printf("%s unpinned\n", id);
        device_record_done(&d);
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
        char id[DEVICE_ID_MAX + 1], err[API_CLIENT_ERROR_MAX];
        ApiClient *api;
        Store *inv = NULL;

        if (argc < 2)
                return cli_usage("label: expected DEVICE [LABEL...] (no labels: clear them)");
        if (device_id_normalize(argv[1], id) < 0)
                return cli_usage("label: '%s' is not a MAC address or device id", argv[1]);
        for (int i = 2; i < argc; i++)
                if (!label_is_valid(argv[i]))
                        return cli_usage("label: '%s' is not a label (1-64 letters, digits or ._:=/-)",
                                         argv[i]);
        if (cli_client(cli, "label", &api) < 0)
                return -1;
        int r = api_device_labels(api, id, (const char *const *) argv + 2, (size_t) (argc - 2), NULL, err);
        if (r < 0)
                return cli_api_error(cli, "label", r, err);
        if (cli_inventory(cli, &inv) < 0 || inventory_set_labels(inv, id, argv + 2, (size_t) (argc - 2)) < 0)
                fprintf(stderr,
                        "flota: warning: the labels are set on the server but not in the inventory\n");
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
        } else if (argc > 2) {
                /* the inventory's labels: set by any writer of it */
                printf("%s", id);
                print_escaped(" labels: ", joined, "\n");
        } else
                printf("%s has no labels\n", id);
        return 0;
}

typedef struct IdList {
        char **ids;
        size_t n, allocated;
} IdList;

static void id_list_done(IdList *l) {
        for (size_t i = 0; i < l->n; i++)
                free(l->ids[i]);
        free(l->ids);
}

/* Reads device ids, one a line ('#' comments and blank lines skipped), into l. */
static int read_devices(const char *file, IdList *l) {
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
                l->ids = xgrow(l->ids, &l->allocated, l->n + 1, sizeof(char *));
                l->ids[l->n++] = xstrdup(id);
        }
        if (f != stdin)
                fclose(f);
        return r;
}

int verb_assign(Cli *cli, int argc, char **argv) {
        static const struct option options[] = { { "devices", required_argument, NULL, 'd' }, {} };
        _cleanup_(id_list_done) IdList list = {};
        char err[API_CLIENT_ERROR_MAX];
        const char *file = NULL;
        uint64_t rel, count;
        ApiClient *api;
        int c;

        while ((c = getopt_long(argc, argv, "d:", options, NULL)) >= 0)
                if (c == 'd')
                        file = optarg;
                else
                        return CLI_USAGE;
        if (argc - optind != 1 || !file)
                return cli_usage("assign: expected RELEASE --devices FILE|-");
        if (parse_u64(argv[optind], &rel) < 0 || rel == 0 || rel > INT64_MAX)
                return cli_usage("assign: '%s' is not a release id", argv[optind]);
        if (read_devices(file, &list) < 0)
                return -1;
        if (list.n == 0)
                return cli_error("assign: no devices in %s", file);
        if (cli_client(cli, "assign", &api) < 0)
                return -1;
        int r = api_assign_count(api, (int64_t) rel, (const char *const *) list.ids, list.n, &count, err);
        if (r < 0)
                return cli_api_error(cli, "assign", r, err);
        cli_audit(cli, "assign", "%llu devices -> release %llu", (unsigned long long) count,
                  (unsigned long long) rel);
        if (cli->json) {
                cJSON *o = cJSON_CreateObject();
                json_add_id(o, "release", (int64_t) rel);
                cJSON_AddNumberToObject(o, "devices", (double) count);
                print_json(o);
                cJSON_Delete(o);
        } else
                printf("%llu devices assigned to release %llu\n", (unsigned long long) count,
                       (unsigned long long) rel);
        return 0;
}
