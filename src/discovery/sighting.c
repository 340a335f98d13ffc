/* SPDX-License-Identifier: MIT */
/* A resolved device service as the inventory takes it: one conversion for 'flota discover' and the
 * dashboard. */
#include "flota/discovery.h"
#include "flota/inventory.h"
#include "flota/strutil.h"

void discovery_sighting(const DiscoveryService *s, usec_t at, MdnsSighting *ret,
                        char id[static DEVICE_ID_MAX + 1]) {
        const MdnsDevice *m = &s->device;

        mdns_device_id(m, id);
        *ret = (MdnsSighting) {
                .device = id,
                .name = m->name,
                .kind = mdns_kind_to_string(m->kind),
                .host = m->host,
                .board = m->board,
                .txt = s->txt,
                .ip = s->address,
                .platform = m->platform >= 0 ? platform_to_string(m->platform) : "",
                .version = m->version,
                .framework = m->framework,
                .port = s->port,
                .at = at,
        };
}
