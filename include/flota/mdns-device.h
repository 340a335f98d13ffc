/* SPDX-License-Identifier: MIT */
/*
 * Layer: model. What an mDNS service says about the device behind it: which firmware
 * announces it (ArduinoOTA, ESPHome, WLED, Tasmota, or a plain web server) and who the device
 * is. ESPHome and WLED put the MAC in TXT; ArduinoOTA's default host names carry the chip id
 * (ESP8266: the MAC's last 3 bytes) or the whole MAC (ESP32). Pure: no avahi here.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "flota/device-request.h"
#include "flota/firmware.h"

typedef enum MdnsKind {
        MDNS_KIND_ARDUINO_OTA,
        MDNS_KIND_ESPHOME,
        MDNS_KIND_WLED,
        MDNS_KIND_TASMOTA,
        MDNS_KIND_HTTP, /* a web server that says nothing more */
        _MDNS_KIND_MAX,
        _MDNS_KIND_INVALID = -EINVAL,
} MdnsKind;

const char *mdns_kind_to_string(MdnsKind k);

/* One TXT entry as it came off the wire: key and value, not NUL-terminated. */
typedef struct MdnsTxt {
        const char *key;
        size_t key_len;
        const char *value; /* NULL for a key without '=' */
        size_t value_len;
} MdnsTxt;

#define MDNS_TEXT_MAX 64

typedef struct MdnsDevice {
        MdnsKind kind;
        uint64_t mac;
        unsigned mac_bytes; /* 6: the whole MAC; 3: only its last three bytes (ESP8266 chip id); 0 */
        Platform platform;  /* _PLATFORM_INVALID when it does not say */
        char version[MDNS_TEXT_MAX +
                     1]; /* the firmware's own version when announced (ESPHome project_version) */
        char framework[MDNS_TEXT_MAX + 1]; /* the framework's release it runs (ESPHome's TXT version) */
        char board[MDNS_TEXT_MAX + 1];
        char name[MDNS_TEXT_MAX + 1]; /* the friendly name, else the host name without ".local" */
        char host[MDNS_TEXT_MAX + 1]; /* the host name without ".local", lowercase */
        bool auth;                    /* ArduinoOTA wants a password */
} MdnsDevice;

/*
 * Identifies the device behind a resolved service of type ("_arduino._tcp", ...), announced
 * as instance on host ("esp8266-1a2b3c.local"). Returns 0, or -ENODEV for a service that is
 * not a device flota knows (a plain _http._tcp printer, a TXT that contradicts its type).
 * Oversized or malformed TXT values are ignored, never trusted.
 */
int mdns_device_identify(const char *type, const char *instance, const char *host, const MdnsTxt *txt,
                         size_t n_txt, MdnsDevice *ret);

/*
 * The inventory id: the canonical MAC when all of it is known; with only its last three bytes
 * "esp8266-" (or "tasmota-") + those 6 lowercase hex digits, which the inventory merges with
 * the MAC that ends in them; else the host name.
 */
char *mdns_device_id(const MdnsDevice *d, char buf[static DEVICE_ID_MAX + 1]);
