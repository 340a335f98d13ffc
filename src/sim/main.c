/* SPDX-License-Identifier: MIT */
/* flota-sim: command line, fleet set-up and scheduling. */
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
#define MDNS_ADDR_BASE 0xa9fe4e01u /* 169.254.78.1 */

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig) {
        (void) sig;
        stop_requested = 1;
}

enum {
        A_SERVER = 0x100,
        A_PATH,
        A_DEVICES,
        A_PRODUCT,
        A_SEED,
        A_INTERVAL,
        A_JITTER,
        A_MIX,
        A_VERSIONS,
        A_CONCURRENCY,
        A_RATE,
        A_DURATION,
        A_UNTIL,
        A_KEY,
        A_AUTH,
        A_JSON,
        A_FAIL_DOWNLOAD,
        A_BRICK,
        A_BOOTLOOP,
        A_SLOW_LINK,
        A_STATE,
        A_OFFLINE,
        A_MDNS,
        A_MDNS_ADDR_BASE,
        A_LIST,
        A_OTA, /* every --ota* option: sim_ota_parse() tells them apart by name */
};

/* flota-sim's options, in --help's order: the one table getopt_long() and --help are made from. */
static const struct SimOption {
        const char *name;
        int id;           /* getopt's value: A_* or a short option's letter */
        const char *arg;  /* the argument's placeholder in --help; NULL: a flag */
        const char *help; /* a "\n" starts a line indented under the first */
} sim_options[] = {
        { "server", A_SERVER, "URL", "http://HOST[:PORT] of the update server (required)" },
        { "path", A_PATH, "PATH", "endpoint prefix (default /update)" },
        { "devices", A_DEVICES, "N", "fleet size (default 10)" },
        { "product", A_PRODUCT, "P", "product polled: one name, or esp8266=P1,esp32=P2 (default: demo)" },
        { "seed", A_SEED, "S", "identities and versions derive from it (default 1)" },
        { "interval", A_INTERVAL, "SECONDS", "time between a device's polls (default 60)" },
        { "jitter", A_JITTER, NULL, "spread each interval by +-25%" },
        { "mix", A_MIX, "esp8266=W,esp32=W", "platform weights (default esp8266=100)" },
        { "versions", A_VERSIONS, "V=W,...",
          "versions the fleet starts on, with weights (default 1.0.0=100)" },
        { "concurrency", A_CONCURRENCY, "N", "polls in flight at most (default 64)" },
        { "rate", A_RATE, "max", "closed loop: poll again as soon as a poll ends" },
        { "duration", A_DURATION, "SECONDS", "stop after this long (default: run until stopped)" },
        { "until-version", A_UNTIL, "V",
          "stop once every device has reported V to the server (exit 3 if the\nduration ends first)" },
        { "key", A_KEY, "K", "use the query form ?k=K&s=ID&v=VERSION instead of PATH/PRODUCT" },
        { "auth", A_AUTH, "USER:PASS", "send HTTP Basic credentials (setAuthorization)" },
        { "fail-download", A_FAIL_DOWNLOAD, "F", "fraction of devices whose link drops in every download" },
        { "brick", A_BRICK, "F", "fraction that take an update and never poll again" },
        { "bootloop", A_BOOTLOOP, "F", "fraction that take an update and come back on the old version" },
        { "slow-link", A_SLOW_LINK, "RATE", "read downloads at RATE bytes per second (K/M suffixes)" },
        { "offline", A_OFFLINE, "F", "fraction of devices that now and then miss 2 to 5 polls" },
        { "state", A_STATE, "FILE", "load the fleet's firmware from FILE and save it there at the end" },
        { "mdns", A_MDNS, NULL, "publish every device over mDNS as ArduinoOTA does (avahi-daemon)" },
        { "mdns-addr-base", A_MDNS_ADDR_BASE, "ADDR",
          "IPv4 address of device 0's A record; device i gets ADDR+i\n(default 169.254.78.1)" },
        { "ota", A_OTA, "espota|web",
          "every device answers pushes on its own address: ArduinoOTA's espota,\nor a web updater (then "
          "--server is optional)" },
        { "ota-addr-base", A_OTA, "ADDR",
          "device i listens on ADDR+i (default 127.0.0.1; also the mDNS A record)" },
        { "ota-port", A_OTA, "P", "the port (default: the core's, 8266 ESP8266 / 3232 ESP32; web 80)" },
        { "ota-password", A_OTA, "PW", "the OTA password (espota auth, web updater Basic credentials)" },
        { "ota-user", A_OTA, "NAME", "the web updater's user (default admin)" },
        { "ota-auth", A_OTA, "md5|sha256",
          "espota challenge: classic MD5, or the ESP32 core 3.3.1+ SHA-256 one" },
        { "ota-updater", A_OTA, "stock|example",
          "web pages: the stock HTTPUpdateServer, or the ESP32\nWebServer+Update example "
          "(\"OK\"/\"FAIL\")" },
        { "ota-reboot", A_OTA, "SECONDS",
          "how long a device is away while it reboots after a push (default 0.5)" },
        { "ota-mute", A_OTA, "F",
          "push faults (this and the five below), fractions of the fleet given to the\nlowest indexes in "
          "this order: answer nothing" },
        { "ota-refuse", A_OTA, "F", "refuse the upload (no space)" },
        { "ota-corrupt", A_OTA, "F", "a byte flips on the way" },
        { "ota-drop", A_OTA, "F", "the link drops half way" },
        { "ota-stall", A_OTA, "F", "reading stops half way" },
        { "ota-never-back", A_OTA, "F", "never come back after the reboot" },
        { "list", A_LIST, NULL, "print each device's index, chip, MAC, mDNS name, host and address" },
        { "json", A_JSON, NULL, "print the final statistics as JSON" },
        { "help", 'h', NULL, "show this help" },
};

#define HELP_COLUMN 24

static void help(void) {
        printf("Usage: flota-sim --server URL --devices N [OPTIONS]\n"
               "       flota-sim --list --devices N [OPTIONS]\n"
               "       flota-sim mkimage --version V [--platform esp8266|esp32] [--size SIZE] [-o FILE]\n"
               "\n"
               "Runs N simulated ESP8266/ESP32 devices that poll an update server with the exact\n"
               "requests of the stock Arduino update clients, flash what they are sent (checking\n"
               "size, magic byte, MD5 and SHA-256 as the cores do) and report the new version.\n"
               "\n"
               "Options:\n");
        for (size_t i = 0; i < ELEMENTSOF(sim_options); i++) {
                const struct SimOption *opt = &sim_options[i];
                int n = opt->id < 0x100 ? printf("  -%c, --%s", opt->id, opt->name)
                                        : printf("  --%s", opt->name);
                if (opt->arg)
                        n += printf(" %s", opt->arg);
                printf("%*s", n < HELP_COLUMN - 1 ? HELP_COLUMN - n : 2, "");
                for (const char *line = opt->help; line;) {
                        const char *nl = strchr(line, '\n');
                        printf("%.*s\n", nl ? (int) (nl - line) : (int) strlen(line), line);
                        line = nl ? nl + 1 : NULL;
                        if (line)
                                printf("%*s", HELP_COLUMN, "");
                }
        }
}

static int parse_url(const char *url, SimOptions *o) {
        const char *p = startswith(url, "http://");
        uint32_t port = 80;

        if (!p)
                return -EINVAL;
        size_t hl = strcspn(p, ":/");
        if (hl == 0 || hl >= sizeof(o->host))
                return -EINVAL;
        memcpy(o->host, p, hl);
        o->host[hl] = 0;
        p += hl;
        if (*p == ':') {
                char digits[8];
                size_t dl = strcspn(p + 1, "/");
                if (dl == 0 || dl >= sizeof(digits))
                        return -EINVAL;
                memcpy(digits, p + 1, dl);
                digits[dl] = 0;
                if (parse_u32(digits, &port) < 0 || port == 0 || port > 65535)
                        return -EINVAL;
                p += 1 + dl;
        }
        if (*p && !streq(p, "/"))
                return -EINVAL;
        o->port = (uint16_t) port;
        return 0;
}

/* "a=1,b=2" into names and weights; a bare "a" is a=1. */
static int parse_weights(const char *s, char **names, unsigned *weights, size_t max, size_t *ret_n) {
        _cleanup_free_ char *copy = xstrdup(s);
        size_t n = 0;

        for (char *save = NULL, *item = strtok_r(copy, ",", &save); item;
             item = strtok_r(NULL, ",", &save)) {
                char *eq = strchr(item, '=');
                uint32_t w = 1;
                if (eq) {
                        *eq = 0;
                        if (parse_u32(eq + 1, &w) < 0)
                                return -EINVAL;
                }
                if (n >= max || !*item)
                        return -EINVAL;
                names[n] = xstrdup(item);
                weights[n++] = w;
        }
        *ret_n = n;
        return n > 0 ? 0 : -EINVAL;
}

static int parse_seconds(const char *s, double *ret) {
        char *end;
        errno = 0;
        double v = strtod(s, &end);
        if (errno || *end || v < 0 || v > 1e7)
                return -EINVAL;
        *ret = v;
        return 0;
}

static int set_products(SimOptions *o, const char *arg) {
        if (!strchr(arg, '=')) {
                if (!name_is_valid(arg))
                        return -EINVAL;
                for (int p = 0; p < _PLATFORM_MAX; p++) {
                        free(o->product[p]);
                        o->product[p] = xstrdup(arg);
                }
                return 0;
        }
        _cleanup_free_ char *copy = xstrdup(arg);
        for (char *save = NULL, *item = strtok_r(copy, ",", &save); item;
             item = strtok_r(NULL, ",", &save)) {
                char *eq = strchr(item, '=');
                Platform p = eq ? (*eq = 0, platform_from_string(item)) : _PLATFORM_INVALID;
                if (p < 0 || !name_is_valid(eq + 1))
                        return -EINVAL;
                free(o->product[p]);
                o->product[p] = xstrdup(eq + 1);
        }
        return 0;
}

static int set_mix(SimOptions *o, const char *arg) {
        char *names[_PLATFORM_MAX + 1];
        unsigned w[_PLATFORM_MAX + 1];
        size_t n;
        int r = parse_weights(arg, names, w, _PLATFORM_MAX, &n);

        if (r < 0)
                return r;
        memset(o->mix, 0, sizeof(o->mix));
        for (size_t i = 0; i < n; i++) {
                Platform p = platform_from_string(names[i]);
                free(names[i]);
                if (p < 0)
                        r = -EINVAL;
                else
                        o->mix[p] = w[i];
        }
        return r;
}

static int parse_ipv4(const char *s, uint32_t *ret) {
        struct in_addr a;

        if (inet_pton(AF_INET, s, &a) != 1)
                return -EINVAL;
        *ret = ntohl(a.s_addr);
        return 0;
}

static int fail_usage(const char *what, const char *arg) {
        fprintf(stderr, "flota-sim: %s: '%s'\n", what, arg);
        return -EINVAL;
}

int sim_parse_argv(int argc, char **argv, SimOptions *o) {
        struct option options[ELEMENTSOF(sim_options) + 1] = {};
        for (size_t i = 0; i < ELEMENTSOF(sim_options); i++)
                options[i] = (struct option) { sim_options[i].name,
                                               sim_options[i].arg ? required_argument : no_argument, NULL,
                                               sim_options[i].id };
        bool have_server = false, have_mdns_base = false;
        uint32_t v;
        int c, idx;

        *o = (SimOptions) {
                .devices = 10, .seed = 1, .interval = 60, .concurrency = 64, .mdns_addr_base = MDNS_ADDR_BASE
        };
        strscpy(o->path, sizeof(o->path), "/update");
        o->mix[PLATFORM_ESP8266] = 100;
        for (int p = 0; p < _PLATFORM_MAX; p++)
                o->product[p] = xstrdup("demo");
        o->progress = isatty(STDERR_FILENO);
        o->ota_addr_base = 0x7f000001u; /* 127.0.0.1 */
        o->ota_reboot = 0.5;

        while ((c = getopt_long(argc, argv, "h", options, &idx)) >= 0) {
                switch (c) {
                case 'h': help(); return 0;
                case A_SERVER:
                        if (parse_url(optarg, o) < 0)
                                return fail_usage("--server expects http://HOST[:PORT]", optarg);
                        have_server = true;
                        break;
                case A_PATH:
                        if (optarg[0] != '/' || !strscpy(o->path, sizeof(o->path), optarg))
                                return fail_usage("--path expects an absolute path", optarg);
                        break;
                case A_DEVICES:
                        if (parse_u32(optarg, &v) < 0 || v == 0 || v > 10000000)
                                return fail_usage("--devices expects 1 to 10000000", optarg);
                        o->devices = v;
                        break;
                case A_PRODUCT:
                        if (set_products(o, optarg) < 0)
                                return fail_usage("--product expects NAME or esp8266=NAME,esp32=NAME",
                                                  optarg);
                        break;
                case A_SEED:
                        if (parse_u32(optarg, &o->seed) < 0)
                                return fail_usage("--seed expects a number", optarg);
                        break;
                case A_INTERVAL:
                        if (parse_seconds(optarg, &o->interval) < 0 || o->interval < 0.001)
                                return fail_usage("--interval expects seconds (at least 0.001)", optarg);
                        break;
                case A_JITTER: o->jitter = true; break;
                case A_MIX:
                        if (set_mix(o, optarg) < 0)
                                return fail_usage("--mix expects esp8266=W,esp32=W", optarg);
                        break;
                case A_VERSIONS:
                        for (size_t i = 0; i < o->n_versions; i++)
                                free(o->versions[i]);
                        if (parse_weights(optarg, o->versions, o->weights, SIM_MAX_VERSIONS,
                                          &o->n_versions) < 0)
                                return fail_usage("--versions expects V=W,...", optarg);
                        for (size_t i = 0; i < o->n_versions; i++)
                                if (!version_is_valid(o->versions[i]))
                                        return fail_usage("not a version", o->versions[i]);
                        break;
                case A_CONCURRENCY:
                        if (parse_u32(optarg, &v) < 0 || v == 0 || v > 20000)
                                return fail_usage("--concurrency expects 1 to 20000", optarg);
                        o->concurrency = v;
                        break;
                case A_RATE:
                        if (!streq(optarg, "max"))
                                return fail_usage("--rate accepts only 'max'", optarg);
                        o->rate_max = true;
                        break;
                case A_DURATION:
                        if (parse_seconds(optarg, &o->duration) < 0)
                                return fail_usage("--duration expects seconds", optarg);
                        break;
                case A_UNTIL:
                        free(o->until_version);
                        o->until_version = xstrdup(optarg);
                        break;
                case A_KEY:
                        free(o->key);
                        o->key = xstrdup(optarg);
                        break;
                case A_AUTH: {
                        free(o->auth);
                        o->auth = NULL;
                        /* setAuthorization(user, pass) sends base64(user:pass) */
                        size_t n = strlen(optarg);
                        char *b64 = xmalloc(4 * ((n + 2) / 3) + 1);
                        static const char t[] =
                                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
                        const unsigned char *in = (const unsigned char *) optarg;
                        size_t j = 0;
                        for (size_t i = 0; i < n; i += 3) {
                                unsigned x = (unsigned) in[i] << 16 | (i + 1 < n ? in[i + 1] << 8 : 0) |
                                             (i + 2 < n ? in[i + 2] : 0);
                                b64[j++] = t[(x >> 18) & 63];
                                b64[j++] = t[(x >> 12) & 63];
                                b64[j++] = i + 1 < n ? t[(x >> 6) & 63] : '=';
                                b64[j++] = i + 2 < n ? t[x & 63] : '=';
                        }
                        b64[j] = 0;
                        o->auth = b64;
                        break;
                }
                case A_JSON: o->json = true; break;
                case A_FAIL_DOWNLOAD:
                case A_BRICK:
                case A_BOOTLOOP: {
                        double *f = c == A_FAIL_DOWNLOAD ? &o->fail_download
                                    : c == A_BRICK       ? &o->brick
                                                         : &o->bootloop;
                        if (parse_seconds(optarg, f) < 0 || *f > 1)
                                return fail_usage("a fraction from 0 to 1 is expected", optarg);
                        break;
                }
                case A_OFFLINE:
                        if (parse_seconds(optarg, &o->offline) < 0 || o->offline > 1)
                                return fail_usage("--offline expects a fraction from 0 to 1", optarg);
                        break;
                case A_STATE:
                        free(o->state);
                        o->state = xstrdup(optarg);
                        break;
                case A_MDNS: o->mdns = true; break;
                case A_MDNS_ADDR_BASE:
                        if (parse_ipv4(optarg, &o->mdns_addr_base) < 0)
                                return fail_usage("--mdns-addr-base expects an IPv4 address", optarg);
                        have_mdns_base = true;
                        break;
                case A_OTA:
                        if (sim_ota_parse(o, options[idx].name, optarg) < 0) {
                                fprintf(stderr, "flota-sim: --%s: '%s' is not valid here (see --help)\n",
                                        options[idx].name, optarg);
                                return -EINVAL;
                        }
                        break;
                case A_LIST: o->list = true; break;
                case A_SLOW_LINK:
                        if (parse_size(optarg, &o->slow_link) < 0 || o->slow_link == 0)
                                return fail_usage("--slow-link expects bytes per second, e.g. 20K", optarg);
                        break;
                default: return -EINVAL;
                }
        }
        if (optind < argc)
                return fail_usage("unexpected argument", argv[optind]);
        if (o->mdns_addr_base > UINT32_MAX - (o->devices - 1)) {
                fprintf(stderr, "flota-sim: --mdns-addr-base: %u devices do not fit above it\n", o->devices);
                return -EINVAL;
        }
        if (o->ota && !have_mdns_base)
                o->mdns_addr_base = o->ota_addr_base; /* announce the address that answers */
        if (o->ota && o->ota_addr_base > UINT32_MAX - (o->devices - 1)) {
                fprintf(stderr, "flota-sim: --ota-addr-base: %u devices do not fit above it\n", o->devices);
                return -EINVAL;
        }
        double faults = 0;
        for (int i = 0; i < SIM_OTA_FAULTS; i++)
                faults += o->ota_faults[i];
        if (faults > 1) {
                fprintf(stderr, "flota-sim: the --ota-* faults add up to more than 1\n");
                return -EINVAL;
        }
        if (!have_server && !o->list && !o->ota) {
                fprintf(stderr, "flota-sim: --server is required (see --help)\n");
                return -EINVAL;
        }
        if (o->fail_download + o->brick + o->bootloop > 1) {
                fprintf(stderr,
                        "flota-sim: --fail-download, --brick and --bootloop add up to more than 1\n");
                return -EINVAL;
        }
        if (o->n_versions == 0) {
                o->versions[0] = xstrdup("1.0.0");
                o->weights[0] = 1;
                o->n_versions = 1;
        }
        return 1;
}

void sim_options_done(SimOptions *o) {
        for (int p = 0; p < _PLATFORM_MAX; p++)
                free(o->product[p]);
        for (size_t i = 0; i < o->n_versions; i++)
                free(o->versions[i]);
        free(o->until_version);
        free(o->key);
        free(o->auth);
        free(o->state);
        free(o->ota_password);
        free(o->ota_user);
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
                                return fail_usage("--platform expects esp8266 or esp32", optarg), 2;
                        break;
                case 'v': version = optarg; break;
                case 's':
                        if (parse_size(optarg, &size) < 0 || size > (16u << 20))
                                return fail_usage("--size expects a size up to 16M", optarg), 2;
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
                return fail_usage("--version is required", version ? version : ""), 2;
        if (gzip && platform == PLATFORM_ESP32)
                return fail_usage("--gzip: the ESP32 core does not accept gzip images", "esp32"), 2;
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
