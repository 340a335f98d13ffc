/* SPDX-License-Identifier: MIT */
/*
 * Layer: model. Firmware image inspection: what an uploaded .bin is, and whether a
 * device could boot it. Pure functions over a byte buffer; no I/O.
 *
 * Recognised sketch images:
 *  - ESP8266 Arduino: a 0xE9 image at 0 (eboot, checksum verified) and the app image at
 *    4096, in the layout of each core's elf2bin: 3.x keeps length/CRC words at 4112/4116,
 *    2.7.x at 4088/4092 (both verified), up to 2.6 none (the app checksum is verified).
 *  - ESP8266 plain: a single 0xE9 image without eboot (checksum verified).
 *  - ESP8266 signed: any of the above followed by SIGNATURE || uint32_le(len).
 *  - ESP8266 gzip (0x1F 0x8B), optionally signed: inflated whole (zlib checks its CRC-32
 *    and length) and the inflated bytes must be one of the ESP8266 images above. The ESP32
 *    cores do not take gzip, so a gzipped ESP32 image is refused.
 *  - ESP32 family: 0xE9 header + extended header (chip id), segments, checksum and,
 *    when flagged, the appended SHA-256; the app descriptor gives version and project.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "flota/firmware.h"

#define IMAGE_ERROR_MAX 160
#define IMAGE_HEADER_MAGIC 0xE9
#define ESP_APP_DESC_MAGIC 0xABCD5432u

/* How an ESP8266 image is laid out; the Arduino core version that builds it that way. */
typedef enum Esp8266Layout {
        ESP8266_LAYOUT_PLAIN,    /* one image, no eboot (or not ESP8266) */
        ESP8266_LAYOUT_CORE_26,  /* eboot + app, no CRC: core <= 2.6 */
        ESP8266_LAYOUT_CORE_27X, /* eboot + app, length/CRC at 4088/4092: core 2.7.x */
        ESP8266_LAYOUT_CORE_3X,  /* eboot + app, length/CRC at 4112/4116: core 3.x */
        _ESP8266_LAYOUT_MAX,
} Esp8266Layout;

typedef struct ImageInfo {
        Platform platform;
        Esp8266Layout layout;
        char chip[16];           /* "esp8266", "esp32", "esp32-s3", ... */
        bool compressed;         /* gzip */
        bool is_signed;          /* ESP8266 signature trailer present */
        size_t payload_size;     /* bytes the device keeps: size without the signature trailer */
        uint64_t min_flash_size; /* flash size the ESP8266 header asks for; 0 when unknown */
        size_t inflated_size;    /* gzip: the image the bootloader writes; 0 when not compressed */
        char inflated_md5[33];   /* gzip: its MD5, what the device reports once it runs it */
        char version[33];        /* ESP32 app descriptor version; "" when the image has none */
        char project[33];        /* ESP32 app descriptor project name */
} ImageInfo;

/*
 * Inspects a sketch image. Returns 0 and fills *ret, or -EBADMSG with a sentence for the
 * user in reterr ("segment 2 runs past the end of the file (truncated upload?)").
 */
int image_inspect(const uint8_t *data, size_t size, ImageInfo *ret, char reterr[static IMAGE_ERROR_MAX]);

/*
 * The ESP32 app descriptor's version and project, found where the image header says: at the
 * start of the first segment (ESP-IDF's esp_app_desc_t), which must be long enough to hold it.
 * Needs only the image's first bytes (a download still arriving). 0, or -ENOENT when data
 * is not an ESP32 family image with a descriptor.
 */
int image_app_descriptor(const uint8_t *data, size_t size, char version[static 33], char project[static 33]);

/*
 * Checks an ESP8266 signed image (PROTOCOLS.md 6): data is PAYLOAD || SIGNATURE ||
 * uint32_le(len(SIGNATURE)), and SIGNATURE must verify over PAYLOAD with the PEM public
 * key as the core's Updater verifies it (SHA-256, RSA PKCS#1 v1.5 or ECDSA). Works for
 * sketch, gzip and filesystem images alike. 0, or -EBADMSG with a sentence in reterr.
 */
int image_verify_signature(const uint8_t *data, size_t size, const char *public_key_pem,
                           char reterr[static IMAGE_ERROR_MAX]);

/*
 * Inflates a gzip image (one member, as the ESP8266 bootloader takes it) into a new buffer, as
 * the bootloader writes it to flash. 0, or -EBADMSG with a sentence in reterr.
 */
int image_gunzip(const uint8_t *data, size_t size, uint8_t **ret, size_t *ret_size,
                 char reterr[static IMAGE_ERROR_MAX]);

/* CRC-32/MPEG-2 as used by the ESP8266 Arduino eboot (poly 0x04C11DB7, init ~0, no reflection). */
uint32_t crc8266(const uint8_t *data, size_t n);
uint32_t crc8266_update(uint32_t crc, const uint8_t *data, size_t n);

/* The CRC an ESP8266 Arduino core 3.x image of len bytes must carry at offset 4116 (len > 4120). */
uint32_t esp8266_image_crc(const uint8_t *data, size_t len);
/* The CRC an ESP8266 Arduino core 2.7.x image of len bytes must carry at offset 4092. */
uint32_t esp8266_image_crc_27x(const uint8_t *data, size_t len);

/* Flash size in bytes for an ESP8266 header size nibble (byte 3 >> 4); 0 when unknown. */
uint64_t esp8266_flash_size(unsigned nibble);

/*
 * Builds a structurally valid sketch image (for the simulator, tests and the demo):
 * ESP8266 Arduino layout with eboot, app and CRC, or an ESP32 image with app descriptor
 * and appended SHA-256. The content is pseudo-random from seed and version, so two
 * versions differ. The result is about size bytes (at least 8 KiB). Caller frees *ret.
 */
void image_build(Platform platform, const char *version, size_t size, uint32_t seed, uint8_t **ret,
                 size_t *ret_size);

/*
 * Wraps data in a gzip file whose deflate stream uses stored (uncompressed) blocks: valid
 * for any gzip reader, including the ESP8266 core's, without a compression library.
 * Caller frees *ret.
 */
void image_gzip_stored(const uint8_t *data, size_t size, uint8_t **ret, size_t *ret_size);

/* CRC-32 as gzip and zlib use it (reflected, polynomial 0xEDB88320). */
uint32_t crc32_gzip(uint32_t crc, const uint8_t *data, size_t n);

/*
 * Builds an ESP8266 image the way the given Arduino core's elf2bin lays it out from an
 * eboot and a sketch ELF (eboot .text[, .rodata] padded with 0xAA to 4096; the app's
 * .irom0.text, .text, .text1, .data, .rodata; add_crc where that core has it), with
 * pseudo-random section contents. About size bytes. Caller frees *ret.
 */
void image_build_esp8266_core(Esp8266Layout layout, const char *version, size_t size, uint32_t seed,
                              uint8_t **ret, size_t *ret_size);

/* Marker before the version string that image_build() embeds (ESP8266 images carry no version). */
#define IMAGE_VERSION_MARKER \
        "\xa5"               \
        "flota-version="

/*
 * The version a device runs after flashing data: the ESP32 app descriptor's, else the one
 * image_build() embedded after IMAGE_VERSION_MARKER. data may be only the image's first bytes
 * (see image_app_descriptor()). Returns 0, or -ENOENT when the image does not say (a real
 * ESP8266 build).
 */
int image_embedded_version(const uint8_t *data, size_t size, char ret[static VERSION_MAX + 1]);
