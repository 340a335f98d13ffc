/* SPDX-License-Identifier: MIT */
/* Management API request bodies: JSON in, validated structs out. */
#include "flota/api-body.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>

#include "flota/alloc.h"
#include "flota/device-request.h"
#include "flota/firmware.h"
#include "flota/strutil.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(cJSON *, cJSON_Delete);

static _printf_(2, 3) int bad(char *err, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(err, API_ERROR_MAX, fmt, ap);
        va_end(ap);
        return -EINVAL;
}

static int parse_object(const char *body, size_t len, cJSON **ret, char *err) {
        cJSON *j;

        if (!body || len == 0)
                return bad(err, "request body is empty; expected a JSON object");
        const char *end = NULL;
        j = cJSON_ParseWithLengthOpts(body, len, &end, false);
        if (!j)
                return bad(err, "request body is not valid JSON");
        while (end && end < body + len && (*end == ' ' || *end == '\n' || *end == '\r' || *end == '\t'))
                end++;
        if (!end || end != body + len) {
                cJSON_Delete(j);
                return bad(err, "request body has data after the JSON value");
        }
        if (!cJSON_IsObject(j)) {
                cJSON_Delete(j);
                return bad(err, "request body must be a JSON object");
        }
        *ret = j;
        return 0;
}

static int get_release_id(const cJSON *j, bool required, int64_t *ret, char *err) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "release");

        if (!v || cJSON_IsNull(v)) {
                if (required)
                        return bad(err, "\"release\" is required");
                *ret = 0;
                return 0;
        }
        double d = v->valuedouble;
        if (!cJSON_IsNumber(v) || d < 1 || d > 9007199254740991.0 || floor(d) != d)
                return bad(err, "\"release\" must be a positive integer release id");
        *ret = (int64_t) d;
        return 0;
}

int api_parse_product(const char *body, size_t len, ProductBody *ret, char err[static API_ERROR_MAX]) {
        _cleanup_(cJSON_Deletep) cJSON *j = NULL;
        int r = parse_object(body, len, &j, err);

        if (r < 0)
                return r;
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(j, "name");
        const cJSON *key = cJSON_GetObjectItemCaseSensitive(j, "key");
        if (!cJSON_IsString(name) || !name_is_valid(name->valuestring))
                return bad(err, "\"name\" must be 1-64 characters of letters, digits, '.', '_' or '-'");
        if (key && !cJSON_IsNull(key)) {
                size_t n = cJSON_IsString(key) ? strlen(key->valuestring) : 0;
                if (n < 8 || n > 64 || !label_is_valid(key->valuestring))
                        return bad(err, "\"key\" must be 8-64 characters of letters, digits or ._:=/-");
        }
        const cJSON *plat = cJSON_GetObjectItemCaseSensitive(j, "platform");
        Platform platform = _PLATFORM_INVALID;
        if (plat && !cJSON_IsNull(plat)) {
                platform =
                        cJSON_IsString(plat) ? platform_from_string(plat->valuestring) : _PLATFORM_INVALID;
                if (platform < 0)
                        return bad(err, "\"platform\" must be \"esp8266\" or \"esp32\"");
        }
        const cJSON *sk = cJSON_GetObjectItemCaseSensitive(j, "signing_key");
        if (sk && !cJSON_IsNull(sk) && (!cJSON_IsString(sk) || strlen(sk->valuestring) > 8192))
                return bad(err, "\"signing_key\" must be a PEM public key (at most 8192 characters)");
        *ret = (ProductBody) {
                .platform = platform,
                .name = xstrdup(name->valuestring),
                .key = cJSON_IsString(key) ? xstrdup(key->valuestring) : NULL,
                .signing_key = cJSON_IsString(sk) ? xstrdup(sk->valuestring) : NULL,
        };
        return 0;
}

void product_body_done(ProductBody *b) {
        free(b->name);
        free(b->key);
        free(b->signing_key);
        *b = (ProductBody) {};
}

int api_parse_release_ref(const char *body, size_t len, int64_t *ret, char err[static API_ERROR_MAX]) {
        _cleanup_(cJSON_Deletep) cJSON *j = NULL;
        int r = parse_object(body, len, &j, err);

        if (r < 0)
                return r;
        return get_release_id(j, true, ret, err);
}

static void strv_free(char **v, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(v[i]);
        free(v);
}

int api_parse_labels(const char *body, size_t len, LabelsBody *ret, char err[static API_ERROR_MAX]) {
        _cleanup_(cJSON_Deletep) cJSON *j = NULL;
        int r = parse_object(body, len, &j, err);

        if (r < 0)
                return r;
        const cJSON *arr = cJSON_GetObjectItemCaseSensitive(j, "labels");
        if (!cJSON_IsArray(arr))
                return bad(err, "\"labels\" must be an array of strings");
        int n = cJSON_GetArraySize(arr);
        if (n > API_MAX_LABELS)
                return bad(err, "at most %d labels per device", API_MAX_LABELS);
        char **labels = xcalloc((size_t) n + 1, sizeof(char *));
        size_t i = 0;
        const cJSON *it;
        cJSON_ArrayForEach(it, arr) {
                if (!cJSON_IsString(it) || !label_is_valid(it->valuestring)) {
                        strv_free(labels, i);
                        return bad(err, "label %zu must be 1-64 characters of letters, digits or ._:=/-",
                                   i + 1);
                }
                labels[i++] = xstrdup(it->valuestring);
        }
        *ret = (LabelsBody) { .labels = labels, .n = i };
        return 0;
}

void labels_body_done(LabelsBody *b) {
        strv_free(b->labels, b->n);
        *b = (LabelsBody) {};
}

int api_parse_assignment(const char *body, size_t len, bool need_release, AssignBody *ret,
                         char err[static API_ERROR_MAX]) {
        _cleanup_(cJSON_Deletep) cJSON *j = NULL;
        int64_t release_id;
        int r = parse_object(body, len, &j, err);

        if (r < 0)
                return r;
        r = get_release_id(j, need_release, &release_id, err);
        if (r < 0)
                return r;
        const cJSON *arr = cJSON_GetObjectItemCaseSensitive(j, "devices");
        if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) == 0)
                return bad(err, "\"devices\" must be a non-empty array of MAC addresses or device ids");
        int n = cJSON_GetArraySize(arr);
        if (n > API_MAX_DEVICES)
                return bad(err, "at most %d devices per call", API_MAX_DEVICES);
        char **ids = xcalloc((size_t) n, sizeof(char *));
        size_t i = 0;
        const cJSON *it;
        cJSON_ArrayForEach(it, arr) {
                char id[DEVICE_ID_MAX + 1];
                if (!cJSON_IsString(it) || device_id_normalize(it->valuestring, id) < 0) {
                        strv_free(ids, i);
                        return bad(err, "devices[%zu] is not a MAC address or device id", i);
                }
                ids[i++] = xstrdup(id);
        }
        *ret = (AssignBody) { .release_id = release_id, .devices = ids, .n = i };
        return 0;
}

void assign_body_done(AssignBody *b) {
        strv_free(b->devices, b->n);
        *b = (AssignBody) {};
}

int api_parse_channel_name(const char *body, size_t len, char **ret, char err[static API_ERROR_MAX]) {
        _cleanup_(cJSON_Deletep) cJSON *j = NULL;
        int r = parse_object(body, len, &j, err);

        if (r < 0)
                return r;
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(j, "channel");
        if (cJSON_IsNull(c)) {
                *ret = NULL;
                return 0;
        }
        if (!cJSON_IsString(c) || !name_is_valid(c->valuestring))
                return bad(err, "\"channel\" must be a channel name or null");
        *ret = xstrdup(c->valuestring);
        return 0;
}
