/* SPDX-License-Identifier: MIT */
/* flota-sim's counters: answers, client outcomes, applied updates, versions, latency. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "flota/alloc.h"
#include "flota/json-encode.h"
#include "sim.h"

static const int outcome_codes[] = {
        ESP_UPDATE_OK,
        ESP_NO_UPDATES,
        ESP_VERSION_REPORTED,
        ESP_ERR_TOO_LESS_SPACE,
        ESP_ERR_SERVER_NOT_REPORT_SIZE,
        ESP_ERR_SERVER_FILE_NOT_FOUND,
        ESP_ERR_SERVER_FORBIDDEN,
        ESP_ERR_SERVER_WRONG_HTTP_CODE,
        ESP_ERR_SERVER_FAULTY_MD5,
        ESP_ERR_BIN_VERIFY_HEADER_FAILED,
        ESP_ERR_BIN_FOR_WRONG_FLASH,
        ESP_ERR_SERVER_UNAUTHORIZED,
        ESP_ERR_SERVER_NOT_REPORT_VERSION,
        ESP_ERR_CONNECTION,
        ESP_ERR_UPDATER_MD5,
        ESP_ERR_UPDATER_STREAM,
};

static const int statuses[] = { 200, 304, 401, 403, 404 };

/* Latency buckets grow by 10%: bucket i covers up to 10 us * 1.1^i. */
static size_t latency_bucket(usec_t us) {
        double b = us <= 10 ? 0 : log((double) us / 10.0) / log(1.1);
        size_t i = (size_t) b;
        return i < SIM_LATENCY_BUCKETS ? i : SIM_LATENCY_BUCKETS - 1;
}

static double bucket_upper_ms(size_t i) {
        return 10.0 * pow(1.1, (double) (i + 1)) / 1000.0;
}

void stats_record(Sim *s, SimDevice *d, int outcome, int status, usec_t latency) {
        SimStats *st = &s->stats;

        (void) d;
        for (size_t i = 0; i < ELEMENTSOF(outcome_codes); i++)
                if (outcome_codes[i] == outcome)
                        st->outcomes[i]++;
        if (status > 0) {
                size_t k = ELEMENTSOF(statuses);
                for (size_t i = 0; i < ELEMENTSOF(statuses); i++)
                        if (statuses[i] == status)
                                k = i;
                st->status[k]++;
        }
        st->latency[latency_bucket(latency)]++;
}

static double percentile(const SimStats *st, double p) {
        uint64_t total = 0, seen = 0;

        for (size_t i = 0; i < SIM_LATENCY_BUCKETS; i++)
                total += st->latency[i];
        if (total == 0)
                return 0;
        for (size_t i = 0; i < SIM_LATENCY_BUCKETS; i++) {
                seen += st->latency[i];
                if ((double) seen >= p * (double) total)
                        return bucket_upper_ms(i);
        }
        return bucket_upper_ms(SIM_LATENCY_BUCKETS - 1);
}

static cJSON *versions_json(const Sim *s) {
        cJSON *o = cJSON_CreateObject();

        for (uint32_t i = 0; i < s->n_devices; i++) {
                const char *v = s->devices[i].esp.version;
                cJSON *n = cJSON_GetObjectItemCaseSensitive(o, v);
                if (n)
                        cJSON_SetNumberValue(n, n->valuedouble + 1);
                else
                        cJSON_AddNumberToObject(o, v, 1);
        }
        return o;
}

static cJSON *stats_json(const Sim *s) {
        const SimStats *st = &s->stats;
        double secs = (double) (now_usec(CLOCK_MONOTONIC) - s->started) / 1e6;
        cJSON *o = cJSON_CreateObject(), *by_status = cJSON_CreateObject(), *outcomes = cJSON_CreateObject();
        cJSON *lat = cJSON_CreateObject();

        cJSON_AddNumberToObject(o, "devices", s->n_devices);
        cJSON_AddNumberToObject(o, "seconds", round(secs * 1000) / 1000);
        cJSON_AddNumberToObject(o, "polls", (double) st->polls);
        cJSON_AddNumberToObject(o, "answered", (double) st->answered);
        cJSON_AddNumberToObject(o, "polls_per_second", secs > 0 ? round((double) st->polls / secs) : 0);
        for (size_t i = 0; i < ELEMENTSOF(statuses); i++) {
                char k[8];
                snprintf(k, sizeof(k), "%d", statuses[i]);
                cJSON_AddNumberToObject(by_status, k, (double) st->status[i]);
        }
        cJSON_AddNumberToObject(by_status, "other", (double) st->status[ELEMENTSOF(statuses)]);
        cJSON_AddItemToObject(o, "status", by_status);
        for (size_t i = 0; i < ELEMENTSOF(outcome_codes); i++)
                if (st->outcomes[i])
                        cJSON_AddNumberToObject(outcomes, esp_outcome_name(outcome_codes[i]),
                                                (double) st->outcomes[i]);
        cJSON_AddItemToObject(o, "outcomes", outcomes);
        cJSON_AddNumberToObject(o, "updates_applied", (double) st->updates_applied);
        cJSON_AddNumberToObject(o, "bootloops", (double) st->bootloops);
        cJSON_AddNumberToObject(o, "bricked", (double) st->bricked);
        cJSON_AddNumberToObject(o, "offline_windows", (double) st->offline_windows);
        cJSON *faults = cJSON_CreateObject();
        uint32_t counts[_FAULT_MAX] = {};
        for (uint32_t i = 0; i < s->n_devices; i++)
                counts[s->devices[i].fault]++;
        cJSON_AddNumberToObject(faults, "fail-download", counts[FAULT_FAIL_DOWNLOAD]);
        cJSON_AddNumberToObject(faults, "brick", counts[FAULT_BRICK]);
        cJSON_AddNumberToObject(faults, "bootloop", counts[FAULT_BOOTLOOP]);
        cJSON_AddItemToObject(o, "faults", faults);
        cJSON_AddNumberToObject(o, "bytes", (double) st->bytes);
        if (s->o->ota) {
                cJSON *ota = cJSON_CreateObject();
                cJSON_AddNumberToObject(ota, "sketch", (double) st->ota_sketch);
                cJSON_AddNumberToObject(ota, "filesystem", (double) st->ota_filesystem);
                cJSON_AddNumberToObject(ota, "auth_failed", (double) st->ota_auth_failed);
                cJSON_AddNumberToObject(ota, "failed", (double) st->ota_failed);
                cJSON_AddItemToObject(o, "ota", ota);
        }
        cJSON_AddItemToObject(o, "versions", versions_json(s));
        cJSON_AddNumberToObject(lat, "p50", round(percentile(st, 0.50) * 100) / 100);
        cJSON_AddNumberToObject(lat, "p90", round(percentile(st, 0.90) * 100) / 100);
        cJSON_AddNumberToObject(lat, "p99", round(percentile(st, 0.99) * 100) / 100);
        cJSON_AddItemToObject(o, "latency_ms", lat);
        return o;
}

void stats_print(const Sim *s, bool json) {
        cJSON *o = stats_json(s);

        if (json) {
                char *text = cJSON_Print(o);
                printf("%s\n", text);
                free(text);
        } else {
                const SimStats *st = &s->stats;
                printf("%u devices, %.1f s: %llu polls (%.0f/s), %llu answered: %llu 200, %llu 304, %llu "
                       "other\n",
                       s->n_devices, cJSON_GetObjectItem(o, "seconds")->valuedouble,
                       (unsigned long long) st->polls,
                       cJSON_GetObjectItem(o, "polls_per_second")->valuedouble,
                       (unsigned long long) st->answered, (unsigned long long) st->status[0],
                       (unsigned long long) st->status[1],
                       (unsigned long long) (st->answered - st->status[0] - st->status[1]));
                printf("updates applied: %llu (bricked afterwards: %llu), rolled back at boot: %llu\n",
                       (unsigned long long) st->updates_applied, (unsigned long long) st->bricked,
                       (unsigned long long) st->bootloops);
                for (size_t i = 0; i < ELEMENTSOF(outcome_codes); i++)
                        if (st->outcomes[i] && outcome_codes[i] < 0)
                                printf("errors %s: %llu\n", esp_outcome_name(outcome_codes[i]),
                                       (unsigned long long) st->outcomes[i]);
                const cJSON *v;
                cJSON_ArrayForEach(v, cJSON_GetObjectItem(o, "versions"))
                        printf("running %s: %.0f\n", v->string, v->valuedouble);
                if (s->o->ota)
                        printf("pushes taken: %llu sketch, %llu filesystem; refused or failed: %llu, wrong "
                               "credentials: %llu\n",
                               (unsigned long long) st->ota_sketch, (unsigned long long) st->ota_filesystem,
                               (unsigned long long) st->ota_failed,
                               (unsigned long long) st->ota_auth_failed);
                printf("latency ms: p50 %.2f, p90 %.2f, p99 %.2f\n", percentile(st, 0.5),
                       percentile(st, 0.9), percentile(st, 0.99));
        }
        cJSON_Delete(o);
}

void stats_progress(const Sim *s) {
        const SimStats *st = &s->stats;
        double secs = (double) (now_usec(CLOCK_MONOTONIC) - s->started) / 1e6;

        fprintf(stderr, "\r%6.1fs  polls %llu (%.0f/s)  200 %llu  304 %llu  updated %llu  in flight %u   ",
                secs, (unsigned long long) st->polls, secs > 0 ? (double) st->polls / secs : 0,
                (unsigned long long) st->status[0], (unsigned long long) st->status[1],
                (unsigned long long) st->updates_applied, s->in_flight);
}
