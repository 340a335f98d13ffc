/* SPDX-License-Identifier: MIT */
/*
 * Layer: model. An immutable snapshot of what flotad serves: products, releases,
 * channel slots and per-device overrides (pin, assignment, channel). Built by the
 * store after every management write and swapped in whole; the device endpoint
 * only reads it, so lookups need no database access.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "flota/decision.h"
#include "flota/firmware.h"

#define DEFAULT_CHANNEL "stable"

typedef struct Product {
        int64_t id;
        char *name;
        char key_sha256[SHA256_HEX_LEN + 1]; /* "" when devices need no key */
        Platform platform;                   /* _PLATFORM_INVALID: not declared */
        char *signing_key;                   /* PEM public key releases must be signed for; NULL: none */
        usec_t created;
} Product;

typedef struct ChannelSlot {
        int64_t product_id;
        char *name;
        ImageKind kind;
        int64_t release_id;
        usec_t updated;
} ChannelSlot;

typedef struct DeviceOverride {
        char *device_id;
        int64_t pin_release_id;      /* 0: none */
        int64_t assigned_release_id; /* 0: none */
        char *channel;               /* NULL: the default channel */
} DeviceOverride;

typedef struct Catalog {
        Product *products;
        size_t n_products;
        Release *releases;
        size_t n_releases;
        ChannelSlot *channels;
        size_t n_channels;
        DeviceOverride *overrides;
        size_t n_overrides;
} Catalog;

/* Sorts the arrays for lookup; call once after filling them. */
void catalog_seal(Catalog *c);
Catalog *catalog_free(Catalog *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(Catalog *, catalog_free);

/* Lookups return borrowed pointers valid while the catalog lives, or NULL. */
const Product *catalog_product(const Catalog *c, const char *name);
/* Finds the product whose device key is key, comparing every keyed product in constant time. */
const Product *catalog_product_by_key(const Catalog *c, const char *key);
const Release *catalog_release(const Catalog *c, int64_t id);
const DeviceOverride *catalog_override(const Catalog *c, const char *device_id);
const ChannelSlot *catalog_channel(const Catalog *c, int64_t product_id, const char *name, ImageKind kind);

/*
 * What device_id, polling for product, should run in partition kind: its pin, else its
 * assignment (each only when of that kind), else its channel's release. Sets *ret_source.
 */
const Release *catalog_target(const Catalog *c, const Product *product, const char *device_id,
                              ImageKind kind, TargetSource *ret_source);

/* True when the product's device key matches key (or the product has none). Constant time. */
bool product_key_matches(const Product *p, const char *key);
