/* SPDX-License-Identifier: MIT */
/* Parsing of ESP8266/ESP32 update polls into a DeviceRequest. */
#include "flota/device-request.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "flota/esp-header.h"
#include "flota/strutil.h"

#define DEVICE_ID_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-"

/* Fields each core always sends; a poll without them is not from the stock client. */
#define REQUIRED_COMMON                                                                            \
        (1u << ESP_HEADER_FREE_SPACE | 1u << ESP_HEADER_SKETCH_SIZE | 1u << ESP_HEADER_CHIP_SIZE | \
         1u << ESP_HEADER_SDK | 1u << ESP_HEADER_MODE)

static _printf_(3, 4) int reject(RequestError *err, int status, const char *fmt, ...) {
        va_list ap;

        err->status = status;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof(err->message), fmt, ap);
        va_end(ap);
        return -EINVAL;
}

void device_request_init(DeviceRequest *r) {
        *r = (DeviceRequest) {
                .platform = _PLATFORM_INVALID,
                .free_space = -1,
                .sketch_size = -1,
                .chip_size = -1,
                .mode = UPDATE_MODE_SKETCH,
        };
}

static bool is_printable(const char *s) {
        for (; *s; s++)
                if ((unsigned char) *s < ' ' || *s == 0x7f)
                        return false;
        return true;
}

static int set_mac(char *dst, const char *prefix, EspHeader f, const char *value, RequestError *err) {
        if (mac_canonicalize(value, dst) < 0)
                return reject(err, 400, "%s%s: '%.40s' is not a MAC address", prefix,
                              esp_header_to_string(f), value);
        return 0;
}

static int set_number(int64_t *dst, const char *prefix, EspHeader f, const char *value, RequestError *err) {
        int64_t v;

        if (parse_i64(value, &v) < 0 || v < 0)
                return reject(err, 400, "%s%s: '%.40s' is not a byte count", prefix, esp_header_to_string(f),
                              value);
        *dst = v;
        return 0;
}

static int set_hex(char *dst, size_t len, const char *prefix, EspHeader f, const char *value,
                   RequestError *err) {
        if (*value == 0) /* the ESP8266 core sends an empty MD5 when it cannot read its flash */
                return 0;
        if (!is_hex(value, len))
                return reject(err, 400, "%s%s: expected %zu hex digits", prefix, esp_header_to_string(f),
                              len);
        memcpy(dst, value, len + 1);
        ascii_strlower(dst);
        return 0;
}

static int set_field(DeviceRequest *r, EspHeader f, const char *prefix, const char *value,
                     RequestError *err) {
        uint32_t chip;

        if (!is_printable(value))
                return reject(err, 400, "%s%s: control characters in value", prefix,
                              esp_header_to_string(f));
        switch (f) {
        case ESP_HEADER_STA_MAC: return set_mac(r->sta_mac, prefix, f, value, err);
        case ESP_HEADER_AP_MAC: return set_mac(r->ap_mac, prefix, f, value, err);
        case ESP_HEADER_BASE_MAC: return set_mac(r->base_mac, prefix, f, value, err);
        case ESP_HEADER_CHIP_ID:
                if (parse_u32(value, &chip) < 0)
                        return reject(err, 400, "%sChip-ID: '%.40s' is not a number", prefix, value);
                r->chip_id = chip;
                r->has_chip_id = true;
                return 0;
        case ESP_HEADER_FREE_SPACE: return set_number(&r->free_space, prefix, f, value, err);
        case ESP_HEADER_SKETCH_SIZE: return set_number(&r->sketch_size, prefix, f, value, err);
        case ESP_HEADER_CHIP_SIZE: return set_number(&r->chip_size, prefix, f, value, err);
        case ESP_HEADER_SKETCH_MD5: return set_hex(r->sketch_md5, MD5_HEX_LEN, prefix, f, value, err);
        case ESP_HEADER_SKETCH_SHA256:
                return set_hex(r->sketch_sha256, SHA256_HEX_LEN, prefix, f, value, err);
        case ESP_HEADER_SDK: strscpy(r->sdk, sizeof(r->sdk), value); return 0;
        case ESP_HEADER_MODE:
                r->mode = update_mode_from_string(value);
                if (r->mode < 0)
                        return reject(err, 400, "%smode: unknown mode '%.40s'", prefix, value);
                return 0;
        case ESP_HEADER_VERSION:
                if (!strscpy(r->version, sizeof(r->version), value))
                        return reject(err, 400, "%sversion: longer than %d bytes", prefix,
                                      DEVICE_VERSION_MAX);
                return 0;
        default: return 0;
        }
}

int device_request_add_header(DeviceRequest *r, const char *name, const char *value, RequestError *err) {
        /* most headers are the updater's or not interesting: test the first letter before anything else */
        if ((name[0] | 0x20) != 'x' && (name[0] | 0x20) != 'u')
                return 0;
        if (strcaseeq(name, "User-Agent")) {
                strscpy(r->user_agent, sizeof(r->user_agent), value);
                if (streq(value, "ESP8266-http-Update"))
                        r->platform = PLATFORM_ESP8266;
                else if (streq(value, "ESP32-http-Update"))
                        r->platform = PLATFORM_ESP32;
                return 0;
        }
        Platform platform;
        EspHeader f = esp_header_from_name(name, strlen(name), &platform);
        if (platform == PLATFORM_ESP8266)
                r->esp8266_headers = true;
        else if (platform == PLATFORM_ESP32)
                r->esp32_headers = true;
        if (f < 0)
                return 0;
        int k = set_field(r, f, esp_header_prefix(platform), value, err);
        if (k < 0)
                return k;
        r->seen |= 1u << f;
        return 0;
}

int device_request_add_query(DeviceRequest *r, const char *key, const char *value, RequestError *err) {
        r->query_form = true;
        if (streq(key, "k")) {
                if (!strscpy(r->product_key, sizeof(r->product_key), value) || !is_printable(value))
                        return reject(err, 400, "k: product key is malformed");
        } else if (streq(key, "s")) {
                if (device_id_normalize(value, r->device_id) < 0)
                        return reject(err, 400, "s: '%.40s' is neither a MAC address nor a chip id", value);
        } else if (streq(key, "v")) {
                if (!is_printable(value) || !strscpy(r->version, sizeof(r->version), value))
                        return reject(err, 400, "v: version is malformed or longer than %d bytes",
                                      DEVICE_VERSION_MAX);
        }
        return 0;
}

static int finish_headers(DeviceRequest *r, RequestError *err) {
        const char *prefix =
                esp_header_prefix(r->platform == PLATFORM_ESP32 ? PLATFORM_ESP32 : PLATFORM_ESP8266);
        bool right_headers = r->platform == PLATFORM_ESP32 ? r->esp32_headers : r->esp8266_headers;
        unsigned missing;

        if (r->platform < 0)
                return reject(err, 403,
                              "only the ESP8266/ESP32 update clients may poll here (User-Agent '%.40s')",
                              r->user_agent);
        if (!right_headers)
                return reject(err, 403, "missing the %s* headers of the update client", prefix);
        missing = REQUIRED_COMMON & ~r->seen;
        if (!(r->seen & (1u << ESP_HEADER_STA_MAC | 1u << ESP_HEADER_BASE_MAC)))
                missing |= 1u << ESP_HEADER_STA_MAC;
        for (int f = 0; f < _ESP_HEADER_MAX; f++)
                if (missing & (1u << f))
                        return reject(err, 403, "missing header %s%s", prefix, esp_header_to_string(f));
        strscpy(r->device_id, sizeof(r->device_id), r->base_mac[0] ? r->base_mac : r->sta_mac);
        return 0;
}

int device_request_finish(DeviceRequest *r, RequestError *err) {
        if (!r->query_form)
                return finish_headers(r, err);
        if (!r->device_id[0])
                return reject(err, 400, "query form needs s=<chip id or MAC>");
        /* the stock client sends its headers here too; they fill the check-in, s stays the identity */
        return 0;
}

int device_id_normalize(const char *s, char buf[static DEVICE_ID_MAX + 1]) {
        if (!s)
                return -EINVAL;
        if (mac_canonicalize(s, buf) == 0)
                return 0;
        /* a chip id or serial: a name that may also hold ':' */
        size_t n = strlen(s);
        if (n == 0 || n > DEVICE_ID_MAX || !isalnum((unsigned char) s[0]) || strspn(s, DEVICE_ID_CHARS) != n)
                return -EINVAL;
        strscpy(buf, DEVICE_ID_MAX + 1, s);
        return 0;
}
