/* SPDX-License-Identifier: MIT */
/* Recognising devices by their mDNS announcements, and the inventory's merge of what mDNS says. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "../harness/tmpdir.h"
#include "flota/alloc.h"
#include "flota/inventory.h"
#include "flota/mdns-device.h"

#define TXT(k, v) \
        { k, sizeof(k) - 1, v, sizeof(v) - 1 }

static void test_arduino_ota(void **state) {
        MdnsTxt txt[] = { TXT("tcp_check", "no"), TXT("ssh_upload", "no"), TXT("board", "generic"),
                          TXT("auth_upload", "yes") };
        MdnsDevice d;
        char id[DEVICE_ID_MAX + 1];

        assert_int_equal(
                mdns_device_identify("_arduino._tcp", "esp8266-1a2b3c", "esp8266-1a2b3c.local", txt, 4, &d),
                0);
        assert_int_equal(d.kind, MDNS_KIND_ARDUINO_OTA);
        assert_int_equal(d.mac_bytes, 3);
        assert_int_equal(d.platform, PLATFORM_ESP8266);
        assert_true(d.auth);
        assert_string_equal(d.board, "generic");
        assert_string_equal(mdns_device_id(&d, id), "esp8266-1a2b3c");

        txt[2] = (MdnsTxt) TXT("board", "esp32");
        assert_int_equal(mdns_device_identify("_arduino._tcp", "x", "ESP32-24A160112233.local.", txt, 3, &d),
                         0);
        assert_int_equal(d.mac_bytes, 6);
        assert_int_equal(d.platform, PLATFORM_ESP32);
        assert_false(d.auth);
        assert_string_equal(mdns_device_id(&d, id), "24:A1:60:11:22:33");

        /* a host name of the user's: the device is known by it */
        assert_int_equal(mdns_device_identify("_arduino._tcp", "clock", "kitchen-clock.local", txt, 3, &d),
                         0);
        assert_int_equal(d.mac_bytes, 0);
        assert_string_equal(mdns_device_id(&d, id), "kitchen-clock");
        /* ... that must be usable as an id */
        assert_int_equal(mdns_device_identify("_arduino._tcp", "x", "-bad host.local", txt, 3, &d), -ENODEV);
}

static void test_esphome_wled_tasmota(void **state) {
        MdnsTxt esphome[] = { TXT("friendly_name", "Hall sensor"),
                              TXT("version", "2024.11.0"),
                              TXT("mac", "a4cf12ab34cd"),
                              TXT("platform", "ESP8266"),
                              TXT("board", "d1_mini"),
                              TXT("project_name", "acme.hall"),
                              TXT("project_version", "1.4.2") };
        MdnsTxt wled[] = { TXT("mac", "ecfabc0a0b0c") };
        MdnsTxt tasmota[] = { TXT("devicetype", "tasmota") };
        MdnsTxt nothing[] = { TXT("path", "/") };
        MdnsDevice d;
        char id[DEVICE_ID_MAX + 1];

        assert_int_equal(mdns_device_identify("_esphomelib._tcp", "hall", "hall.local", esphome, 7, &d), 0);
        assert_int_equal(d.kind, MDNS_KIND_ESPHOME);
        assert_string_equal(mdns_device_id(&d, id), "A4:CF:12:AB:34:CD");
        assert_string_equal(d.name, "Hall sensor");
        assert_string_equal(d.version, "1.4.2");
        assert_string_equal(d.framework, "2024.11.0");
        assert_int_equal(d.platform, PLATFORM_ESP8266);

        assert_int_equal(mdns_device_identify("_wled._tcp", "wled-strip", "wled-strip.local", wled, 1, &d),
                         0);
        assert_string_equal(mdns_device_id(&d, id), "EC:FA:BC:0A:0B:0C");

        assert_int_equal(
                mdns_device_identify("_http._tcp", "t", "tasmota-0A0B0C-2828.local", tasmota, 1, &d), 0);
        assert_int_equal(d.kind, MDNS_KIND_TASMOTA);
        assert_string_equal(mdns_device_id(&d, id), "tasmota-0a0b0c");

        /* a printer's web page is not a device; an ArduinoOTA-named web server is */
        assert_int_equal(mdns_device_identify("_http._tcp", "p", "printer.local", nothing, 1, &d), -ENODEV);
        assert_int_equal(mdns_device_identify("_http._tcp", "e", "esp8266-00aa01.local", nothing, 1, &d), 0);
        assert_int_equal(mdns_device_identify("_ipp._tcp", "p", "printer.local", nothing, 1, &d), -ENODEV);
}

/* Hostile TXT: oversized, binary, duplicate keys, keys without values. */
static void test_bad_txt(void **state) {
        char big[300];
        memset(big, 'a', sizeof(big));
        MdnsTxt txt[] = {
                { "mac", 3, "zz", 2 }, /* the first "mac" wins, and is bad */
                { "mac", 3, "a4cf12ab34cd", 12 },
                { "friendly_name", 13, big, sizeof(big) }, /* too long: ignored */
                { "board", 5, "d1\001mini", 8 },           /* control byte: ignored */
                { "platform", 8, NULL, 0 },                /* no '=': ignored */
        };
        MdnsDevice d;

        assert_int_equal(mdns_device_identify("_esphomelib._tcp", "x", "node.local", txt, 5, &d), 0);
        assert_int_equal(d.mac_bytes, 0);
        assert_string_equal(d.name, "node");
        assert_string_equal(d.board, "");
        assert_int_equal(d.platform, _PLATFORM_INVALID);
}

static int setup(void **state) {
        *state = tmpdir_new();
        return 0;
}

static int teardown(void **state) {
        tmpdir_remove(*state);
        return 0;
}

static void poll_seen(Store *s, const char *mac, const char *version, usec_t at) {
        Sighting x = { .device = mac, .version = version, .at = at, .source = "flotad" };
        assert_int_equal(inventory_record(s, &x), 0);
}

/* mDNS first (only the chip id), the poll later: one row, named by the MAC. And the other way round. */
static void test_inventory_merge(void **state) {
        _cleanup_free_ char *path = xasprintf("%s/flota.db", (char *) *state);
        Store *s;
        char id[DEVICE_ID_MAX + 1];
        InventorySummary sum;

        assert_int_equal(inventory_open(path, &s), 0);
        MdnsSighting m = { .device = "esp8266-1a2b3c",
                           .name = "esp8266-1a2b3c",
                           .kind = "arduino-ota",
                           .host = "esp8266-1a2b3c",
                           .platform = "esp8266",
                           .ip = "169.254.78.5",
                           .port = 8266,
                           .at = 100 };
        assert_int_equal(inventory_mdns_seen(s, &m, id), 0);
        assert_string_equal(id, "esp8266-1a2b3c");
        poll_seen(s, "5C:CF:7F:1A:2B:3C", "1.0.0", 200);
        assert_int_equal(inventory_summary(s, 1000, &sum), 0);
        assert_int_equal(sum.devices, 1);
        assert_int_equal(sum.online, 1); /* announced, though not seen lately */

        /* the MAC known first: the chip id resolves to it at once */
        poll_seen(s, "5C:CF:7F:00:00:01", "1.0.0", 300);
        m.device = "esp8266-000001";
        assert_int_equal(inventory_mdns_seen(s, &m, id), 0);
        assert_string_equal(id, "5C:CF:7F:00:00:01");
        assert_int_equal(inventory_summary(s, 1000, &sum), 0);
        assert_int_equal(sum.devices, 2);
        assert_int_equal(sum.online, 2);

        /* a goodbye */
        assert_int_equal(inventory_mdns_gone(s, "5C:CF:7F:00:00:01"), 0);
        assert_int_equal(inventory_summary(s, 1000, &sum), 0);
        assert_int_equal(sum.online, 1);

        /* an ESP32 with its whole MAC in the host name merges with its polls directly */
        m = (MdnsSighting) { .device = "24:A1:60:11:22:33", .kind = "arduino-ota", .at = 400 };
        assert_int_equal(inventory_mdns_seen(s, &m, id), 0);
        poll_seen(s, "24:A1:60:11:22:33", "2.0.0", 500);
        assert_int_equal(inventory_summary(s, 0, &sum), 0);
        assert_int_equal(sum.devices, 3);
        store_free(s);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_arduino_ota),
                cmocka_unit_test(test_esphome_wled_tasmota),
                cmocka_unit_test(test_bad_txt),
                cmocka_unit_test_setup_teardown(test_inventory_merge, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
