/* SPDX-License-Identifier: MIT */
/* Digest, base64 and signature helpers over OpenSSL EVP. */
#include "flota/hash.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include "flota/alloc.h"
#include "flota/strutil.h"

struct Hasher {
        EVP_MD_CTX *md5;
        EVP_MD_CTX *sha256;
};

static EVP_MD_CTX *ctx_new(const EVP_MD *md) {
        EVP_MD_CTX *c = EVP_MD_CTX_new();
        if (!c || EVP_DigestInit_ex(c, md, NULL) != 1)
                abort();
        return c;
}

Hasher *hasher_new(void) {
        Hasher *h = hasher_new_md5();
        h->sha256 = ctx_new(EVP_sha256());
        return h;
}

Hasher *hasher_new_md5(void) {
        Hasher *h = xmalloc(sizeof(*h));
        h->md5 = ctx_new(EVP_md5());
        h->sha256 = NULL;
        return h;
}

void hasher_update(Hasher *h, const void *data, size_t n) {
        (void) EVP_DigestUpdate(h->md5, data, n);
        if (h->sha256)
                (void) EVP_DigestUpdate(h->sha256, data, n);
}

void hasher_final(Hasher *h, char md5_out[MD5_HEX_LEN + 1], char sha_out[SHA256_HEX_LEN + 1]) {
        uint8_t d[EVP_MAX_MD_SIZE];
        unsigned n;

        (void) EVP_DigestFinal_ex(h->md5, d, &n);
        hex_encode(d, n, md5_out);
        if (h->sha256) {
                (void) EVP_DigestFinal_ex(h->sha256, d, &n);
                hex_encode(d, n, sha_out);
        } else
                sha_out[0] = 0;
}

Hasher *hasher_free(Hasher *h) {
        if (h) {
                EVP_MD_CTX_free(h->md5);
                EVP_MD_CTX_free(h->sha256);
                free(h);
        }
        return NULL;
}

static void digest(const EVP_MD *md, const void *data, size_t n, uint8_t *out, unsigned *len) {
        if (EVP_Digest(data, n, out, len, md, NULL) != 1)
                abort();
}

void md5_hex(const void *data, size_t n, char out[MD5_HEX_LEN + 1]) {
        uint8_t d[EVP_MAX_MD_SIZE];
        unsigned len;

        digest(EVP_md5(), data, n, d, &len);
        hex_encode(d, len, out);
}

void sha256_hex(const void *data, size_t n, char out[SHA256_HEX_LEN + 1]) {
        uint8_t d[32];

        sha256_raw(data, n, d);
        hex_encode(d, sizeof(d), out);
}

void sha256_raw(const void *data, size_t n, uint8_t out[32]) {
        unsigned len;
        digest(EVP_sha256(), data, n, out, &len);
}

int random_bytes(void *buf, size_t n) {
        return RAND_bytes(buf, (int) n) == 1 ? 0 : -EIO;
}

int base64_decode(const char *s, uint8_t **ret, size_t *ret_size) {
        size_t n = strlen(s), pad = 0;

        if (n % 4 != 0 || n > INT32_MAX)
                return -EINVAL;
        uint8_t *out = xmalloc(n / 4 * 3 + 1);
        int k = n ? EVP_DecodeBlock(out, (const unsigned char *) s, (int) n) : 0;
        if (k < 0) {
                free(out);
                return -EINVAL;
        }
        while (pad < 2 && n > pad && s[n - 1 - pad] == '=')
                pad++;
        *ret = out;
        *ret_size = (size_t) k - pad;
        return 0;
}

static EVP_PKEY *read_public_key(const char *pem) {
        BIO *bio = BIO_new_mem_buf(pem, -1);
        EVP_PKEY *key;

        if (!bio)
                return NULL;
        key = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
        BIO_free(bio);
        ERR_clear_error();
        return key;
}

int public_key_check(const char *pem) {
        EVP_PKEY *key = read_public_key(pem);

        if (!key)
                return -EINVAL;
        EVP_PKEY_free(key);
        return 0;
}

int signature_verify_sha256(const char *pem, const void *data, size_t n, const uint8_t *sig, size_t siglen) {
        EVP_PKEY *key = read_public_key(pem);
        EVP_MD_CTX *ctx;
        int r = -EBADMSG;

        if (!key)
                return -EINVAL;
        ctx = EVP_MD_CTX_new();
        if (ctx && EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, key) == 1 &&
            EVP_DigestVerify(ctx, sig, siglen, data, n) == 1)
                r = 0;
        EVP_MD_CTX_free(ctx);
        EVP_PKEY_free(key);
        ERR_clear_error();
        return r;
}

int pbkdf2_sha256(const void *password, size_t n, const void *salt, size_t salt_len, unsigned rounds,
                  uint8_t *out, size_t out_len) {
        if (n > INT32_MAX || salt_len > INT32_MAX || out_len > INT32_MAX || rounds == 0 ||
            rounds > INT32_MAX)
                return -EIO;
        return PKCS5_PBKDF2_HMAC(password, (int) n, salt, (int) salt_len, (int) rounds, EVP_sha256(),
                                 (int) out_len, out) == 1
                       ? 0
                       : -EIO;
}
