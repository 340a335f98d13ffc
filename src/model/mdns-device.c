/* SPDX-License-Identifier: MIT */
/* Recognising ESP firmwares by their mDNS announcements (PROTOCOLS.md §3.1 and §5). */
#include "flota/mdns-device.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "flota/device-request.h"
#include "flota/mac.h"
#include "flota/strutil.h"

static const char *const kind_names[_MDNS_KIND_MAX] = {
        [MDNS_KIND_ARDUINO_OTA] = "arduino-ota", [MDNS_KIND_ESPHOME] = "esphome", [MDNS_KIND_WLED] = "wled",
        [MDNS_KIND_TASMOTA] = "tasmota",         [MDNS_KIND_HTTP] = "http",
};

const char *mdns_kind_to_string(MdnsKind k) {
        return k >= 0 && k < _MDNS_KIND_MAX ? kind_names[k] : NULL;
}

/* The value of key (case-insensitive, as DNS-SD says) copied into buf when printable; else NULL. */
static const char *txt_get(const MdnsTxt *txt, size_t n, const char *key,
                           char buf[static MDNS_TEXT_MAX + 1]) {
        size_t klen = strlen(key);

        for (size_t i = 0; i < n; i++) {
                if (txt[i].key_len != klen || strncasecmp(txt[i].key, key, klen) != 0)
                        continue;
                if (!txt[i].value || txt[i].value_len > MDNS_TEXT_MAX)
                        return NULL;
                for (size_t k = 0; k < txt[i].value_len; k++)
                        if (txt[i].value[k] < ' ' || txt[i].value[k] > '~')
                                return NULL;
                memcpy(buf, txt[i].value, txt[i].value_len);
                buf[txt[i].value_len] = 0;
                return buf; /* the first one counts, as DNS-SD says */
        }
        return NULL;
}

static void copy_text(char dst[static MDNS_TEXT_MAX + 1], const char *src) {
        if (src)
                (void) strscpy(dst, MDNS_TEXT_MAX + 1, src);
}

/* s is exactly n hex digits, any case. */
static bool hex_value(const char *s, size_t n, uint64_t *ret) {
        return strlen(s) == n && parse_hex_n(s, n, ret) == 0;
}

/* The host name without ".local" and a trailing dot, lowercased, into buf. */
static void short_host(const char *host, char buf[static MDNS_TEXT_MAX + 1]) {
        copy_text(buf, host ? host : "");
        size_t n = strlen(buf);
        if (n && buf[n - 1] == '.')
                buf[--n] = 0;
        if (n > 6 && strcasecmp(buf + n - 6, ".local") == 0)
                buf[n - 6] = 0;
        ascii_strlower(buf);
}

/*
 * ArduinoOTA's default host names: "esp8266-1a2b3c" (chip id: the MAC's last 3 bytes) and
 * "esp32-0123456789ab" (the whole MAC; also esp32s3-, esp32c3-... on newer chips).
 */
static void from_default_host(const char *host, MdnsDevice *d) {
        const char *dash = strchr(host, '-');
        uint64_t v;

        if (!dash)
                return;
        if ((size_t) (dash - host) == 7 && strncmp(host, "esp8266", 7) == 0 && hex_value(dash + 1, 6, &v)) {
                d->mac = v;
                d->mac_bytes = 3;
                d->platform = PLATFORM_ESP8266;
        } else if (strncmp(host, "esp32", 5) == 0 && hex_value(dash + 1, 12, &v)) {
                d->mac = v;
                d->mac_bytes = 6;
                d->platform = PLATFORM_ESP32;
        }
}

/* Tasmota's default host name: "tasmota-1A2B3C-4567" (the MAC's last 3 bytes, then chip id digits). */
static void from_tasmota_host(const char *host, MdnsDevice *d) {
        char hex[7];
        uint64_t v;

        if (strncmp(host, "tasmota-", 8) != 0 || strlen(host) < 14 || (host[14] != '-' && host[14] != 0))
                return;
        memcpy(hex, host + 8, 6);
        hex[6] = 0;
        if (hex_value(hex, 6, &v)) {
                d->mac = v;
                d->mac_bytes = 3;
        }
}

/* ESPHome and WLED: "mac" in TXT, 12 hex digits (or any notation mac_parse() takes). */
static void from_txt_mac(const MdnsTxt *txt, size_t n, MdnsDevice *d) {
        char buf[MDNS_TEXT_MAX + 1];
        uint64_t v;

        if (txt_get(txt, n, "mac", buf) && mac_parse(buf, &v) == 0) {
                d->mac = v;
                d->mac_bytes = 6;
        }
}

static Platform platform_from_text(const char *s) {
        if (!s)
                return _PLATFORM_INVALID;
        if (strncasecmp(s, "esp8266", 7) == 0)
                return PLATFORM_ESP8266;
        if (strncasecmp(s, "esp32", 5) == 0)
                return PLATFORM_ESP32;
        return _PLATFORM_INVALID;
}

static MdnsKind kind_of(const char *type, const MdnsTxt *txt, size_t n) {
        char buf[MDNS_TEXT_MAX + 1];

        if (strcasecmp(type, "_arduino._tcp") == 0)
                return MDNS_KIND_ARDUINO_OTA;
        if (strcasecmp(type, "_esphomelib._tcp") == 0)
                return MDNS_KIND_ESPHOME;
        if (strcasecmp(type, "_wled._tcp") == 0)
                return MDNS_KIND_WLED;
        if (strcasecmp(type, "_http._tcp") == 0) {
                const char *dt = txt_get(txt, n, "devicetype", buf);
                return dt && strcasecmp(dt, "tasmota") == 0 ? MDNS_KIND_TASMOTA : MDNS_KIND_HTTP;
        }
        return _MDNS_KIND_INVALID;
}

int mdns_device_identify(const char *type, const char *instance, const char *host, const MdnsTxt *txt,
                         size_t n_txt, MdnsDevice *ret) {
        char host_buf[MDNS_TEXT_MAX + 1], buf[MDNS_TEXT_MAX + 1];
        MdnsDevice d = { .platform = _PLATFORM_INVALID };

        d.kind = kind_of(type, txt, n_txt);
        if (d.kind < 0)
                return -ENODEV;
        short_host(host, host_buf);
        copy_text(d.name, host_buf);
        copy_text(d.host, host_buf);
        switch (d.kind) {
        case MDNS_KIND_ARDUINO_OTA:
                from_default_host(host_buf, &d);
                copy_text(d.board, txt_get(txt, n_txt, "board", buf));
                d.auth = txt_get(txt, n_txt, "auth_upload", buf) && strcasecmp(buf, "yes") == 0;
                if (d.platform < 0)
                        d.platform = platform_from_text(d.board);
                break;
        case MDNS_KIND_ESPHOME:
                from_txt_mac(txt, n_txt, &d);
                d.platform = platform_from_text(txt_get(txt, n_txt, "platform", buf));
                copy_text(d.board, txt_get(txt, n_txt, "board", buf));
                copy_text(d.version, txt_get(txt, n_txt, "project_version", buf));
                copy_text(d.framework, txt_get(txt, n_txt, "version", buf));
                copy_text(d.name, txt_get(txt, n_txt, "friendly_name", buf) ? buf : host_buf);
                break;
        case MDNS_KIND_WLED: from_txt_mac(txt, n_txt, &d); break;
        case MDNS_KIND_TASMOTA: from_tasmota_host(host_buf, &d); break;
        case MDNS_KIND_HTTP:
                /* a plain web server is a device only when its host name says so */
                from_default_host(host_buf, &d);
                if (d.mac_bytes == 0)
                        return -ENODEV;
                break;
        default: return -ENODEV;
        }
        /* without a MAC the host name is the id: it must be one */
        char id[DEVICE_ID_MAX + 1];
        if (d.mac_bytes == 0 && device_id_normalize(d.host, id) < 0)
                return -ENODEV;
        (void) instance;
        *ret = d;
        return 0;
}

char *mdns_device_id(const MdnsDevice *d, char buf[static DEVICE_ID_MAX + 1]) {
        if (d->mac_bytes == 6)
                return mac_format(d->mac, buf);
        if (d->mac_bytes == 3) {
                snprintf(buf, DEVICE_ID_MAX + 1, "%s-%06llx",
                         d->kind == MDNS_KIND_TASMOTA ? "tasmota" : "esp8266", (unsigned long long) d->mac);
                return buf;
        }
        (void) strscpy(buf, DEVICE_ID_MAX + 1, d->host);
        return buf;
}
