/* SPDX-License-Identifier: MIT */
/* The inventory's answer to "where is this device?" for pushes: address, port, kind, product. */
#include <string.h>

#include "flota/inventory.h"
#include "flota/mac.h"
#include "flota/strutil.h"
#include "store-internal.h"

static void copy(char *dst, size_t size, const char *src) {
        (void) strscpy(dst, size, src ? src : "");
}

int inventory_push_target(Store *s, const char *key, InventoryTarget *ret) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        char mac[MAC_STR_LEN + 1], host[DEVICE_ID_MAX + 8];
        int r, rc, found = 0;

        if (isempty(key))
                return -EINVAL;
        if (mac_canonicalize(key, mac) < 0)
                copy(mac, sizeof(mac), "");
        copy(host, sizeof(host), key);
        size_t n = strlen(host);
        if (n > 6 && streq(host + n - 6, ".local"))
                host[n - 6] = 0;
        r = store_prepare(
                s,
                "SELECT id, product, platform, version, ip, mdns_host, mdns_kind, mdns_port FROM devices"
                " WHERE id = ?1 OR id = ?2 OR (?3 <> '' AND (mdns_host = ?3 OR mdns_host = ?3 || '.local'"
                " OR name = ?3)) OR (ip <> '' AND ip = ?1) LIMIT 2",
                &st);
        if (r < 0)
                return r;
        store_bind_text(st, 1, key);
        store_bind_text(st, 2, mac);
        store_bind_text(st, 3, host);
        InventoryTarget t = {};
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                if (++found > 1)
                        return -ENOTUNIQ;
                copy(t.id, sizeof(t.id), store_column_text(st, 0));
                copy(t.product, sizeof(t.product), store_column_text(st, 1));
                copy(t.platform, sizeof(t.platform), store_column_text(st, 2));
                copy(t.version, sizeof(t.version), store_column_text(st, 3));
                copy(t.ip, sizeof(t.ip), store_column_text(st, 4));
                copy(t.host, sizeof(t.host), store_column_text(st, 5));
                copy(t.kind, sizeof(t.kind), store_column_text(st, 6));
                int port = sqlite3_column_int(st, 7);
                t.port = port > 0 && port < 65536 ? (unsigned) port : 0;
        }
        if (rc != SQLITE_DONE)
                return store_errno(rc);
        if (!found)
                return -ENOENT;
        *ret = t;
        return 0;
}
