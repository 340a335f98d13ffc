/* SPDX-License-Identifier: MIT */
/* Firmware image inspection: header, segment walk, checksums, signature trailer. */
#include "flota/image.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "flota/alloc.h"
#include "flota/hash.h"
#include "flota/strutil.h"

#define ESP8266_APP_OFFSET 4096
/* where Arduino's elf2bin puts the image length and CRC words: core 3.x, and 2.7.x */
#define ESP8266_CRC_OFFSET_3X (4096 + 16)
#define ESP8266_CRC_OFFSET_27X (4096 - 8)
#define ESP32_HEADER_LEN 24
#define ESP8266_HEADER_LEN 8
#define SEGMENT_HEADER_LEN 8
#define MAX_SEGMENTS 16
#define MAX_SIGNATURE_LEN 1024
/* the largest sketch an ESP8266 can hold (16 MiB flash) */
#define MAX_INFLATED_SIZE (16u << 20)

static uint32_t le32(const uint8_t *p) {
        return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
}

static uint16_t le16(const uint8_t *p) {
        return (uint16_t) (p[0] | p[1] << 8);
}

static _printf_(2, 3) int fail(char *err, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(err, IMAGE_ERROR_MAX, fmt, ap);
        va_end(ap);
        return -EBADMSG;
}

uint32_t crc8266_update(uint32_t crc, const uint8_t *data, size_t n) {
        static uint32_t table[256];
        static bool ready;

        if (!__atomic_load_n(&ready, __ATOMIC_ACQUIRE)) {
                for (uint32_t i = 0; i < 256; i++) {
                        uint32_t c = i << 24;
                        for (int b = 0; b < 8; b++)
                                c = c & 0x80000000u ? (c << 1) ^ 0x04c11db7u : c << 1;
                        table[i] = c;
                }
                __atomic_store_n(&ready, true, __ATOMIC_RELEASE);
        }
        for (size_t i = 0; i < n; i++)
                crc = (crc << 8) ^ table[((crc >> 24) ^ data[i]) & 0xff];
        return crc;
}

uint32_t crc8266(const uint8_t *data, size_t n) {
        return crc8266_update(0xffffffffu, data, n);
}

uint64_t esp8266_flash_size(unsigned nibble) {
        static const uint64_t sizes[16] = {
                [0] = 512u << 10, [1] = 256u << 10, [2] = 1u << 20, [3] = 2u << 20,  [4] = 4u << 20,
                [5] = 2u << 20,   [6] = 4u << 20,   [8] = 8u << 20, [9] = 16u << 20,
        };
        return nibble < 16 ? sizes[nibble] : 0;
}

static const char *esp32_chip_name(uint16_t id) {
        switch (id) {
        case 0x0000: return "esp32";
        case 0x0002: return "esp32-s2";
        case 0x0005: return "esp32-c3";
        case 0x0009: return "esp32-s3";
        case 0x000c: return "esp32-c2";
        case 0x000d: return "esp32-c6";
        case 0x0010: return "esp32-h2";
        case 0x0012: return "esp32-p4";
        case 0x0014: return "esp32-c61";
        case 0x0017: return "esp32-c5";
        default: return NULL;
        }
}

/*
 * Walks the segments of the image starting at off. On success *ret_end is the offset
 * just past the checksum byte. The checksum is verified when verify is set.
 */
static int walk_segments(const uint8_t *d, size_t size, size_t off, size_t header_len, bool verify,
                         size_t *ret_end, char *err) {
        unsigned nseg = d[off + 1];
        uint8_t sum = 0xef;
        size_t p = off + header_len;

        if (nseg == 0 || nseg > MAX_SEGMENTS)
                return fail(err, "image header at offset %zu claims %u segments (not a firmware image?)",
                            off, nseg);
        for (unsigned i = 0; i < nseg; i++) {
                if (size - p < SEGMENT_HEADER_LEN)
                        return fail(err, "segment %u header is past the end of the file (truncated upload?)",
                                    i + 1);
                size_t len = le32(d + p + 4);
                p += SEGMENT_HEADER_LEN;
                if (len > size - p)
                        return fail(err, "segment %u runs past the end of the file (truncated upload?)",
                                    i + 1);
                for (size_t k = 0; k < len; k++)
                        sum ^= d[p + k];
                p += len;
        }
        size_t total = (p - off) + 1;
        total = (total + 15) & ~(size_t) 15;
        if (total > size - off)
                return fail(err, "image checksum is past the end of the file (truncated upload?)");
        if (verify && d[off + total - 1] != sum)
                return fail(err, "image checksum mismatch at offset %zu (corrupt image)", off + total - 1);
        *ret_end = off + total;
        return 0;
}

/* CRC over the first len bytes with the eight bytes at off (length and CRC words) taken as zero. */
static uint32_t crc_without_words(const uint8_t *d, size_t len, size_t off) {
        static const uint8_t zero[8] = {};
        uint32_t crc;

        crc = crc8266_update(0xffffffffu, d, off);
        crc = crc8266_update(crc, zero, sizeof(zero));
        return crc8266_update(crc, d + off + 8, len - off - 8);
}

uint32_t esp8266_image_crc(const uint8_t *d, size_t len) {
        return crc_without_words(d, len, ESP8266_CRC_OFFSET_3X);
}

uint32_t esp8266_image_crc_27x(const uint8_t *d, size_t len) {
        return crc_without_words(d, len, ESP8266_CRC_OFFSET_27X);
}

/* True when the words at off say the image is len bytes long with a matching CRC. */
static bool crc_words_match(const uint8_t *d, size_t len, size_t off) {
        return le32(d + off) == len && crc_without_words(d, len, off) == le32(d + off + 4);
}

static bool is_boot_padding(const uint8_t *p, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (p[i] != 0xaa)
                        return false;
        return true;
}

/*
 * Tells which Arduino core layout an eboot + app image (boot_end: end of eboot, end: end of
 * the app) has, verifying the CRC where the layout keeps one:
 *  - 3.x: length and CRC words at 4112/4116, inside the app's first segment;
 *  - 2.7.x: the same words at 4088/4092, the last 8 bytes of eboot's 0xAA padding;
 *  - up to 2.6: no CRC; eboot's padding is intact and the app checksum is all there is.
 */
static int esp8266_layout(const uint8_t *d, size_t boot_end, size_t end, Esp8266Layout *ret, char *err) {
        if (crc_words_match(d, end, ESP8266_CRC_OFFSET_3X)) {
                *ret = ESP8266_LAYOUT_CORE_3X;
                return 0;
        }
        if (boot_end <= ESP8266_CRC_OFFSET_27X && !is_boot_padding(d + ESP8266_CRC_OFFSET_27X, 8)) {
                uint32_t len = le32(d + ESP8266_CRC_OFFSET_27X);
                if (len != end)
                        return fail(err, "image says it is %u bytes long but holds %zu (truncated?)", len,
                                    end);
                if (!crc_words_match(d, end, ESP8266_CRC_OFFSET_27X))
                        return fail(err, "image CRC mismatch (corrupt image)");
                *ret = ESP8266_LAYOUT_CORE_27X;
                return 0;
        }
        if (le32(d + ESP8266_CRC_OFFSET_3X) == end)
                return fail(err, "image CRC mismatch (corrupt image)");
        /* no CRC: the app image's own checksum must hold */
        size_t app_end;
        int r = walk_segments(d, end, ESP8266_APP_OFFSET, ESP8266_HEADER_LEN, true, &app_end, err);
        if (r < 0)
                return r;
        *ret = ESP8266_LAYOUT_CORE_26;
        return 0;
}

/* Decides whether the bytes after data_len are an ESP8266 signature trailer. */
static int check_trailer(const uint8_t *d, size_t size, size_t data_len, ImageInfo *info, char *err) {
        if (data_len == size) {
                info->payload_size = size;
                return 0;
        }
        if (size - data_len >= 4 + 64) {
                uint32_t siglen = le32(d + size - 4);
                if (siglen <= MAX_SIGNATURE_LEN && data_len + siglen + 4 == size) {
                        info->is_signed = true;
                        info->payload_size = data_len;
                        return 0;
                }
        }
        return fail(err, "%zu unexpected bytes after the end of the image (not a signature trailer)",
                    size - data_len);
}

static int inspect_esp8266(const uint8_t *d, size_t size, ImageInfo *info, char *err) {
        Esp8266Layout layout = ESP8266_LAYOUT_PLAIN;
        size_t boot_end, end;
        int r;

        r = walk_segments(d, size, 0, ESP8266_HEADER_LEN, true, &boot_end, err);
        if (r < 0)
                return r;
        end = boot_end;
        if (size > ESP8266_CRC_OFFSET_3X + 8 && d[ESP8266_APP_OFFSET] == IMAGE_HEADER_MAGIC) {
                if (boot_end > ESP8266_APP_OFFSET)
                        return fail(err,
                                    "boot loader image runs into the app image at 4096 (corrupt image)");
                /* checksum not verified here: core 3.x writes its CRC words into the app's first segment */
                r = walk_segments(d, size, ESP8266_APP_OFFSET, ESP8266_HEADER_LEN, false, &end, err);
                if (r < 0)
                        return r;
                r = esp8266_layout(d, boot_end, end, &layout, err);
                if (r < 0)
                        return r;
        }
        r = check_trailer(d, size, end, info, err);
        if (r < 0)
                return r;
        info->platform = PLATFORM_ESP8266;
        info->layout = layout;
        strscpy(info->chip, sizeof(info->chip), "esp8266");
        info->min_flash_size = esp8266_flash_size(d[3] >> 4);
        return 0;
}

int image_app_descriptor(const uint8_t *d, size_t size, char version[static 33], char project[static 33]) {
        /* the header: magic, segment count, the extended header's chip id; then the first segment's header
         */
        const size_t desc = ESP32_HEADER_LEN + SEGMENT_HEADER_LEN;

        if (size < desc + 80 || d[0] != IMAGE_HEADER_MAGIC || d[1] == 0 || !esp32_chip_name(le16(d + 12)))
                return -ENOENT;
        /* ESP-IDF places the descriptor at the start of the first segment, which must hold it */
        if (le32(d + ESP32_HEADER_LEN + 4) < 80 || le32(d + desc) != ESP_APP_DESC_MAGIC)
                return -ENOENT;
        memcpy(version, d + desc + 16, 32);
        version[32] = 0;
        memcpy(project, d + desc + 48, 32);
        project[32] = 0;
        return 0;
}

static int inspect_esp32(const uint8_t *d, size_t size, ImageInfo *info, const char *chip, char *err) {
        size_t end;
        int r;

        r = walk_segments(d, size, 0, ESP32_HEADER_LEN, true, &end, err);
        if (r < 0)
                return r;
        if (d[23] == 1) {
                uint8_t sha[32];
                if (size - end < sizeof(sha))
                        return fail(err, "appended SHA-256 is missing (truncated upload?)");
                sha256_raw(d, end, sha);
                if (memcmp(sha, d + end, sizeof(sha)) != 0)
                        return fail(err, "appended SHA-256 does not match the image (corrupt image)");
                end += sizeof(sha);
        }
        /* esptool may pad the file; anything after the image is not flashed as code */
        info->payload_size = size;
        info->platform = PLATFORM_ESP32;
        strscpy(info->chip, sizeof(info->chip), chip);
        if (image_app_descriptor(d, size, info->version, info->project) < 0)
                info->version[0] = info->project[0] = 0;
        return 0;
}

/*
 * Inflates the gzip member at the start of d into *ret (at most MAX_INFLATED_SIZE bytes);
 * zlib checks the member's CRC-32 and length. *ret_used is the compressed length.
 */
static int gunzip(const uint8_t *d, size_t size, uint8_t **ret, size_t *ret_size, size_t *ret_used,
                  char *err) {
        z_stream zs = {};
        size_t cap = 256u << 10, n = 0;
        uint8_t *out;
        int z;

        if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK)
                return -ENOMEM;
        out = xmalloc(cap);
        zs.next_in = (Bytef *) d;
        zs.avail_in = (uInt) (size < UINT32_MAX ? size : UINT32_MAX);
        for (;;) {
                if (n == cap) {
                        if (cap > MAX_INFLATED_SIZE) {
                                z = Z_MEM_ERROR;
                                break;
                        }
                        cap *= 2;
                        out = xrealloc(out, cap);
                }
                zs.next_out = out + n;
                zs.avail_out = (uInt) (cap - n);
                z = inflate(&zs, Z_NO_FLUSH);
                n = cap - zs.avail_out;
                if (z != Z_OK)
                        break;
        }
        size_t used = size - zs.avail_in;
        const char *msg = zs.msg;
        inflateEnd(&zs);
        if (z == Z_STREAM_END && n <= MAX_INFLATED_SIZE) {
                *ret = out;
                *ret_size = n;
                *ret_used = used;
                return 0;
        }
        free(out);
        if (z == Z_MEM_ERROR || n > MAX_INFLATED_SIZE)
                return fail(err, "gzip image inflates to more than %u bytes: not a firmware image",
                            MAX_INFLATED_SIZE);
        if (z == Z_BUF_ERROR)
                return fail(err, "gzip stream ends early (truncated upload?)");
        return fail(err, "gzip stream is corrupt: %s", msg ? msg : "inflate failed");
}

int image_gunzip(const uint8_t *data, size_t size, uint8_t **ret, size_t *ret_size,
                 char reterr[static IMAGE_ERROR_MAX]) {
        size_t used;
        return gunzip(data, size, ret, ret_size, &used, reterr);
}

static int inspect_gzip(const uint8_t *d, size_t size, ImageInfo *info, char *err) {
        _cleanup_free_ uint8_t *raw = NULL;
        ImageInfo inner = { .platform = _PLATFORM_INVALID };
        size_t raw_size = 0, used = 0;
        int r;

        r = gunzip(d, size, &raw, &raw_size, &used, err);
        if (r < 0)
                return r;
        /* after the member: nothing, or a signature trailer over the .gz (PROTOCOLS.md 6) */
        r = check_trailer(d, size, used, info, err);
        if (r < 0)
                return r;
        if (raw_size >= 2 && raw[0] == 0x1f && raw[1] == 0x8b)
                return fail(err, "gzip image holds another gzip file, which no bootloader inflates");
        r = image_inspect(raw, raw_size, &inner, err);
        if (r < 0) {
                char why[IMAGE_ERROR_MAX];
                memcpy(why, err, IMAGE_ERROR_MAX);
                return fail(err, "inflated gzip image: %.120s", why);
        }
        if (inner.platform != PLATFORM_ESP8266)
                return fail(err,
                            "gzip image holds an %s image: the ESP32 cores do not install gzip images, "
                            "upload the .bin",
                            inner.chip);
        info->compressed = true;
        info->platform = PLATFORM_ESP8266;
        info->layout = inner.layout;
        info->min_flash_size = inner.min_flash_size;
        info->inflated_size = raw_size;
        md5_hex(raw, raw_size, info->inflated_md5);
        strscpy(info->chip, sizeof(info->chip), "esp8266");
        return 0;
}

int image_inspect(const uint8_t *d, size_t size, ImageInfo *ret, char reterr[static IMAGE_ERROR_MAX]) {
        ImageInfo info = { .platform = _PLATFORM_INVALID };
        int r;

        if (size == 0)
                return fail(reterr, "image is empty");
        if (size >= 2 && d[0] == 0x1f && d[1] == 0x8b)
                r = inspect_gzip(d, size, &info, reterr);
        else if (d[0] != IMAGE_HEADER_MAGIC)
                return fail(reterr, "first byte is 0x%02X, not 0xE9 (app image) or 0x1F 0x8B (gzip)", d[0]);
        else if (size < ESP32_HEADER_LEN + SEGMENT_HEADER_LEN)
                return fail(reterr, "image is only %zu bytes (truncated upload?)", size);
        else {
                uint32_t entry = le32(d + 4);
                const char *chip = esp32_chip_name(le16(d + 12));
                bool has_desc = size >= 40 && le32(d + 32) == ESP_APP_DESC_MAGIC;

                if (entry >= 0x40100000u && entry < 0x40110000u && !has_desc)
                        r = inspect_esp8266(d, size, &info, reterr);
                else if (chip && (has_desc || d[23] <= 1))
                        r = inspect_esp32(d, size, &info, chip, reterr);
                else
                        return fail(reterr, "cannot tell the chip from the image header (entry 0x%08X)",
                                    entry);
        }
        if (r < 0)
                return r;
        *ret = info;
        return 0;
}

int image_verify_signature(const uint8_t *d, size_t size, const char *public_key_pem,
                           char reterr[static IMAGE_ERROR_MAX]) {
        uint32_t siglen;
        int r;

        if (size < 4 + 64)
                return fail(reterr, "image is not signed: it is too short for a signature trailer");
        siglen = le32(d + size - 4);
        if (siglen < 64 || siglen > MAX_SIGNATURE_LEN || siglen > size - 4)
                return fail(reterr,
                            "image is not signed (no signature trailer), and this product requires signed "
                            "images");
        r = signature_verify_sha256(public_key_pem, d, size - 4 - siglen, d + size - 4 - siglen, siglen);
        if (r == -EINVAL)
                return fail(reterr, "the product's public key cannot be read");
        if (r < 0)
                return fail(reterr, "the image's signature does not verify with the product's public key");
        return 0;
}
