/* SPDX-License-Identifier: MIT */
/* Layer: model. MAC addresses: parsing of the forms devices and people write, one canonical form. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* "AA:BB:CC:DD:EE:FF" plus NUL. */
#define MAC_STR_LEN 17

/*
 * Accepts "aa:bb:cc:dd:ee:ff", "AA-BB-CC-DD-EE-FF" and "aabbccddeeff" (any case).
 * Returns 0 and the 48-bit value, or -EINVAL.
 */
int mac_parse(const char *s, uint64_t *ret);
/* The same for the n bytes at s (no NUL needed): the one MAC parser, log ingest's included. */
int mac_parse_n(const char *s, size_t n, uint64_t *ret);

/* Canonical form: uppercase, colon-separated (what the ESP cores send). Returns buf. */
char *mac_format(uint64_t mac, char buf[static MAC_STR_LEN + 1]);

/* Parses s and writes its canonical form into buf. 0 or -EINVAL (buf untouched). */
int mac_canonicalize(const char *s, char buf[static MAC_STR_LEN + 1]);
