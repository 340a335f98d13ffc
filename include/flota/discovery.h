/* SPDX-License-Identifier: MIT */
/*
 * Layer: discovery. Finding devices on the LAN by mDNS/DNS-SD through avahi-client. avahi runs
 * on a thread of its own (src/discovery/discovery.c says why); the caller hears everything on
 * its own loop, in order, and never waits for avahi-daemon. Browses the service types asked
 * for, resolves each service once (host, address, port, TXT), and again on a schedule, within a
 * stock avahi-daemon's limits at any fleet size; reports services as they come, change and go
 * (a goodbye at once; a device that stops answering when its host records' TTL runs out).
 * When avahi-daemon is absent or restarts, it says so once, keeps the services it knew, and
 * reconnects by itself: services that still answer then are not reported again (UPDATED when
 * they changed), the others are REMOVED. Not thread-safe: call it from the loop's thread.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "flota/loop.h"
#include "flota/mdns-device.h"

#define DISCOVERY_TYPES_DEFAULT "_arduino._tcp,_esphomelib._tcp,_wled._tcp,_http._tcp"
#define DISCOVERY_ADDRESS_MAX 48
#define DISCOVERY_TXT_MAX 1024

typedef struct Discovery Discovery;

typedef enum DiscoveryEvent {
        DISCOVERY_ADDED,
        DISCOVERY_UPDATED, /* the same service with another address, port or TXT */
        DISCOVERY_REMOVED,
        DISCOVERY_DAEMON_DOWN, /* avahi-daemon is not there (or went away); services are kept */
        DISCOVERY_DAEMON_UP,   /* back after DAEMON_DOWN; known services are being confirmed */
} DiscoveryEvent;

const char *discovery_event_to_string(DiscoveryEvent e);

/* A resolved service; valid during the callback (REMOVED: as it was last resolved). */
typedef struct DiscoveryService {
        const char *type;
        const char *instance;
        const char *domain;
        const char *host;
        char address[DISCOVERY_ADDRESS_MAX];
        uint16_t port;
        char txt[DISCOVERY_TXT_MAX]; /* "key=value" lines, non-printable bytes shown as '?' */
        bool is_device;              /* device below is filled */
        MdnsDevice device;
} DiscoveryService;

/* service is NULL for the daemon events. Called on the loop's thread, from the loop. */
typedef void (*DiscoveryFn)(Discovery *d, DiscoveryEvent event, const DiscoveryService *service,
                            void *userdata);

/*
 * types: comma-separated service types (DISCOVERY_TYPES_DEFAULT). Never blocks: connecting to
 * avahi-daemon happens on discovery's thread. 0, -EINVAL (a bad type), -EMFILE and the like
 * (no eventfd) or -EAGAIN (no thread).
 */
int discovery_new(Loop *loop, const char *types, DiscoveryFn fn, void *userdata, Discovery **ret);
Discovery *discovery_free(Discovery *d);
/* Whether types is a list discovery_new() takes: 0 or -EINVAL. */
int discovery_types_validate(const char *types);
DEFINE_TRIVIAL_CLEANUP_FUNC(Discovery *, discovery_free);

/*
 * What a resolved device service tells the inventory (inventory_mdns_seen()), its strings
 * borrowed from s; id gets the device id mdns_device_id() guesses (the inventory may merge it
 * into a MAC it knows).
 */
typedef struct MdnsSighting MdnsSighting;
void discovery_sighting(const DiscoveryService *s, usec_t at, MdnsSighting *ret,
                        char id[static DEVICE_ID_MAX + 1]);

/* Whether avahi-daemon answers, as of the events handed out so far; why not, when it does not. */
bool discovery_running(const Discovery *d);
const char *discovery_error(const Discovery *d);
/* Services reported and not removed (each name once, whatever the interface or protocol). */
unsigned discovery_count(const Discovery *d);
