/* SPDX-License-Identifier: MIT */
/* Fuzzes the management API body parsers; the first byte picks the parser. */
#include <stdlib.h>

#include "flota/api-body.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char err[API_ERROR_MAX];

        if (size < 1)
                return 0;
        const char *body = (const char *) data + 1;
        size_t len = size - 1;
        switch (data[0] % 6) {
        case 0: {
                ProductBody b;
                if (api_parse_product(body, len, &b, err) == 0)
                        product_body_done(&b);
                break;
        }
        case 1: {
                int64_t id;
                (void) api_parse_release_ref(body, len, &id, err);
                break;
        }
        case 2: {
                LabelsBody b;
                if (api_parse_labels(body, len, &b, err) == 0)
                        labels_body_done(&b);
                break;
        }
        case 3:
        case 4: {
                AssignBody b;
                if (api_parse_assignment(body, len, data[0] % 6 == 3, &b, err) == 0)
                        assign_body_done(&b);
                break;
        }
        default: {
                char *channel;
                if (api_parse_channel_name(body, len, &channel, err) == 0)
                        free(channel);
                break;
        }
        }
        return 0;
}
