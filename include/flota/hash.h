/* SPDX-License-Identifier: MIT */
/* Layer: util. MD5 and SHA-256 (OpenSSL libcrypto), streaming and one-shot, as lowercase hex. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "flota/macro.h"

#define MD5_HEX_LEN 32
#define SHA256_HEX_LEN 64

typedef struct Hasher Hasher;

/* Computes MD5 and SHA-256 together over a stream. */
Hasher *hasher_new(void);
/* Only MD5 (hasher_final() then writes "" as the SHA-256): what an ESP8266 checks. */
Hasher *hasher_new_md5(void);
void hasher_update(Hasher *h, const void *data, size_t n);
/* Writes the digests as NUL-terminated lowercase hex. The hasher is spent afterwards. */
void hasher_final(Hasher *h, char md5_hex[MD5_HEX_LEN + 1], char sha256_hex[SHA256_HEX_LEN + 1]);
Hasher *hasher_free(Hasher *h);
DEFINE_TRIVIAL_CLEANUP_FUNC(Hasher *, hasher_free);

void md5_hex(const void *data, size_t n, char out[MD5_HEX_LEN + 1]);
void sha256_hex(const void *data, size_t n, char out[SHA256_HEX_LEN + 1]);
void sha256_raw(const void *data, size_t n, uint8_t out[32]);

/*
 * Decodes standard base64 (length a multiple of 4, '=' padding) into *ret (caller frees),
 * which may hold NUL bytes. 0, or -EINVAL when s is not base64.
 */
int base64_decode(const char *s, uint8_t **ret, size_t *ret_size);

/* 0 when pem is a PEM public key (RSA or EC, "-----BEGIN PUBLIC KEY-----"), else -EINVAL. */
int public_key_check(const char *pem);

/*
 * Verifies sig over data with the PEM public key, the way `openssl dgst -sha256 -sign`
 * signs (RSASSA-PKCS1-v1_5 or ECDSA over SHA-256). 0 when it verifies, -EBADMSG when it
 * does not, -EINVAL when pem is not a public key.
 */
int signature_verify_sha256(const char *pem, const void *data, size_t n, const uint8_t *sig, size_t siglen);

/* Fills buf with n cryptographically random bytes. 0 or -EIO. */
int random_bytes(void *buf, size_t n);

/* PBKDF2-HMAC-SHA256 of password and salt over rounds, out_len bytes into out. 0 or -EIO. */
int pbkdf2_sha256(const void *password, size_t n, const void *salt, size_t salt_len, unsigned rounds,
                  uint8_t *out, size_t out_len);
