/* SPDX-License-Identifier: MIT */
/*
 * mDNS discovery with avahi-client on flota's loop (see discovery.h). avahi reports a service
 * once per interface and protocol; each report is an Entry with its resolver, and entries of
 * the same name, type and domain make one Group, which is what callers hear about.
 */
#include "flota/discovery.h"

#include <avahi-client/client.h>
#include <avahi-client/lookup.h>
#include <avahi-common/error.h>
#include <avahi-common/malloc.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "flota/alloc.h"
#include "flota/avahi-loop.h"
#include "flota/log.h"
#include "flota/strutil.h"

#define TXT_ENTRIES_MAX 64
/*
 * Creating a resolver is a blocking D-Bus call to avahi-daemon. New services wait in a queue
 * that is worked off for at most this long per loop turn, so a thousand arriving at once never
 * stall the loop.
 */
#define RESOLVE_BUDGET (3 * USEC_PER_MSEC)

typedef struct Group {
        char *name, *type, *domain;
        unsigned resolved;              /* entries of this group resolved now */
        bool announced;                 /* ADDED was reported */
        DiscoveryService last;
        struct Group *next;
} Group;

typedef struct Entry {
        AvahiIfIndex iface;
        AvahiProtocol proto;
        Group *group;
        AvahiServiceResolver *resolver;
        bool resolved;
        bool queued;                    /* waiting for its resolver */
        struct Entry *next;
} Entry;

struct Discovery {
        Loop *loop;
        AvahiLoop *avahi;
        AvahiClient *client;
        char **types;
        size_t n_types;
        AvahiServiceBrowser **browsers;
        Entry *entries;
        Group *groups;
        DiscoveryFn fn;
        void *userdata;
        bool running, down_reported;
        LoopTimerHandle restart;        /* a client to replace, from the loop */
        LoopTimerHandle drain;          /* resolvers still to create or to free */
        unsigned queued;
        AvahiServiceResolver **dead;    /* resolvers of services gone, freed from the loop too */
        size_t n_dead, alloc_dead;
        char error[128];
};

static const char *const event_names[] = {
        [DISCOVERY_ADDED] = "added",          [DISCOVERY_UPDATED] = "updated",   [DISCOVERY_REMOVED] = "removed",
        [DISCOVERY_DAEMON_DOWN] = "daemon-down", [DISCOVERY_DAEMON_UP] = "daemon-up",
};

const char *discovery_event_to_string(DiscoveryEvent e) {
        return e >= 0 && e <= DISCOVERY_DAEMON_UP ? event_names[e] : NULL;
}

/* ---- groups ---- */

static Group *group_find(Discovery *d, const char *name, const char *type, const char *domain, bool create) {
        for (Group *g = d->groups; g; g = g->next)
                if (streq(g->name, name) && streq(g->type, type) && streq(g->domain, domain))
                        return g;
        if (!create)
                return NULL;
        Group *g = xcalloc(1, sizeof(Group));
        g->name = xstrdup(name);
        g->type = xstrdup(type);
        g->domain = xstrdup(domain);
        g->next = d->groups;
        d->groups = g;
        return g;
}

static void group_drop(Discovery *d, Group *g) {
        for (Group **p = &d->groups; *p; p = &(*p)->next)
                if (*p == g) {
                        *p = g->next;
                        break;
                }
        free((char *) g->last.host);
        free(g->name);
        free(g->type);
        free(g->domain);
        free(g);
}

/* ---- entries ---- */

static void drain_queue(Loop *l, void *userdata);

static void schedule_drain(Discovery *d) {
        if (!loop_timer_is_pending(&d->drain))
                loop_timer_start(d->loop, loop_now(d->loop), drain_queue, d, &d->drain);
}

static void free_dead(Discovery *d) {
        while (d->n_dead > 0)
                avahi_service_resolver_free(d->dead[--d->n_dead]);
}

static Entry *entry_find(Discovery *d, AvahiIfIndex iface, AvahiProtocol proto, Group *g) {
        for (Entry *e = d->entries; e; e = e->next)
                if (e->iface == iface && e->proto == proto && e->group == g)
                        return e;
        return NULL;
}

static void entry_unlink(Discovery *d, Entry *e) {
        for (Entry **p = &d->entries; *p; p = &(*p)->next)
                if (*p == e) {
                        *p = e->next;
                        break;
                }
}

/* Forgets an entry; reports the group removed when it was the last one resolved. */
static void entry_drop(Discovery *d, Entry *e, bool report) {
        Group *g = e->group;

        entry_unlink(d, e);
        if (e->queued)
                d->queued--;
        if (e->resolver) {
                /* freeing is a blocking call too: a thousand goodbyes at once must not stall the loop */
                d->dead = xgrow(d->dead, &d->alloc_dead, d->n_dead + 1, sizeof(AvahiServiceResolver *));
                d->dead[d->n_dead++] = e->resolver;
                schedule_drain(d);
        }
        if (e->resolved)
                g->resolved--;
        free(e);
        for (Entry *o = d->entries; o; o = o->next)
                if (o->group == g)
                        return;                 /* still browsed elsewhere */
        if (g->announced && report)
                d->fn(d, DISCOVERY_REMOVED, &g->last, d->userdata);
        group_drop(d, g);
}

/* ---- resolving ---- */

/* TXT into "key=value" lines and MdnsTxt entries (pointing into pairs, freed by the caller). */
static size_t read_txt(AvahiStringList *list, DiscoveryService *s, MdnsTxt *txt, char **keys, char **values) {
        size_t n = 0, len = 0;

        for (AvahiStringList *l = list; l && n < TXT_ENTRIES_MAX; l = avahi_string_list_get_next(l)) {
                char *key = NULL, *value = NULL;
                size_t size = 0;
                if (avahi_string_list_get_pair(l, &key, &value, &size) < 0)
                        continue;
                keys[n] = key;
                values[n] = value;
                txt[n] = (MdnsTxt) { .key = key, .key_len = strlen(key), .value = value, .value_len = value ? size : 0 };
                int k = snprintf(s->txt + len, sizeof(s->txt) - len, "%s%s%.*s\n", key, value ? "=" : "",
                                 (int) (value ? size : 0), value ? value : "");
                if (k > 0 && (size_t) k < sizeof(s->txt) - len)
                        len += (size_t) k;
                n++;
        }
        for (char *c = s->txt; *c; c++)
                if ((*c < ' ' && *c != '\n') || *c > '~')
                        *c = '?';
        return n;
}

static void fill_service(DiscoveryService *s, const Group *g, const char *host, const AvahiAddress *a, uint16_t port,
                         AvahiStringList *list) {
        MdnsTxt txt[TXT_ENTRIES_MAX];
        char *keys[TXT_ENTRIES_MAX], *values[TXT_ENTRIES_MAX];

        *s = (DiscoveryService) { .type = g->type, .instance = g->name, .domain = g->domain, .host = host,
                                  .port = port };
        if (a)
                avahi_address_snprint(s->address, sizeof(s->address), a);
        size_t n = read_txt(list, s, txt, keys, values);
        s->is_device = mdns_device_identify(g->type, g->name, host, txt, n, &s->device) == 0;
        for (size_t i = 0; i < n; i++) {
                avahi_free(keys[i]);
                avahi_free(values[i]);
        }
}

static bool same_service(const DiscoveryService *a, const DiscoveryService *b) {
        return a->port == b->port && streq(a->address, b->address) && streq(a->txt, b->txt) &&
               streq(a->host ? a->host : "", b->host ? b->host : "");
}

static void resolve_cb(AvahiServiceResolver *r, AvahiIfIndex iface, AvahiProtocol proto, AvahiResolverEvent event,
                       const char *name, const char *type, const char *domain, const char *host,
                       const AvahiAddress *a, uint16_t port, AvahiStringList *txt, AvahiLookupResultFlags flags,
                       void *userdata) {
        Discovery *d = userdata;
        Group *g = group_find(d, name, type, domain, false);
        Entry *e = g ? entry_find(d, iface, proto, g) : NULL;
        DiscoveryService s;

        (void) r;
        (void) flags;
        if (!e)
                return;
        if (event != AVAHI_RESOLVER_FOUND) {
                log_debug("mdns: resolving %s.%s failed: %s", name, type,
                          avahi_strerror(avahi_client_errno(d->client)));
                return;         /* the browser's REMOVE or the next announcement settles it */
        }
        fill_service(&s, g, host, a, port, txt);
        /* the host name lives in avahi's buffers: keep a copy in the group */
        if (!e->resolved) {
                e->resolved = true;
                g->resolved++;
        }
        DiscoveryEvent ev = !g->announced ? DISCOVERY_ADDED : same_service(&g->last, &s) ? -1 : DISCOVERY_UPDATED;
        free((char *) g->last.host);
        g->last = s;
        g->last.type = g->type;
        g->last.instance = g->name;
        g->last.domain = g->domain;
        g->last.host = xstrdup(host ? host : "");
        g->announced = true;
        if ((int) ev >= 0)
                d->fn(d, ev, &g->last, d->userdata);
}

/* ---- browsing ---- */

static void start_resolver(Discovery *d, Entry *e) {
        Group *g = e->group;

        e->queued = false;
        d->queued--;
        e->resolver = avahi_service_resolver_new(d->client, e->iface, e->proto, g->name, g->type, g->domain,
                                                 AVAHI_PROTO_UNSPEC, 0, resolve_cb, d);
        if (!e->resolver)
                log_debug("mdns: cannot resolve %s.%s: %s", g->name, g->type,
                          avahi_strerror(avahi_client_errno(d->client)));
}

/*
 * Frees the resolvers of services gone, then creates queued ones, for RESOLVE_BUDGET in all;
 * the rest wait for the next turn.
 */
static void drain_queue(Loop *l, void *userdata) {
        Discovery *d = userdata;
        usec_t start = now_usec(CLOCK_MONOTONIC);

        while (d->n_dead > 0 && now_usec(CLOCK_MONOTONIC) - start < RESOLVE_BUDGET)
                avahi_service_resolver_free(d->dead[--d->n_dead]);
        /* one pass over the entries per turn (the order services get resolved in does not matter) */
        for (Entry *e = d->entries; e && d->queued > 0 && d->client; e = e->next) {
                if (now_usec(CLOCK_MONOTONIC) - start >= RESOLVE_BUDGET)
                        break;
                if (e->queued)
                        start_resolver(d, e);
        }
        if (d->queued > 0 || d->n_dead > 0)
                loop_timer_start(l, loop_now(l), drain_queue, d, &d->drain);
}

static void browse_cb(AvahiServiceBrowser *b, AvahiIfIndex iface, AvahiProtocol proto, AvahiBrowserEvent event,
                      const char *name, const char *type, const char *domain, AvahiLookupResultFlags flags,
                      void *userdata) {
        Discovery *d = userdata;
        Group *g;
        Entry *e;

        (void) b;
        (void) flags;
        switch (event) {
        case AVAHI_BROWSER_NEW:
                g = group_find(d, name, type, domain, true);
                if (entry_find(d, iface, proto, g))
                        return;
                e = xcalloc(1, sizeof(Entry));
                *e = (Entry) { .iface = iface, .proto = proto, .group = g, .next = d->entries, .queued = true };
                d->entries = e;
                d->queued++;
                schedule_drain(d);
                break;
        case AVAHI_BROWSER_REMOVE:
                g = group_find(d, name, type, domain, false);
                e = g ? entry_find(d, iface, proto, g) : NULL;
                if (e)
                        entry_drop(d, e, true);
                break;
        case AVAHI_BROWSER_FAILURE:
                snprintf(d->error, sizeof(d->error), "browsing failed: %s",
                         avahi_strerror(avahi_client_errno(d->client)));
                log_warning("mdns: %s", d->error);
                break;
        default:
                break;          /* ALL_FOR_NOW, CACHE_EXHAUSTED */
        }
}

static void browsers_free(Discovery *d, bool report) {
        while (d->entries)
                entry_drop(d, d->entries, report);
        free_dead(d);           /* before their client goes */
        for (size_t i = 0; d->browsers && i < d->n_types; i++)
                if (d->browsers[i]) {
                        avahi_service_browser_free(d->browsers[i]);
                        d->browsers[i] = NULL;
                }
}

static void browsers_start(Discovery *d) {
        for (size_t i = 0; i < d->n_types; i++) {
                d->browsers[i] = avahi_service_browser_new(d->client, AVAHI_IF_UNSPEC, AVAHI_PROTO_UNSPEC, d->types[i],
                                                           NULL, 0, browse_cb, d);
                if (!d->browsers[i])
                        log_warning("mdns: cannot browse %s: %s", d->types[i],
                                    avahi_strerror(avahi_client_errno(d->client)));
        }
}

/* ---- the client and the daemon ---- */

static void client_cb(AvahiClient *c, AvahiClientState state, void *userdata);

static void daemon_down(Discovery *d, const char *why) {
        browsers_free(d, true);
        snprintf(d->error, sizeof(d->error), "%s", why);
        d->running = false;
        if (!d->down_reported) {
                d->down_reported = true;
                d->fn(d, DISCOVERY_DAEMON_DOWN, NULL, d->userdata);
        }
}

static int client_start(Discovery *d) {
        int err = 0;

        d->client = avahi_client_new(avahi_loop_get(d->avahi), AVAHI_CLIENT_NO_FAIL, client_cb, d, &err);
        if (!d->client) {
                snprintf(d->error, sizeof(d->error), "cannot talk to avahi-daemon: %s", avahi_strerror(err));
                return -EIO;
        }
        return 0;
}

/* A client that failed is replaced from the loop, not inside its own callback. */
static void client_restart(Loop *l, void *userdata) {
        Discovery *d = userdata;

        (void) l;
        if (d->client)
                avahi_client_free(d->client);
        d->client = NULL;
        if (client_start(d) < 0)
                loop_timer_start(d->loop, loop_now(d->loop) + 2 * USEC_PER_SEC, client_restart, d, &d->restart);
}

static void client_cb(AvahiClient *c, AvahiClientState state, void *userdata) {
        Discovery *d = userdata;

        if (!d->client)
                d->client = c;          /* called from inside avahi_client_new() */
        switch (state) {
        case AVAHI_CLIENT_S_RUNNING:
                if (d->running)
                        return;
                d->running = true;
                d->error[0] = 0;
                if (d->down_reported) {
                        d->down_reported = false;
                        d->fn(d, DISCOVERY_DAEMON_UP, NULL, d->userdata);
                }
                browsers_start(d);
                break;
        case AVAHI_CLIENT_CONNECTING:
                daemon_down(d, "avahi-daemon is not running; waiting for it");
                break;
        case AVAHI_CLIENT_FAILURE:
                daemon_down(d, avahi_client_errno(c) == AVAHI_ERR_DISCONNECTED
                                       ? "avahi-daemon went away; waiting for it"
                                       : avahi_strerror(avahi_client_errno(c)));
                if (!loop_timer_is_pending(&d->restart))
                        loop_timer_start(d->loop, loop_now(d->loop), client_restart, d, &d->restart);
                break;
        default:
                break;          /* S_REGISTERING, S_COLLISION: about publishing, not browsing */
        }
}

static int parse_types(Discovery *d, const char *types) {
        _cleanup_free_ char *copy = xstrdup(types);
        size_t allocated = 0;

        for (char *save = NULL, *t = strtok_r(copy, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
                /* "_name._tcp" or "_name._udp" */
                size_t n = strlen(t);
                if (n < 7 || t[0] != '_' || (strcmp(t + n - 5, "._tcp") != 0 && strcmp(t + n - 5, "._udp") != 0))
                        return -EINVAL;
                d->types = xgrow(d->types, &allocated, d->n_types + 1, sizeof(char *));
                d->types[d->n_types++] = xstrdup(t);
        }
        return d->n_types > 0 ? 0 : -EINVAL;
}

int discovery_new(Loop *loop, const char *types, DiscoveryFn fn, void *userdata, Discovery **ret) {
        Discovery *d = xcalloc(1, sizeof(Discovery));
        int r;

        *d = (Discovery) { .loop = loop, .fn = fn, .userdata = userdata };
        r = parse_types(d, types ? types : DISCOVERY_TYPES_DEFAULT);
        if (r < 0) {
                discovery_free(d);
                return r;
        }
        d->browsers = xcalloc(d->n_types, sizeof(AvahiServiceBrowser *));
        d->avahi = avahi_loop_new(loop);
        r = client_start(d);
        if (r < 0) {
                /* not even a client without the daemon: D-Bus itself is missing; keep trying */
                d->fn(d, DISCOVERY_DAEMON_DOWN, NULL, d->userdata);
                d->down_reported = true;
                loop_timer_start(loop, loop_now(loop) + 2 * USEC_PER_SEC, client_restart, d, &d->restart);
        }
        *ret = d;
        return 0;
}

Discovery *discovery_free(Discovery *d) {
        if (!d)
                return NULL;
        browsers_free(d, false);
        while (d->groups)
                group_drop(d, d->groups);
        loop_timer_cancel(d->loop, &d->restart);
        loop_timer_cancel(d->loop, &d->drain);
        if (d->client)
                avahi_client_free(d->client);
        avahi_loop_free(d->avahi);
        for (size_t i = 0; i < d->n_types; i++)
                free(d->types[i]);
        free(d->types);
        free(d->browsers);
        free(d->dead);
        free(d);
        return NULL;
}

bool discovery_running(const Discovery *d) {
        return d->running;
}

const char *discovery_error(const Discovery *d) {
        return d->error;
}

unsigned discovery_count(const Discovery *d) {
        unsigned n = 0;
        for (const Group *g = d->groups; g; g = g->next)
                n += g->announced && g->resolved > 0;
        return n;
}
