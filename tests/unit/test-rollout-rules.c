/* SPDX-License-Identifier: MIT */
/* The rollout model: settings, waves, a device's state from check-ins, gates, windows, rate. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "flota/rollout-rules.h"
#include "flota/rollout-spec.h"
#include "flota/strutil.h"

#define SEC USEC_PER_SEC
#define MIN (60 * USEC_PER_SEC)

/* ---- settings ---- */

static void test_spec_defaults_round_trip(void **state) {
        RolloutSpec s, back;
        char err[ROLLOUT_SPEC_ERROR_MAX];

        rollout_spec_init(&s);
        assert_int_equal(rollout_spec_set(&s, "release", "7", err), 0);
        assert_int_equal(rollout_spec_set(&s, "window", "01:00-05:00,sat-sun", err), 0);
        assert_int_equal(rollout_spec_set(&s, "window", "22:30-02:00", err), 0);
        assert_int_equal(rollout_spec_set(&s, "max-failure", "2.5%", err), 0);
        assert_int_equal(rollout_spec_set(&s, "promote", "stable", err), 0);
        _cleanup_free_ char *text = rollout_spec_format(&s);
        assert_int_equal(rollout_spec_parse(text, &back, err), 0);
        _cleanup_free_ char *again = rollout_spec_format(&back);
        assert_string_equal(text, again);
        assert_int_equal(back.release_id, 7);
        assert_int_equal(back.n_waves, 4);
        assert_int_equal(back.max_failure, 250);
        assert_int_equal(back.n_windows, 2);
        assert_int_equal(back.windows[0].days, (1 << 6) | (1 << 0));
        assert_int_equal(back.soak, 30 * MIN);
        assert_non_null(strstr(text, "window=01:00-05:00,sat-sun\n"));
        rollout_spec_done(&s);
        rollout_spec_done(&back);
}

static void test_spec_refuses(void **state) {
        RolloutSpec s;
        char err[ROLLOUT_SPEC_ERROR_MAX];
        static const char *const bad[][2] = {
                { "waves", "5%,1" },
                { "waves", "10,5" },
                { "waves", "0" },
                { "waves", "" },
                { "waves", "101%" },
                { "soak", "soon" },
                { "min-success", "95" },
                { "max-failure", "2.555%" },
                { "window", "25:00-01:00" },
                { "window", "01:00-01:00" },
                { "window", "01:00-05:00,funday" },
                { "rate", "200" },
                { "rate", "0/min" },
                { "ramp", "0.5" },
                { "on-failure", "explode" },
                { "approve", "sometimes" },
                { "transport", "carrier-pigeon" },
                { "image", "relative/image.bin" },
                { "parallel", "0" },
                { "push-port", "70000" },
                { "release", "-1" },
                { "nonsense", "1" },
                { "silent-after", "0" },
                { "promote", "bad name!" },
        };

        rollout_spec_init(&s);
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                err[0] = 0;
                assert_int_equal(rollout_spec_set(&s, bad[i][0], bad[i][1], err), -EINVAL);
                assert_true(strlen(err) > 0);
        }
        /* nothing refused changed the spec */
        assert_int_equal(s.n_waves, 4);
        assert_int_equal(s.n_windows, 0);
        assert_int_equal(rollout_spec_check(&s, err), -EINVAL);
        /* a push transport needs the release's image */
        assert_int_equal(rollout_spec_set(&s, "release", "1", err), 0);
        assert_int_equal(rollout_spec_set(&s, "transport", "espota", err), 0);
        assert_int_equal(rollout_spec_check(&s, err), -EINVAL);
        assert_non_null(strstr(err, "--image"));
        assert_int_equal(rollout_spec_set(&s, "image", "/srv/door-2.0.bin", err), 0);
        assert_int_equal(rollout_spec_check(&s, err), 0);
        assert_int_equal(rollout_spec_parse("release=1\nwaves", &s, err), -EINVAL);
        assert_non_null(strstr(err, "line 2"));
        rollout_spec_done(&s);
}

static void test_waves_end_at_all(void **state) {
        RolloutWave w[ROLLOUT_WAVES_MAX];
        size_t n;

        assert_int_equal(rollout_waves_parse("1,5%,25%", w, &n), 0);
        assert_int_equal(n, 4);
        assert_true(w[3].is_percent);
        assert_int_equal(w[3].value, BASIS_POINTS);
        assert_int_equal(rollout_waves_parse("10,50", w, &n), 0);
        assert_int_equal(n, 3);
}

/* ---- waves ---- */

static void test_wave_targets(void **state) {
        RolloutWave w[ROLLOUT_WAVES_MAX];
        uint64_t t[ROLLOUT_WAVES_MAX];
        size_t n;

        assert_int_equal(rollout_waves_parse("1,5%,25%,100%", w, &n), 0);
        rollout_wave_targets(w, n, 40, t);
        /* 5 % of 40 is 2: round up, cumulative */
        assert_int_equal(t[0], 1);
        assert_int_equal(t[1], 2);
        assert_int_equal(t[2], 10);
        assert_int_equal(t[3], 40);
        rollout_wave_targets(w, n, 1580, t);
        assert_int_equal(t[1], 79);
        assert_int_equal(t[2], 395);
        /* a wave that rounds to no more than the one before still offers one more device */
        rollout_wave_targets(w, n, 10, t);
        assert_int_equal(t[0], 1);
        assert_int_equal(t[1], 2);
        assert_int_equal(t[2], 3);
        assert_int_equal(t[3], 10);
        /* fewer devices than waves */
        rollout_wave_targets(w, n, 2, t);
        assert_int_equal(t[0], 1);
        assert_int_equal(t[1], 2);
        assert_int_equal(t[3], 2);
        assert_int_equal(rollout_wave_of(t, n, 0), 0);
        assert_int_equal(rollout_wave_of(t, n, 1), 1);
}

static void test_hash_is_stable(void **state) {
        /* the order must never change between versions of flota: this value is fixed */
        uint64_t a = rollout_device_hash("door-2.2", "18:FE:34:D7:1F:55");
        assert_true(a == 14277730629495557931ULL);
        assert_int_equal(a, rollout_device_hash("door-2.2", "18:FE:34:D7:1F:55"));
        assert_true(a != rollout_device_hash("door-2.3", "18:FE:34:D7:1F:55"));
        assert_true(a != rollout_device_hash("door-2.2", "18:FE:34:D7:1F:56"));
}

/* ---- a device's state ---- */

static Checkin checkin(usec_t at, const char *version, int status, Reason reason, int64_t release,
                       TargetSource src) {
        Checkin c = { .at = at, .status = status, .reason = reason, .release_id = release, .source = src };
        strscpy(c.version, sizeof(c.version), version);
        return c;
}

static const RolloutTarget target = {
        .release_id = 2, .version = "1.1.0", .md5 = "abc", .from_version = "1.0.0"
};

static DeviceProgress offered(usec_t at) {
        return (DeviceProgress) { .state = DR_OFFERED, .offered_at = at };
}

static void test_progress_updated_only_after_a_later_checkin(void **state) {
        DeviceProgress p = offered(100 * SEC);
        Checkin c = checkin(50 * SEC, "1.1.0", 304, REASON_UP_TO_DATE, 2, TARGET_ASSIGNMENT);

        /* a check-in from before the offer says nothing */
        assert_false(device_progress_observe(&p, &c, &target, 3));
        assert_int_equal(p.state, DR_OFFERED);
        /* a 200 is not success */
        c = checkin(110 * SEC, "1.0.0", 200, REASON_UPDATE, 2, TARGET_ASSIGNMENT);
        assert_true(device_progress_observe(&p, &c, &target, 3));
        assert_int_equal(p.state, DR_DOWNLOADING);
        c = checkin(170 * SEC, "1.1.0", 304, REASON_UP_TO_DATE, 2, TARGET_ASSIGNMENT);
        assert_true(device_progress_observe(&p, &c, &target, 3));
        assert_int_equal(p.state, DR_UPDATED);
        assert_int_equal(p.decided_at, 170 * SEC);
}

static void test_progress_stuck_and_aborted_fail(void **state) {
        DeviceProgress p = offered(100 * SEC);
        Checkin c = checkin(110 * SEC, "1.0.0", 200, REASON_UPDATE, 2, TARGET_ASSIGNMENT);

        assert_true(device_progress_observe(&p, &c, &target, 3));
        for (int i = 1; i <= 3; i++) {
                c.at = (110 + 60 * (usec_t) i) * SEC;
                device_progress_observe(&p, &c, &target, 3);
                assert_int_equal(p.state, i < 3 ? DR_DOWNLOADING : DR_FAILED);
        }
        assert_non_null(strstr(p.reason, "still on 1.0.0"));

        p = offered(100 * SEC);
        c = checkin(110 * SEC, "1.0.0", 200, REASON_UPDATE_ABORTED, 2, TARGET_ASSIGNMENT);
        device_progress_observe(&p, &c, &target, 2);
        assert_int_equal(p.state, DR_OFFERED);
        c.at += 60 * SEC;
        device_progress_observe(&p, &c, &target, 2);
        assert_int_equal(p.state, DR_FAILED);
        assert_non_null(strstr(p.reason, "aborted"));
        /* late success is still success */
        c = checkin(900 * SEC, "1.1.0", 304, REASON_UP_TO_DATE, 2, TARGET_ASSIGNMENT);
        device_progress_observe(&p, &c, &target, 2);
        assert_int_equal(p.state, DR_UPDATED);
}

static void test_progress_boot_loop_pin_and_ineligible(void **state) {
        DeviceProgress p = offered(100 * SEC);
        Checkin c = checkin(200 * SEC, "1.1.0", 304, REASON_UP_TO_DATE, 2, TARGET_ASSIGNMENT);

        device_progress_observe(&p, &c, &target, 3);
        assert_int_equal(p.state, DR_UPDATED);
        c = checkin(300 * SEC, "1.0.0", 200, REASON_UPDATE, 2, TARGET_ASSIGNMENT);
        device_progress_observe(&p, &c, &target, 3);
        assert_int_equal(p.state, DR_FAILED);
        assert_non_null(strstr(p.reason, "boot loop"));

        p = offered(100 * SEC);
        c = checkin(200 * SEC, "1.0.0", 304, REASON_UP_TO_DATE, 1, TARGET_PIN);
        device_progress_observe(&p, &c, &target, 3);
        assert_int_equal(p.state, DR_EXCLUDED);
        assert_string_equal(p.reason, "pinned");

        p = offered(100 * SEC);
        c = checkin(200 * SEC, "1.0.0", 304, REASON_TOO_LARGE, 2, TARGET_ASSIGNMENT);
        device_progress_observe(&p, &c, &target, 3);
        assert_int_equal(p.state, DR_EXCLUDED);
        assert_string_equal(p.reason, "ineligible: too-large");
}

static void test_progress_rollback(void **state) {
        RolloutTarget back = target;
        DeviceProgress p = { .state = DR_UPDATED, .offered_at = 100 * SEC, .saw_target = true };
        Checkin c = checkin(500 * SEC, "1.0.0", 304, REASON_UP_TO_DATE, 1, TARGET_ASSIGNMENT);

        back.rolling_back = true;
        assert_true(device_progress_observe(&p, &c, &back, 3));
        assert_int_equal(p.state, DR_ROLLED_BACK);
}

static void test_progress_seen_by_another_source(void **state) {
        DeviceProgress p = offered(100 * SEC);

        /* an mDNS announcement of the old version, or of the target before the offer, says nothing */
        assert_false(device_progress_seen(&p, "1.0.0", 200 * SEC, &target));
        assert_false(device_progress_seen(&p, "1.1.0", 50 * SEC, &target));
        assert_true(device_progress_seen(&p, "1.1.0", 200 * SEC, &target));
        assert_int_equal(p.state, DR_UPDATED);
        /* a silent device that shows up on the target is a late success */
        p = offered(100 * SEC);
        p.state = DR_SILENT;
        assert_true(device_progress_seen(&p, "1.1.0", 900 * SEC, &target));
        assert_int_equal(p.state, DR_UPDATED);
        assert_false(device_progress_seen(&p, "1.1.0", 950 * SEC, &target));
}

static void test_silent(void **state) {
        DeviceProgress p = offered(100 * SEC);

        /* K x interval: 3 x 60 s after the offer, not before */
        assert_false(device_progress_check_silent(&p, 60 * SEC, 3, 280 * SEC));
        assert_true(device_progress_check_silent(&p, 60 * SEC, 3, 281 * SEC));
        assert_int_equal(p.state, DR_SILENT);
        /* counted from the last check-in after the offer */
        p = offered(100 * SEC);
        p.last_seen = 200 * SEC;
        assert_false(device_progress_check_silent(&p, 60 * SEC, 3, 350 * SEC));
        assert_true(device_progress_check_silent(&p, 60 * SEC, 3, 381 * SEC));
        /* decided devices never turn silent */
        p.state = DR_UPDATED;
        assert_false(device_progress_check_silent(&p, 60 * SEC, 3, 10000 * SEC));
        assert_int_equal(poll_interval(0, 0, 0), 3600 * SEC);
        assert_int_equal(poll_interval(11, 0, 600 * SEC), 60 * SEC);
}

/* ---- gates ---- */

static void test_gate(void **state) {
        RolloutSpec s;
        char why[128];
        rollout_spec_init(&s);
        s.soak = 10 * MIN;
        GateInput in = { .wave_fully_offered = true, .wave_last_offer = 0 };

        /* too few decided: wait */
        in.counts = (RolloutCounts) { .offered = 20, .updated = 4 };
        assert_int_equal(rollout_gate(&s, &in, 20 * MIN, why), GATE_WAIT);
        assert_non_null(strstr(why, "sample"));
        /* enough, healthy, soak not over */
        in.counts = (RolloutCounts) { .offered = 20, .updated = 20 };
        assert_int_equal(rollout_gate(&s, &in, 5 * MIN, why), GATE_WAIT);
        assert_non_null(strstr(why, "next wave after soak (5m)"));
        /* on the last wave the soak ends the rollout, and the sentence says so */
        in.last_wave = true;
        assert_int_equal(rollout_gate(&s, &in, 5 * MIN, why), GATE_WAIT);
        assert_non_null(strstr(why, "completes after soak (5m)"));
        in.last_wave = false;
        assert_int_equal(rollout_gate(&s, &in, 10 * MIN, why), GATE_PASS);
        /* failures fail at once, soak or not */
        in.counts = (RolloutCounts) { .offered = 20, .updated = 18, .failed = 1 };
        assert_int_equal(rollout_gate(&s, &in, 1 * MIN, why), GATE_FAIL);
        assert_non_null(strstr(why, "failure ratio 5.26%"));
        /* exactly at the limit passes: 2 % of 50 is 1 */
        in.counts = (RolloutCounts) { .offered = 50, .updated = 49, .failed = 1 };
        assert_int_equal(rollout_gate(&s, &in, 20 * MIN, why), GATE_PASS);
        /* silent over offered */
        in.counts = (RolloutCounts) { .offered = 20, .updated = 15, .silent = 2 };
        assert_int_equal(rollout_gate(&s, &in, 20 * MIN, why), GATE_FAIL);
        assert_non_null(strstr(why, "silent ratio 10%"));
        /* low success waits, it does not fail */
        s.max_failure = BASIS_POINTS;
        in.counts = (RolloutCounts) { .offered = 20, .updated = 15, .failed = 5 };
        assert_int_equal(rollout_gate(&s, &in, 20 * MIN, why), GATE_WAIT);
        assert_non_null(strstr(why, "success 75% below 95%"));
        /* a small first wave: the sample is what was offered */
        s.max_failure = 200;
        in.counts = (RolloutCounts) { .offered = 1, .updated = 1 };
        assert_int_equal(rollout_gate(&s, &in, 20 * MIN, why), GATE_PASS);
        /* still offering */
        in.wave_fully_offered = false;
        assert_int_equal(rollout_gate(&s, &in, 20 * MIN, why), GATE_WAIT);
        rollout_spec_done(&s);
}

/* ---- time ---- */

static usec_t utc(int day, int h, int m) {
        /* 2026-11-23 was a Monday */
        return (usec_t) (1795392000 + (day * 86400) + h * 3600 + m * 60) * SEC;
}

static void test_windows(void **state) {
        RolloutWindow w[2];

        setenv("TZ", "UTC", 1);
        assert_int_equal(rollout_window_parse("01:00-05:00", &w[0]), 0);
        assert_false(rollout_window_open(w, 1, utc(0, 0, 59)));
        assert_true(rollout_window_open(w, 1, utc(0, 1, 0)));
        assert_false(rollout_window_open(w, 1, utc(0, 5, 0)));
        assert_int_equal(rollout_window_next(w, 1, utc(0, 12, 0)), utc(1, 1, 0));
        /* across midnight, on weekend nights: Saturday 23:00 and Sunday 02:00 belong to Saturday */
        assert_int_equal(rollout_window_parse("22:00-04:00,sat", &w[1]), 0);
        assert_true(rollout_window_open(&w[1], 1, utc(5, 23, 0)));
        assert_true(rollout_window_open(&w[1], 1, utc(6, 2, 0)));
        assert_false(rollout_window_open(&w[1], 1, utc(6, 23, 0)));
        assert_false(rollout_window_open(&w[1], 1, utc(4, 23, 0)));
        assert_true(rollout_window_open(w, 0, utc(0, 12, 0)));
}

static void test_rate(void **state) {
        assert_int_equal(rollout_rate_allowance(0, 1000), UINT64_MAX);
        assert_int_equal(rollout_rate_allowance(200, 150), 50);
        assert_int_equal(rollout_rate_allowance(200, 250), 0);
        assert_int_equal(rollout_rate_ramped(100, 2.0, 0), 100);
        assert_int_equal(rollout_rate_ramped(100, 2.0, 3), 800);
        assert_int_equal(rollout_rate_ramped(0, 2.0, 3), 0);
}

static void test_state_names(void **state) {
        for (int i = 0; i < _DR_MAX; i++)
                assert_int_equal(device_rollout_state_from_string(device_rollout_state_to_string(i)), i);
        for (int i = 0; i < _ROLLOUT_STATE_MAX; i++)
                assert_int_equal(rollout_state_from_string(rollout_state_to_string(i)), i);
        assert_int_equal(rollout_state_from_string("sideways"), -EINVAL);
        assert_true(rollout_name_is_valid("door-2.2_rc1"));
        assert_false(rollout_name_is_valid("-x"));
        assert_false(rollout_name_is_valid("a b"));
        assert_false(rollout_name_is_valid(""));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_spec_defaults_round_trip),
                cmocka_unit_test(test_spec_refuses),
                cmocka_unit_test(test_waves_end_at_all),
                cmocka_unit_test(test_wave_targets),
                cmocka_unit_test(test_hash_is_stable),
                cmocka_unit_test(test_progress_updated_only_after_a_later_checkin),
                cmocka_unit_test(test_progress_stuck_and_aborted_fail),
                cmocka_unit_test(test_progress_boot_loop_pin_and_ineligible),
                cmocka_unit_test(test_progress_rollback),
                cmocka_unit_test(test_progress_seen_by_another_source),
                cmocka_unit_test(test_silent),
                cmocka_unit_test(test_gate),
                cmocka_unit_test(test_windows),
                cmocka_unit_test(test_rate),
                cmocka_unit_test(test_state_names),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
