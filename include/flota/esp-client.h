/* SPDX-License-Identifier: MIT */
/*
 * Layer: model. The device side of the update protocol: what a stock ESP8266httpUpdate /
 * ESP32 HTTPUpdate client sends (byte for byte, PROTOCOLS.md 1.1 and 2) and how it judges
 * the answer (its error codes). Pure: no sockets; the simulator and tests drive it.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "flota/firmware.h"
#include "flota/hash.h"

/* A device as the update client reports it. */
typedef struct EspDevice {
        Platform platform;
        uint64_t sta_mac;
        uint64_t ap_mac;
        uint64_t base_mac; /* ESP32 */
        uint32_t chip_id;  /* ESP8266 */
        uint64_t chip_size;
        uint64_t free_space;
        uint64_t sketch_size;
        char sdk[32];
        char version[VERSION_MAX + 1];
        char sketch_md5[MD5_HEX_LEN + 1];
        char sketch_sha256[SHA256_HEX_LEN + 1];
} EspDevice;

/*
 * A stable identity for device index of a fleet made from seed: MACs, chip id, flash and
 * free space, SDK, running version (with a sketch MD5 that stands for that version).
 */
void esp_device_init(EspDevice *d, uint32_t seed, uint32_t index, Platform platform, const char *version);

/*
 * MACs. esp_device_init() gives device index of a fleet esp_device_mac(platform, seed, index,
 * 0, 0); the hash can repeat, so a fleet that needs its MACs unique (flota-sim) takes another
 * attempt, or another of the ESP_MAC_OUIS Espressif OUIs of the platform, for a device whose
 * MAC is taken, and sets it with esp_device_set_mac() (STA, AP and base MAC, chip id).
 * esp_mac_space() is how many MACs one OUI holds for the platform.
 */
#define ESP_MAC_OUIS 3
uint64_t esp_device_mac(Platform platform, uint32_t seed, uint32_t index, uint32_t attempt, unsigned oui);
void esp_device_set_mac(EspDevice *d, uint64_t mac);
uint64_t esp_mac_space(Platform platform);

/*
 * How ArduinoOTA advertises the device over mDNS (PROTOCOLS.md 3.1), with the default host
 * name: "esp8266-%06x" of the chip id, "esp32-%012x" of the MAC (lowercase), which is also
 * the _arduino._tcp instance name; the OTA port (8266, 3232) and the TXT "board" value
 * (the boards.txt id "generic" on ESP8266, ARDUINO_VARIANT "esp32" on ESP32).
 */
#define ESP_OTA_HOSTNAME_MAX 19
char *esp_ota_hostname(const EspDevice *d, char buf[static ESP_OTA_HOSTNAME_MAX]);
uint16_t esp_ota_port(const EspDevice *d);
const char *esp_ota_board(const EspDevice *d);

/* Sets the running image: version and the MD5/SHA-256 the device will report. */
void esp_device_run(EspDevice *d, const char *version, const char *md5, const char *sha256, uint64_t size);

typedef struct EspPoll {
        const char *host; /* as in the URL the sketch passed */
        uint16_t port;
        const char *path;          /* with its query, e.g. "/update/door" or "/update?k=..&s=..&v=.." */
        const char *mode;          /* "sketch" (default), "spiffs", "version" */
        const char *authorization; /* base64 of user:pass for setAuthorization, or NULL */
} EspPoll;

/*
 * Writes the exact request the device's core sends into buf (size bytes). Returns the length,
 * or -ENOBUFS when it does not fit.
 */
int esp_poll_format(const EspDevice *d, const EspPoll *p, char *buf, size_t size);

/* Outcomes, with the numbers the cores' getLastError() reports. */
enum {
        ESP_UPDATE_OK = 0,        /* image written and verified */
        ESP_NO_UPDATES = 1,       /* 304 (ESP32 newest: also 204) */
        ESP_VERSION_REPORTED = 2, /* version mode: 200 with x-version */
        ESP_ERR_TOO_LESS_SPACE = -100,
        ESP_ERR_SERVER_NOT_REPORT_SIZE = -101,
        ESP_ERR_SERVER_FILE_NOT_FOUND = -102,
        ESP_ERR_SERVER_FORBIDDEN = -103,
        ESP_ERR_SERVER_WRONG_HTTP_CODE = -104,
        ESP_ERR_SERVER_FAULTY_MD5 = -105,
        ESP_ERR_BIN_VERIFY_HEADER_FAILED = -106,
        ESP_ERR_BIN_FOR_WRONG_FLASH = -107,
        ESP_ERR_SERVER_UNAUTHORIZED = -108,       /* ESP8266; on ESP32 -108 means "no partition" */
        ESP_ERR_SERVER_NOT_REPORT_VERSION = -109, /* ESP8266; ESP32: faulty SHA-256 */
        ESP_ERR_CONNECTION = -1,                  /* HTTPClient: connection failed / timed out */
        ESP_ERR_UPDATER_MD5 = 7,                  /* Updater: MD5 verification failed */
        ESP_ERR_UPDATER_STREAM = 6,               /* Updater: stream read timeout / short body */
};

/* What the client does after the status line and headers. */
typedef struct EspHead {
        int status;
        bool has_length;
        uint64_t length;
        char md5[64];                  /* x-MD5 as sent ("" when absent) */
        char sha256[80];               /* x-SHA256 as sent */
        char version[VERSION_MAX + 1]; /* x-version */
} EspHead;

/*
 * Judges the head as the core does: returns ESP_NO_UPDATES, ESP_VERSION_REPORTED, a negative
 * error code, or 0 when the body must be read (an update begins).
 */
int esp_judge_head(const EspDevice *d, const char *mode, const EspHead *h);

/* Checks the first bytes of the body as the core does (magic byte, flash size). 0 or an error code. */
int esp_judge_magic(const EspDevice *d, const uint8_t *first, size_t n);

/* Checks a complete body against x-MD5 / x-SHA256. 0 or an error code. */
int esp_judge_body(const EspDevice *d, const EspHead *h, const char *md5_hex, const char *sha256_hex);

/* A short name for an outcome ("ok", "no-updates", "-100 too-less-space", ...); never NULL. */
const char *esp_outcome_name(int outcome);
