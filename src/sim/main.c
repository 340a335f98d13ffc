/* SPDX-License-Identifier: MIT */
/* flota-sim: fleet set-up and scheduling, and main() (the command line is options.c). */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "flota/alloc.h"
#include "flota/image.h"
#include "flota/log.h"
#include "flota/strutil.h"
#include "sim.h"

#define SWEEP_INTERVAL (100 * USEC_PER_MSEC)

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig) {
        (void) sig;
        stop_requested = 1;
}

static uint32_t hash2(uint32_t a, uint32_t b) {
        uint32_t x = a * 0x85ebca6bu ^ (b + 0x9e3779b9u) * 0xc2b2ae35u;
        x ^= x >> 16;
        x *= 0x7feb352du;
        x ^= x >> 15;
        return x;
}

static size_t pick(const unsigned *weights, size_t n, uint32_t h) {
        unsigned total = 0;
        for (size_t i = 0; i < n; i++)
                total += weights[i];
        unsigned x = total ? h % total : 0;
        for (size_t i = 0; i < n; i++) {
                if (x < weights[i])
                        return i;
                x -= weights[i];
        }
        return 0;
}

/* The MACs a fleet has given out: open addressing over a power-of-two table at most half full. */
typedef struct MacSet {
        uint64_t *slots; /* 0: empty (no Espressif MAC is 0) */
        size_t mask;
        uint64_t used[_PLATFORM_MAX][ESP_MAC_OUIS];
} MacSet;

static void mac_set_init(MacSet *m, uint32_t n) {
        size_t size = 16;
        while (size < 2 * (size_t) n)
                size *= 2;
        *m = (MacSet) { .slots = xcalloc(size, sizeof(uint64_t)), .mask = size - 1 };
}

/* Adds mac; false when the fleet has it already. */
static bool mac_set_add(MacSet *m, uint64_t mac) {
        size_t i = (size_t) ((mac * 0x9e3779b97f4a7c15ull) >> 17) & m->mask;
        while (m->slots[i]) {
                if (m->slots[i] == mac)
                        return false;
                i = (i + 1) & m->mask;
        }
        m->slots[i] = mac;
        return true;
}

/*
 * Device i's MAC, unique in the fleet: the hash's own first (what every earlier fleet had),
 * else further attempts in an OUI less than half full (a few tries at most), else the next OUI.
 * ESP_MAC_OUIS OUIs hold any fleet flota-sim takes (10,000,000 devices of one platform).
 */
static void unique_mac(MacSet *m, const SimOptions *o, SimDevice *d) {
        Platform p = d->platform;
        uint64_t half = esp_mac_space(p) / 2;

        for (unsigned oui = 0; oui < ESP_MAC_OUIS; oui++) {
                if (m->used[p][oui] >= half && oui + 1 < ESP_MAC_OUIS)
                        continue;
                for (uint32_t attempt = 0;; attempt++) {
                        uint64_t mac = esp_device_mac(p, o->seed, d->index, attempt, oui);
                        if (mac_set_add(m, mac)) {
                                m->used[p][oui]++;
                                if (mac != d->esp.sta_mac)
                                        esp_device_set_mac(&d->esp, mac);
                                return;
                        }
                }
        }
}

static void build_fleet(Sim *s) {
        const SimOptions *o = s->o;
        MacSet macs;

        s->n_devices = o->devices;
        s->devices = xcalloc(o->devices, sizeof(SimDevice));
        s->ready = xcalloc(o->devices, sizeof(uint32_t));
        mac_set_init(&macs, o->devices);
        for (uint32_t i = 0; i < o->devices; i++) {
                SimDevice *d = &s->devices[i];
                d->sim = s;
                d->index = i;
                d->platform = (Platform) pick(o->mix, _PLATFORM_MAX, hash2(o->seed, i));
                const char *version = o->versions[pick(o->weights, o->n_versions, hash2(o->seed + 1, i))];
                esp_device_init(&d->esp, o->seed, i, d->platform, version);
                unique_mac(&macs, o, d);
                double x = hash2(o->seed + 3, i) / 4294967296.0;
                d->fault = x < o->fail_download                            ? FAULT_FAIL_DOWNLOAD
                           : x < o->fail_download + o->brick               ? FAULT_BRICK
                           : x < o->fail_download + o->brick + o->bootloop ? FAULT_BOOTLOOP
                                                                           : FAULT_NONE;
                /* these never report a new version: a bricked device takes it, but polls no more */
                d->goes_offline = hash2(o->seed + 4, i) / 4294967296.0 < o->offline;
                bool stuck = d->fault != FAULT_NONE;
                if (o->until_version && streq(version, o->until_version)) {
                        /* already there at the start: nothing to wait for */
                        d->reported = true;
                        s->on_target++;
                }
                if (!stuck || (o->until_version && streq(version, o->until_version)))
                        s->can_reach++;
        }
        free(macs.slots);
}

/* After loading a state file: who already runs the target, who can still reach it. */
static void recount_targets(Sim *s) {
        const char *target = s->o->until_version;

        s->on_target = s->can_reach = 0;
        for (uint32_t i = 0; target && i < s->n_devices; i++) {
                const SimDevice *d = &s->devices[i];
                bool there = streq(d->esp.version, target);
                bool stuck = d->fault != FAULT_NONE || d->bricked;
                s->devices[i].reported = there;
                s->on_target += there;
                s->can_reach += there || !stuck;
        }
}

/* The time to the device's next poll; a device that goes offline for it is marked so. */
static usec_t interval_usec(Sim *s, uint32_t index, uint64_t round) {
        usec_t base = (usec_t) (s->o->interval * 1e6);
        SimDevice *d = &s->devices[index];
        uint32_t o = hash2(s->o->seed ^ 0x5bd1e995u ^ (uint32_t) round, index);

        /*
         * a device that goes offline now and then: one poll in three, it misses 2 to 5; never
         * on the poll it makes when back, so it is on the network for at least an interval
         * (mDNS: long enough to be announced and seen before it goes again)
         */
        bool back = d->back;
        d->back = false;
        if (d->goes_offline && !back && o % 3 == 0) {
                s->stats.offline_windows++;
                d->offline = true;
                base *= 3 + (o >> 8) % 4;
        }
        if (!s->o->jitter)
                return base;
        /* +-25%, different every round */
        uint32_t h = hash2(s->o->seed ^ (uint32_t) round, index);
        return base * 3 / 4 + (usec_t) ((double) base / 2 * (h / 4294967296.0));
}

static void on_due(Loop *l, void *userdata);

static void start_or_queue(Sim *s, SimDevice *d) {
        if (s->stopping)
                return;
        if (s->in_flight < s->o->concurrency) {
                sim_poll(s, d);
                return;
        }
        s->ready[(s->ready_head + s->ready_len++) % s->n_devices] = d->index;
}

static void on_due(Loop *l, void *userdata) {
        SimDevice *d = userdata;

        if (d->bricked)
                return;
        if (d->rebooting)
                return; /* restarting after a push: it polls once it has booted */
        if (d->offline) {
                /* back on the network */
                d->offline = false;
                d->back = true;
                sim_mdns_device_changed(d->sim, d);
        }
        start_or_queue(d->sim, d);
}

static void schedule(Sim *s, SimDevice *d, usec_t when) {
        loop_timer(s->loop, when, on_due, d);
}

/* Sim.device_done: conn.c calls it when a device's poll is over. */
static void device_done(Sim *s, SimDevice *d) {
        if (d->reported && s->o->until_version) {
                /* a device counts once the server has heard it report the version */
                uint32_t n = 0;
                for (uint32_t i = 0; i < s->n_devices; i++)
                        n += s->devices[i].reported;
                s->on_target = n;
                /* devices whose injected fault keeps them back are accounted for, not waited for */
                if (n >= s->can_reach)
                        s->stopping = true;
        }
        /* the next device waiting for a slot */
        if (s->ready_len > 0 && !s->stopping) {
                uint32_t i = s->ready[s->ready_head];
                s->ready_head = (s->ready_head + 1) % s->n_devices;
                s->ready_len--;
                sim_poll(s, &s->devices[i]);
        }
        if (s->stopping) {
                if (s->in_flight == 0)
                        loop_quit(s->loop);
                return;
        }
        if (s->o->rate_max) {
                /* the next device that is still alive */
                for (uint32_t k = 0; k < s->n_devices; k++) {
                        SimDevice *next = &s->devices[s->next_device];
                        s->next_device = (s->next_device + 1) % s->n_devices;
                        if (!next->bricked && !next->busy) {
                                start_or_queue(s, next);
                                break;
                        }
                }
        } else if (!d->bricked)
                schedule(s, d, loop_now(s->loop) + interval_usec(s, d->index, s->stats.polls));
        /* bricked, or off the network until its next poll: its mDNS service goes */
        if (d->bricked || d->offline)
                sim_mdns_device_changed(s, d);
}

static void on_boot(Loop *l, void *userdata) {
        SimDevice *d = userdata;
        Sim *s = d->sim;

        (void) l;
        d->offline = false;
        d->rebooting = false;
        sim_mdns_device_changed(s, d);
        sim_ota_device_changed(s, d);
        /* a sketch that checks for updates checks at boot: the server hears the new version now */
        if (s->o->port && !d->busy)
                start_or_queue(s, d);
}

void sim_device_reboot(Sim *s, SimDevice *d, bool never_back) {
        d->offline = true;
        d->rebooting = !never_back;
        if (never_back) {
                d->bricked = true;
                s->stats.bricked++;
        }
        /* restarting: its announcement goes, and comes back with the new image */
        sim_mdns_device_changed(s, d);
        sim_ota_device_changed(s, d);
        if (!never_back)
                loop_timer(s->loop, loop_now(s->loop) + (usec_t) (s->o->ota_reboot * 1e6), on_boot, d);
}

static void on_sweep(Loop *l, void *userdata) {
        Sim *s = userdata;
        usec_t now = loop_now(l);

        sim_sweep_timeouts(s);
        if (stop_requested)
                s->stopping = true;
        if (s->o->duration > 0 && now - s->started >= (usec_t) (s->o->duration * 1e6))
                s->stopping = true;
        if (s->o->progress && !s->o->json)
                stats_progress(s);
        if (s->stopping && s->in_flight == 0) {
                loop_quit(l);
                return;
        }
        loop_timer(l, now + SWEEP_INTERVAL, on_sweep, s);
}

static int resolve(Sim *s) {
        struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai;
        char port[8];

        snprintf(port, sizeof(port), "%u", s->o->port);
        int r = getaddrinfo(s->o->host, port, &hints, &ai);
        if (r != 0) {
                fprintf(stderr, "flota-sim: cannot resolve %s: %s\n", s->o->host, gai_strerror(r));
                return -EADDRNOTAVAIL;
        }
        memcpy(&s->addr, ai->ai_addr, ai->ai_addrlen);
        s->addr_len = ai->ai_addrlen;
        freeaddrinfo(ai);
        return 0;
}

int sim_run(Sim *s, SimOptions *o) {
        *s = (Sim) { .o = o, .device_done = device_done, .device_reboot = sim_device_reboot };
        bool polls = o->port != 0;
        if (polls && resolve(s) < 0)
                return -EADDRNOTAVAIL;
        s->loop = loop_new();
        s->started = loop_now(s->loop);
        build_fleet(s);
        if (o->state) {
                int r = sim_state_load(s, o->state);
                if (r < 0)
                        return r;
                recount_targets(s);
        }
        if (o->until_version && s->on_target >= s->can_reach)
                return 0;

        if (o->ota && sim_ota_start(s) < 0)
                return -EADDRNOTAVAIL;
        if (o->poll_log && !(s->poll_log = fopen(o->poll_log, "we"))) {
                fprintf(stderr, "flota-sim: cannot write the poll log %s: %m\n", o->poll_log);
                return -EINVAL;
        }
        if (!polls) {
                /* --ota without --server: the devices only answer pushes */
        } else if (o->rate_max) {
                for (uint32_t i = 0, started = 0; i < o->devices && started < o->concurrency; i++) {
                        s->next_device = (i + 1) % o->devices;
                        if (s->devices[i].bricked)
                                continue;
                        sim_poll(s, &s->devices[i]);
                        started++;
                }
        } else {
                /* first polls spread over one interval, as a fleet that has been running */
                for (uint32_t i = 0; i < o->devices; i++) {
                        if (s->devices[i].bricked)
                                continue;
                        usec_t offset =
                                (usec_t) (o->interval * 1e6 * (hash2(o->seed + 2, i) / 4294967296.0));
                        schedule(s, &s->devices[i], s->started + offset);
                }
        }
        if (o->mdns)
                (void) sim_mdns_start(s);
        loop_timer(s->loop, s->started + SWEEP_INTERVAL, on_sweep, s);
        int r = loop_run(s->loop);
        /* goodbyes go out now, not when the statistics are printed */
        sim_mdns_stop(s);
        sim_ota_stop(s);
        return r;
}

void sim_done(Sim *s) {
        if (s->poll_log)
                fclose(s->poll_log);
        sim_mdns_stop(s);
        sim_ota_stop(s);
        loop_free(s->loop);
        free(s->devices);
        free(s->ready);
}

/* --list: the fleet's identities as a run would make them (its mDNS names too). */
static void list_fleet(SimOptions *o) {
        Sim s = { .o = o };

        build_fleet(&s);
        sim_mdns_list(&s);
        free(s.devices);
        free(s.ready);
}

static int mkimage_main(int argc, char **argv) {
        static const struct option options[] = {
                { "platform", required_argument, NULL, 'p' },
                { "version", required_argument, NULL, 'v' },
                { "size", required_argument, NULL, 's' },
                { "output", required_argument, NULL, 'o' },
                { "gzip", no_argument, NULL, 'z' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        bool gzip = false;
        Platform platform = PLATFORM_ESP8266;
        const char *version = NULL, *output = NULL;
        uint64_t size = 256 << 10;
        int c;

        optind = 1;
        while ((c = getopt_long(argc, argv, "p:v:s:o:zh", options, NULL)) >= 0) {
                switch (c) {
                case 'z': gzip = true; break;
                case 'p':
                        if ((platform = platform_from_string(optarg)) < 0)
                                return sim_usage_error("--platform expects esp8266 or esp32", optarg), 2;
                        break;
                case 'v': version = optarg; break;
                case 's':
                        if (parse_size(optarg, &size) < 0 || size > (16u << 20))
                                return sim_usage_error("--size expects a size up to 16M", optarg), 2;
                        break;
                case 'o': output = optarg; break;
                case 'h':
                        printf("Usage: flota-sim mkimage --version V [--platform esp8266|esp32] [--size "
                               "SIZE] "
                               "[--gzip] [-o FILE]\nWrites a structurally valid image carrying V (stdout "
                               "without -o);\n"
                               "--gzip wraps an ESP8266 image in gzip, as 'gzip -9 sketch.bin' users ship "
                               "it.\n");
                        return 0;
                default: return 2;
                }
        }
        if (!version || !version_is_valid(version))
                return sim_usage_error("--version is required", version ? version : ""), 2;
        if (gzip && platform == PLATFORM_ESP32)
                return sim_usage_error("--gzip: the ESP32 core does not accept gzip images", "esp32"), 2;
        uint8_t *img;
        size_t n;
        image_build(platform, version, size, 1, &img, &n);
        if (gzip) {
                uint8_t *gz;
                size_t gn;
                image_gzip_stored(img, n, &gz, &gn);
                free(img);
                img = gz;
                n = gn;
        }
        FILE *f = output ? fopen(output, "we") : stdout;
        bool ok = f && fwrite(img, 1, n, f) == n;
        if (f && output)
                ok = fclose(f) == 0 && ok;
        free(img);
        if (!ok) {
                fprintf(stderr, "flota-sim: cannot write %s: %s\n", output ? output : "stdout",
                        strerror(errno));
                return 1;
        }
        return 0;
}

int main(int argc, char **argv) {
        SimOptions o;
        Sim s;

        if (argc > 1 && streq(argv[1], "mkimage"))
                return mkimage_main(argc - 1, argv + 1);
        log_set_ident("flota-sim");
        int r = sim_parse_argv(argc, argv, &o);
        if (r <= 0) {
                sim_options_done(&o);
                return r < 0 ? 2 : 0;
        }
        if (o.list) {
                list_fleet(&o);
                sim_options_done(&o);
                return 0;
        }
        signal(SIGPIPE, SIG_IGN);
        signal(SIGINT, on_signal);
        signal(SIGTERM, on_signal);
        r = sim_run(&s, &o);
        if (o.progress && !o.json)
                fputc('\n', stderr);
        if (r == -EADDRNOTAVAIL || r == -EINVAL) {
                sim_done(&s);
                sim_options_done(&o);
                return r == -EINVAL ? 2 : 1;
        }
        if (o.state && (r = sim_state_save(&s, o.state)) < 0)
                fprintf(stderr, "flota-sim: cannot save the fleet to %s: %s\n", o.state, strerror(-r));
        stats_print(&s, o.json);
        bool missed = o.until_version && s.on_target < s.can_reach;
        sim_done(&s);
        sim_options_done(&o);
        return r < 0 ? 1 : missed ? 3 : 0;
}
