/* SPDX-License-Identifier: MIT */
/*
 * flota-sim --mdns: every device that is up publishes itself as ArduinoOTA does (PROTOCOLS.md
 * 3.1): an _arduino._tcp service named after its default host name, with ArduinoOTA's TXT
 * records, and an A record for that host name (device i gets --mdns-addr-base + i). A device
 * that goes offline or bricks withdraws it; at the end every entry group is freed before its
 * client, so avahi-daemon sends goodbyes.
 *
 * avahi-client runs on the simulation's loop through AvahiLoop. Its calls are blocking D-Bus
 * round trips, so devices are published for at most PUBLISH_BUDGET per loop turn, and polls
 * keep flowing while a big fleet registers. avahi-daemon limits the objects (entry groups) of one client
 * (1,024 by default), so the fleet is spread over one client per GROUPS_PER_CLIENT devices. Each client is
 * made with AVAHI_CLIENT_NO_FAIL: it waits for a daemon that is not there yet, and when the daemon goes away
 * (AVAHI_ERR_DISCONNECTED) it is made again and its devices are published again once the daemon runs.
 */
#include <arpa/inet.h>
#include <avahi-client/client.h>
#include <avahi-client/publish.h>
#include <avahi-common/address.h>
#include <avahi-common/alternative.h>
#include <avahi-common/domain.h>
#include <avahi-common/error.h>
#include <avahi-common/malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flota/alloc.h"
#include "flota/avahi-loop.h"
#include "flota/log.h"
#include "flota/mac.h"
#include "flota/strutil.h"
#include "sim.h"

#define GROUPS_PER_CLIENT 512
#define PUBLISH_BUDGET (10 * USEC_PER_MSEC) /* of publishing per loop turn, at least one device */
#define RENAMES_MAX 16                      /* alternative names tried after collisions */
#define RETRY_INTERVAL (5 * USEC_PER_SEC)   /* to reach D-Bus again after a failure */

typedef struct MdnsClient MdnsClient;

typedef struct MdnsDevice {
        MdnsClient *client;
        AvahiEntryGroup *group;
        char *name; /* service instance name */
        char *host; /* host name without ".local" */
        unsigned renames;
        bool queued;    /* waiting in the publish queue */
        bool published; /* entries added and committed */
} MdnsDevice;

struct MdnsClient {
        SimMdns *m;
        AvahiClient *client;
        uint32_t first, end;   /* its devices */
        bool running;          /* AVAHI_CLIENT_S_RUNNING: groups may be committed */
        LoopTimerHandle retry; /* a new client is due */
};

struct SimMdns {
        Sim *sim;
        AvahiLoop *avahi;
        MdnsClient *clients;
        size_t n_clients;
        MdnsDevice *devices;
        uint32_t *queue; /* ring of device indexes */
        uint32_t queue_head, queue_len;
        LoopTimerHandle flush;
        bool said_absent, said_gone, said_failed;
};

static bool wants(const SimDevice *d) {
        return !d->bricked && !d->offline;
}

static void on_flush(Loop *l, void *userdata);

static void enqueue(SimMdns *m, uint32_t i) {
        if (m->devices[i].queued)
                return;
        m->devices[i].queued = true;
        m->queue[(m->queue_head + m->queue_len++) % m->sim->n_devices] = i;
        if (!loop_timer_is_pending(&m->flush))
                loop_timer_start(m->sim->loop, loop_now(m->sim->loop), on_flush, m, &m->flush);
}

/* Both names move on together ("esp8266-0a0b0c #2", "esp8266-0a0b0c-2"), as they started equal. */
static int rename_device(MdnsDevice *md) {
        if (++md->renames > RENAMES_MAX)
                return -ELOOP;
        char *name = avahi_alternative_service_name(md->name);
        char *host = avahi_alternative_host_name(md->host);
        free(md->name);
        free(md->host);
        md->name = xstrdup(name);
        md->host = xstrdup(host);
        avahi_free(name);
        avahi_free(host);
        return 0;
}

static int add_entries(SimMdns *m, MdnsDevice *md, const SimDevice *d) {
        char fqdn[AVAHI_DOMAIN_NAME_MAX], board[32];
        const char *auth =
                m->sim->o->auth || !isempty(m->sim->o->ota_password) ? "auth_upload=yes" : "auth_upload=no";
        AvahiAddress addr = { .proto = AVAHI_PROTO_INET };
        uint32_t index = (uint32_t) (d - m->sim->devices);

        addr.data.ipv4.address = htonl(m->sim->o->mdns_addr_base + index);
        snprintf(fqdn, sizeof(fqdn), "%s.local", md->host);
        snprintf(board, sizeof(board), "board=%s", esp_ota_board(&d->esp));
        /* IPv4 only, as the device; the TXT records in the order ArduinoOTA adds them */
        int r = avahi_entry_group_add_service(
                md->group, AVAHI_IF_UNSPEC, AVAHI_PROTO_INET, 0, md->name, "_arduino._tcp", NULL, fqdn,
                m->sim->o->ota_port ? m->sim->o->ota_port : esp_ota_port(&d->esp), "tcp_check=no",
                "ssh_upload=no", board, auth, NULL);
        if (r < 0)
                return r;
        /* no reverse (in-addr.arpa) record: two fleets on one network would collide on it */
        r = avahi_entry_group_add_address(md->group, AVAHI_IF_UNSPEC, AVAHI_PROTO_INET,
                                          AVAHI_PUBLISH_NO_REVERSE, fqdn, &addr);
        if (r < 0)
                return r;
        return avahi_entry_group_commit(md->group);
}

static void warn_failed(SimMdns *m, const char *what, int error) {
        if (m->said_failed)
                return;
        m->said_failed = true;
        log_warning("--mdns: %s: %s (said once; the simulation goes on)", what, avahi_strerror(error));
}

static void on_group(AvahiEntryGroup *g, AvahiEntryGroupState state, void *userdata);

static void publish(SimMdns *m, uint32_t i) {
        MdnsDevice *md = &m->devices[i];
        MdnsClient *c = md->client;
        const SimDevice *d = &m->sim->devices[i];

        if (md->published || !wants(d) || !c->running)
                return;
        if (!md->group && !(md->group = avahi_entry_group_new(c->client, on_group, md))) {
                warn_failed(m, "cannot create an entry group", avahi_client_errno(c->client));
                return;
        }
        int r;
        /* a name already registered with this daemon is refused at once */
        while ((r = add_entries(m, md, d)) == AVAHI_ERR_COLLISION) {
                (void) avahi_entry_group_reset(md->group);
                log_info("--mdns: %s is taken on this host; renaming", md->name);
                if (rename_device(md) < 0)
                        break;
        }
        if (r < 0) {
                (void) avahi_entry_group_reset(md->group);
                warn_failed(m, md->name, r);
                return;
        }
        md->published = true;
}

static void withdraw(MdnsDevice *md) {
        if (!md->published)
                return;
        /* the daemon sends goodbyes for the records of a reset group */
        (void) avahi_entry_group_reset(md->group);
        md->published = false;
}

static void on_flush(Loop *l, void *userdata) {
        SimMdns *m = userdata;
        usec_t until = now_usec(CLOCK_MONOTONIC) + PUBLISH_BUDGET;

        /* a busy daemon answers each call late: stop after the budget, polls go first */
        while (m->queue_len > 0) {
                uint32_t i = m->queue[m->queue_head];
                m->queue_head = (m->queue_head + 1) % m->sim->n_devices;
                m->queue_len--;
                m->devices[i].queued = false;
                publish(m, i);
                if (now_usec(CLOCK_MONOTONIC) >= until)
                        break;
        }
        if (m->queue_len > 0)
                loop_timer_start(l, loop_now(l), on_flush, m, &m->flush);
}

static void on_group(AvahiEntryGroup *g, AvahiEntryGroupState state, void *userdata) {
        MdnsDevice *md = userdata;
        SimMdns *m = md->client->m;

        if (state == AVAHI_ENTRY_GROUP_COLLISION) {
                /* another host has the name: withdraw, and publish under the next name in a later turn */
                (void) avahi_entry_group_reset(g);
                md->published = false;
                log_info("--mdns: %s is taken on the network; renaming", md->name);
                if (rename_device(md) == 0)
                        enqueue(m, (uint32_t) (md - m->devices));
                else
                        log_warning("--mdns: %s: no free name after %d tries; not published", md->name,
                                    RENAMES_MAX);
        } else if (state == AVAHI_ENTRY_GROUP_FAILURE) {
                md->published = false;
                warn_failed(m, md->name, avahi_client_errno(avahi_entry_group_get_client(g)));
        }
}

/* Frees the client and its devices' entry groups, each group first (so it says goodbye). */
static void client_drop(MdnsClient *c) {
        for (uint32_t i = c->first; i < c->end; i++) {
                MdnsDevice *md = &c->m->devices[i];
                if (md->group)
                        (void) avahi_entry_group_free(md->group);
                md->group = NULL;
                md->published = false;
        }
        avahi_client_free(c->client);
        c->client = NULL;
        c->running = false;
}

static void client_connect(MdnsClient *c);

static void on_retry(Loop *l, void *userdata) {
        MdnsClient *c = userdata;

        if (c->client)
                client_drop(c);
        client_connect(c);
}

static void retry_in(MdnsClient *c, usec_t delay) {
        Loop *l = c->m->sim->loop;

        loop_timer_cancel(l, &c->retry);
        loop_timer_start(l, loop_now(l) + delay, on_retry, c, &c->retry);
}

static void client_running(MdnsClient *c) {
        SimMdns *m = c->m;

        if (m->said_absent || m->said_gone)
                log_info("--mdns: avahi-daemon is there; publishing");
        m->said_absent = m->said_gone = false;
        c->running = true;
        for (uint32_t i = c->first; i < c->end; i++)
                enqueue(m, i);
}

/* avahi calls this from avahi_client_new() already, before c->client is set: use ac. */
static void on_client(AvahiClient *ac, AvahiClientState state, void *userdata) {
        MdnsClient *c = userdata;
        SimMdns *m = c->m;

        switch (state) {
        case AVAHI_CLIENT_S_RUNNING: client_running(c); break;
        case AVAHI_CLIENT_S_REGISTERING:
        case AVAHI_CLIENT_S_COLLISION:
                /* the daemon (re)registers its own host name: publish again once it runs */
                c->running = false;
                for (uint32_t i = c->first; i < c->end; i++)
                        withdraw(&m->devices[i]);
                break;
        case AVAHI_CLIENT_CONNECTING:
                c->running = false;
                if (!m->said_absent && !m->said_gone)
                        log_warning("--mdns: avahi-daemon is not running; devices are published when it "
                                    "starts");
                m->said_absent = true;
                break;
        case AVAHI_CLIENT_FAILURE:
                c->running = false;
                if (avahi_client_errno(ac) == AVAHI_ERR_DISCONNECTED) {
                        if (!m->said_gone)
                                log_warning("--mdns: avahi-daemon went away; devices are published again "
                                            "when it is back");
                        m->said_gone = true;
                        /* not from inside the client's own callback: in the next loop turn */
                        retry_in(c, 0);
                } else {
                        warn_failed(m, "avahi client failed", avahi_client_errno(ac));
                        retry_in(c, RETRY_INTERVAL);
                }
                break;
        }
}

static void client_connect(MdnsClient *c) {
        SimMdns *m = c->m;
        int error = 0;

        c->client = avahi_client_new(avahi_loop_get(m->avahi), AVAHI_CLIENT_NO_FAIL, on_client, c, &error);
        if (c->client)
                return;
        if (!m->said_absent)
                log_warning("--mdns: cannot reach avahi-daemon over D-Bus (%s); devices are published when "
                            "it can be reached",
                            avahi_strerror(error));
        m->said_absent = true;
        retry_in(c, RETRY_INTERVAL);
}

static int cmp_names(const void *a, const void *b, void *userdata) {
        const MdnsDevice *devices = userdata;
        uint32_t x = *(const uint32_t *) a, y = *(const uint32_t *) b;
        int c = strcmp(devices[x].name, devices[y].name);

        return c != 0 ? c : x < y ? -1 : x > y;
}

/*
 * Devices of one fleet may share a name (chip ids are 24 bits). avahi-daemon takes equal
 * services from its clients without a conflict and gives the host both addresses, so the
 * network would see one device: the later ones get the next free name up front, as a real
 * device does when its probe loses.
 */
static void rename_duplicates(SimMdns *m, uint32_t n) {
        _cleanup_free_ uint32_t *order = xcalloc(n ? n : 1, sizeof(uint32_t));
        _cleanup_free_ bool *taken = xcalloc(n ? n : 1, sizeof(bool));

        for (unsigned round = 0; round < RENAMES_MAX; round++) {
                bool any = false;
                for (uint32_t i = 0; i < n; i++)
                        order[i] = i;
                qsort_r(order, n, sizeof(uint32_t), cmp_names, m->devices);
                for (uint32_t k = 1; k < n; k++) {
                        taken[order[k]] = streq(m->devices[order[k]].name, m->devices[order[k - 1]].name);
                        any = any || taken[order[k]];
                }
                if (!any)
                        return;
                for (uint32_t i = 0; i < n; i++)
                        if (taken[i]) {
                                /* said only where names are published: --list just shows them */
                                if (m->sim->o->mdns)
                                        log_info("--mdns: device %u shares the name %s; renaming", i,
                                                 m->devices[i].name);
                                (void) rename_device(&m->devices[i]);
                                taken[i] = false;
                        }
        }
}

/* The fleet's names and the clients they are spread over; nothing is connected yet. */
static SimMdns *mdns_new(Sim *s) {
        SimMdns *m = xcalloc(1, sizeof(SimMdns));
        char name[ESP_OTA_HOSTNAME_MAX];

        m->sim = s;
        m->devices = xcalloc(s->n_devices ? s->n_devices : 1, sizeof(MdnsDevice));
        m->queue = xcalloc(s->n_devices ? s->n_devices : 1, sizeof(uint32_t));
        m->n_clients = (s->n_devices + GROUPS_PER_CLIENT - 1) / GROUPS_PER_CLIENT;
        m->clients = xcalloc(m->n_clients ? m->n_clients : 1, sizeof(MdnsClient));
        for (size_t k = 0; k < m->n_clients; k++) {
                MdnsClient *c = &m->clients[k];
                c->m = m;
                c->first = (uint32_t) k * GROUPS_PER_CLIENT;
                c->end = c->first + GROUPS_PER_CLIENT < s->n_devices ? c->first + GROUPS_PER_CLIENT
                                                                     : s->n_devices;
                for (uint32_t i = c->first; i < c->end; i++) {
                        MdnsDevice *md = &m->devices[i];
                        md->client = c;
                        md->name = xstrdup(esp_ota_hostname(&s->devices[i].esp, name));
                        md->host = xstrdup(name);
                }
        }
        rename_duplicates(m, s->n_devices);
        return m;
}

static void mdns_free(SimMdns *m) {
        for (uint32_t i = 0; i < m->sim->n_devices; i++) {
                free(m->devices[i].name);
                free(m->devices[i].host);
        }
        free(m->devices);
        free(m->queue);
        free(m->clients);
        free(m);
}

int sim_mdns_start(Sim *s) {
        SimMdns *m = mdns_new(s);

        m->avahi = avahi_loop_new(s->loop);
        s->mdns = m;
        for (size_t k = 0; k < m->n_clients; k++)
                client_connect(&m->clients[k]);
        return 0;
}

void sim_mdns_list(Sim *s) {
        SimMdns *m = mdns_new(s);
        char mac[MAC_STR_LEN + 1], addr[INET_ADDRSTRLEN];

        for (uint32_t i = 0; i < s->n_devices; i++) {
                const SimDevice *d = &s->devices[i];
                struct in_addr a = { .s_addr = htonl(s->o->mdns_addr_base + i) };
                printf("%u\t%s\t%s\t%s\t%s.local\t%s\n", i, platform_to_string(d->platform),
                       mac_format(d->esp.sta_mac, mac), m->devices[i].name, m->devices[i].host,
                       inet_ntop(AF_INET, &a, addr, sizeof(addr)));
        }
        mdns_free(m);
}

void sim_mdns_device_changed(Sim *s, SimDevice *d) {
        SimMdns *m = s->mdns;

        if (!m)
                return;
        uint32_t i = (uint32_t) (d - s->devices);
        if (wants(d))
                enqueue(m, i);
        else
                withdraw(&m->devices[i]);
}

void sim_mdns_stop(Sim *s) {
        SimMdns *m = s->mdns;

        if (!m)
                return;
        for (size_t k = 0; k < m->n_clients; k++) {
                MdnsClient *c = &m->clients[k];
                loop_timer_cancel(s->loop, &c->retry);
                if (c->client)
                        client_drop(c);
        }
        loop_timer_cancel(s->loop, &m->flush);
        avahi_loop_free(m->avahi);
        mdns_free(m);
        s->mdns = NULL;
}
