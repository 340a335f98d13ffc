/* SPDX-License-Identifier: MIT */
/*
 * flota-sim against a real flotad: a mixed fleet of 1,000 ESP8266 and ESP32 devices on old
 * versions is moved to 2.0.0 by promoting releases; every device ends on 2.0.0 and flotad
 * recorded exactly the polls the simulator saw answered.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "flota/alloc.h"
#include "flotad-harness.h"

/* Runs flota-sim with args; returns its exit status and its standard output. */
static int run_sim(const char *const *args, char **ret_out) {
        const char *argv[32] = { getenv("FLOTA_SIM") };
        size_t n = 1;

        for (size_t i = 0; args[i] && n < 31; i++)
                argv[n++] = args[i];
        argv[n] = NULL;
        return run_program((char *const *) argv, false, ret_out);
}

static void publish_image(Flotad *f, const char *product, const char *key, const char *platform,
                          const char *size, const char *extra) {
        HttpResponse r;
        _cleanup_free_ char *body = key ? xasprintf("{\"name\":\"%s\",\"key\":\"%s\"}", product, key)
                                        : xasprintf("{\"name\":\"%s\"}", product);
        assert_int_equal(api(f, "POST", "/api/v1/products", body, &r), 201);
        http_response_done(&r);

        _cleanup_free_ char *path = xasprintf("%s/%s.bin", f->dir, product);
        _cleanup_free_ char *cmd =
                xasprintf("'%s' mkimage --platform %s --version 2.0.0 --size %s %s -o '%s'",
                          getenv("FLOTA_SIM"), platform, size, extra, path);
        assert_int_equal(system(cmd), 0);
        size_t len;
        _cleanup_free_ char *img = slurp(path, &len);
        _cleanup_free_ char *url = xasprintf("/api/v1/releases?product=%s&version=2.0.0", product);
        assert_int_equal(api_call(f, "POST", url, f->admin_token, img, len, &r), 0);
        assert_int_equal(r.status, 201);
        long id = json_int(r.body, "id");
        http_response_done(&r);
        _cleanup_free_ char *chan = xasprintf("/api/v1/channels/%s/stable", product);
        _cleanup_free_ char *rel = xasprintf("{\"release\":%ld}", id);
        assert_int_equal(api(f, "PUT", chan, rel, &r), 200);
        http_response_done(&r);
}

static void publish(Flotad *f, const char *product, const char *platform, const char *size) {
        publish_image(f, product, NULL, platform, size, "");
}

static void test_mixed_fleet_update(void **state) {
        Flotad *f = *state;
        char server[64], *out = NULL;

        publish(f, "door", "esp8266", "300K");
        publish(f, "lamp", "esp32", "400K");
        snprintf(server, sizeof(server), "http://127.0.0.1:%d", f->port);
        const char *args[] = { "--server",   server,
                               "--devices",  "1000",
                               "--product",  "esp8266=door,esp32=lamp",
                               "--mix",      "esp8266=70,esp32=30",
                               "--versions", "1.0.0=80,1.1.0=20",
                               "--seed",     "7",
                               "--interval", "0.3",
                               "--jitter",   "--until-version",
                               "2.0.0",      "--duration",
                               "60",         "--json",
                               NULL };
        int rc = run_sim(args, &out);
        if (rc != 0)
                fail_msg("flota-sim exited %d: %s", rc, out);
        assert_non_null(strstr(out, "\"versions\":\t{\n\t\t\"2.0.0\":\t1000\n\t}"));
        assert_non_null(strstr(out, "\"updates_applied\":\t1000"));
        long answered = json_int(out, "answered");
        if (answered < 1000)
                fail_msg("only %ld polls answered: %s", answered, out);
        free(out);

        /* every poll the devices saw answered is counted on its device (a row only when it changed
         * something) */
        assert_int_equal(flotad_stop(f, SIGTERM), 0);
        assert_int_equal(db_count(f, "SELECT sum(polls) FROM devices"), answered);
        assert_true(db_count(f, "SELECT count(*) FROM checkins") <= answered);
}

static void test_injected_faults(void **state) {
        Flotad *f = *state;
        char server[64], *out = NULL;

        publish(f, "door", "esp8266", "200K");
        snprintf(server, sizeof(server), "http://127.0.0.1:%d", f->port);
        /* a fixed time, so the stuck devices are offered the update several times */
        const char *args[] = { "--server",        server, "--devices",  "200",  "--product",  "door",
                               "--seed",          "3",    "--interval", "0.2",  "--duration", "2.5",
                               "--fail-download", "0.1",  "--brick",    "0.05", "--bootloop", "0.1",
                               "--slow-link",     "4M",   "--json",     NULL };
        int rc = run_sim(args, &out);
        if (rc != 0)
                fail_msg("flota-sim exited %d: %s", rc, out);
        long drop = json_int(out, "fail-download"), brick = json_int(out, "brick");
        long loop = json_int(out, "bootloop");
        assert_true(drop > 0 && brick > 0 && loop > 0);
        /* healthy and bricked devices took 2.0.0; the others are still on 1.0.0 */
        assert_int_equal(json_int(out, "updates_applied"), 200 - drop - loop);
        assert_int_equal(json_int(out, "bricked"), brick);
        assert_true(json_int(out, "bootloops") >= loop);
        char want[64];
        snprintf(want, sizeof(want), "\"1.0.0\":\t%ld", drop + loop);
        if (!strstr(out, want))
                fail_msg("expected %s in %s", want, out);
        assert_true(json_int(out, "6 stream-read-timeout") >= drop);
        free(out);

        assert_int_equal(flotad_stop(f, SIGTERM), 0);
        /*
         * What flotad saw: devices offered the update again and again (the sign a rollout looks
         * for). A broken download is not always an update-aborted check-in: a 200 KiB image can
         * sit in the socket buffers whole before the device hangs up.
         */
        assert_true(db_count(f, "SELECT count(*) FROM (SELECT device_id FROM checkins WHERE reason IN"
                                " ('update', 'update-aborted') GROUP BY device_id HAVING count(*) >= 2)") >=
                    drop + loop);
        assert_true(db_count(f, "SELECT count(DISTINCT device_id) FROM checkins WHERE reason = 'update'") >=
                    200 - drop);
        /* bricked devices stopped polling after their update */
        assert_int_equal(db_count(f, "SELECT count(*) FROM devices WHERE version = '2.0.0'"),
                         200 - drop - loop - brick);
}

static void test_state_file(void **state) {
        Flotad *f = *state;
        char server[64], *out = NULL;
        _cleanup_free_ char *file = xasprintf("%s/fleet.state", f->dir);

        publish(f, "door", "esp8266", "100K");
        snprintf(server, sizeof(server), "http://127.0.0.1:%d", f->port);
        const char *args[] = { "--server",   server, "--devices",       "50",    "--product",  "door",
                               "--interval", "0.2",  "--until-version", "2.0.0", "--duration", "30",
                               "--state",    file,   "--json",          NULL };
        assert_int_equal(run_sim(args, &out), 0);
        assert_int_equal(json_int(out, "updates_applied"), 50);
        free(out);
        /* the next run starts where this one stopped: nothing to do */
        assert_int_equal(run_sim(args, &out), 0);
        assert_int_equal(json_int(out, "polls"), 0);
        assert_non_null(strstr(out, "\"2.0.0\":\t50"));
        free(out);
        /* a state file of another fleet, or a damaged one, is refused */
        const char *other[] = {
                "--server", server, "--devices", "50", "--seed", "9", "--state", file, NULL
        };
        assert_int_equal(run_sim(other, &out), 2);
        free(out);
        FILE *fp = fopen(file, "a");
        fputs("{\"i\": 3, \"version\": 12}\n", fp);
        fclose(fp);
        assert_int_equal(run_sim(args, &out), 2);
        free(out);
}

static void test_keys_and_auth(void **state) {
        Flotad *f = *state;
        char server[64], *out = NULL;

        publish_image(f, "clock", "clock-key-123", "esp8266", "100K", "");
        snprintf(server, sizeof(server), "http://127.0.0.1:%d", f->port);
        /* the query form ?k=&s=&v= */
        const char *query[] = { "--server",   server,       "--devices",
                                "20",         "--key",      "clock-key-123",
                                "--interval", "0.1",        "--until-version",
                                "2.0.0",      "--duration", "20",
                                "--json",     NULL };
        assert_int_equal(run_sim(query, &out), 0);
        assert_int_equal(json_int(out, "updates_applied"), 20);
        free(out);
        /* setAuthorization with the product key as the password, and with a wrong one */
        const char *basic[] = { "--server",        server,
                                "--devices",       "20",
                                "--seed",          "5",
                                "--product",       "clock",
                                "--auth",          "dev:clock-key-123",
                                "--interval",      "0.1",
                                "--until-version", "2.0.0",
                                "--duration",      "20",
                                "--json",          NULL };
        assert_int_equal(run_sim(basic, &out), 0);
        free(out);
        const char *wrong[] = { "--server",   server,  "--devices", "5",        "--seed",     "6",
                                "--product",  "clock", "--auth",    "dev:nope", "--interval", "0.1",
                                "--duration", "0.5",   "--json",    NULL };
        assert_int_equal(run_sim(wrong, &out), 0);
        assert_non_null(strstr(out, "\"-108 server-unauthorized\""));
        assert_non_null(strstr(out, "\"updates_applied\":\t0"));
        free(out);
}

static void test_gzip_release(void **state) {
        Flotad *f = *state;
        char server[64], *out = NULL;

        /* ESP8266 devices take gzip'ed images (the core recognises 0x1F); flotad serves them as they are */
        publish_image(f, "door", NULL, "esp8266", "200K", "--gzip");
        snprintf(server, sizeof(server), "http://127.0.0.1:%d", f->port);
        const char *args[] = { "--server",   server, "--devices",       "30",    "--product",  "door",
                               "--interval", "0.1",  "--until-version", "2.0.0", "--duration", "20",
                               "--json",     NULL };
        assert_int_equal(run_sim(args, &out), 0);
        assert_int_equal(json_int(out, "updates_applied"), 30);
        free(out);

        /* the bootloader inflates the image: the devices then report the inflated image's MD5, as the core
         * does */
        assert_int_equal(flotad_stop(f, SIGTERM), 0);
        assert_int_equal(db_count(f, "SELECT count(*) FROM devices d JOIN releases r ON r.id = 1"
                                     " WHERE d.sketch_md5 = r.payload_md5 AND r.payload_md5 <> r.md5"),
                         30);
}

static void test_offline_devices(void **state) {
        Flotad *f = *state;
        char server[64], *out = NULL;

        publish(f, "door", "esp8266", "50K");
        snprintf(server, sizeof(server), "http://127.0.0.1:%d", f->port);
        const char *args[] = { "--server",   server, "--devices", "100", "--product",  "door",
                               "--interval", "0.1",  "--offline", "0.5", "--versions", "2.0.0",
                               "--duration", "2",    "--json",    NULL };
        assert_int_equal(run_sim(args, &out), 0);
        long windows = json_int(out, "offline_windows");
        long polls = json_int(out, "polls");
        /* silent devices poll less: well under the 100 devices x 20 intervals of an always-online fleet */
        if (windows <= 0 || polls >= 100 * 20)
                fail_msg("offline windows %ld, polls %ld: %s", windows, polls, out);
        free(out);
}

static void test_unreachable_server(void **state) {
        char *out = NULL;
        /* nothing listens there: every poll fails like the core's connection error, the run ends on time */
        const char *args[] = { "--server", "http://127.0.0.1:9", "--devices", "20",     "--interval",
                               "0.1",      "--duration",         "1",         "--json", NULL };
        assert_int_equal(run_sim(args, &out), 0);
        assert_non_null(strstr(out, "\"-1 connection-failed\":"));
        assert_non_null(strstr(out, "\"answered\":\t0"));
        free(out);
        const char *bad[] = { "--server", "ftp://x", NULL };
        assert_int_equal(run_sim(bad, &out), 2);
        free(out);
        (void) state;
}

static int cmp_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
        return x < y ? -1 : x > y;
}

/*
 * flota-sim --list of 1,000,000 devices (one platform, then half and half): every MAC once, and
 * nothing on stderr (mDNS renaming notes belong to --mdns runs only).
 */
static void test_identities_unique(void **state) {
        enum { N = 1000000 };
        static const char *const mixes[] = { "esp8266=100", "esp8266=50,esp32=50" };
        Flotad *f = *state; /* for its directory */

        for (size_t k = 0; k < ELEMENTSOF(mixes); k++) {
                char *out = NULL;
                /* stdout to the test, stderr to a file */
                _cleanup_free_ char *err = xasprintf("%s/flota-sim-list.err", f->dir);
                _cleanup_free_ char *cmd = xasprintf("'%s' --list --devices 1000000 --mix %s 2>'%s'",
                                                     getenv("FLOTA_SIM"), mixes[k], err);
                const char *sh[] = { "/bin/sh", "-c", cmd, NULL };
                assert_int_equal(run_program((char *const *) sh, false, &out), 0);
                uint64_t *macs = xcalloc(N, sizeof(uint64_t));
                size_t n = 0;
                for (char *line = out; *line && n < N;) {
                        unsigned b[6];
                        /* one line at a time: sscanf() measures the whole string it is given */
                        char *nl = strchr(line, '\n');
                        if (nl)
                                *nl = 0;
                        if (sscanf(line, "%*u\t%*s\t%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4],
                                   &b[5]) != 6)
                                fail_msg("line %zu: %.60s", n, line);
                        macs[n++] = (uint64_t) b[0] << 40 | (uint64_t) b[1] << 32 | (uint64_t) b[2] << 24 |
                                    (uint64_t) b[3] << 16 | (uint64_t) b[4] << 8 | b[5];
                        line = nl ? nl + 1 : line + strlen(line);
                }
                free(out);
                assert_int_equal(n, N);
                qsort(macs, n, sizeof(uint64_t), cmp_u64);
                for (size_t i = 1; i < n; i++)
                        if (macs[i] == macs[i - 1])
                                fail_msg("%s: MAC %012llx twice", mixes[k], (unsigned long long) macs[i]);
                free(macs);

                size_t len;
                _cleanup_free_ char *said = slurp(err, &len);
                if (len)
                        fail_msg("flota-sim --list wrote to stderr: %.200s", said);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_mixed_fleet_update, flotad_fixture_setup,
                                                flotad_fixture_teardown),
                cmocka_unit_test_setup_teardown(test_unreachable_server, flotad_fixture_setup,
                                                flotad_fixture_teardown),
                cmocka_unit_test_setup_teardown(test_injected_faults, flotad_fixture_setup,
                                                flotad_fixture_teardown),
                cmocka_unit_test_setup_teardown(test_state_file, flotad_fixture_setup,
                                                flotad_fixture_teardown),
                cmocka_unit_test_setup_teardown(test_keys_and_auth, flotad_fixture_setup,
                                                flotad_fixture_teardown),
                cmocka_unit_test_setup_teardown(test_gzip_release, flotad_fixture_setup,
                                                flotad_fixture_teardown),
                cmocka_unit_test_setup_teardown(test_offline_devices, flotad_fixture_setup,
                                                flotad_fixture_teardown),
                cmocka_unit_test_setup_teardown(test_identities_unique, flotad_fixture_setup,
                                                flotad_fixture_teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
