/* SPDX-License-Identifier: MIT */
/* Who a push goes to: the device the user named, found in the inventory or taken as an address. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flota/alloc.h"
#include "flota/inventory.h"
#include "flota/mac.h"
#include "flota/strutil.h"
#include "push-run.h"

/* "host", "host:port", "[v6]:port", a bare IPv6 address. 0 or -EINVAL. */
static int split_address(const char *s, char *host, size_t size, uint32_t *port) {
        const char *colon = strrchr(s, ':');

        *port = 0;
        if (s[0] == '[') {
                const char *end = strchr(s, ']');
                if (!end || (size_t) (end - s - 1) >= size)
                        return -EINVAL;
                snprintf(host, size, "%.*s", (int) (end - s - 1), s + 1);
                if (end[1] == ':')
                        return parse_u32(end + 2, port) < 0 || *port == 0 || *port > 65535 ? -EINVAL : 0;
                return end[1] ? -EINVAL : 0;
        }
        if (colon && strchr(s, ':') == colon) {
                if ((size_t) (colon - s) >= size || colon == s)
                        return -EINVAL;
                snprintf(host, size, "%.*s", (int) (colon - s), s);
                return parse_u32(colon + 1, port) < 0 || *port == 0 || *port > 65535 ? -EINVAL : 0;
        }
        return strscpy(host, size, s) ? 0 : -EINVAL;
}

/* The numeric address of host (resolved once, before any push starts). */
static int numeric(const char *host, char out[static INET6_ADDRSTRLEN]) {
        struct addrinfo hints = { .ai_socktype = SOCK_DGRAM }, *ai;

        if (getaddrinfo(host, NULL, &hints, &ai) != 0)
                return -EADDRNOTAVAIL;
        int r = getnameinfo(ai->ai_addr, ai->ai_addrlen, out, INET6_ADDRSTRLEN, NULL, 0, NI_NUMERICHOST);
        freeaddrinfo(ai);
        return r == 0 ? 0 : -EADDRNOTAVAIL;
}

static const char *password_for(Cli *cli, const char *from, const Job *j, const InventoryTarget *t) {
        const char *names[] = { j->id, t ? t->host : NULL, j->device, j->host };
        return cli_push_password(cli, from, names, ELEMENTSOF(names), j->product);
}

/* Fills j for the device the user named. Reports and returns -1 when it names none. */
int push_resolve_job(Cli *cli, const JobOptions *o, const char *name, Job *j) {
        InventoryTarget t;
        Store *inv = NULL;
        bool known = false;
        char host[256];
        uint32_t port = 0;

        *j = (Job) { .device = xstrdup(name), .transport = PUSH_TRANSPORT_ESPOTA };
        if (cli_inventory_existing(cli, &inv) < 0)
                return -1;
        int r = inv ? inventory_push_target(inv, name, &t) : -ENOENT;
        if (r == -ENOTUNIQ)
                return cli_error("push: '%s' names several devices in the inventory; give a MAC", name);
        if (r < 0 && r != -ENOENT)
                return cli_error("push: the inventory: %s", strerror(-r));
        known = r == 0;
        if (known && isempty(t.ip))
                return cli_error("push: %s: the inventory knows no address for it", name);
        char mac[MAC_STR_LEN + 1];
        if (!known && mac_canonicalize(name, mac) == 0)
                return cli_error("push: no device %s in the inventory (flota ingest or discover first, or "
                                 "give its address)",
                                 mac);
        if (!known && split_address(name, host, sizeof(host), &port) < 0)
                return cli_error("push: '%s' is neither a device in the inventory nor an address[:port]",
                                 name);
        if (!known && inv && numeric(host, j->host) == 0 && inventory_push_target(inv, j->host, &t) == 0)
                known = true; /* an address the inventory knows: its MAC, for the check */
        else if (!known && numeric(host, j->host) < 0)
                return cli_error("push: cannot resolve '%s'", host);
        if (known && !j->host[0])
                strscpy(j->host, sizeof(j->host), t.ip);
        j->id = xstrdup(known ? t.id : "");
        j->announced = known && t.kind[0];
        j->product = xstrdup(known ? t.product : "");
        if (o->transport >= 0)
                j->transport = (PushTransport) o->transport;
        else if (known && streq(t.kind, "http"))
                j->transport = PUSH_TRANSPORT_WEB;
        bool esp32 = known && streq(t.platform, "esp32");
        j->port = (uint16_t) (o->port ? o->port
                              : port  ? port
                              : known && t.port && j->transport == PUSH_TRANSPORT_ESPOTA &&
                                              streq(t.kind, "arduino-ota")
                                      ? t.port
                              : j->transport == PUSH_TRANSPORT_WEB ? 80
                              : esp32                              ? PUSH_DEFAULT_PORT_ESP32
                                                                   : PUSH_DEFAULT_PORT_ESP8266);
        if (o->password_from && !cli_push_setting(cli, o->password_from))
                return cli_error("push: --password-from: the config has no [push] %s", o->password_from);
        j->password = password_for(cli, o->password_from, j, known ? &t : NULL);
        j->path = o->path;
        if (!j->path && !isempty(j->product)) {
                _cleanup_free_ char *k = xasprintf("web-path.%s", j->product);
                j->path = cli_push_setting(cli, k);
        }
        if (!j->path)
                j->path = cli_push_setting(cli, "web-path");
        return 0;
}

void push_job_done(Job *j) {
        free(j->device);
        free(j->id);
        free(j->product);
}

int push_read_list(const char *file, char ***ret, size_t *ret_n) {
        FILE *f = streq(file, "-") ? stdin : fopen(file, "re");
        char line[512];
        char **v = NULL;
        size_t n = 0;

        if (!f)
                return cli_error("push: cannot read %s: %s", file, strerror(errno));
        while (fgets(line, sizeof(line), f)) {
                char *p = line + strspn(line, " \t");
                p[strcspn(p, "#\r\n")] = 0;
                size_t k = strlen(p);
                while (k > 0 && (p[k - 1] == ' ' || p[k - 1] == '\t'))
                        p[--k] = 0;
                if (!*p)
                        continue;
                if (n >= DEVICES_MAX) {
                        cli_error("push: %s lists more than %d devices", file, DEVICES_MAX);
                        n = SIZE_MAX;
                        break;
                }
                v = xrealloc(v, (n + 1) * sizeof(char *));
                v[n++] = xstrdup(p);
        }
        if (f != stdin)
                fclose(f);
        if (n == SIZE_MAX) {
                for (size_t i = 0; i < DEVICES_MAX; i++)
                        free(v[i]);
                free(v);
                return -1;
        }
        if (n == 0)
                return cli_error("push: %s lists no device", file);
        *ret = v;
        *ret_n = n;
        return 0;
}
