/* SPDX-License-Identifier: MIT */
/* Image inspection against synthesised images and their broken variants. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

#include "flota/alloc.h"
#include "flota/hash.h"
#include "flota/image.h"

static void build(Platform p, const char *version, size_t size, uint8_t **ret, size_t *n) {
        image_build(p, version, size, 7, ret, n);
}

static void test_esp8266_valid(void **state) {
        uint8_t *img;
        size_t n;
        ImageInfo info;
        char err[IMAGE_ERROR_MAX];

        build(PLATFORM_ESP8266, "1.2.3", 300000, &img, &n);
        assert_int_equal(image_inspect(img, n, &info, err), 0);
        assert_int_equal(info.platform, PLATFORM_ESP8266);
        assert_string_equal(info.chip, "esp8266");
        assert_false(info.is_signed);
        assert_false(info.compressed);
        assert_int_equal(info.payload_size, n);
        assert_int_equal(info.min_flash_size, 4u << 20);
        assert_string_equal(info.version, "");
        free(img);
}

static void test_esp32_valid(void **state) {
        uint8_t *img;
        size_t n;
        ImageInfo info;
        char err[IMAGE_ERROR_MAX];

        build(PLATFORM_ESP32, "2.0.1", 300000, &img, &n);
        assert_int_equal(image_inspect(img, n, &info, err), 0);
        assert_int_equal(info.platform, PLATFORM_ESP32);
        assert_string_equal(info.chip, "esp32");
        assert_string_equal(info.version, "2.0.1");
        assert_string_equal(info.project, "flota-sim");
        free(img);
}

/*
 * A real ESP32 build carries no flota marker, only its app descriptor: the version comes from
 * the descriptor where the header puts it, also when only the first 8 KiB (a download still
 * arriving, as flota-sim keeps) are at hand.
 */
static void test_esp32_descriptor_from_header(void **state) {
        uint8_t *img;
        size_t n;
        char v[VERSION_MAX + 1], version[33], project[33];

        build(PLATFORM_ESP32, "5.4.3", 1 << 20, &img, &n);
        /* like a real build: no flota marker anywhere */
        for (uint8_t *m; (m = memmem(img, n, IMAGE_VERSION_MARKER, strlen(IMAGE_VERSION_MARKER)));)
                memset(m, 0, strlen(IMAGE_VERSION_MARKER));
        assert_int_equal(image_embedded_version(img, 8192, v), 0);
        assert_string_equal(v, "5.4.3");
        assert_int_equal(image_app_descriptor(img, 8192, version, project), 0);
        assert_string_equal(project, "flota-sim");
        /* the whole image too */
        assert_int_equal(image_embedded_version(img, n, v), 0);
        assert_string_equal(v, "5.4.3");

        /* a first segment too short for a descriptor: the bytes after it are not one */
        uint8_t *short_seg = xmalloc(8192);
        memcpy(short_seg, img, 8192);
        short_seg[28] = 16;
        short_seg[29] = short_seg[30] = short_seg[31] = 0;
        assert_int_equal(image_app_descriptor(short_seg, 8192, version, project), -ENOENT);
        free(short_seg);
        /* an ESP8266 image has none */
        uint8_t *e;
        size_t en;
        build(PLATFORM_ESP8266, "1.0.0", 64 << 10, &e, &en);
        assert_int_equal(image_app_descriptor(e, en, version, project), -ENOENT);
        free(e);
        free(img);
}

static void expect_bad(const uint8_t *img, size_t n, const char *needle) {
        ImageInfo info;
        char err[IMAGE_ERROR_MAX] = "";

        assert_int_equal(image_inspect(img, n, &info, err), -EBADMSG);
        if (!strstr(err, needle))
                fail_msg("error '%s' does not mention '%s'", err, needle);
}

static void test_truncated(void **state) {
        uint8_t *img;
        size_t n;

        for (Platform p = 0; p < _PLATFORM_MAX; p++) {
                build(p, "1.0", 100000, &img, &n);
                expect_bad(img, n - 1000, "truncated");
                expect_bad(img, 40, "truncated");
                expect_bad(img, 4200, "truncated");
                free(img);
        }
}

static void test_corrupt(void **state) {
        uint8_t *img;
        size_t n;

        build(PLATFORM_ESP8266, "1.0", 100000, &img, &n);
        img[50000] ^= 0x55;
        expect_bad(img, n, "CRC");
        img[50000] ^= 0x55;
        img[100] ^= 1; /* inside eboot */
        expect_bad(img, n, "checksum");
        free(img);

        build(PLATFORM_ESP32, "1.0", 100000, &img, &n);
        img[n - 1] ^= 1;
        expect_bad(img, n, "SHA-256");
        img[n - 1] ^= 1;
        img[5000] ^= 1;
        expect_bad(img, n, "checksum");
        free(img);
}

/* Each Arduino core's elf2bin layout is accepted, and a corrupted byte in the sketch is caught. */
static void test_esp8266_core_layouts(void **state) {
        static const struct {
                Esp8266Layout layout;
                const char *detects;
        } cases[] = {
                { ESP8266_LAYOUT_CORE_26, "checksum" },
                { ESP8266_LAYOUT_CORE_27X, "CRC" },
                { ESP8266_LAYOUT_CORE_3X, "CRC" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                uint8_t *img;
                size_t n;
                ImageInfo info;
                char err[IMAGE_ERROR_MAX] = "";

                image_build_esp8266_core(cases[i].layout, "2.7-layout", 120000, 11, &img, &n);
                if (image_inspect(img, n, &info, err) < 0)
                        fail_msg("layout %d refused: %s", cases[i].layout, err);
                assert_int_equal(info.layout, cases[i].layout);
                assert_int_equal(info.platform, PLATFORM_ESP8266);
                assert_int_equal(info.payload_size, n);
                img[60000] ^= 0x10;
                expect_bad(img, n, cases[i].detects);
                img[60000] ^= 0x10;
                /* a signed image of each layout */
                img = xrealloc(img, n + 260);
                memset(img + n, 0x5a, 256);
                memcpy(img + n + 256, (uint8_t[]) { 0, 1, 0, 0 }, 4);
                assert_int_equal(image_inspect(img, n + 260, &info, err), 0);
                assert_true(info.is_signed);
                assert_int_equal(info.layout, cases[i].layout);
                free(img);
        }
}

/* The 2.7.x words at 4088/4092 are checked: a wrong length or CRC is refused. */
static void test_esp8266_core_27x_words(void **state) {
        uint8_t *img;
        size_t n;

        image_build_esp8266_core(ESP8266_LAYOUT_CORE_27X, "1.0", 50000, 3, &img, &n);
        img[4088] ^= 1;
        expect_bad(img, n, "bytes long");
        img[4088] ^= 1;
        img[4094] ^= 1;
        expect_bad(img, n, "CRC");
        free(img);
}

static void test_wrong_magic(void **state) {
        uint8_t junk[4096];

        memset(junk, 0x42, sizeof(junk));
        expect_bad(junk, sizeof(junk), "not 0xE9");
        expect_bad(junk, 0, "empty");
}

static void test_signed(void **state) {
        uint8_t *img;
        size_t n;
        ImageInfo info;
        char err[IMAGE_ERROR_MAX];

        build(PLATFORM_ESP8266, "1.0", 100000, &img, &n);
        img = xrealloc(img, n + 260);
        memset(img + n, 0x5a, 256);
        img[n + 256] = 0x00;
        img[n + 257] = 0x01; /* 256, little endian */
        img[n + 258] = 0;
        img[n + 259] = 0;
        assert_int_equal(image_inspect(img, n + 260, &info, err), 0);
        assert_true(info.is_signed);
        assert_int_equal(info.payload_size, n);
        /* junk after the image that is not a signature */
        img[n + 257] = 0x02;
        expect_bad(img, n + 260, "unexpected bytes");
        free(img);
}

/* A real (deflate-compressed) gzip file of data, as gzip(1) or elf2bin --gzip write it. */
static void gzip_deflate(const uint8_t *data, size_t n, uint8_t **ret, size_t *ret_size) {
        z_stream zs = {};
        size_t cap = n + n / 100 + 1024;
        uint8_t *out = xmalloc(cap);

        assert_int_equal(deflateInit2(&zs, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
        zs.next_in = (Bytef *) data;
        zs.avail_in = (uInt) n;
        zs.next_out = out;
        zs.avail_out = (uInt) cap;
        assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
        *ret_size = cap - zs.avail_out;
        deflateEnd(&zs);
        *ret = out;
}

/* Any gzip file used to pass as an ESP8266 sketch: text, corrupt streams, a broken CRC-32. */
static void test_gzip_broken_refused(void **state) {
        _cleanup_free_ char *text = xmalloc(600000);
        size_t tn = 0;
        uint8_t *gz, *img;
        size_t gn, n;

        for (int i = 1; i <= 100000; i++)
                tn += (size_t) sprintf(text + tn, "%d\n", i);
        gzip_deflate((const uint8_t *) text, tn, &gz, &gn);
        expect_bad(gz, gn, "inflated gzip image");
        free(gz);

        image_build_esp8266_core(ESP8266_LAYOUT_CORE_3X, "1.0", 200000, 5, &img, &n);
        gzip_deflate(img, n, &gz, &gn);
        /* CRC-32 in the gzip trailer */
        gz[gn - 8] ^= 1;
        expect_bad(gz, gn, "corrupt");
        gz[gn - 8] ^= 1;
        /* length in the gzip trailer */
        gz[gn - 4] ^= 1;
        expect_bad(gz, gn, "corrupt");
        gz[gn - 4] ^= 1;
        /* in the middle of the deflate stream */
        gz[gn / 2] ^= 0x20;
        expect_bad(gz, gn, "corrupt");
        gz[gn / 2] ^= 0x20;
        expect_bad(gz, gn - 100, "truncated");
        expect_bad(gz, 10, "truncated");
        free(gz);
        free(img);
}

/* Real gzip files of each ESP8266 layout go in; the inflated image's MD5 is known. */
static void test_gzip_valid(void **state) {
        for (Esp8266Layout l = ESP8266_LAYOUT_CORE_26; l < _ESP8266_LAYOUT_MAX; l++) {
                uint8_t *img, *gz;
                size_t n, gn;
                ImageInfo info;
                char err[IMAGE_ERROR_MAX] = "", md5[MD5_HEX_LEN + 1];

                image_build_esp8266_core(l, "4.5.6", 150000, 9, &img, &n);
                gzip_deflate(img, n, &gz, &gn);
                if (image_inspect(gz, gn, &info, err) < 0)
                        fail_msg("gzip of layout %d refused: %s", l, err);
                assert_true(info.compressed);
                assert_int_equal(info.platform, PLATFORM_ESP8266);
                assert_int_equal(info.layout, l);
                assert_int_equal(info.payload_size, gn);
                assert_int_equal(info.inflated_size, n);
                md5_hex(img, n, md5);
                assert_string_equal(info.inflated_md5, md5);
                /* signed .gz: SIGNATURE || len after the member */
                gz = xrealloc(gz, gn + 260);
                memset(gz + gn, 0x33, 256);
                memcpy(gz + gn + 256, (uint8_t[]) { 0, 1, 0, 0 }, 4);
                assert_int_equal(image_inspect(gz, gn + 260, &info, err), 0);
                assert_true(info.is_signed);
                assert_int_equal(info.payload_size, gn);
                /* other bytes after the member are not a signature */
                gz[gn + 257] = 7;
                expect_bad(gz, gn + 260, "unexpected bytes");
                free(gz);
                free(img);
        }
}

/* The ESP32 cores do not inflate: a gzipped ESP32 image is refused, saying so. */
static void test_gzip_esp32_refused(void **state) {
        uint8_t *img, *gz;
        size_t n, gn;

        build(PLATFORM_ESP32, "2.0.0", 100000, &img, &n);
        gzip_deflate(img, n, &gz, &gn);
        expect_bad(gz, gn, "ESP32 cores do not install gzip");
        free(gz);
        free(img);
}

static void test_gzip_stored(void **state) {
        uint8_t *img, *gz;
        size_t n, gn;
        ImageInfo info;
        char err[IMAGE_ERROR_MAX], v[VERSION_MAX + 1];

        build(PLATFORM_ESP8266, "3.2.1", 150000, &img, &n);
        image_gzip_stored(img, n, &gz, &gn);
        assert_int_equal(image_inspect(gz, gn, &info, err), 0);
        assert_true(info.compressed);
        assert_int_equal(info.platform, PLATFORM_ESP8266);
        assert_int_equal(image_embedded_version(gz, gn, v), 0);
        assert_string_equal(v, "3.2.1");
        /* the gzip CRC check value */
        assert_int_equal(crc32_gzip(0, (const uint8_t *) "123456789", 9), 0xcbf43926);
        free(img);
        free(gz);
}

static void test_crc_reference(void **state) {
        /* CRC-32/MPEG-2 check value */
        assert_int_equal(crc8266((const uint8_t *) "123456789", 9), 0x0376e6e7);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_esp32_descriptor_from_header),
                cmocka_unit_test(test_esp8266_valid),
                cmocka_unit_test(test_esp32_valid),
                cmocka_unit_test(test_truncated),
                cmocka_unit_test(test_corrupt),
                cmocka_unit_test(test_wrong_magic),
                cmocka_unit_test(test_signed),
                cmocka_unit_test(test_gzip_broken_refused),
                cmocka_unit_test(test_gzip_valid),
                cmocka_unit_test(test_gzip_esp32_refused),
                cmocka_unit_test(test_esp8266_core_layouts),
                cmocka_unit_test(test_esp8266_core_27x_words),
                cmocka_unit_test(test_gzip_stored),
                cmocka_unit_test(test_crc_reference),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
