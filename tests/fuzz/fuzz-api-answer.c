/* SPDX-License-Identifier: MIT */
/*
 * Fuzzes the decoders of flotad's answers (the first byte picks one; 9 is the error body, 11 the token): any
 * input is read within its bounds and either refused or decoded whole; what is decoded encodes and decodes
 * again to the same values (the devices' text is compared).
 */
#include <stdlib.h>
#include <string.h>

#include "flota/alloc.h"
#include "flota/json-decode.h"
#include "flota/json-encode.h"
#include "flota/json-writer.h"
#include "fuzz.h"

static char *device_text(const DeviceRecord *d) {
        JsonWriter w = {};
        Device v = device_record_view(d);
        size_t len;

        device_write_json(&w, &v);
        return json_writer_steal(&w, &len);
}

/* A decoded device goes out and back in unchanged. */
static void device_again(const DeviceRecord *d) {
        char err[JSON_DECODE_ERROR_MAX];
        DeviceRecord back;
        _cleanup_free_ char *text = device_text(d);

        if (json_decode_device(text, strlen(text), &back, err) < 0)
                abort();
        _cleanup_free_ char *again = device_text(&back);
        if (strcmp(text, again) != 0)
                abort();
        device_record_done(&back);
}

static void decode(unsigned which, const char *text, size_t len) {
        char err[JSON_DECODE_ERROR_MAX], msg[128];

        switch (which) {
        case 0: {
                DeviceRecordList l;
                if (json_decode_device_list(text, len, &l, err) == 0) {
                        for (size_t i = 0; i < l.n; i++)
                                device_again(&l.items[i]);
                        device_record_list_done(&l);
                }
                break;
        }
        case 1: {
                DeviceDetail d;
                if (json_decode_device_detail(text, len, &d, err) == 0) {
                        device_again(&d.device);
                        device_detail_done(&d);
                }
                break;
        }
        case 2: {
                CheckinList l;
                if (json_decode_checkin_list(text, len, &l, err) == 0)
                        checkin_list_done(&l);
                break;
        }
        case 3: {
                ReleaseList l;
                if (json_decode_release_list(text, len, &l, err) == 0)
                        release_list_done(&l);
                break;
        }
        case 4: {
                ChannelInfoList l;
                if (json_decode_channel_list(text, len, &l, err) == 0)
                        channel_info_list_done(&l);
                break;
        }
        case 5: {
                Release r;
                if (json_decode_release(text, len, &r, err) == 0)
                        release_done(&r);
                break;
        }
        case 6: {
                AssignResult a;
                (void) json_decode_assign_result(text, len, &a, err);
                break;
        }
        case 7: {
                ProductInfoList l;
                if (json_decode_product_list(text, len, &l, err) == 0)
                        product_info_list_done(&l);
                break;
        }
        case 8: {
                ChannelChangeList l;
                if (json_decode_channel_history(text, len, &l, err) == 0)
                        channel_change_list_done(&l);
                break;
        }
        case 10: {
                AssignmentPage p;
                if (json_decode_assignment_page(text, len, &p, err) == 0)
                        assignment_page_done(&p);
                break;
        }
        case 11: {
                TokenInfo t;
                /* a decoded name is NUL-terminated within its buffer */
                if (json_decode_token_info(text, len, &t, err) == 0 &&
                    strnlen(t.name, sizeof(t.name)) == sizeof(t.name))
                        abort();
                break;
        }
        default: (void) json_decode_error_body(text, len, msg, sizeof(msg)); break;
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (size < 1)
                return 0;
        /* a copy of exactly the answer's bytes: reading past it is an error the sanitizer sees */
        size_t len = size - 1;
        char *text = xmalloc(len ? len : 1);
        memcpy(text, data + 1, len);
        decode(data[0] % 12, text, len);
        free(text);
        return 0;
}
