/* SPDX-License-Identifier: MIT */
/*
 * Fuzzes what flota makes of an mDNS announcement. The first byte picks the service type; the
 * first line is the host name, every further line a TXT entry ("key=value", or a key alone).
 */
#include <assert.h>
#include <string.h>

#include "flota/alloc.h"
#include "flota/mdns-device.h"
#include "fuzz.h"

#define ENTRIES_MAX 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static const char *const types[] = { "_arduino._tcp", "_esphomelib._tcp", "_wled._tcp", "_http._tcp",
                                             "_ipp._tcp" };
        MdnsTxt txt[ENTRIES_MAX];
        size_t n = 0;

        if (size < 1)
                return 0;
        const char *type = types[data[0] % (sizeof(types) / sizeof(types[0]))];
        const char *p = (const char *) data + 1, *end = (const char *) data + size;
        const char *nl = memchr(p, '\n', (size_t) (end - p));
        _cleanup_free_ char *host = xstrndup(p, nl ? (size_t) (nl - p) : (size_t) (end - p));
        for (p = nl ? nl + 1 : end; p < end && n < ENTRIES_MAX;) {
                const char *stop = memchr(p, '\n', (size_t) (end - p));
                if (!stop)
                        stop = end;
                const char *eq = memchr(p, '=', (size_t) (stop - p));
                txt[n++] = eq ? (MdnsTxt) { p, (size_t) (eq - p), eq + 1, (size_t) (stop - eq - 1) }
                              : (MdnsTxt) { p, (size_t) (stop - p), NULL, 0 };
                p = stop + 1;
        }

        MdnsDevice d;
        if (mdns_device_identify(type, "instance", host, txt, n, &d) < 0)
                return 0;
        char id[DEVICE_ID_MAX + 1], again[DEVICE_ID_MAX + 1];
        mdns_device_id(&d, id);
        /* whatever came in, the id is one the inventory accepts */
        assert(device_id_normalize(id, again) == 0);
        assert(strlen(d.name) <= MDNS_TEXT_MAX && strlen(d.board) <= MDNS_TEXT_MAX);
        assert(d.mac_bytes == 0 || d.mac_bytes == 3 || d.mac_bytes == 6);
        return 0;
}
