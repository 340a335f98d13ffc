/* SPDX-License-Identifier: MIT */
/*
 * What flotad accepts as firmware: every image layout the real cores build goes in, every
 * broken one is refused with a reason, and a refused upload leaves nothing behind.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <zlib.h>

#include "flota/alloc.h"
#include "flota/hash.h"
#include "flota/image.h"
#include "flotad-harness.h"

static int setup(void **state) {
        Flotad *f = xcalloc(1, sizeof(Flotad));
        HttpResponse r;

        flotad_init(f);
        assert_int_equal(flotad_start(f, NULL), 0);
        assert_int_equal(api(f, "POST", "/api/v1/products", "{\"name\":\"door\"}", &r), 201);
        http_response_done(&r);
        assert_int_equal(api(f, "POST", "/api/v1/products", "{\"name\":\"lamp\"}", &r), 201);
        http_response_done(&r);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        assert_int_equal(flotad_finish(*state), 0);
        flotad_cleanup(*state);
        free(*state);
        return 0;
}

/* Regular files in the image store, temporary ones included. */
static int count_files(const Flotad *f) {
        _cleanup_free_ char *cmd = xasprintf("find '%s/images' -type f | wc -l", f->data_dir);
        FILE *p = popen(cmd, "r");
        int n = -1;
        if (fscanf(p, "%d", &n) != 1)
                n = -1;
        pclose(p);
        return n;
}

static void expect_upload(Flotad *f, const char *query, const void *data, size_t len, int status,
                          const char *needle) {
        HttpResponse r;
        _cleanup_free_ char *url = xasprintf("/api/v1/releases?%s", query);

        assert_int_equal(api_call(f, "POST", url, f->admin_token, data, len, &r), 0);
        if (r.status != status || !strstr(r.body, needle))
                fail_msg("upload %s: %d %s (want %d, '%s')", query, r.status, r.body, status, needle);
        http_response_done(&r);
}

/* Images laid out by the elf2bin of Arduino core <= 2.6, 2.7.x and 3.x are all accepted. */
static void test_arduino_core_layouts_accepted(void **state) {
        Flotad *f = *state;
        static const Esp8266Layout layouts[] = { ESP8266_LAYOUT_CORE_26, ESP8266_LAYOUT_CORE_27X,
                                                 ESP8266_LAYOUT_CORE_3X };

        for (size_t i = 0; i < ELEMENTSOF(layouts); i++) {
                uint8_t *img;
                size_t n;
                _cleanup_free_ char *q = xasprintf("product=door&version=core-%zu", i);

                image_build_esp8266_core(layouts[i], "x", 200000, (uint32_t) i, &img, &n);
                expect_upload(f, q, img, n, 201, "\"platform\":\"esp8266\"");
                img[100000] ^= 0x01;
                _cleanup_free_ char *q2 = xasprintf("product=door&version=broken-%zu", i);
                expect_upload(f, q2, img, n, 422, "corrupt");
                free(img);
        }
        assert_int_equal(count_files(f), 3);
}

static void gzip_deflate(const void *data, size_t n, uint8_t **ret, size_t *ret_size) {
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

/* gzip uploads are inflated and checked: text, a broken CRC-32 and gzipped ESP32 images are refused. */
static void test_gzip_checked_at_upload(void **state) {
        Flotad *f = *state;
        _cleanup_free_ char *text = xmalloc(600000);
        size_t tn = 0, n, gn;
        uint8_t *img, *gz;

        for (int i = 1; i <= 100000; i++)
                tn += (size_t) sprintf(text + tn, "%d\n", i);
        gzip_deflate(text, tn, &gz, &gn);
        expect_upload(f, "product=door&version=seq", gz, gn, 422, "inflated gzip image");
        free(gz);

        image_build_esp8266_core(ESP8266_LAYOUT_CORE_27X, "1", 300000, 1, &img, &n);
        gzip_deflate(img, n, &gz, &gn);
        gz[gn - 6] ^= 0x40; /* CRC-32 */
        expect_upload(f, "product=door&version=badcrc", gz, gn, 422, "corrupt");
        gz[gn - 6] ^= 0x40;
        expect_upload(f, "product=door&version=gz", gz, gn, 201, "\"compressed\":true");
        free(gz);
        free(img);

        image_build(PLATFORM_ESP32, "3.0.0", 100000, 1, &img, &n);
        gzip_deflate(img, n, &gz, &gn);
        expect_upload(f, "product=lamp", gz, gn, 422, "ESP32 cores do not install gzip");
        free(gz);
        free(img);
        assert_int_equal(count_files(f), 1);
}

/* A 409 (other bytes under an existing version) leaves no image file behind; shared content stays. */
static void test_conflict_leaves_no_file(void **state) {
        Flotad *f = *state;
        uint8_t *a, *b;
        size_t an, bn;

        image_build_esp8266_core(ESP8266_LAYOUT_CORE_3X, "a", 100000, 1, &a, &an);
        image_build_esp8266_core(ESP8266_LAYOUT_CORE_3X, "b", 100000, 2, &b, &bn);
        expect_upload(f, "product=door&version=1.0", a, an, 201, "\"id\":");
        expect_upload(f, "product=door&version=1.0", b, bn, 409, "already has");
        assert_int_equal(count_files(f), 1);
        /* the same bytes again under the same version: the stored file is still needed */
        expect_upload(f, "product=door&version=1.0", a, an, 409, "already has");
        assert_int_equal(count_files(f), 1);
        free(a);
        free(b);
}

/*
 * Image files that no release refers to (a crash between file and row) are removed at start-up;
 * in a shared directory (PostgreSQL replicas) only once they are an hour old.
 */
static void test_startup_removes_unreferenced_images(void **state) {
        Flotad *f = *state;
        static const char sha[] = "ab00000000000000000000000000000000000000000000000000000000000000";
        uint8_t *a;
        size_t an;
        HttpResponse r;

        /* on PostgreSQL the image directory is one that replicas share: a young file may be another
         * replica's upload in flight, and is kept until it is an hour old */
        bool shared = getenv("FLOTA_TEST_PG") != NULL;
        image_build_esp8266_core(ESP8266_LAYOUT_CORE_3X, "a", 100000, 1, &a, &an);
        expect_upload(f, "product=door&version=1.0", a, an, 201, "\"id\":");
        free(a);
        assert_int_equal(flotad_stop(f, SIGTERM), 0);
        _cleanup_free_ char *dir = xasprintf("%s/images/ab", f->data_dir);
        _cleanup_free_ char *path = xasprintf("%s/%s", dir, sha);
        (void) mkdir(dir, 0755);
        FILE *o = fopen(path, "w");
        assert_non_null(o);
        fputs("left over", o);
        fclose(o);
        assert_int_equal(count_files(f), 2);

        assert_int_equal(flotad_start(f, NULL), 0);
        assert_int_equal(count_files(f), shared ? 2 : 1);
        assert_int_equal(access(path, F_OK), shared ? 0 : -1);
        if (shared) {
                /* two hours old: no upload takes that long, so it goes at the next start */
                struct timespec old[2] = { { time(NULL) - 7200, 0 }, { time(NULL) - 7200, 0 } };
                assert_int_equal(utimensat(AT_FDCWD, path, old, 0), 0);
                assert_int_equal(flotad_stop(f, SIGTERM), 0);
                assert_int_equal(flotad_start(f, NULL), 0);
                assert_int_equal(count_files(f), 1);
                assert_int_equal(access(path, F_OK), -1);
        }
        /* the release's own image is still there and listed */
        assert_int_equal(api(f, "GET", "/api/v1/releases/1", NULL, &r), 200);
        http_response_done(&r);
}

/* An upload without version= that the image cannot supply is refused with the real reason. */
static void test_missing_version_reason(void **state) {
        Flotad *f = *state;
        uint8_t *img, *gz;
        size_t n, gn;

        image_build(PLATFORM_ESP32, "1.0.0", 100000, 1, &img, &n);
        /* no app descriptor: flip two magic bytes alike (the XOR checksum holds), redo the SHA-256 */
        img[32] ^= 0x11;
        img[33] ^= 0x11;
        sha256_raw(img, n - 32, img + n - 32);
        expect_upload(f, "product=lamp", img, n, 400, "this ESP32 image has no app descriptor");
        free(img);

        image_build_esp8266_core(ESP8266_LAYOUT_CORE_3X, "1", 100000, 1, &img, &n);
        expect_upload(f, "product=door", img, n, 400, "ESP8266 images do not carry their version");
        gzip_deflate(img, n, &gz, &gn);
        expect_upload(f, "product=door", gz, gn, 400, "a gzip image is an ESP8266 image");
        expect_upload(f, "product=door&kind=filesystem&platform=esp8266", img, n, 400,
                      "filesystem images do not carry a version");
        free(gz);
        free(img);
}

/* A fresh RSA-2048 key, as signing.py expects, and its public half as PEM. */
static EVP_PKEY *new_key(char **ret_pem) {
        EVP_PKEY *key = EVP_RSA_gen(2048);
        BIO *bio = BIO_new(BIO_s_mem());
        char *p;

        assert_non_null(key);
        assert_int_equal(PEM_write_bio_PUBKEY(bio, key), 1);
        long n = BIO_get_mem_data(bio, &p);
        *ret_pem = xstrndup(p, (size_t) n);
        BIO_free(bio);
        return key;
}

/* data || SIGNATURE || uint32_le(len): what signing.py --mode sign writes (openssl dgst -sha256 -sign). */
static uint8_t *sign_image(EVP_PKEY *key, const uint8_t *data, size_t n, size_t *ret_size) {
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        size_t siglen = 0;
        uint8_t *out;

        assert_int_equal(EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key), 1);
        assert_int_equal(EVP_DigestSign(ctx, NULL, &siglen, data, n), 1);
        out = xmalloc(n + siglen + 4);
        memcpy(out, data, n);
        assert_int_equal(EVP_DigestSign(ctx, out + n, &siglen, data, n), 1);
        EVP_MD_CTX_free(ctx);
        out[n + siglen] = (uint8_t) siglen;
        out[n + siglen + 1] = (uint8_t) (siglen >> 8);
        out[n + siglen + 2] = 0;
        out[n + siglen + 3] = 0;
        *ret_size = n + siglen + 4;
        return out;
}

/* JSON string body for a PEM text (newlines escaped). */
static char *product_with_key(const char *name, const char *pem) {
        _cleanup_free_ char *esc = xmalloc(strlen(pem) * 2 + 1);
        char *q = esc;

        for (const char *p = pem; *p; p++) {
                if (*p == '\n') {
                        *q++ = '\\';
                        *q++ = 'n';
                } else
                        *q++ = *p;
        }
        *q = 0;
        return xasprintf("{\"name\":\"%s\",\"signing_key\":\"%s\"}", name, esc);
}

/* A product with a public key takes only images whose signature verifies with it. */
static void test_signature_verified(void **state) {
        Flotad *f = *state;
        _cleanup_free_ char *pem = NULL, *other_pem = NULL;
        EVP_PKEY *key = new_key(&pem), *other = new_key(&other_pem);
        uint8_t *img, *img2, *s, *gz;
        size_t n, n2, sn, gn;
        HttpResponse r;

        _cleanup_free_ char *body = product_with_key("vault", pem);
        assert_int_equal(api(f, "POST", "/api/v1/products", body, &r), 201);
        assert_non_null(strstr(r.body, "\"requires_signature\":true"));
        http_response_done(&r);
        assert_int_equal(
                api(f, "POST", "/api/v1/products", "{\"name\":\"bad\",\"signing_key\":\"nope\"}", &r), 400);
        http_response_done(&r);

        image_build_esp8266_core(ESP8266_LAYOUT_CORE_3X, "a", 100000, 1, &img, &n);
        image_build_esp8266_core(ESP8266_LAYOUT_CORE_3X, "b", 100000, 2, &img2, &n2);
        expect_upload(f, "product=vault&version=unsigned", img, n, 422, "not signed");

        s = sign_image(other, img, n, &sn);
        expect_upload(f, "product=vault&version=other-key", s, sn, 422, "does not verify");
        free(s);

        /* image b's signature after image a */
        uint8_t *sb = sign_image(key, img2, n2, &sn);
        s = xmalloc(n + 260);
        memcpy(s, img, n);
        memcpy(s + n, sb + n2, 260);
        expect_upload(f, "product=vault&version=swapped", s, n + 260, 422, "does not verify");
        free(s);
        free(sb);

        s = sign_image(key, img, n, &sn);
        expect_upload(f, "product=vault&version=1.0", s, sn, 201, "\"signed\":true");
        free(s);
        /* a signed .gz: the signature is over the compressed file */
        gzip_deflate(img2, n2, &gz, &gn);
        s = sign_image(key, gz, gn, &sn);
        expect_upload(f, "product=vault&version=1.1", s, sn, 201, "\"compressed\":true");
        free(s);
        free(gz);
        /* filesystem images are signed the same way */
        expect_upload(f, "product=vault&version=fs&kind=filesystem&platform=esp8266", img, n, 422,
                      "not signed");
        s = sign_image(key, img, n, &sn);
        expect_upload(f, "product=vault&version=fs&kind=filesystem&platform=esp8266", s, sn, 201, "\"id\":");
        free(s);

        free(img);
        free(img2);
        EVP_PKEY_free(key);
        EVP_PKEY_free(other);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_arduino_core_layouts_accepted, setup, teardown),
                cmocka_unit_test_setup_teardown(test_gzip_checked_at_upload, setup, teardown),
                cmocka_unit_test_setup_teardown(test_conflict_leaves_no_file, setup, teardown),
                cmocka_unit_test_setup_teardown(test_missing_version_reason, setup, teardown),
                cmocka_unit_test_setup_teardown(test_signature_verified, setup, teardown),
                cmocka_unit_test_setup_teardown(test_startup_removes_unreferenced_images, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
