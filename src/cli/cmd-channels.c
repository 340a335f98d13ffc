/* SPDX-License-Identifier: MIT */
/* flota channels, flota promote PRODUCT CHANNEL RELEASE [--gate SPEC]. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>

#include "cli.h"
#include "flota/alloc.h"
#include "flota/rollout.h"
#include "flota/strutil.h"

static void print_channels(const ApiChannelList *l, bool json) {
        static const char *const headers[] = {
                "PRODUCT", "CHANNEL", "KIND", "RELEASE", "VERSION", "UPDATED"
        };

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

/*
 * --gate: asks the rollout engine whether the release has run well enough on the source
 * channel. 0 to go on, 3 (after saying which condition holds it) to stop, -1 on error.
 */
static int check_gate(Cli *cli, ApiClient *api, const char *product, const char *channel, int64_t release,
                      const PromoteGate *g, usec_t now) {
        char why[160], err[ROLLOUT_ERROR_MAX];
        Store *inv;

        if (cli_inventory(cli, &inv) < 0)
                return -1;
        RolloutEngine e = { .inventory = inv, .api = api, .server = cli->server, .now = now };
        int r = rollout_promote_gate(&e, product, release, g, why, err);
        if (r < 0)
                return cli_error("promote: %s", err);
        if (r > 0) {
                _cleanup_free_ char *safe = term_escape(why);
                fprintf(stderr, "flota: promote: %s/%s stays where it is: %s\n", product, channel, safe);
                return 3;
        }
        return 0;
}

int verb_promote(Cli *cli, int argc, char **argv) {
        char err[API_CLIENT_ERROR_MAX];
        ApiClient *api;
        ApiChannel ch;
        uint64_t release;
        PromoteGate gate;
        bool gated = false;
        usec_t now = now_usec(CLOCK_REALTIME);
        char *args[4];
        int n = 0;

        for (int i = 0; i < argc; i++) {
                const char *v = NULL;
                if (i + 1 < argc && (streq(argv[i], "--gate") || streq(argv[i], "--now")))
                        v = argv[i + 1];
                if (streq(argv[i], "--gate") && v) {
                        char msg[ROLLOUT_SPEC_ERROR_MAX];
                        if (promote_gate_parse(v, &gate, msg) < 0)
                                return cli_usage("promote: %s", msg);
                        gated = true;
                        i++;
                } else if (streq(argv[i], "--now") && v) {
                        if (parse_timestamp(v, &now) < 0)
                                return cli_usage("promote: --now takes an RFC 3339 time or Unix seconds");
                        i++;
                } else if (startswith(argv[i], "--") || n == 4)
                        return cli_usage("promote: expected PRODUCT CHANNEL RELEASE [--gate SPEC]");
                else
                        args[n++] = argv[i];
        }
        argc = n;
        argv = args;
        if (argc != 4)
                return cli_usage("promote: expected PRODUCT CHANNEL RELEASE [--gate SPEC]");
        if (!name_is_valid(argv[1]) || !name_is_valid(argv[2]))
                return cli_usage("promote: '%s/%s' is not a product and channel name", argv[1], argv[2]);
        if (parse_u64(argv[3], &release) < 0 || release == 0 || release > INT64_MAX)
                return cli_usage("promote: '%s' is not a release id", argv[3]);
        if (cli_client(cli, "promote", &api) < 0)
                return -1;
        if (gated) {
                int g = check_gate(cli, api, argv[1], argv[2], (int64_t) release, &gate, now);
                if (g != 0)
                        return g;
        }
        int r = api_channel_set(api, argv[1], argv[2], (int64_t) release, &ch, err);
        if (r < 0)
                return cli_api_error(cli, "promote", r, err);
        cli_audit(cli, "promote", "%s/%s -> release %llu%s%s", argv[1], argv[2],
                  (unsigned long long) release, gated ? " through the gate from " : "",
                  gated ? gate.from : "");
        if (cli->json) {
                cJSON *j = cli_channel_json(&ch);
                print_json(j);
                cJSON_Delete(j);
        } else {
                _cleanup_free_ char *product = term_escape(ch.product), *name = term_escape(ch.name),
                                    *version = term_escape(ch.version);
                printf("%s/%s now serves release %" PRId64 " (%s)\n", product, name, ch.release, version);
        }
        return 0;
}
