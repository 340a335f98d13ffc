/* SPDX-License-Identifier: MIT */
/*
 * Layer: model. A device's update poll, parsed from the headers of the stock
 * ESP8266httpUpdate / ESP32 HTTPUpdate clients or from the query form
 * (?k=<product key>&s=<chip id or MAC>&v=<version>). Pure: the HTTP layer feeds
 * names and values; nothing here knows about sockets or libmicrohttpd.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "flota/firmware.h"
#include "flota/hash.h"
#include "flota/mac.h"

#define DEVICE_ID_MAX 64
#define DEVICE_VERSION_MAX 127
#define REQUEST_ERROR_MAX 160

/* Fields the client sends; text fields are "" and numbers -1 when absent. */
typedef struct DeviceRequest {
        Platform platform;                 /* from User-Agent; _PLATFORM_INVALID when unknown */
        char device_id[DEVICE_ID_MAX + 1]; /* identity: BASE-MAC, STA-MAC or the query's s */
        char sta_mac[MAC_STR_LEN + 1];
        char ap_mac[MAC_STR_LEN + 1];
        char base_mac[MAC_STR_LEN + 1];
        bool has_chip_id;
        uint32_t chip_id;
        char version[DEVICE_VERSION_MAX + 1];
        char sketch_md5[MD5_HEX_LEN + 1];       /* lowercase */
        char sketch_sha256[SHA256_HEX_LEN + 1]; /* lowercase */
        int64_t free_space;
        int64_t sketch_size;
        int64_t chip_size;
        char sdk[48];
        UpdateMode mode;
        char user_agent[64];
        char product_key[65]; /* query k */
        bool query_form;

        /* parser state */
        unsigned seen; /* bit set of header fields present */
        bool esp8266_headers, esp32_headers;
} DeviceRequest;

typedef struct RequestError {
        int status; /* HTTP status to answer with (400, 403) */
        char message[REQUEST_ERROR_MAX];
} RequestError;

void device_request_init(DeviceRequest *r);

/*
 * Feeds one request header (name matched case-insensitively). Headers that are not
 * the updater's are ignored. Returns 0, or -EINVAL with *err set for a malformed value.
 */
int device_request_add_header(DeviceRequest *r, const char *name, const char *value, RequestError *err);

/* Feeds one query argument of the query form (k, s, v). 0 or -EINVAL with *err. */
int device_request_add_query(DeviceRequest *r, const char *key, const char *value, RequestError *err);

/*
 * Checks that the request is complete: the header form needs the updater's User-Agent and
 * headers (else 403); the query form needs s. Sets device_id. 0 or -EINVAL with *err.
 */
int device_request_finish(DeviceRequest *r, RequestError *err);

/*
 * Normalises a device identity given by a person or a client: a MAC in any common form
 * becomes the canonical "AA:BB:CC:DD:EE:FF"; otherwise 1..64 bytes of [A-Za-z0-9._:-]
 * starting with a letter or digit (a chip id) are kept as they are. 0 or -EINVAL.
 */
int device_id_normalize(const char *s, char buf[static DEVICE_ID_MAX + 1]);
