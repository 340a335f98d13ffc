/* SPDX-License-Identifier: MIT */
/* Check-in journal records: every field comes back, and a damaged or cut record is told apart. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "flota/strutil.h"
#include "journal-record.h"

/* A check-in with every field away from its zero value, each string at its longest. */
static void full_checkin(Checkin *c) {
        *c = (Checkin) {
                .at = 1764000000123456,
                .has_chip_id = true,
                .chip_id = 0xFFFFFFFFu,
                .platform = PLATFORM_ESP32,
                .free_space = 1234567,
                .sketch_size = 987654,
                .chip_size = 4194304,
                .mode = UPDATE_MODE_FILESYSTEM,
                .status = 200,
                .reason = REASON_UPDATE,
                .release_id = 42,
                .source = TARGET_ASSIGNMENT,
        };
        memset(c->ip, 'i', sizeof(c->ip) - 1);
        memset(c->product, 'p', sizeof(c->product) - 1);
        memset(c->device_id, 'd', sizeof(c->device_id) - 1);
        strscpy(c->mac, sizeof(c->mac), "24:6F:28:00:00:01");
        strscpy(c->ap_mac, sizeof(c->ap_mac), "26:6F:28:00:00:01");
        memset(c->version, 'v', sizeof(c->version) - 1);
        memset(c->sketch_md5, 'a', sizeof(c->sketch_md5) - 1);
        memset(c->sketch_sha256, 'b', sizeof(c->sketch_sha256) - 1);
        memset(c->sdk, 's', sizeof(c->sdk) - 1);
        memset(c->user_agent, 'u', sizeof(c->user_agent) - 1);
}

static void assert_same(const Checkin *a, const Checkin *b) {
        assert_int_equal(a->at, b->at);
        assert_int_equal(a->has_chip_id, b->has_chip_id);
        assert_int_equal(a->chip_id, b->chip_id);
        assert_int_equal(a->platform, b->platform);
        assert_int_equal(a->free_space, b->free_space);
        assert_int_equal(a->sketch_size, b->sketch_size);
        assert_int_equal(a->chip_size, b->chip_size);
        assert_int_equal(a->mode, b->mode);
        assert_int_equal(a->status, b->status);
        assert_int_equal(a->reason, b->reason);
        assert_int_equal(a->release_id, b->release_id);
        assert_int_equal(a->source, b->source);
        assert_string_equal(a->ip, b->ip);
        assert_string_equal(a->product, b->product);
        assert_string_equal(a->device_id, b->device_id);
        assert_string_equal(a->mac, b->mac);
        assert_string_equal(a->ap_mac, b->ap_mac);
        assert_string_equal(a->version, b->version);
        assert_string_equal(a->sketch_md5, b->sketch_md5);
        assert_string_equal(a->sketch_sha256, b->sketch_sha256);
        assert_string_equal(a->sdk, b->sdk);
        assert_string_equal(a->user_agent, b->user_agent);
}

static void test_every_field_comes_back(void **state) {
        uint8_t buf[JOURNAL_RECORD_MAX];
        Checkin c, back;
        size_t used;

        full_checkin(&c);
        size_t n = journal_record_encode(&c, buf);
        assert_true(n <= JOURNAL_RECORD_MAX);
        assert_int_equal(journal_record_decode(buf, n, &back, &used), JOURNAL_RECORD);
        assert_int_equal(used, n);
        assert_same(&c, &back);

        /* the fields a poll may leave out: no chip id, no platform, no AP MAC */
        c.has_chip_id = false;
        c.chip_id = 0;
        c.platform = _PLATFORM_INVALID;
        c.ap_mac[0] = 0;
        n = journal_record_encode(&c, buf);
        assert_int_equal(journal_record_decode(buf, n, &back, &used), JOURNAL_RECORD);
        assert_same(&c, &back);
}

static void test_cut_and_damage_told_apart(void **state) {
        uint8_t buf[2 * JOURNAL_RECORD_MAX];
        Checkin c, back;
        size_t used;

        full_checkin(&c);
        size_t n = journal_record_encode(&c, buf);
        /* every prefix is a record cut short, never a record */
        for (size_t k = 0; k < n; k++)
                assert_int_equal(journal_record_decode(buf, k, &back, &used), JOURNAL_PARTIAL);
        /* any one byte changed in the record is damage */
        for (size_t k = 0; k < n; k++) {
                buf[k] ^= 0x20;
                JournalScan s = journal_record_decode(buf, n, &back, &used);
                /* a changed length byte may make the record look longer than what is there */
                assert_true(s == JOURNAL_DAMAGED || (s == JOURNAL_PARTIAL && k >= 4 && k < 8));
                buf[k] ^= 0x20;
        }
        /* past damage, the next record is found */
        size_t m = journal_record_encode(&c, buf + n);
        buf[20] ^= 0x01;
        assert_int_equal(journal_record_resync(buf, n + m), n);
        assert_int_equal(journal_record_decode(buf + n, m, &back, &used), JOURNAL_RECORD);
}

static void test_impossible_values_refused(void **state) {
        uint8_t buf[JOURNAL_RECORD_MAX];
        Checkin c, back;
        size_t used;

        /* a record whose CRC holds but whose device id is empty is no check-in */
        full_checkin(&c);
        c.device_id[0] = 0;
        size_t n = journal_record_encode(&c, buf);
        assert_int_equal(journal_record_decode(buf, n, &back, &used), JOURNAL_DAMAGED);
        full_checkin(&c);
        c.status = 42;
        n = journal_record_encode(&c, buf);
        assert_int_equal(journal_record_decode(buf, n, &back, &used), JOURNAL_DAMAGED);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_every_field_comes_back),
                cmocka_unit_test(test_cut_and_damage_told_apart),
                cmocka_unit_test(test_impossible_values_refused),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
