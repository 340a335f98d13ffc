/* SPDX-License-Identifier: MIT */
/* The update clients' header names, one table. */
#include "flota/esp-header.h"

#include <string.h>
#include <strings.h>

#include "flota/macro.h"

static const char *const names[_ESP_HEADER_MAX] = {
        [ESP_HEADER_STA_MAC] = "STA-MAC",
        [ESP_HEADER_AP_MAC] = "AP-MAC",
        [ESP_HEADER_BASE_MAC] = "BASE-MAC",
        [ESP_HEADER_CHIP_ID] = "Chip-ID",
        [ESP_HEADER_FREE_SPACE] = "free-space",
        [ESP_HEADER_SKETCH_SIZE] = "sketch-size",
        [ESP_HEADER_SKETCH_MD5] = "sketch-md5",
        [ESP_HEADER_SKETCH_SHA256] = "sketch-sha256",
        [ESP_HEADER_CHIP_SIZE] = "chip-size",
        [ESP_HEADER_SDK] = "sdk-version",
        [ESP_HEADER_MODE] = "mode",
        [ESP_HEADER_VERSION] = "version",
};

const char *esp_header_to_string(EspHeader h) {
        return h >= 0 && h < _ESP_HEADER_MAX ? names[h] : NULL;
}

const char *esp_header_prefix(Platform p) {
        return p == PLATFORM_ESP8266 ? "x-ESP8266-" : p == PLATFORM_ESP32 ? "x-ESP32-" : NULL;
}

EspHeader esp_header_from_name(const char *name, size_t n, Platform *ret_platform) {
        static const Platform platforms[] = { PLATFORM_ESP8266, PLATFORM_ESP32 };

        *ret_platform = _PLATFORM_INVALID;
        for (size_t i = 0; i < ELEMENTSOF(platforms); i++) {
                const char *prefix = esp_header_prefix(platforms[i]);
                size_t k = strlen(prefix);
                if (n < k || strncasecmp(name, prefix, k) != 0)
                        continue;
                *ret_platform = platforms[i];
                for (EspHeader h = 0; h < _ESP_HEADER_MAX; h++)
                        if (n - k == strlen(names[h]) && strncasecmp(name + k, names[h], n - k) == 0)
                                return h;
                return _ESP_HEADER_INVALID;
        }
        return _ESP_HEADER_INVALID;
}
