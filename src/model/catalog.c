/* SPDX-License-Identifier: MIT */
/* The served catalog: sorted arrays and binary search, no allocation on lookup. */
#include "flota/catalog.h"

#include <stdlib.h>

#include "flota/strutil.h"

static int cmp_product(const void *a, const void *b) {
        return strcmp(((const Product *) a)->name, ((const Product *) b)->name);
}

static int cmp_release(const void *a, const void *b) {
        int64_t x = ((const Release *) a)->id, y = ((const Release *) b)->id;
        return (x > y) - (x < y);
}

static int cmp_override(const void *a, const void *b) {
        return strcmp(((const DeviceOverride *) a)->device_id, ((const DeviceOverride *) b)->device_id);
}

void catalog_seal(Catalog *c) {
        if (c->n_products)
                qsort(c->products, c->n_products, sizeof(Product), cmp_product);
        if (c->n_releases)
                qsort(c->releases, c->n_releases, sizeof(Release), cmp_release);
        if (c->n_overrides)
                qsort(c->overrides, c->n_overrides, sizeof(DeviceOverride), cmp_override);
}

Catalog *catalog_free(Catalog *c) {
        if (!c)
                return NULL;
        for (size_t i = 0; i < c->n_products; i++) {
                free(c->products[i].name);
                free(c->products[i].signing_key);
        }
        for (size_t i = 0; i < c->n_releases; i++)
                release_done(&c->releases[i]);
        for (size_t i = 0; i < c->n_channels; i++)
                free(c->channels[i].name);
        for (size_t i = 0; i < c->n_overrides; i++) {
                free(c->overrides[i].device_id);
                free(c->overrides[i].channel);
        }
        free(c->products);
        free(c->releases);
        free(c->channels);
        free(c->overrides);
        free(c);
        return NULL;
}

const Product *catalog_product(const Catalog *c, const char *name) {
        Product key = { .name = (char *) name };
        return c->n_products ? bsearch(&key, c->products, c->n_products, sizeof(Product), cmp_product)
                             : NULL;
}

bool product_key_matches(const Product *p, const char *key) {
        char digest[SHA256_HEX_LEN + 1];

        if (!p->key_sha256[0])
                return true;
        if (!key)
                return false;
        sha256_hex(key, strlen(key), digest);
        return streq_consttime(digest, p->key_sha256);
}

const Product *catalog_product_by_key(const Catalog *c, const char *key) {
        char digest[SHA256_HEX_LEN + 1];
        const Product *found = NULL;

        sha256_hex(key, strlen(key), digest);
        for (size_t i = 0; i < c->n_products; i++) {
                const Product *p = &c->products[i];
                if (p->key_sha256[0] && streq_consttime(digest, p->key_sha256))
                        found = p;
        }
        return found;
}

const Release *catalog_release(const Catalog *c, int64_t id) {
        Release key = { .id = id };
        return c->n_releases ? bsearch(&key, c->releases, c->n_releases, sizeof(Release), cmp_release)
                             : NULL;
}

const DeviceOverride *catalog_override(const Catalog *c, const char *device_id) {
        DeviceOverride key = { .device_id = (char *) device_id };
        return c->n_overrides
                       ? bsearch(&key, c->overrides, c->n_overrides, sizeof(DeviceOverride), cmp_override)
                       : NULL;
}

const ChannelSlot *catalog_channel(const Catalog *c, int64_t product_id, const char *name, ImageKind kind) {
        for (size_t i = 0; i < c->n_channels; i++) {
                const ChannelSlot *s = &c->channels[i];
                if (s->product_id == product_id && s->kind == kind && streq(s->name, name))
                        return s;
        }
        return NULL;
}

static const Release *release_of_kind(const Catalog *c, int64_t id, ImageKind kind) {
        const Release *r = id > 0 ? catalog_release(c, id) : NULL;
        return r && r->kind == kind ? r : NULL;
}

const Release *catalog_target(const Catalog *c, const Product *product, const char *device_id,
                              ImageKind kind, TargetSource *ret_source) {
        const DeviceOverride *o = catalog_override(c, device_id);
        const char *channel = DEFAULT_CHANNEL;
        const Release *r;

        if (o) {
                if ((r = release_of_kind(c, o->pin_release_id, kind))) {
                        *ret_source = TARGET_PIN;
                        return r;
                }
                if ((r = release_of_kind(c, o->assigned_release_id, kind))) {
                        *ret_source = TARGET_ASSIGNMENT;
                        return r;
                }
                if (o->channel)
                        channel = o->channel;
        }
        const ChannelSlot *slot = catalog_channel(c, product->id, channel, kind);
        if (slot && (r = catalog_release(c, slot->release_id))) {
                *ret_source = TARGET_CHANNEL;
                return r;
        }
        *ret_source = TARGET_NONE;
        return NULL;
}
