/* SPDX-License-Identifier: MIT */
/*
 * flota discover: the devices that announce themselves by mDNS. One-shot lists what answered
 * within --timeout; --watch streams additions, changes and removals until interrupted. Every
 * device seen goes into the inventory, merged by MAC with what other sources saw.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "cli.h"
#include "flota/alloc.h"
#include "flota/discovery.h"
#include "flota/inventory.h"
#include "flota/strutil.h"

#define TIMEOUT_DEFAULT (3 * USEC_PER_SEC)

typedef struct Run {
        Cli *cli;
        Store *inv;
        Loop *loop;
        bool watch;
        cJSON *found; /* one-shot: id -> device, the latest */
        unsigned recorded;
        bool failed; /* the inventory could not be written */
} Run;

static const char *const discover_headers[] = { "DEVICE", "KIND",     "NAME",    "ADDRESS",  "PORT",
                                                "BOARD",  "PLATFORM", "VERSION", "FRAMEWORK" };

static cJSON *device_json(const DiscoveryService *s, const char *id) {
        const MdnsDevice *m = &s->device;
        cJSON *o = cJSON_CreateObject();

        cJSON_AddStringToObject(o, "id", id);
        cJSON_AddStringToObject(o, "kind", mdns_kind_to_string(m->kind));
        cJSON_AddStringToObject(o, "name", m->name);
        cJSON_AddStringToObject(o, "host", s->host ? s->host : "");
        cJSON_AddStringToObject(o, "address", s->address);
        cJSON_AddNumberToObject(o, "port", s->port);
        cJSON_AddStringToObject(o, "board", m->board);
        if (m->platform >= 0)
                cJSON_AddStringToObject(o, "platform", platform_to_string(m->platform));
        else
                cJSON_AddNullToObject(o, "platform");
        if (m->version[0])
                cJSON_AddStringToObject(o, "version", m->version);
        else
                cJSON_AddNullToObject(o, "version");
        if (m->framework[0])
                cJSON_AddStringToObject(o, "framework", m->framework);
        else
                cJSON_AddNullToObject(o, "framework");
        cJSON_AddStringToObject(o, "service", s->type);
        cJSON_AddStringToObject(o, "instance", s->instance);
        cJSON_AddStringToObject(o, "txt", s->txt);
        return o;
}

/* Merges what mDNS said into the inventory; the id the inventory uses goes to id. */
static void record(Run *run, const DiscoveryService *s, char id[static DEVICE_ID_MAX + 1]) {
        char guess[DEVICE_ID_MAX + 1];
        MdnsSighting x;

        discovery_sighting(s, now_usec(CLOCK_REALTIME), &x, guess);
        (void) strscpy(id, DEVICE_ID_MAX + 1, guess);
        if (!run->inv)
                return;
        if (inventory_mdns_seen(run->inv, &x, id) < 0 && !run->failed) {
                run->failed = true;
                cli_error("discover: writing the inventory failed: %s", store_last_error(run->inv));
        }
        run->recorded++;
}

static void print_event(Run *run, DiscoveryEvent ev, const DiscoveryService *s, const char *id) {
        static const char marks[] = {
                [DISCOVERY_ADDED] = '+', [DISCOVERY_UPDATED] = '~', [DISCOVERY_REMOVED] = '-'
        };

        if (run->cli->json) {
                cJSON *o = cJSON_CreateObject();
                cJSON_AddStringToObject(o, "event", discovery_event_to_string(ev));
                cJSON_AddItemToObject(o, "device", device_json(s, id));
                char *line = cJSON_PrintUnformatted(o);
                printf("%s\n", line);
                free(line);
                cJSON_Delete(o);
        } else {
                /* names come from the network (mDNS TXT, instance names) */
                _cleanup_free_ char *name = term_escape(s->device.name), *address = term_escape(s->address),
                                    *safe_id = term_escape(id);
                printf("%c %-17s %-11s %-24s %s:%u\n", marks[ev], safe_id,
                       mdns_kind_to_string(s->device.kind), name, address, s->port);
        }
        fflush(stdout);
}

/*
 * What discovery is doing, for status: "running", "down" (avahi-daemon is away; the devices
 * announced stay so) or "stopped", and since when, as the inventory's "mdns" source.
 */
static void record_state(Run *run, const char *state) {
        if (!run->inv)
                return;
        _cleanup_free_ char *s = xasprintf("%s %llu", state, (unsigned long long) now_usec(CLOCK_REALTIME));
        (void) inventory_advance(run->inv, "mdns", s, 0);
}

static void on_event(Discovery *d, DiscoveryEvent ev, const DiscoveryService *s, void *userdata) {
        Run *run = userdata;
        char id[DEVICE_ID_MAX + 1];

        if (ev == DISCOVERY_DAEMON_DOWN || ev == DISCOVERY_DAEMON_UP) {
                record_state(run, ev == DISCOVERY_DAEMON_UP ? "running" : "down");
                if (!run->watch)
                        return; /* one-shot: said once at the end */
                cli_error("discover: %s",
                          ev == DISCOVERY_DAEMON_UP ? "avahi-daemon is back" : discovery_error(d));
                if (run->watch && run->cli->json)
                        printf("{\"event\":\"%s\"}\n", discovery_event_to_string(ev));
                fflush(stdout);
                return;
        }
        if (!s->is_device)
                return;
        if (ev == DISCOVERY_REMOVED) {
                mdns_device_id(&s->device, id);
                if (run->inv)
                        (void) inventory_mdns_gone(run->inv, id);
        } else
                record(run, s, id);
        if (run->watch)
                print_event(run, ev, s, id);
        else if (ev == DISCOVERY_REMOVED)
                cJSON_DeleteItemFromObject(run->found, id);
        else {
                cJSON_DeleteItemFromObject(run->found, id);
                cJSON_AddItemToObject(run->found, id, device_json(s, id));
        }
}

static void on_timeout(Loop *l, void *userdata) {
        loop_quit(l);
}

static void on_signal(Loop *l, int fd, short revents, void *userdata) {
        struct signalfd_siginfo si;
        (void) !read(fd, &si, sizeof(si));
        loop_quit(l);
}

static void print_found(Run *run) {
        const cJSON *dev;

        if (run->cli->json) {
                cJSON *o = cJSON_CreateObject(), *list = cJSON_AddArrayToObject(o, "devices");
                cJSON_ArrayForEach(dev, run->found)
                        cJSON_AddItemToArray(list, cJSON_Duplicate(dev, true));
                print_json(o);
                cJSON_Delete(o);
                return;
        }
        Table *t = table_new(discover_headers, ELEMENTSOF(discover_headers));
        cJSON_ArrayForEach(dev, run->found) {
                char port[8];
                snprintf(port, sizeof(port), "%.0f", jnum(dev, "port"));
                const char *cells[] = { jstr(dev, "id"),
                                        jstr(dev, "kind"),
                                        jstr(dev, "name"),
                                        jstr(dev, "address"),
                                        port,
                                        jstr(dev, "board"),
                                        jstr(dev, "platform"),
                                        jstr(dev, "version"),
                                        jstr(dev, "framework") };
                table_add(t, cells);
        }
        table_print(t);
        table_free(t);
}

/* SIGINT and SIGTERM end a watch through the loop, so everything is cleaned up on the way out. */
static int watch_signals(Loop *loop) {
        sigset_t mask;
        sigemptyset(&mask);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGTERM);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return -errno;
        int fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
        if (fd < 0)
                return -errno;
        (void) loop_watch(loop, fd, POLLIN, on_signal, NULL);
        return fd;
}

int verb_discover(Cli *cli, int argc, char **argv) {
        static const struct option options[] = {
                { "timeout", required_argument, NULL, 't' },
                { "watch", no_argument, NULL, 'w' },
                { "types", required_argument, NULL, 'T' },
                {},
        };
        usec_t timeout = TIMEOUT_DEFAULT;
        const char *types = cli->types ? cli->types : DISCOVERY_TYPES_DEFAULT;
        Run run = { .cli = cli };
        int c, r;

        while ((c = getopt_long(argc, argv, "t:w", options, NULL)) >= 0) {
                if (c == 't') {
                        if (parse_duration(optarg, &timeout) < 0 || timeout == 0)
                                return cli_usage("discover: --timeout expects a duration such as 5 or 2.5s");
                } else if (c == 'w')
                        run.watch = true;
                else if (c == 'T')
                        types = optarg;
                else
                        return CLI_USAGE;
        }
        if (optind < argc)
                return cli_usage("discover: unexpected argument '%s'", argv[optind]);
        if (cli_inventory(cli, &run.inv) < 0)
                return -1;
        _cleanup_(loop_freep) Loop *loop = loop_new();
        run.loop = loop;
        run.found = cJSON_CreateObject();
        _cleanup_(discovery_freep) Discovery *d = NULL;
        r = discovery_new(loop, types, on_event, &run, &d);
        if (r < 0) {
                cJSON_Delete(run.found);
                return cli_usage("discover: --types expects service types such as _arduino._tcp,_http._tcp");
        }
        _cleanup_close_ int sfd = run.watch ? watch_signals(loop) : -1;
        if (!run.watch)
                loop_timer(loop, loop_now(loop) + timeout, on_timeout, &run);
        record_state(&run, "running");
        r = loop_run(loop);
        if (sfd >= 0)
                loop_unwatch(loop, sfd);
        bool up = discovery_running(d);
        record_state(&run, up ? "stopped" : "down");
        if (!run.watch && up)
                print_found(&run);
        cJSON_Delete(run.found);
        _cleanup_free_ char *detail = xasprintf("%u mDNS announcements", run.recorded);
        (void) inventory_audit(run.inv, "discover", detail);
        if (r < 0)
                return cli_error("discover: the event loop failed: %s", strerror(-r));
        if (!run.watch && !up)
                return cli_error("discover: no answer from avahi-daemon (%s)", discovery_error(d));
        return run.failed ? -1 : 0;
}
