/* SPDX-License-Identifier: MIT */
/* Target selection: pin, then assignment, then channel; kinds kept apart. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "flota/alloc.h"
#include "flota/catalog.h"
#include "flota/hash.h"

static Catalog *make(void) {
        Catalog *c = xcalloc(1, sizeof(Catalog));

        c->n_products = 1;
        c->products = xcalloc(1, sizeof(Product));
        c->products[0] = (Product) { .id = 1, .name = xstrdup("door"), .platform = _PLATFORM_INVALID };
        sha256_hex("door-key-123", 12, c->products[0].key_sha256);

        c->n_releases = 4;
        c->releases = xcalloc(4, sizeof(Release));
        const char *versions[] = { "1", "2", "3", "fs1" };
        for (int i = 0; i < 4; i++)
                c->releases[i] = (Release) {
                        .id = 10 + i,
                        .product_id = 1,
                        .product = xstrdup("door"),
                        .version = xstrdup(versions[i]),
                        .kind = i == 3 ? IMAGE_KIND_FILESYSTEM : IMAGE_KIND_SKETCH,
                };

        c->n_channels = 3;
        c->channels = xcalloc(3, sizeof(ChannelSlot));
        c->channels[0] = (ChannelSlot) {
                .product_id = 1, .name = xstrdup("stable"), .kind = IMAGE_KIND_SKETCH, .release_id = 10
        };
        c->channels[1] = (ChannelSlot) {
                .product_id = 1, .name = xstrdup("beta"), .kind = IMAGE_KIND_SKETCH, .release_id = 11
        };
        c->channels[2] = (ChannelSlot) {
                .product_id = 1, .name = xstrdup("stable"), .kind = IMAGE_KIND_FILESYSTEM, .release_id = 13
        };

        c->n_overrides = 3;
        c->overrides = xcalloc(3, sizeof(DeviceOverride));
        c->overrides[0] = (DeviceOverride) { .device_id = xstrdup("PINNED"),
                                             .pin_release_id = 12,
                                             .assigned_release_id = 11 };
        c->overrides[1] = (DeviceOverride) { .device_id = xstrdup("ASSIGNED"), .assigned_release_id = 12 };
        c->overrides[2] = (DeviceOverride) { .device_id = xstrdup("BETA"), .channel = xstrdup("beta") };
        catalog_seal(c);
        return c;
}

static int64_t target_id(const Catalog *c, const char *device, ImageKind kind, TargetSource *src) {
        const Release *r = catalog_target(c, catalog_product(c, "door"), device, kind, src);
        return r ? r->id : 0;
}

static void test_precedence(void **state) {
        Catalog *c = make();
        TargetSource src;

        assert_int_equal(target_id(c, "PINNED", IMAGE_KIND_SKETCH, &src), 12);
        assert_int_equal(src, TARGET_PIN);
        assert_int_equal(target_id(c, "ASSIGNED", IMAGE_KIND_SKETCH, &src), 12);
        assert_int_equal(src, TARGET_ASSIGNMENT);
        assert_int_equal(target_id(c, "BETA", IMAGE_KIND_SKETCH, &src), 11);
        assert_int_equal(src, TARGET_CHANNEL);
        assert_int_equal(target_id(c, "OTHER", IMAGE_KIND_SKETCH, &src), 10);
        assert_int_equal(src, TARGET_CHANNEL);
        /* filesystem polls use the filesystem slot even for pinned devices */
        assert_int_equal(target_id(c, "PINNED", IMAGE_KIND_FILESYSTEM, &src), 13);
        /* the beta channel has no filesystem release */
        assert_int_equal(target_id(c, "BETA", IMAGE_KIND_FILESYSTEM, &src), 0);
        assert_int_equal(src, TARGET_NONE);
        catalog_free(c);
}

static void test_keys(void **state) {
        Catalog *c = make();

        assert_non_null(catalog_product_by_key(c, "door-key-123"));
        assert_null(catalog_product_by_key(c, "door-key-124"));
        assert_true(product_key_matches(&c->products[0], "door-key-123"));
        assert_false(product_key_matches(&c->products[0], NULL));
        assert_false(product_key_matches(&c->products[0], ""));
        assert_null(catalog_product(c, "window"));
        assert_null(catalog_release(c, 99));
        catalog_free(c);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_precedence),
                cmocka_unit_test(test_keys),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
