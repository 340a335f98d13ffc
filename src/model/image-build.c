/* SPDX-License-Identifier: MIT */
/* Synthesises structurally valid ESP8266/ESP32 sketch images for the simulator and tests. */
#include "flota/image.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "flota/alloc.h"
#include "flota/hash.h"
#include "flota/strutil.h"

static void put32(uint8_t *p, uint32_t v) {
        p[0] = (uint8_t) v;
        p[1] = (uint8_t) (v >> 8);
        p[2] = (uint8_t) (v >> 16);
        p[3] = (uint8_t) (v >> 24);
}

static uint32_t next_random(uint32_t *state) {
        uint32_t x = *state;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        return *state = x;
}

static uint32_t seed_from(uint32_t seed, const char *version) {
        uint32_t h = 2166136261u ^ seed;
        for (const char *p = version; *p; p++)
                h = (h ^ (uint8_t) *p) * 16777619u;
        return h ? h : 1;
}

typedef struct Segment {
        uint32_t addr;
        size_t len;
} Segment;

/*
 * Writes an image at buf+off: header (header_len bytes, already filled except count),
 * then segments filled by fill(), then padding and checksum. Returns the end offset.
 */
static size_t write_segments(uint8_t *buf, size_t off, size_t header_len, const Segment *segs, size_t n,
                             uint32_t *rng, const char *version) {
        uint8_t sum = 0xef;
        size_t p = off + header_len;

        buf[off + 1] = (uint8_t) n;
        for (size_t i = 0; i < n; i++) {
                put32(buf + p, segs[i].addr);
                put32(buf + p + 4, (uint32_t) segs[i].len);
                p += 8;
                for (size_t k = 0; k < segs[i].len; k++)
                        buf[p + k] = (uint8_t) next_random(rng);
                if (i == n - 1 && segs[i].len >= 16 + sizeof(IMAGE_VERSION_MARKER) + VERSION_MAX + 1) {
                        /* a sketch carries its version string somewhere in its data */
                        char *at = (char *) buf + p + 16;
                        size_t vl = strnlen(version, VERSION_MAX);
                        memcpy(at, IMAGE_VERSION_MARKER, sizeof(IMAGE_VERSION_MARKER) - 1);
                        memcpy(at + sizeof(IMAGE_VERSION_MARKER) - 1, version, vl);
                        at[sizeof(IMAGE_VERSION_MARKER) - 1 + vl] = 0;
                }
                for (size_t k = 0; k < segs[i].len; k++)
                        sum ^= buf[p + k];
                p += segs[i].len;
        }
        size_t total = ((p - off) + 1 + 15) & ~(size_t) 15;
        memset(buf + p, 0, off + total - 1 - p);
        buf[off + total - 1] = sum;
        return off + total;
}

static void build_esp8266(const char *version, size_t size, uint32_t *rng, uint8_t **ret, size_t *ret_size) {
        size_t app_len = size > 8192 ? size - 4096 - 8 - 8 - 256 - 8 - 16 : 4096;
        uint8_t *buf = xcalloc(1, 4096 + app_len + 512);

        /* eboot at 0: one segment in IRAM, padded with 0xAA to 4096 */
        uint8_t boot_hdr[8] = { IMAGE_HEADER_MAGIC, 0, 2, 0x40, 0x00, 0xf0, 0x10, 0x40 };
        memcpy(buf, boot_hdr, sizeof(boot_hdr));
        Segment boot = { 0x4010f000, 1024 };
        size_t end = write_segments(buf, 0, 8, &boot, 1, rng, version);
        memset(buf + end, 0xaa, 4096 - end);

        uint8_t app_hdr[8] = { IMAGE_HEADER_MAGIC, 0, 2, 0x40, 0x04, 0x00, 0x10, 0x40 };
        memcpy(buf + 4096, app_hdr, sizeof(app_hdr));
        Segment app[2] = { { 0x40201010, app_len }, { 0x3ffe8000, 256 } };
        end = write_segments(buf, 4096, 8, app, 2, rng, version);

        put32(buf + 4096 + 16, (uint32_t) end);
        put32(buf + 4096 + 20, 0);
        put32(buf + 4096 + 20, esp8266_image_crc(buf, end));
        *ret = buf;
        *ret_size = end;
}

/* Fills n bytes with pseudo-random section contents. */
static void fill_random(uint8_t *p, size_t n, uint32_t *rng) {
        for (size_t i = 0; i < n; i++)
                p[i] = (uint8_t) next_random(rng);
}

/*
 * Appends one image the way elf2bin's write_bin does: 8-byte header, each section as
 * address + length + contents, zero padding so that the checksum byte ends a 16-byte
 * block, the checksum; then 0xAA up to to_addr when it is not 0. secs[i].len bytes of
 * contents are taken from data (consecutively). Returns the new end offset.
 */
static size_t write_bin(uint8_t *buf, size_t off, uint32_t entry, const Segment *secs, size_t n,
                        const uint8_t *data, size_t to_addr) {
        uint8_t sum = 0xef;
        size_t p = off + 8;

        buf[off] = IMAGE_HEADER_MAGIC;
        buf[off + 1] = (uint8_t) n;
        buf[off + 2] = 3;          /* dout */
        buf[off + 3] = 0 + 16 * 4; /* 40 MHz, 4M */
        put32(buf + off + 4, entry);
        for (size_t i = 0; i < n; i++) {
                put32(buf + p, secs[i].addr);
                put32(buf + p + 4, (uint32_t) secs[i].len);
                p += 8;
                memcpy(buf + p, data, secs[i].len);
                for (size_t k = 0; k < secs[i].len; k++)
                        sum ^= data[k];
                data += secs[i].len;
                p += secs[i].len;
        }
        while ((p - off + 1) & 15)
                buf[p++] = 0;
        buf[p++] = sum;
        if (to_addr)
                while (p < to_addr)
                        buf[p++] = 0xaa;
        return p;
}

void image_build_esp8266_core(Esp8266Layout layout, const char *version, size_t size, uint32_t seed,
                              uint8_t **ret, size_t *ret_size) {
        uint32_t rng = seed_from(seed, version);
        size_t irom_len = size > 16384 ? (size - 4096 - 4096) & ~(size_t) 3 : 8192;
        /* eboot: .text and .rodata (core <= 2.6: .text only) */
        Segment boot[2] = { { 0x4010f000, 1380 }, { 0x3fffa000, 44 } };
        size_t n_boot = layout == ESP8266_LAYOUT_CORE_26 ? 1 : 2;
        /* sketch: .irom0.text, .text, .text1, .data, .rodata */
        Segment app[5] = { { 0x40201010, irom_len },
                           { 0x40100000, 2048 },
                           { 0x40100800, 612 },
                           { 0x3ffe8000, 1256 },
                           { 0x3ffe84e8, 752 } };
        size_t data_len = 1380 + 44 + irom_len + 2048 + 612 + 1256 + 752;
        uint8_t *data = xmalloc(data_len);
        uint8_t *buf = xcalloc(1, 4096 + data_len + 256);
        size_t end, crc_off;

        fill_random(data, data_len, &rng);
        uint8_t *irom = data + 1380 + 44;
        if (layout == ESP8266_LAYOUT_CORE_3X)
                memset(irom, 0, 8); /* the linker script reserves __crc_len and __crc_val here */
        if (irom_len >= 16 + sizeof(IMAGE_VERSION_MARKER) + VERSION_MAX + 1) {
                char *at = (char *) irom + 16;
                size_t vl = strnlen(version, VERSION_MAX);
                memcpy(at, IMAGE_VERSION_MARKER, sizeof(IMAGE_VERSION_MARKER) - 1);
                memcpy(at + sizeof(IMAGE_VERSION_MARKER) - 1, version, vl);
                at[sizeof(IMAGE_VERSION_MARKER) - 1 + vl] = 0;
        }
        end = write_bin(buf, 0, 0x4010f000, boot, n_boot, data, 4096);
        end = write_bin(buf, end, 0x40100004, app, 5, data + 1380 + 44, 0);
        free(data);

        /* add_crc: the words zeroed, the CRC over the whole file, then length and CRC stored */
        crc_off = layout == ESP8266_LAYOUT_CORE_3X    ? 4096 + 16
                  : layout == ESP8266_LAYOUT_CORE_27X ? 4096 - 8
                                                      : 0;
        if (crc_off) {
                memset(buf + crc_off, 0, 8);
                uint32_t crc = crc8266(buf, end);
                put32(buf + crc_off, (uint32_t) end);
                put32(buf + crc_off + 4, crc);
        }
        *ret = buf;
        *ret_size = end;
}

static void build_esp32(const char *version, size_t size, uint32_t *rng, uint8_t **ret, size_t *ret_size) {
        size_t code_len = size > 8192 ? size - 24 - 8 - 256 - 8 - 16 - 32 : 4096;
        uint8_t *buf = xcalloc(1, 24 + 8 + 256 + 8 + code_len + 64);
        uint8_t hdr[24] = { IMAGE_HEADER_MAGIC, 0, 2, 0x2f, 0x18, 0x10, 0x08, 0x40, 0xee };

        hdr[23] = 1; /* hash appended */
        memcpy(buf, hdr, sizeof(hdr));

        /* first segment (DROM) starts with the app descriptor */
        Segment segs[2] = { { 0x3f400020, 256 }, { 0x40080000, code_len } };
        size_t end = write_segments(buf, 0, 24, segs, 2, rng, version);
        uint8_t *desc = buf + 24 + 8;
        memset(desc, 0, 256);
        put32(desc, ESP_APP_DESC_MAGIC);
        strncpy((char *) desc + 16, version, 31);
        memcpy(desc + 48, "flota-sim", 9);
        memcpy(desc + 112, "v4.4.7", 6);
        /* recompute the checksum over the descriptor now in place */
        uint8_t sum = 0xef;
        size_t p = 24;
        for (size_t i = 0; i < 2; i++) {
                p += 8;
                for (size_t k = 0; k < segs[i].len; k++)
                        sum ^= buf[p + k];
                p += segs[i].len;
        }
        buf[end - 1] = sum;
        sha256_raw(buf, end, buf + end);
        *ret = buf;
        *ret_size = end + 32;
}

uint32_t crc32_gzip(uint32_t crc, const uint8_t *data, size_t n) {
        crc = ~crc;
        for (size_t i = 0; i < n; i++) {
                crc ^= data[i];
                for (int b = 0; b < 8; b++)
                        crc = crc & 1 ? (crc >> 1) ^ 0xedb88320u : crc >> 1;
        }
        return ~crc;
}

void image_gzip_stored(const uint8_t *data, size_t size, uint8_t **ret, size_t *ret_size) {
        size_t blocks = size / 65535 + 1;
        uint8_t *out = xmalloc(10 + size + blocks * 5 + 8), *p = out;
        static const uint8_t header[10] = { 0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3 };

        memcpy(p, header, sizeof(header));
        p += sizeof(header);
        size_t off = 0;
        do {
                size_t len = size - off < 65535 ? size - off : 65535;
                *p++ = off + len == size ? 1 : 0; /* BFINAL, BTYPE 00: stored */
                *p++ = (uint8_t) len;
                *p++ = (uint8_t) (len >> 8);
                *p++ = (uint8_t) ~len;
                *p++ = (uint8_t) (~len >> 8);
                memcpy(p, data + off, len);
                p += len;
                off += len;
        } while (off < size);
        put32(p, crc32_gzip(0, data, size));
        put32(p + 4, (uint32_t) size);
        p += 8;
        *ret = out;
        *ret_size = (size_t) (p - out);
}

int image_embedded_version(const uint8_t *data, size_t size, char ret[static VERSION_MAX + 1]) {
        ImageInfo info;
        char err[IMAGE_ERROR_MAX];
        const size_t ml = sizeof(IMAGE_VERSION_MARKER) - 1;

        char version[33], project[33];

        if (image_app_descriptor(data, size, version, project) == 0 && version[0]) {
                strscpy(ret, VERSION_MAX + 1, version);
                return 0;
        }
        if (image_inspect(data, size, &info, err) == 0 && info.version[0]) {
                strscpy(ret, VERSION_MAX + 1, info.version);
                return 0;
        }
        const uint8_t *m = memmem(data, size, IMAGE_VERSION_MARKER, ml);
        if (!m)
                return -ENOENT;
        const char *v = (const char *) m + ml;
        size_t room = size - (size_t) (m - data) - ml;
        size_t vl = strnlen(v, room < VERSION_MAX ? room : VERSION_MAX);
        if (vl == 0 || vl == room)
                return -ENOENT;
        memcpy(ret, v, vl);
        ret[vl] = 0;
        return 0;
}

void image_build(Platform platform, const char *version, size_t size, uint32_t seed, uint8_t **ret,
                 size_t *ret_size) {
        uint32_t rng = seed_from(seed, version);

        if (size < 8192)
                size = 8192;
        if (platform == PLATFORM_ESP32)
                build_esp32(version, size, &rng, ret, ret_size);
        else
                build_esp8266(version, size, &rng, ret, ret_size);
}
