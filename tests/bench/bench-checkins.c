/* SPDX-License-Identifier: MIT */
/*
 * Check-in write rate of flotad's store: what the batch writer does per poll (insert the
 * check-in, update its device), against random devices of a population, in batches.
 *
 *   bench-checkins DB DEVICES BATCH SECONDS
 *
 * Prints one line: devices batch checkins seconds checkins_per_s us_per_checkin.
 * The database is created and filled with DEVICES devices when it has none. Not a test.
 */
#include <stdio.h>
#include <stdlib.h>

#include "flota/alloc.h"
#include "flota/store.h"
#include "flota/strutil.h"

static void fill(Checkin *c, uint32_t device, uint32_t seq) {
        DeviceRequest req;

        device_request_init(&req);
        req.platform = PLATFORM_ESP8266;
        snprintf(req.device_id, sizeof(req.device_id), "18:FE:AA:%02X:%02X:%02X", (device >> 16) & 255,
                 (device >> 8) & 255, device & 255);
        strscpy(req.sta_mac, sizeof(req.sta_mac), req.device_id);
        snprintf(req.version, sizeof(req.version), "DOOR-%u-g14f53a19", 7 + seq / 1000000);
        strscpy(req.sketch_md5, sizeof(req.sketch_md5), "0537061f98e956f58721a59bb6fa476e");
        strscpy(req.sdk, sizeof(req.sdk), "2.2.2-dev(38a443e)");
        strscpy(req.user_agent, sizeof(req.user_agent), "ESP8266-http-Update");
        req.free_space = 2088960;
        req.sketch_size = 1048576;
        req.chip_size = 4194304;
        checkin_fill(c, &req, "door", "127.0.0.1", now_usec(CLOCK_REALTIME), REASON_UP_TO_DATE, NULL,
                     TARGET_CHANNEL);
}

int main(int argc, char **argv) {
        uint32_t devices, batch, seconds, seq = 0;
        Store *s;

        if (argc != 5 || parse_u32(argv[2], &devices) < 0 || parse_u32(argv[3], &batch) < 0 ||
            parse_u32(argv[4], &seconds) < 0 || devices == 0 || batch == 0) {
                fprintf(stderr, "usage: bench-checkins DB DEVICES BATCH SECONDS\n");
                return 2;
        }
        if (store_open(argv[1], &s) < 0 || store_tune_for_checkins(s) < 0) {
                fprintf(stderr, "bench-checkins: cannot open %s\n", argv[1]);
                return 1;
        }
        Checkin *c = xcalloc(batch > 10000 ? batch : 10000, sizeof(Checkin));
        if (store_checkins_count(s) == 0)
                for (uint32_t d = 0; d < devices; d += 10000) {
                        uint32_t n = devices - d < 10000 ? devices - d : 10000;
                        for (uint32_t i = 0; i < n; i++)
                                fill(&c[i], d + i, seq++);
                        if (store_checkins_write(s, c, n) < 0)
                                return 1;
                }

        srand(8266);
        usec_t start = now_usec(CLOCK_MONOTONIC), end = start + (usec_t) seconds * USEC_PER_SEC, now;
        uint64_t written = 0;
        do {
                for (uint32_t i = 0; i < batch; i++)
                        fill(&c[i], (uint32_t) rand() % devices, seq++);
                if (store_checkins_write(s, c, batch) < 0) {
                        fprintf(stderr, "bench-checkins: %s\n", store_last_error(s));
                        return 1;
                }
                written += batch;
                now = now_usec(CLOCK_MONOTONIC);
        } while (now < end);
        double secs = (double) (now - start) / 1e6;
        printf("devices=%u batch=%u checkins=%llu seconds=%.3f checkins_per_s=%.0f us_per_checkin=%.2f\n",
               devices, batch, (unsigned long long) written, secs, (double) written / secs,
               secs * 1e6 / (double) written);
        free(c);
        store_free(s);
        return 0;
}
