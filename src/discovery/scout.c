/* SPDX-License-Identifier: MIT */
/*
 * The scout: avahi-client on a thread of its own (see discovery.c for why). One browser per
 * service type; every service a browser reports is resolved once, and the resolver freed once
 * it has answered, so a stock avahi-daemon (1,024 objects per client) serves any fleet size:
 * at most RESOLVERS_MAX resolvers exist at a time and the rest wait in a queue. Resolvers that
 * answered are freed when nothing waits, or as many as the services waiting need, not at once:
 * each free is a D-Bus round trip, and a fleet found at once is listed sooner without them.
 *
 * Afterwards each service is resolved again on a schedule (every 2 s for up to 200
 * services, stretched so that at most REFRESH_RATE resolves a second run for big fleets, at
 * most every REFRESH_MAX). A refresh that answers differently reports UPDATED (a moved
 * address, a new TXT); one that fails means the service's host records (SRV, A: 120 s TTL)
 * expired in the daemon's cache without the device answering a query, i.e. it went away
 * without a goodbye, and it is reported REMOVED. Its PTR stays cached far longer (75 min), so
 * the browser does not say so itself; such a service is tried again after 10 s, then less and
 * less often (every 5 min at most), and reported ADDED again when it answers. A goodbye
 * reaches the browser (REMOVE) and is reported at once.
 *
 * When avahi-daemon goes away the services are kept, not removed: the scout says the daemon
 * is down, waits for it, browses again, and resolves every known service once more; those that
 * answer stay (UPDATED when something changed), those that do not are REMOVED.
 */
#include "discovery-internal.h"

#include <avahi-client/client.h>
#include <avahi-client/lookup.h>
#include <avahi-common/error.h>
#include <avahi-common/malloc.h>
#include <avahi-common/timeval.h>
#include <stdio.h>
#include <string.h>

#include "flota/alloc.h"
#include "flota/log.h"
#include "flota/strutil.h"
#include "flota/time-util.h"

#define RESOLVERS_MAX 768 /* a stock avahi-daemon allows 1,024 objects per client */
#define TICK_MSEC 50
#define REFRESH_PER_TICK 10 /* 200 refreshes a second at most */
#define REFRESH_RATE 100    /* the schedule asks for no more than this many a second */
#define REFRESH_MIN (2 * USEC_PER_SEC)
#define REFRESH_MAX (60 * USEC_PER_SEC)
#define RETRY_PENDING (5 * USEC_PER_SEC)
#define RETRY_LOST (10 * USEC_PER_SEC) /* doubling after each failure, up to RETRY_LOST_MAX */
#define RETRY_LOST_MAX (300 * USEC_PER_SEC)
#define RESTART_MSEC 2000
#define BUCKETS 4096
#define WHERE_MAX 8
#define TXT_ENTRIES_MAX 64

typedef enum ServiceState {
        SERVICE_PENDING, /* never resolved: nothing reported yet */
        SERVICE_ONLINE,  /* ADDED was reported */
        SERVICE_LOST,    /* REMOVED was reported, the browser still lists it */
} ServiceState;

typedef struct Where {
        AvahiIfIndex iface;
        AvahiProtocol proto;
} Where;

typedef struct Service {
        Scout *scout;
        char *name, *type, *domain;
        unsigned hash;
        struct Service *hash_next;
        struct Service *prev, *next; /* every service */
        struct Service *queue_next;  /* waiting for a resolver */
        bool queued;
        Where where[WHERE_MAX]; /* where the browsers list it now */
        unsigned n_where;
        AvahiServiceResolver *resolver;
        bool answered; /* its resolver answered: free it when convenient */
        ServiceState state;
        bool stale; /* known before avahi-daemon restarted, not confirmed since */
        usec_t next_refresh;
        usec_t retry;          /* LOST: how long until the next try */
        DiscoveryService last; /* what was reported; last.host owned */
} Service;

struct Scout {
        const AvahiPoll *api;
        AvahiClient *client;
        char **types;
        size_t n_types;
        AvahiServiceBrowser **browsers;
        Service *buckets[BUCKETS];
        Service *all;
        unsigned n_services;
        Service *queue_head, *queue_tail;
        unsigned queue_len;
        unsigned resolvers; /* alive */
        AvahiTimeout *tick, *restart;
        bool running, down_reported;
        char error[DISCOVERY_ERROR_MAX];
        ScoutPostFn post;
        void *userdata;
};

/* ---- messages ---- */

DiscoveryMsg *discovery_msg_free(DiscoveryMsg *m) {
        if (m) {
                free(m->strings);
                free(m);
        }
        return NULL;
}

static void post(Scout *s, DiscoveryEvent event, const Service *v, bool quiet) {
        DiscoveryMsg *m = xcalloc(1, sizeof(DiscoveryMsg));

        m->event = event;
        m->quiet = quiet;
        snprintf(m->error, sizeof(m->error), "%s", s->error);
        if (v) {
                const char *in[] = { v->name, v->type, v->domain, v->last.host ? v->last.host : "" };
                size_t len[4], total = 0;
                for (size_t i = 0; i < 4; i++)
                        total += (len[i] = strlen(in[i])) + 1;
                m->service = v->last;
                m->strings = xmalloc(total);
                const char **out[] = { &m->service.instance, &m->service.type, &m->service.domain,
                                       &m->service.host };
                char *p = m->strings;
                for (size_t i = 0; i < 4; i++) {
                        memcpy(p, in[i], len[i] + 1);
                        *out[i] = p;
                        p += len[i] + 1;
                }
        }
        s->post(m, s->userdata);
}

/* ---- services ---- */

static unsigned hash_key(const char *name, const char *type, const char *domain) {
        unsigned h = 2166136261u;
        for (const char *const *p = (const char *const[]) { name, type, domain, NULL }; *p; p++) {
                for (const char *c = *p; *c; c++)
                        h = (h ^ (unsigned char) *c) * 16777619u;
                h = (h ^ 0xff) * 16777619u;
        }
        return h;
}

static Service *service_find(Scout *s, const char *name, const char *type, const char *domain) {
        unsigned h = hash_key(name, type, domain);

        for (Service *v = s->buckets[h % BUCKETS]; v; v = v->hash_next)
                if (v->hash == h && streq(v->name, name) && streq(v->type, type) && streq(v->domain, domain))
                        return v;
        return NULL;
}

static Service *service_add(Scout *s, const char *name, const char *type, const char *domain) {
        Service *v = xcalloc(1, sizeof(Service));

        v->scout = s;
        v->name = xstrdup(name);
        v->type = xstrdup(type);
        v->domain = xstrdup(domain);
        v->hash = hash_key(name, type, domain);
        v->hash_next = s->buckets[v->hash % BUCKETS];
        s->buckets[v->hash % BUCKETS] = v;
        v->next = s->all;
        if (s->all)
                s->all->prev = v;
        s->all = v;
        s->n_services++;
        return v;
}

static void resolver_drop(Scout *s, Service *v) {
        if (!v->resolver)
                return;
        avahi_service_resolver_free(v->resolver);
        v->resolver = NULL;
        v->answered = false;
        s->resolvers--;
}

static void queue_remove(Scout *s, Service *v) {
        Service *prev = NULL;

        if (!v->queued)
                return;
        for (Service *q = s->queue_head; q; prev = q, q = q->queue_next)
                if (q == v) {
                        if (prev)
                                prev->queue_next = q->queue_next;
                        else
                                s->queue_head = q->queue_next;
                        if (s->queue_tail == v)
                                s->queue_tail = prev;
                        s->queue_len--;
                        break;
                }
        v->queued = false;
        v->queue_next = NULL;
}

static void queue_push(Scout *s, Service *v) {
        if (v->queued || v->resolver)
                return;
        v->queued = true;
        v->queue_next = NULL;
        if (s->queue_tail)
                s->queue_tail->queue_next = v;
        else
                s->queue_head = v;
        s->queue_tail = v;
        s->queue_len++;
}

static Service *queue_pop(Scout *s) {
        Service *v = s->queue_head;

        if (!v)
                return NULL;
        s->queue_head = v->queue_next;
        if (!s->queue_head)
                s->queue_tail = NULL;
        s->queue_len--;
        v->queued = false;
        v->queue_next = NULL;
        return v;
}

static void service_drop(Scout *s, Service *v) {
        resolver_drop(s, v);
        queue_remove(s, v);
        for (Service **p = &s->buckets[v->hash % BUCKETS]; *p; p = &(*p)->hash_next)
                if (*p == v) {
                        *p = v->hash_next;
                        break;
                }
        if (v->prev)
                v->prev->next = v->next;
        else
                s->all = v->next;
        if (v->next)
                v->next->prev = v->prev;
        s->n_services--;
        free((char *) v->last.host);
        free(v->name);
        free(v->type);
        free(v->domain);
        free(v);
}

/* ---- resolving ---- */

/* TXT into "key=value" lines and MdnsTxt entries (pointing into keys and values, freed by the caller). */
static size_t read_txt(AvahiStringList *list, DiscoveryService *s, MdnsTxt *txt, char **keys,
                       char **values) {
        size_t n = 0, len = 0;

        for (AvahiStringList *l = list; l && n < TXT_ENTRIES_MAX; l = avahi_string_list_get_next(l)) {
                char *key = NULL, *value = NULL;
                size_t size = 0;
                if (avahi_string_list_get_pair(l, &key, &value, &size) < 0)
                        continue;
                keys[n] = key;
                values[n] = value;
                txt[n] = (MdnsTxt) {
                        .key = key, .key_len = strlen(key), .value = value, .value_len = value ? size : 0
                };
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

static void fill_service(DiscoveryService *s, const Service *v, const char *host, const AvahiAddress *a,
                         uint16_t port, AvahiStringList *list) {
        MdnsTxt txt[TXT_ENTRIES_MAX];
        char *keys[TXT_ENTRIES_MAX], *values[TXT_ENTRIES_MAX];

        *s = (DiscoveryService) {
                .type = v->type, .instance = v->name, .domain = v->domain, .host = host, .port = port
        };
        if (a)
                avahi_address_snprint(s->address, sizeof(s->address), a);
        size_t n = read_txt(list, s, txt, keys, values);
        s->is_device = mdns_device_identify(v->type, v->name, host, txt, n, &s->device) == 0;
        for (size_t i = 0; i < n; i++) {
                avahi_free(keys[i]);
                avahi_free(values[i]);
        }
}

static bool same_service(const DiscoveryService *a, const DiscoveryService *b) {
        return a->port == b->port && streq(a->address, b->address) && streq(a->txt, b->txt) &&
               streq(a->host ? a->host : "", b->host ? b->host : "");
}

/* How long until a service answered is resolved again: see the top of the file. */
static usec_t refresh_after(const Scout *s, const Service *v) {
        usec_t period = (usec_t) s->n_services * USEC_PER_SEC / REFRESH_RATE;

        if (period < REFRESH_MIN)
                period = REFRESH_MIN;
        if (period > REFRESH_MAX)
                period = REFRESH_MAX;
        /* spread: 75 % to 100 % of the period, so a fleet found at once is not refreshed at once */
        return period - (usec_t) ((v->hash ^ (unsigned) now_usec(CLOCK_MONOTONIC)) % (period / 4));
}

static void resolved(Scout *s, Service *v, const char *host, const AvahiAddress *a, uint16_t port,
                     AvahiStringList *txt) {
        DiscoveryService n;
        int event;

        fill_service(&n, v, host, a, port, txt);
        if (v->state != SERVICE_ONLINE)
                event = DISCOVERY_ADDED;
        else
                event = same_service(&v->last, &n) ? -1 : DISCOVERY_UPDATED;
        free((char *) v->last.host);
        v->last = n;
        v->last.host = xstrdup(host ? host : "");
        v->state = SERVICE_ONLINE;
        v->stale = false;
        v->retry = 0;
        v->next_refresh = now_usec(CLOCK_MONOTONIC) + refresh_after(s, v);
        if (event >= 0)
                post(s, event, v, false);
}

/* Returns false when v was dropped. */
static bool unresolved(Scout *s, Service *v) {
        if (v->state == SERVICE_ONLINE) {
                post(s, DISCOVERY_REMOVED, v, false);
                v->state = SERVICE_LOST;
        }
        if (v->n_where == 0) {
                /* known from before a daemon restart, neither browsed nor answering since */
                service_drop(s, v);
                return false;
        }
        v->stale = false;
        if (v->state == SERVICE_LOST)
                /* gone quiet: asked again less and less often (a dark fleet is no flood of queries) */
                v->retry = v->retry == 0                   ? RETRY_LOST
                           : v->retry * 2 > RETRY_LOST_MAX ? RETRY_LOST_MAX
                                                           : v->retry * 2;
        v->next_refresh = now_usec(CLOCK_MONOTONIC) + (v->state == SERVICE_LOST ? v->retry : RETRY_PENDING);
        return true;
}

static void resolve_cb(AvahiServiceResolver *r, AvahiIfIndex iface, AvahiProtocol proto,
                       AvahiResolverEvent event, const char *name, const char *type, const char *domain,
                       const char *host, const AvahiAddress *a, uint16_t port, AvahiStringList *txt,
                       AvahiLookupResultFlags flags, void *userdata) {
        Service *v = userdata;
        Scout *s = v->scout;

        (void) iface;
        (void) proto;
        (void) type;
        (void) domain;
        (void) flags;
        if (r != v->resolver)
                return;
        if (event == AVAHI_RESOLVER_FOUND) {
                /* it may answer again (a change) until the tick frees it: each answer counts */
                resolved(s, v, host, a, port, txt);
                v->answered = true;
                return;
        }
        log_debug("mdns: resolving %s.%s failed: %s", name, v->type,
                  avahi_strerror(avahi_client_errno(s->client)));
        if (unresolved(s, v))
                resolver_drop(s, v);
        /* else v and its resolver are gone already */
}

static void resolve_start(Scout *s, Service *v) {
        Where w = v->n_where > 0 ? v->where[0] : (Where) { AVAHI_IF_UNSPEC, AVAHI_PROTO_UNSPEC };

        v->resolver = avahi_service_resolver_new(s->client, w.iface, w.proto, v->name, v->type, v->domain,
                                                 AVAHI_PROTO_UNSPEC, 0, resolve_cb, v);
        if (!v->resolver) {
                log_debug("mdns: cannot resolve %s.%s: %s", v->name, v->type,
                          avahi_strerror(avahi_client_errno(s->client)));
                v->next_refresh = now_usec(CLOCK_MONOTONIC) + RETRY_PENDING;
                return;
        }
        s->resolvers++;
}

static void arm(Scout *s, AvahiTimeout **t, unsigned msec, AvahiTimeoutCallback cb) {
        struct timeval tv;

        avahi_elapse_time(&tv, msec, 0);
        if (*t)
                s->api->timeout_update(*t, &tv);
        else
                *t = s->api->timeout_new(s->api, &tv, cb, s);
}

/*
 * Frees resolvers that answered (all of them when nothing waits), starts resolvers for the
 * queue (services new or to confirm), then for the refreshes due.
 */
static void tick_cb(AvahiTimeout *t, void *userdata) {
        Scout *s = userdata;
        usec_t now = now_usec(CLOCK_MONOTONIC);
        unsigned budget = REFRESH_PER_TICK;

        (void) t;
        for (Service *v = s->all; v && (s->queue_len == 0 || s->resolvers + s->queue_len > RESOLVERS_MAX);
             v = v->next)
                if (v->resolver && v->answered)
                        resolver_drop(s, v);
        while (s->running && s->resolvers < RESOLVERS_MAX && s->queue_head)
                resolve_start(s, queue_pop(s));
        for (Service *v = s->all; v && s->running && budget > 0 && s->resolvers < RESOLVERS_MAX; v = v->next)
                if (!v->resolver && !v->queued && v->next_refresh <= now) {
                        resolve_start(s, v);
                        budget--;
                }
        arm(s, &s->tick, TICK_MSEC, tick_cb);
}

/* ---- browsing ---- */

static void where_add(Service *v, AvahiIfIndex iface, AvahiProtocol proto) {
        for (unsigned i = 0; i < v->n_where; i++)
                if (v->where[i].iface == iface && v->where[i].proto == proto)
                        return;
        if (v->n_where < WHERE_MAX)
                v->where[v->n_where++] = (Where) { iface, proto };
}

static void where_remove(Service *v, AvahiIfIndex iface, AvahiProtocol proto) {
        for (unsigned i = 0; i < v->n_where; i++)
                if (v->where[i].iface == iface && v->where[i].proto == proto) {
                        v->where[i] = v->where[--v->n_where];
                        return;
                }
}

static void browse_cb(AvahiServiceBrowser *b, AvahiIfIndex iface, AvahiProtocol proto,
                      AvahiBrowserEvent event, const char *name, const char *type, const char *domain,
                      AvahiLookupResultFlags flags, void *userdata) {
        Scout *s = userdata;
        Service *v;

        (void) b;
        (void) flags;
        switch (event) {
        case AVAHI_BROWSER_NEW:
                v = service_find(s, name, type, domain);
                if (!v)
                        v = service_add(s, name, type, domain);
                where_add(v, iface, proto);
                if (v->resolver || v->queued || (v->state == SERVICE_ONLINE && !v->stale))
                        break;
                /* at once when nothing waits before it: a device may be gone again within a second */
                if (!s->queue_head && s->resolvers < RESOLVERS_MAX)
                        resolve_start(s, v);
                else
                        queue_push(s, v);
                break;
        case AVAHI_BROWSER_REMOVE:
                v = service_find(s, name, type, domain);
                if (!v)
                        break;
                where_remove(v, iface, proto);
                if (v->n_where > 0)
                        break; /* still listed elsewhere */
                if (v->state == SERVICE_ONLINE)
                        post(s, DISCOVERY_REMOVED, v, false);
                service_drop(s, v);
                break;
        case AVAHI_BROWSER_FAILURE:
                log_warning("mdns: browsing failed: %s", avahi_strerror(avahi_client_errno(s->client)));
                break;
        default: break; /* ALL_FOR_NOW, CACHE_EXHAUSTED */
        }
}

static void browsers_free(Scout *s) {
        for (size_t i = 0; s->browsers && i < s->n_types; i++)
                if (s->browsers[i]) {
                        avahi_service_browser_free(s->browsers[i]);
                        s->browsers[i] = NULL;
                }
}

static void browsers_start(Scout *s) {
        for (size_t i = 0; i < s->n_types; i++) {
                s->browsers[i] = avahi_service_browser_new(s->client, AVAHI_IF_UNSPEC, AVAHI_PROTO_UNSPEC,
                                                           s->types[i], NULL, 0, browse_cb, s);
                if (!s->browsers[i])
                        log_warning("mdns: cannot browse %s: %s", s->types[i],
                                    avahi_strerror(avahi_client_errno(s->client)));
        }
}

/* ---- the client and the daemon ---- */

static void client_cb(AvahiClient *c, AvahiClientState state, void *userdata);
static void restart_cb(AvahiTimeout *t, void *userdata);

/* The daemon is gone: its objects are dead, the services are kept (see the top of the file). */
static void daemon_down(Scout *s, const char *why) {
        browsers_free(s);
        while (queue_pop(s))
                ;
        for (Service *v = s->all; v; v = v->next) {
                resolver_drop(s, v);
                v->n_where = 0;
        }
        snprintf(s->error, sizeof(s->error), "%s", why);
        s->running = false;
        if (!s->down_reported) {
                s->down_reported = true;
                post(s, DISCOVERY_DAEMON_DOWN, NULL, false);
        }
}

static void daemon_up(Scout *s) {
        s->running = true;
        s->error[0] = 0;
        post(s, DISCOVERY_DAEMON_UP, NULL, !s->down_reported);
        s->down_reported = false;
        for (Service *v = s->all; v; v = v->next) {
                v->stale = true;
                queue_push(s, v);
        }
        browsers_start(s);
}

static void client_start(Scout *s) {
        int err = 0;

        s->client = avahi_client_new(s->api, AVAHI_CLIENT_NO_FAIL, client_cb, s, &err);
        if (!s->client) {
                /* not even a client: D-Bus itself is missing; keep trying */
                char why[DISCOVERY_ERROR_MAX];
                snprintf(why, sizeof(why), "cannot talk to avahi-daemon: %s", avahi_strerror(err));
                daemon_down(s, why);
                arm(s, &s->restart, RESTART_MSEC, restart_cb);
        }
}

/* A client that failed is replaced from a timeout, not inside its own callback. */
static void restart_cb(AvahiTimeout *t, void *userdata) {
        Scout *s = userdata;

        (void) t;
        if (s->client)
                avahi_client_free(s->client);
        s->client = NULL;
        client_start(s);
}

static void client_cb(AvahiClient *c, AvahiClientState state, void *userdata) {
        Scout *s = userdata;

        if (!s->client)
                s->client = c; /* called from inside avahi_client_new() */
        switch (state) {
        case AVAHI_CLIENT_S_RUNNING:
                if (!s->running)
                        daemon_up(s);
                break;
        case AVAHI_CLIENT_CONNECTING: daemon_down(s, "avahi-daemon is not running; waiting for it"); break;
        case AVAHI_CLIENT_FAILURE:
                daemon_down(s, avahi_client_errno(c) == AVAHI_ERR_DISCONNECTED
                                       ? "avahi-daemon went away; waiting for it"
                                       : avahi_strerror(avahi_client_errno(c)));
                arm(s, &s->restart, 0, restart_cb);
                break;
        default: break; /* S_REGISTERING, S_COLLISION: about publishing, not browsing */
        }
}

static void start_cb(AvahiTimeout *t, void *userdata) {
        Scout *s = userdata;

        s->api->timeout_free(t);
        client_start(s);
        arm(s, &s->tick, TICK_MSEC, tick_cb);
}

Scout *scout_new(const AvahiPoll *api, char **types, size_t n_types, ScoutPostFn post_fn, void *userdata) {
        Scout *s = xcalloc(1, sizeof(Scout));

        s->api = api;
        s->types = types;
        s->n_types = n_types;
        s->browsers = xcalloc(n_types, sizeof(AvahiServiceBrowser *));
        s->post = post_fn;
        s->userdata = userdata;
        return s;
}

void scout_start(Scout *s) {
        struct timeval tv;

        avahi_elapse_time(&tv, 0, 0);
        (void) s->api->timeout_new(s->api, &tv, start_cb, s);
        /* the restart timeout exists from the start, disabled, so arm() only updates it */
        s->restart = s->api->timeout_new(s->api, NULL, restart_cb, s);
}

Scout *scout_free(Scout *s) {
        if (!s)
                return NULL;
        browsers_free(s);
        while (s->all)
                service_drop(s, s->all);
        if (s->client)
                avahi_client_free(s->client);
        if (s->tick)
                s->api->timeout_free(s->tick);
        if (s->restart)
                s->api->timeout_free(s->restart);
        for (size_t i = 0; i < s->n_types; i++)
                free(s->types[i]);
        free(s->types);
        free(s->browsers);
        free(s);
        return NULL;
}
