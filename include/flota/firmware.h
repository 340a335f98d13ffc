/* SPDX-License-Identifier: MIT */
/* Layer: model. Firmware vocabulary: platforms, image kinds, update modes, and a release's metadata. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <inttypes.h>
#include <stdint.h>

#include "flota/hash.h"
#include "flota/time-util.h"

typedef enum Platform {
        PLATFORM_ESP8266,
        PLATFORM_ESP32,
        _PLATFORM_MAX,
        _PLATFORM_INVALID = -EINVAL,
} Platform;

/* What a release image is written to: the app partition or the filesystem partition. */
typedef enum ImageKind {
        IMAGE_KIND_SKETCH,
        IMAGE_KIND_FILESYSTEM,
        _IMAGE_KIND_MAX,
        _IMAGE_KIND_INVALID = -EINVAL,
} ImageKind;

/* What a polling device asks for (x-ESP8266-mode / x-ESP32-mode). */
typedef enum UpdateMode {
        UPDATE_MODE_SKETCH,
        UPDATE_MODE_FILESYSTEM,
        UPDATE_MODE_VERSION,
        _UPDATE_MODE_MAX,
        _UPDATE_MODE_INVALID = -EINVAL,
} UpdateMode;

const char *platform_to_string(Platform p);
Platform platform_from_string(const char *s);
const char *image_kind_to_string(ImageKind k);
ImageKind image_kind_from_string(const char *s);
const char *update_mode_to_string(UpdateMode m);
/* Accepts the mode words of both cores: sketch, spiffs, fatfs, littlefs, flashfs, version. */
UpdateMode update_mode_from_string(const char *s);
/* The image kind a mode installs (version queries are about sketches). */
ImageKind update_mode_image_kind(UpdateMode m);

#define VERSION_MAX 64

/* A stored release. Strings are owned by whoever owns the Release (see catalog.h). */
typedef struct Release {
        int64_t id;
        int64_t product_id;
        char *product;
        char *version;
        Platform platform;
        ImageKind kind;
        uint64_t size;
        char md5[MD5_HEX_LEN + 1];
        char sha256[SHA256_HEX_LEN + 1];
        /*
         * MD5 of what the device runs when that differs from the file: the image without its
         * signature (signed images), the inflated image (gzip; the bootloader inflates it).
         */
        char payload_md5[MD5_HEX_LEN + 1];
        uint64_t min_flash_size; /* 0: unknown */
        bool is_signed;
        bool compressed;
        char *chip;
        char *notes;
        usec_t created;
} Release;

void release_done(Release *r);
