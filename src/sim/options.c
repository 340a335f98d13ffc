/* SPDX-License-Identifier: MIT */
/* flota-sim's command line: one option table for getopt_long() and --help, and the values' parsers. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flota/alloc.h"
#include "flota/image.h"
#include "flota/log.h"
#include "flota/strutil.h"
#include "sim.h"

#define MDNS_ADDR_BASE 0xa9fe4e01u /* 169.254.78.1 */

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
        A_POLL_LOG,
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
        { "poll-log", A_POLL_LOG, "FILE",
          "write a line per poll the server answered (200 or 304): device id and\nstatus" },
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

int sim_usage_error(const char *what, const char *arg) {
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
                                return sim_usage_error("--server expects http://HOST[:PORT]", optarg);
                        have_server = true;
                        break;
                case A_PATH:
                        if (optarg[0] != '/' || !strscpy(o->path, sizeof(o->path), optarg))
                                return sim_usage_error("--path expects an absolute path", optarg);
                        break;
                case A_DEVICES:
                        if (parse_u32(optarg, &v) < 0 || v == 0 || v > 10000000)
                                return sim_usage_error("--devices expects 1 to 10000000", optarg);
                        o->devices = v;
                        break;
                case A_PRODUCT:
                        if (set_products(o, optarg) < 0)
                                return sim_usage_error("--product expects NAME or esp8266=NAME,esp32=NAME",
                                                       optarg);
                        break;
                case A_SEED:
                        if (parse_u32(optarg, &o->seed) < 0)
                                return sim_usage_error("--seed expects a number", optarg);
                        break;
                case A_INTERVAL:
                        if (parse_seconds(optarg, &o->interval) < 0 || o->interval < 0.001)
                                return sim_usage_error("--interval expects seconds (at least 0.001)",
                                                       optarg);
                        break;
                case A_JITTER: o->jitter = true; break;
                case A_MIX:
                        if (set_mix(o, optarg) < 0)
                                return sim_usage_error("--mix expects esp8266=W,esp32=W", optarg);
                        break;
                case A_VERSIONS:
                        for (size_t i = 0; i < o->n_versions; i++)
                                free(o->versions[i]);
                        if (parse_weights(optarg, o->versions, o->weights, SIM_MAX_VERSIONS,
                                          &o->n_versions) < 0)
                                return sim_usage_error("--versions expects V=W,...", optarg);
                        for (size_t i = 0; i < o->n_versions; i++)
                                if (!version_is_valid(o->versions[i]))
                                        return sim_usage_error("not a version", o->versions[i]);
                        break;
                case A_CONCURRENCY:
                        if (parse_u32(optarg, &v) < 0 || v == 0 || v > 20000)
                                return sim_usage_error("--concurrency expects 1 to 20000", optarg);
                        o->concurrency = v;
                        break;
                case A_RATE:
                        if (!streq(optarg, "max"))
                                return sim_usage_error("--rate accepts only 'max'", optarg);
                        o->rate_max = true;
                        break;
                case A_DURATION:
                        if (parse_seconds(optarg, &o->duration) < 0)
                                return sim_usage_error("--duration expects seconds", optarg);
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
                                return sim_usage_error("a fraction from 0 to 1 is expected", optarg);
                        break;
                }
                case A_OFFLINE:
                        if (parse_seconds(optarg, &o->offline) < 0 || o->offline > 1)
                                return sim_usage_error("--offline expects a fraction from 0 to 1", optarg);
                        break;
                case A_STATE:
                        free(o->state);
                        o->state = xstrdup(optarg);
                        break;
                case A_POLL_LOG:
                        free(o->poll_log);
                        o->poll_log = xstrdup(optarg);
                        break;
                case A_MDNS: o->mdns = true; break;
                case A_MDNS_ADDR_BASE:
                        if (parse_ipv4(optarg, &o->mdns_addr_base) < 0)
                                return sim_usage_error("--mdns-addr-base expects an IPv4 address", optarg);
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
                                return sim_usage_error("--slow-link expects bytes per second, e.g. 20K",
                                                       optarg);
                        break;
                default: return -EINVAL;
                }
        }
        if (optind < argc)
                return sim_usage_error("unexpected argument", argv[optind]);
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
        free(o->poll_log);
        free(o->ota_password);
        free(o->ota_user);
}
