/* SPDX-License-Identifier: MIT */
/*
 * Layer: discovery. Finding devices on the LAN by mDNS/DNS-SD through avahi-client, on flota's
 * own event loop. Browses the service types asked for, resolves each service (host, address,
 * port, TXT) and keeps the resolver running, so changes of TXT or address are seen; reports
 * services as they come, change and go (goodbye or expiry). When avahi-daemon is absent or
 * restarts, it says so once and reconnects by itself when the daemon is back.
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
        DISCOVERY_UPDATED,              /* the same service with another address, port or TXT */
        DISCOVERY_REMOVED,
        DISCOVERY_DAEMON_DOWN,          /* avahi-daemon is not there (or went away): services are gone */
        DISCOVERY_DAEMON_UP,
} DiscoveryEvent;

const char *discovery_event_to_string(DiscoveryEvent e);

/* A resolved service; valid during the callback. */
typedef struct DiscoveryService {
        const char *type;
        const char *instance;
        const char *domain;
        const char *host;
        char address[DISCOVERY_ADDRESS_MAX];
        uint16_t port;
        char txt[DISCOVERY_TXT_MAX];    /* "key=value" lines, non-printable bytes shown as '?' */
        bool is_device;                 /* device below is filled */
        MdnsDevice device;
} DiscoveryService;

/* service is NULL for the daemon events. */
typedef void (*DiscoveryFn)(Discovery *d, DiscoveryEvent event, const DiscoveryService *service, void *userdata);

/* types: comma-separated service types (DISCOVERY_TYPES_DEFAULT). 0, -EINVAL (a bad type) or -ENOMEM. */
int discovery_new(Loop *loop, const char *types, DiscoveryFn fn, void *userdata, Discovery **ret);
Discovery *discovery_free(Discovery *d);
DEFINE_TRIVIAL_CLEANUP_FUNC(Discovery *, discovery_free);

/* Whether avahi-daemon answers now; why not, when it does not. */
bool discovery_running(const Discovery *d);
const char *discovery_error(const Discovery *d);
/* Services resolved now (counting each name once, whatever the interface or protocol). */
unsigned discovery_count(const Discovery *d);
