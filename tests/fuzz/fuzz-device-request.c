/* SPDX-License-Identifier: MIT */
/*
 * Fuzzes poll parsing: the input is an HTTP request head; the request line's query is fed
 * as query arguments, each "Name: value" line as a header, as flotad does with what
 * libmicrohttpd hands it.
 */
#include <stdlib.h>
#include <string.h>

#include "flota/alloc.h"
#include "flota/decision.h"
#include "flota/device-request.h"
#include "fuzz.h"

static void feed_query(DeviceRequest *r, char *query, RequestError *err) {
        for (char *save = NULL, *kv = strtok_r(query, "&", &save); kv; kv = strtok_r(NULL, "&", &save)) {
                char *eq = strchr(kv, '=');
                if (eq)
                        *eq++ = 0;
                if (device_request_add_query(r, kv, eq ? eq : "", err) < 0)
                        return;
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *text = xstrndup((const char *) data, size);
        DeviceRequest r;
        RequestError err;
        char *save = NULL;
        bool failed = false;

        device_request_init(&r);
        char *line = strtok_r(text, "\r\n", &save);
        if (line) {
                char *q = strchr(line, '?');
                if (q) {
                        char *end = strchr(q, ' ');
                        if (end)
                                *end = 0;
                        feed_query(&r, q + 1, &err);
                }
        }
        while (!failed && (line = strtok_r(NULL, "\r\n", &save))) {
                char *colon = strchr(line, ':');
                if (!colon)
                        continue;
                *colon = 0;
                char *value = colon + 1;
                while (*value == ' ')
                        value++;
                failed = device_request_add_header(&r, line, value, &err) < 0;
        }
        if (!failed && device_request_finish(&r, &err) == 0) {
                Release target = { .id = 1, .product_id = 1, .version = (char *) "1.0", .size = 1000 };
                (void) decide(&r, 1, &target);
        }
        free(text);
        return 0;
}
