/* SPDX-License-Identifier: MIT */
/*
 * Layer: model. The request headers of the stock update clients (ESP8266httpUpdate,
 * arduino-esp32 HTTPUpdate): "x-ESP8266-" or "x-ESP32-" and a field name. The one list of
 * them: flotad's poll parser (device-request.c) and the access-log formats (src/ingest) both
 * read header names through esp_header_from_name().
 */
#pragma once

#include <errno.h>
#include <stddef.h>

#include "flota/firmware.h"

typedef enum EspHeader {
        ESP_HEADER_STA_MAC,
        ESP_HEADER_AP_MAC,
        ESP_HEADER_BASE_MAC, /* ESP32 only */
        ESP_HEADER_CHIP_ID,  /* ESP8266 only */
        ESP_HEADER_FREE_SPACE,
        ESP_HEADER_SKETCH_SIZE,
        ESP_HEADER_SKETCH_MD5,
        ESP_HEADER_SKETCH_SHA256, /* ESP32 only */
        ESP_HEADER_CHIP_SIZE,
        ESP_HEADER_SDK,
        ESP_HEADER_MODE,
        ESP_HEADER_VERSION, /* sent when the sketch passes a version to the updater */
        _ESP_HEADER_MAX,
        _ESP_HEADER_INVALID = -EINVAL,
} EspHeader;

/* The field's name as the cores write it after the prefix ("STA-MAC", "sketch-md5"), or NULL. */
const char *esp_header_to_string(EspHeader h);

/* "x-ESP8266-" or "x-ESP32-"; NULL for another platform. */
const char *esp_header_prefix(Platform p);

/*
 * The field a header name of n bytes (any case, no NUL needed) names, with the core's platform
 * in *ret_platform; _ESP_HEADER_INVALID when it is not one of the clients' headers
 * (*ret_platform is then set when the prefix was one of theirs, else _PLATFORM_INVALID).
 */
EspHeader esp_header_from_name(const char *name, size_t n, Platform *ret_platform);
