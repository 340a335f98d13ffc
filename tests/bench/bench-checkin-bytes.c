/* SPDX-License-Identifier: MIT */
/*
 * Database bytes per device per day for an unchanged fleet: DEVICES devices poll every 60 s
 * for one simulated day with nothing changing, written in one batch a minute as flotad's
 * writer does, with the given check-in heartbeat (seconds; 0: a row for every poll).
 *
 *   bench-checkin-bytes DB DEVICES HEARTBEAT
 *
 * Prints: heartbeat devices bytes_per_device_day us_per_poll. The growth is measured
 * from the database after the first minute (devices created) to the end of the day. Not a test.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "flota/alloc.h"
#include "flota/store.h"
#include "flota/strutil.h"

static long long db_bytes(const char *path) {
        _cleanup_free_ char *wal = xasprintf("%s-wal", path);
        struct stat st;
        long long n = 0;

        if (stat(path, &st) == 0)
                n += st.st_size;
        if (stat(wal, &st) == 0)
                n += st.st_size;
        return n;
}

static void fill(Checkin *c, uint32_t device, usec_t at) {
        DeviceRequest req;

        device_request_init(&req);
        req.platform = PLATFORM_ESP8266;
        snprintf(req.device_id, sizeof(req.device_id), "18:FE:AA:%02X:%02X:%02X", (device >> 16) & 255,
                 (device >> 8) & 255, device & 255);
        strscpy(req.sta_mac, sizeof(req.sta_mac), req.device_id);
        strscpy(req.version, sizeof(req.version), "DOOR-7-g14f53a19");
        strscpy(req.sketch_md5, sizeof(req.sketch_md5), "0537061f98e956f58721a59bb6fa476e");
        strscpy(req.sdk, sizeof(req.sdk), "2.2.2-dev(38a443e)");
        strscpy(req.user_agent, sizeof(req.user_agent), "ESP8266-http-Update");
        req.free_space = 2088960;
        req.sketch_size = 1048576;
        req.chip_size = 4194304;
        checkin_fill(c, &req, "door", "10.0.3.17", at, REASON_UP_TO_DATE, NULL, TARGET_CHANNEL);
}

int main(int argc, char **argv) {
        uint32_t devices, heartbeat;
        long long base = 0;
        usec_t busy = 0, t0 = 1700000000 * USEC_PER_SEC;
        Store *s;

        if (argc != 4 || parse_u32(argv[2], &devices) < 0 || parse_u32(argv[3], &heartbeat) < 0 ||
            devices == 0) {
                fprintf(stderr, "usage: bench-checkin-bytes DB DEVICES HEARTBEAT\n");
                return 2;
        }
        (void) unlink(argv[1]);
        if (store_open(argv[1], &s) < 0 || store_tune_for_checkins(s) < 0) {
                fprintf(stderr, "bench-checkin-bytes: cannot open %s\n", argv[1]);
                return 1;
        }
        store_set_checkin_heartbeat(s, (usec_t) heartbeat * USEC_PER_SEC);
        Checkin *c = xcalloc(devices, sizeof(Checkin));
        for (uint32_t minute = 0; minute <= 24 * 60; minute++) {
                for (uint32_t i = 0; i < devices; i++)
                        fill(&c[i], i, t0 + (usec_t) minute * 60 * USEC_PER_SEC + i);
                usec_t start = now_usec(CLOCK_MONOTONIC);
                if (store_checkins_write(s, c, devices) < 0) {
                        fprintf(stderr, "bench-checkin-bytes: write failed: %s\n", store_last_error(s));
                        return 1;
                }
                if (minute == 0)
                        base = db_bytes(argv[1]);
                else
                        busy += now_usec(CLOCK_MONOTONIC) - start;
        }
        store_free(s);
        printf("heartbeat=%u devices=%u bytes_per_device_day=%.0f us_per_poll=%.2f\n", heartbeat, devices,
               (double) (db_bytes(argv[1]) - base) / devices, (double) busy / (24.0 * 60 * devices));
        free(c);
        return 0;
}
