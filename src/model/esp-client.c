/* SPDX-License-Identifier: MIT */
/* The stock ESP update clients, as the simulator plays them: request bytes and answer checks. */
#include "flota/esp-client.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "flota/image.h"
#include "flota/mac.h"
#include "flota/strutil.h"

static uint32_t mix32(uint32_t x) {
        x ^= x >> 16;
        x *= 0x7feb352d;
        x ^= x >> 15;
        x *= 0x846ca68b;
        x ^= x >> 16;
        return x;
}

/* Espressif OUIs, the first of each the one every fleet starts in. */
static const uint64_t ouis_esp8266[ESP_MAC_OUIS] = { 0x18fe34, 0x5ccf7f, 0x600194 };
static const uint64_t ouis_esp32[ESP_MAC_OUIS] = { 0x240ac4, 0x30aea4, 0x246f28 };

uint64_t esp_mac_space(Platform platform) {
        /* an ESP32's base MAC is even: its AP MAC is the next one */
        return platform == PLATFORM_ESP32 ? 1u << 23 : 1u << 24;
}

uint64_t esp_device_mac(Platform platform, uint32_t seed, uint32_t index, uint32_t attempt, unsigned oui) {
        uint32_t h = mix32(seed * 0x9e3779b9u ^ mix32(index + 1));

        if (attempt > 0)
                h = mix32(h + attempt * 0x85ebca6bu);
        oui %= ESP_MAC_OUIS;
        if (platform == PLATFORM_ESP32)
                return ouis_esp32[oui] << 24 | (h & 0xfffffe);
        return ouis_esp8266[oui] << 24 | (h & 0xffffff);
}

void esp_device_set_mac(EspDevice *d, uint64_t mac) {
        if (d->platform == PLATFORM_ESP32) {
                /* the STA MAC is the base MAC, the AP MAC the next one */
                d->base_mac = mac;
                d->sta_mac = mac;
                d->ap_mac = mac + 1;
        } else {
                /* the AP MAC is the locally administered twin; chip id = low 24 bits */
                d->sta_mac = mac;
                d->ap_mac = mac | 0x020000000000ull;
                d->chip_id = (uint32_t) (mac & 0xffffff);
        }
}

void esp_device_init(EspDevice *d, uint32_t seed, uint32_t index, Platform platform, const char *version) {
        uint32_t h = mix32(seed * 0x9e3779b9u ^ mix32(index + 1));
        char md5[MD5_HEX_LEN + 1], sha[SHA256_HEX_LEN + 1], tag[96];

        *d = (EspDevice) { .platform = platform };
        esp_device_set_mac(d, esp_device_mac(platform, seed, index, 0, 0));
        if (platform == PLATFORM_ESP32) {
                d->chip_size = 4u << 20;
                d->free_space = 1966080;
                d->sketch_size = 900000 + (h >> 24) * 256;
                strscpy(d->sdk, sizeof(d->sdk), "v4.4.7");
        } else {
                /* 4 MB boards (NodeMCU, D1 mini): 1 MB sketch area */
                d->chip_size = 4u << 20;
                d->free_space = 2076672;
                d->sketch_size = 350000 + (h >> 24) * 256;
                strscpy(d->sdk, sizeof(d->sdk), "2.2.2-dev(38a443e)");
        }
        /* until it is flashed with a real image, the sketch's checksums stand for its version */
        snprintf(tag, sizeof(tag), "%s:%s", platform_to_string(platform), version);
        md5_hex(tag, strlen(tag), md5);
        sha256_hex(tag, strlen(tag), sha);
        esp_device_run(d, version, md5, platform == PLATFORM_ESP32 ? sha : "", d->sketch_size);
}

char *esp_ota_hostname(const EspDevice *d, char buf[static ESP_OTA_HOSTNAME_MAX]) {
        if (d->platform == PLATFORM_ESP32)
                snprintf(buf, ESP_OTA_HOSTNAME_MAX, "esp32-%012llx",
                         (unsigned long long) (d->sta_mac & 0xffffffffffffull));
        else
                snprintf(buf, ESP_OTA_HOSTNAME_MAX, "esp8266-%06x", (unsigned) (d->chip_id & 0xffffff));
        return buf;
}

uint16_t esp_ota_port(const EspDevice *d) {
        return d->platform == PLATFORM_ESP32 ? 3232 : 8266;
}

const char *esp_ota_board(const EspDevice *d) {
        return d->platform == PLATFORM_ESP32 ? "esp32" : "generic";
}

void esp_device_run(EspDevice *d, const char *version, const char *md5, const char *sha256, uint64_t size) {
        strscpy(d->version, sizeof(d->version), version);
        strscpy(d->sketch_md5, sizeof(d->sketch_md5), md5);
        strscpy(d->sketch_sha256, sizeof(d->sketch_sha256), sha256 ? sha256 : "");
        d->sketch_size = size;
}

typedef struct Out {
        char *buf;
        size_t size, len;
        bool overflow;
} Out;

static _printf_(2, 3) void put(Out *o, const char *fmt, ...) {
        va_list ap;

        if (o->overflow)
                return;
        va_start(ap, fmt);
        int n = vsnprintf(o->buf + o->len, o->size - o->len, fmt, ap);
        va_end(ap);
        if (n < 0 || (size_t) n >= o->size - o->len)
                o->overflow = true;
        else
                o->len += (size_t) n;
}

static void put_host(Out *o, const EspPoll *p) {
        if (p->port == 80 || p->port == 443)
                put(o, "Host: %s\r\n", p->host);
        else
                put(o, "Host: %s:%u\r\n", p->host, p->port);
}

/* ESP8266HTTPClient::sendHeader order, then handleUpdate's headers, then sendRequest's Content-Length. */
static void format_esp8266(const EspDevice *d, const EspPoll *p, Out *o) {
        char sta[MAC_STR_LEN + 1], ap[MAC_STR_LEN + 1];

        put(o, "GET %s HTTP/1.0\r\n", p->path);
        put_host(o, p);
        put(o, "User-Agent: ESP8266-http-Update\r\n");
        if (p->authorization)
                put(o, "Authorization: Basic %s\r\n", p->authorization);
        put(o, "Connection: close\r\n");
        put(o, "x-ESP8266-Chip-ID: %u\r\n", d->chip_id);
        put(o, "x-ESP8266-STA-MAC: %s\r\n", mac_format(d->sta_mac, sta));
        put(o, "x-ESP8266-AP-MAC: %s\r\n", mac_format(d->ap_mac, ap));
        put(o, "x-ESP8266-free-space: %llu\r\n", (unsigned long long) d->free_space);
        put(o, "x-ESP8266-sketch-size: %llu\r\n", (unsigned long long) d->sketch_size);
        put(o, "x-ESP8266-sketch-md5: %s\r\n", d->sketch_md5);
        put(o, "x-ESP8266-chip-size: %llu\r\n", (unsigned long long) d->chip_size);
        put(o, "x-ESP8266-sdk-version: %s\r\n", d->sdk);
        put(o, "x-ESP8266-mode: %s\r\n", p->mode ? p->mode : "sketch");
        if (d->version[0])
                put(o, "x-ESP8266-version: %s\r\n", d->version);
        put(o, "Content-Length: 0\r\n\r\n");
}

/* HTTPClient (arduino-esp32) order: Host, User-Agent, Connection, Authorization, then HTTPUpdate's headers.
 */
static void format_esp32(const EspDevice *d, const EspPoll *p, Out *o) {
        char base[MAC_STR_LEN + 1], sta[MAC_STR_LEN + 1], ap[MAC_STR_LEN + 1];
        char sha[SHA256_HEX_LEN + 1];

        put(o, "GET %s HTTP/1.0\r\n", p->path);
        put_host(o, p);
        put(o, "User-Agent: ESP32-http-Update\r\n");
        put(o, "Connection: close\r\n");
        if (p->authorization)
                put(o, "Authorization: Basic %s\r\n", p->authorization);
        put(o, "Cache-Control: no-cache\r\n");
        put(o, "x-ESP32-BASE-MAC: %s\r\n", mac_format(d->base_mac, base));
        put(o, "x-ESP32-STA-MAC: %s\r\n", mac_format(d->sta_mac, sta));
        put(o, "x-ESP32-AP-MAC: %s\r\n", mac_format(d->ap_mac, ap));
        put(o, "x-ESP32-free-space: %llu\r\n", (unsigned long long) d->free_space);
        put(o, "x-ESP32-sketch-size: %llu\r\n", (unsigned long long) d->sketch_size);
        if (d->sketch_md5[0])
                put(o, "x-ESP32-sketch-md5: %s\r\n", d->sketch_md5);
        if (d->sketch_sha256[0]) {
                /* esp_partition_get_sha256 is printed with uppercase hex digits */
                strscpy(sha, sizeof(sha), d->sketch_sha256);
                for (char *c = sha; *c; c++)
                        if (*c >= 'a' && *c <= 'f')
                                *c = (char) (*c - 'a' + 'A');
                put(o, "x-ESP32-sketch-sha256: %s\r\n", sha);
        }
        put(o, "x-ESP32-chip-size: %llu\r\n", (unsigned long long) d->chip_size);
        put(o, "x-ESP32-sdk-version: %s\r\n", d->sdk);
        put(o, "x-ESP32-mode: %s\r\n", p->mode ? p->mode : "sketch");
        if (d->version[0])
                put(o, "x-ESP32-version: %s\r\n", d->version);
        put(o, "\r\n");
}

int esp_poll_format(const EspDevice *d, const EspPoll *p, char *buf, size_t size) {
        Out o = { .buf = buf, .size = size };

        if (size == 0)
                return -ENOBUFS;
        if (d->platform == PLATFORM_ESP32)
                format_esp32(d, p, &o);
        else
                format_esp8266(d, p, &o);
        return o.overflow ? -ENOBUFS : (int) o.len;
}

int esp_judge_head(const EspDevice *d, const char *mode, const EspHead *h) {
        bool esp32 = d->platform == PLATFORM_ESP32;

        switch (h->status) {
        case 304: return ESP_NO_UPDATES;
        case 204: return esp32 ? ESP_NO_UPDATES : ESP_ERR_SERVER_WRONG_HTTP_CODE;
        case 404: return ESP_ERR_SERVER_FILE_NOT_FOUND;
        case 403: return ESP_ERR_SERVER_FORBIDDEN;
        case 401: return esp32 ? ESP_ERR_SERVER_WRONG_HTTP_CODE : ESP_ERR_SERVER_UNAUTHORIZED;
        case 200: break;
        default: return ESP_ERR_SERVER_WRONG_HTTP_CODE;
        }
        if (mode && streq(mode, "version"))
                return h->version[0] ? ESP_VERSION_REPORTED : ESP_ERR_SERVER_NOT_REPORT_VERSION;
        if (!h->has_length || h->length == 0)
                return ESP_ERR_SERVER_NOT_REPORT_SIZE;
        if (h->length > d->free_space)
                return ESP_ERR_TOO_LESS_SPACE;
        if (h->md5[0] && strlen(h->md5) != MD5_HEX_LEN)
                return ESP_ERR_SERVER_FAULTY_MD5;
        return 0;
}

int esp_judge_magic(const EspDevice *d, const uint8_t *first, size_t n) {
        if (n == 0)
                return ESP_ERR_BIN_VERIFY_HEADER_FAILED;
        if (d->platform == PLATFORM_ESP32)
                return first[0] == IMAGE_HEADER_MAGIC ? 0 : ESP_ERR_BIN_VERIFY_HEADER_FAILED;
        if (first[0] == 0x1f)
                return 0;
        if (first[0] != IMAGE_HEADER_MAGIC)
                return ESP_ERR_BIN_VERIFY_HEADER_FAILED;
        if (n >= 4 && esp8266_flash_size(first[3] >> 4) > d->chip_size)
                return ESP_ERR_BIN_FOR_WRONG_FLASH;
        return 0;
}

int esp_judge_body(const EspDevice *d, const EspHead *h, const char *md5_hex, const char *sha256_hex) {
        if (h->md5[0] && !strcaseeq(h->md5, md5_hex))
                return ESP_ERR_UPDATER_MD5;
        if (d->platform == PLATFORM_ESP32 && h->sha256[0] && !strcaseeq(h->sha256, sha256_hex))
                return ESP_ERR_SERVER_NOT_REPORT_VERSION; /* -109 is HTTP_UE_SERVER_FAULTY_SHA256 on ESP32 */
        return 0;
}

const char *esp_outcome_name(int outcome) {
        switch (outcome) {
        case ESP_UPDATE_OK: return "ok";
        case ESP_NO_UPDATES: return "no-updates";
        case ESP_VERSION_REPORTED: return "version";
        case ESP_ERR_TOO_LESS_SPACE: return "-100 too-less-space";
        case ESP_ERR_SERVER_NOT_REPORT_SIZE: return "-101 server-not-report-size";
        case ESP_ERR_SERVER_FILE_NOT_FOUND: return "-102 server-file-not-found";
        case ESP_ERR_SERVER_FORBIDDEN: return "-103 server-forbidden";
        case ESP_ERR_SERVER_WRONG_HTTP_CODE: return "-104 server-wrong-http-code";
        case ESP_ERR_SERVER_FAULTY_MD5: return "-105 server-faulty-md5";
        case ESP_ERR_BIN_VERIFY_HEADER_FAILED: return "-106 bin-verify-header-failed";
        case ESP_ERR_BIN_FOR_WRONG_FLASH: return "-107 bin-for-wrong-flash";
        case ESP_ERR_SERVER_UNAUTHORIZED: return "-108 server-unauthorized";
        case ESP_ERR_SERVER_NOT_REPORT_VERSION: return "-109 server-not-report-version";
        case ESP_ERR_CONNECTION: return "-1 connection-failed";
        case ESP_ERR_UPDATER_MD5: return "7 md5-verification-failed";
        case ESP_ERR_UPDATER_STREAM: return "6 stream-read-timeout";
        default: return "unknown";
        }
}
