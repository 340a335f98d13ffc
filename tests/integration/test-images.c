/* SPDX-License-Identifier: MIT */
/*
 * What flotad accepts as firmware: every image layout the real cores build goes in, every
 * broken one is refused with a reason, and a refused upload leaves nothing behind.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flota/alloc.h"
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

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_arduino_core_layouts_accepted, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
