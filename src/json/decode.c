/* SPDX-License-Identifier: MIT */
/* Strict decoders of flotad's answers, member for member the inverse of encode.c. */
#include "flota/json-decode.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flota/alloc.h"
#include "flota/json-encode.h"
#include "flota/strutil.h"
#include "decode-internal.h"

/* Answers are lists of at most flotad's largest page; more is not an answer of flotad. */

/* What is being read, for the messages: "device", "release"... */
typedef struct Ctx {
        const char *what;
        char *err;
} Ctx;

static _printf_(2, 3) int fail(const Ctx *c, const char *fmt, ...) {
        va_list ap;
        int n = snprintf(c->err, JSON_DECODE_ERROR_MAX, "%s: ", c->what);

        if (n < 0 || n >= JSON_DECODE_ERROR_MAX)
                return -EBADMSG;
        va_start(ap, fmt);
        vsnprintf(c->err + n, JSON_DECODE_ERROR_MAX - (size_t) n, fmt, ap);
        va_end(ap);
        return -EBADMSG;
}

/* The member key of o; missing is an error, JSON null is NULL in *ret when nullable. */
static int member(const Ctx *c, const cJSON *o, const char *key, bool nullable, const cJSON **ret) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

        if (!v)
                return fail(c, "\"%s\" is missing", key);
        if (cJSON_IsNull(v)) {
                if (!nullable)
                        return fail(c, "\"%s\" is null", key);
                v = NULL;
        }
        *ret = v;
        return 0;
}

/* A string into buf (size bytes with the NUL); null is "" when nullable. */
static int get_text(const Ctx *c, const cJSON *o, const char *key, bool nullable, char *buf, size_t size) {
        const cJSON *v;
        int r = member(c, o, key, nullable, &v);

        if (r < 0)
                return r;
        if (!v) {
                buf[0] = 0;
                return 0;
        }
        if (!cJSON_IsString(v))
                return fail(c, "\"%s\" is not a string", key);
        if (!strscpy(buf, size, v->valuestring))
                return fail(c, "\"%s\" is longer than %zu bytes", key, size - 1);
        return 0;
}

/* A string as a new copy of at most max bytes; null is NULL when nullable. */
static int get_text_dup(const Ctx *c, const cJSON *o, const char *key, bool nullable, size_t max,
                        char **ret) {
        const cJSON *v;
        int r = member(c, o, key, nullable, &v);

        if (r < 0)
                return r;
        if (!v) {
                *ret = NULL;
                return 0;
        }
        if (!cJSON_IsString(v))
                return fail(c, "\"%s\" is not a string", key);
        if (strlen(v->valuestring) > max)
                return fail(c, "\"%s\" is longer than %zu bytes", key, max);
        *ret = xstrdup(v->valuestring);
        return 0;
}

/* An integer in [min, max]; null is if_null when nullable. */
static int get_int(const Ctx *c, const cJSON *o, const char *key, bool nullable, int64_t if_null,
                   int64_t min, int64_t max, int64_t *ret) {
        const cJSON *v;
        int r = member(c, o, key, nullable, &v);

        if (r < 0)
                return r;
        if (!v) {
                *ret = if_null;
                return 0;
        }
        if (!cJSON_IsNumber(v))
                return fail(c, "\"%s\" is not a number", key);
        double d = v->valuedouble;
        /* 2^63 is exact in a double: anything at or past it does not fit */
        if (!isfinite(d) || d != floor(d) || d < (double) min || d >= 9223372036854775808.0 ||
            (int64_t) d > max)
                return fail(c, "\"%s\" is not an integer from %lld to %lld", key, (long long) min,
                            (long long) max);
        *ret = (int64_t) d;
        return 0;
}

static int get_bool(const Ctx *c, const cJSON *o, const char *key, bool *ret) {
        const cJSON *v;
        int r = member(c, o, key, false, &v);

        if (r < 0)
                return r;
        if (!cJSON_IsBool(v))
                return fail(c, "\"%s\" is not true or false", key);
        *ret = cJSON_IsTrue(v);
        return 0;
}

/* An RFC 3339 time; null is 0. */
static int get_time(const Ctx *c, const cJSON *o, const char *key, usec_t *ret) {
        char text[RFC3339_MAX + 16];
        usec_t t;
        int r = get_text(c, o, key, true, text, sizeof(text));

        if (r < 0)
                return r;
        if (!text[0]) {
                *ret = 0;
                return 0;
        }
        if (parse_timestamp(text, &t) < 0)
                return fail(c, "\"%s\" is not a time", key);
        /* 0 is written as null: a time written as the epoch was within its first second */
        *ret = t ? t : 1;
        return 0;
}

/* A word that from_string() knows; null is if_null when nullable. */
static int get_word(const Ctx *c, const cJSON *o, const char *key, bool nullable, int if_null,
                    int (*from_string)(const char *s), int *ret) {
        char text[64];
        int r = get_text(c, o, key, nullable, text, sizeof(text));

        if (r < 0)
                return r;
        if (!text[0] && nullable) {
                *ret = if_null;
                return 0;
        }
        int v = from_string(text);
        if (v < 0)
                return fail(c, "\"%s\" is not a known value", key);
        *ret = v;
        return 0;
}

static int platform_word(const char *s) {
        return platform_from_string(s);
}

static int kind_word(const char *s) {
        return image_kind_from_string(s);
}

static int mode_word(const char *s) {
        return update_mode_from_string(s);
}

static int reason_word(const char *s) {
        return reason_from_string(s);
}

static int source_word(const char *s) {
        return target_source_from_string(s);
}

/* Parses text as exactly one JSON value. */
static int parse(const Ctx *c, const char *text, size_t len, cJSON **ret) {
        const char *end = NULL;

        if (!text)
                return fail(c, "the answer is empty");
        cJSON *j = cJSON_ParseWithLengthOpts(text, len, &end, false);
        if (!j)
                return fail(c, "the answer is not JSON");
        for (; end && end < text + len; end++)
                if (!strchr(" \t\r\n", *end)) {
                        cJSON_Delete(j);
                        return fail(c, "the answer has text after its JSON value");
                }
        *ret = j;
        return 0;
}

static int need_object(const Ctx *c, const cJSON *o) {
        return cJSON_IsObject(o) ? 0 : fail(c, "not a JSON object");
}

/* The array o[key], with its size checked. */
static int get_array(const Ctx *c, const cJSON *o, const char *key, const cJSON **ret, size_t *ret_n) {
        const cJSON *v;
        int r = member(c, o, key, false, &v);

        if (r < 0)
                return r;
        if (!cJSON_IsArray(v))
                return fail(c, "\"%s\" is not an array", key);
        int n = cJSON_GetArraySize(v);
        if (n < 0 || n > LIST_MAX)
                return fail(c, "\"%s\" has more than %d elements", key, LIST_MAX);
        *ret = v;
        *ret_n = (size_t) n;
        return 0;
}

/* "labels": an array of label strings, joined with commas as the store keeps them. */
static int get_labels(const Ctx *c, const cJSON *o, char **ret) {
        const cJSON *arr, *l;
        size_t n, len = 0;
        int r = get_array(c, o, "labels", &arr, &n);

        if (r < 0)
                return r;
        if (n > DEVICE_LABELS_MAX)
                return fail(c, "\"labels\" has more than %d elements", DEVICE_LABELS_MAX);
        char *joined = xcalloc(n * 65 + 1, 1);
        cJSON_ArrayForEach(l, arr) {
                if (!cJSON_IsString(l) || !label_is_valid(l->valuestring)) {
                        free(joined);
                        return fail(c, "\"labels\" holds something that is not a label");
                }
                if (len > 0)
                        joined[len++] = ',';
                size_t k = strlen(l->valuestring);
                memcpy(joined + len, l->valuestring, k);
                len += k;
        }
        *ret = joined;
        return 0;
}

static int device_from(const cJSON *o, DeviceRecord *ret, char *err) {
        Ctx c = { "device", err };
        DeviceRecord d = {};
        int64_t status = 0, polls = 0;
        int platform = 0, r;

        if (need_object(&c, o) < 0)
                return -EBADMSG;
        if ((r = get_text(&c, o, "id", false, d.id, sizeof(d.id))) < 0 || !d.id[0])
                return r < 0 ? r : fail(&c, "\"id\" is empty");
        if ((r = get_text(&c, o, "mac", true, d.mac, sizeof(d.mac))) < 0 ||
            (r = get_text(&c, o, "product", true, d.product, sizeof(d.product))) < 0 ||
            (r = get_text(&c, o, "channel", false, d.channel, sizeof(d.channel))) < 0 ||
            (r = get_int(&c, o, "pin", true, 0, 1, INT64_MAX, &d.pin)) < 0 ||
            (r = get_int(&c, o, "assigned", true, 0, 1, INT64_MAX, &d.assigned)) < 0 ||
            (r = get_word(&c, o, "platform", true, _PLATFORM_INVALID, platform_word, &platform)) < 0 ||
            (r = get_text(&c, o, "version", true, d.version, sizeof(d.version))) < 0 ||
            (r = get_text(&c, o, "sketch_md5", true, d.sketch_md5, sizeof(d.sketch_md5))) < 0 ||
            (r = get_int(&c, o, "free_space", true, -1, 0, INT64_MAX, &d.free_space)) < 0 ||
            (r = get_int(&c, o, "chip_size", true, -1, 0, INT64_MAX, &d.chip_size)) < 0 ||
            (r = get_text(&c, o, "sdk", true, d.sdk, sizeof(d.sdk))) < 0 ||
            (r = get_text(&c, o, "ip", true, d.ip, sizeof(d.ip))) < 0 ||
            (r = get_time(&c, o, "first_seen", &d.first_seen)) < 0 ||
            (r = get_time(&c, o, "last_seen", &d.last_seen)) < 0 ||
            (r = get_int(&c, o, "last_status", true, 0, 100, 599, &status)) < 0 ||
            (r = get_text(&c, o, "last_reason", true, d.last_reason, sizeof(d.last_reason))) < 0)
                return r;
        /* optional: a flotad that shows the soft-AP MAC */
        if (cJSON_GetObjectItemCaseSensitive(o, "ap_mac") &&
            (r = get_text(&c, o, "ap_mac", true, d.ap_mac, sizeof(d.ap_mac))) < 0)
                return r;
        /* optional: a flotad that counts polls says how many */
        if (cJSON_GetObjectItemCaseSensitive(o, "polls") &&
            (r = get_int(&c, o, "polls", true, 0, 0, INT64_MAX, &polls)) < 0)
                return r;
        /* optional: the filesystem image, for devices that polled in filesystem mode */
        const cJSON *fs = cJSON_GetObjectItemCaseSensitive(o, "filesystem");
        if (fs) {
                Ctx f = { "device's filesystem", err };
                if (need_object(&f, fs) < 0 ||
                    (r = get_text(&f, fs, "version", true, d.fs_version, sizeof(d.fs_version))) < 0 ||
                    (r = get_text(&f, fs, "md5", true, d.fs_md5, sizeof(d.fs_md5))) < 0 ||
                    (r = get_time(&f, fs, "updated", &d.fs_updated)) < 0)
                        return -EBADMSG;
        }
        if ((r = get_labels(&c, o, &d.labels)) < 0)
                return r;
        d.platform = (Platform) platform;
        d.last_status = (int) status;
        d.polls = (uint64_t) polls;
        *ret = d;
        return 0;
}

static int checkin_from(const cJSON *o, Checkin *ret, char *err) {
        Ctx c = { "check-in", err };
        Checkin k = {};
        int64_t chip_id = -1, status = 0;
        int platform = 0, mode = 0, reason = 0, source = 0, r;

        if (need_object(&c, o) < 0)
                return -EBADMSG;
        if ((r = get_int(&c, o, "id", false, 0, 1, INT64_MAX, &k.id)) < 0 ||
            (r = get_time(&c, o, "at", &k.at)) < 0 ||
            (r = get_text(&c, o, "device", false, k.device_id, sizeof(k.device_id))) < 0 ||
            (r = get_text(&c, o, "mac", true, k.mac, sizeof(k.mac))) < 0 ||
            (r = get_text(&c, o, "product", false, k.product, sizeof(k.product))) < 0 ||
            (r = get_text(&c, o, "ip", false, k.ip, sizeof(k.ip))) < 0 ||
            (r = get_int(&c, o, "chip_id", true, -1, 0, UINT32_MAX, &chip_id)) < 0 ||
            (r = get_word(&c, o, "platform", true, _PLATFORM_INVALID, platform_word, &platform)) < 0 ||
            (r = get_text(&c, o, "version", true, k.version, sizeof(k.version))) < 0 ||
            (r = get_text(&c, o, "sketch_md5", true, k.sketch_md5, sizeof(k.sketch_md5))) < 0 ||
            (r = get_text(&c, o, "sketch_sha256", true, k.sketch_sha256, sizeof(k.sketch_sha256))) < 0 ||
            (r = get_int(&c, o, "free_space", true, -1, 0, INT64_MAX, &k.free_space)) < 0 ||
            (r = get_int(&c, o, "sketch_size", true, -1, 0, INT64_MAX, &k.sketch_size)) < 0 ||
            (r = get_int(&c, o, "chip_size", true, -1, 0, INT64_MAX, &k.chip_size)) < 0 ||
            (r = get_text(&c, o, "sdk", true, k.sdk, sizeof(k.sdk))) < 0 ||
            (r = get_word(&c, o, "mode", true, _UPDATE_MODE_INVALID, mode_word, &mode)) < 0 ||
            (r = get_text(&c, o, "user_agent", true, k.user_agent, sizeof(k.user_agent))) < 0 ||
            (r = get_int(&c, o, "status", false, 0, 0, 999, &status)) < 0 ||
            (r = get_word(&c, o, "reason", true, _REASON_INVALID, reason_word, &reason)) < 0 ||
            (r = get_int(&c, o, "release", true, 0, 1, INT64_MAX, &k.release_id)) < 0 ||
            (r = get_word(&c, o, "source", true, _TARGET_SOURCE_INVALID, source_word, &source)) < 0)
                return r;
        k.has_chip_id = chip_id >= 0;
        k.chip_id = k.has_chip_id ? (uint32_t) chip_id : 0;
        k.platform = (Platform) platform;
        k.mode = (UpdateMode) mode;
        k.status = (int) status;
        k.reason = (Reason) reason;
        k.source = (TargetSource) source;
        *ret = k;
        return 0;
}

static int release_fields(const Ctx *c, const cJSON *o, Release *rel) {
        int64_t size = 0, min_flash = 0;
        int platform = 0, kind = 0, r;

        if ((r = get_int(c, o, "id", false, 0, 1, INT64_MAX, &rel->id)) < 0 ||
            (r = get_text_dup(c, o, "product", false, PRODUCT_NAME_MAX, &rel->product)) < 0 ||
            (r = get_text_dup(c, o, "version", false, VERSION_MAX, &rel->version)) < 0 ||
            (r = get_word(c, o, "platform", false, 0, platform_word, &platform)) < 0 ||
            (r = get_word(c, o, "kind", false, 0, kind_word, &kind)) < 0 ||
            (r = get_int(c, o, "size", false, 0, 0, INT64_MAX, &size)) < 0 ||
            (r = get_text(c, o, "md5", false, rel->md5, sizeof(rel->md5))) < 0 ||
            (r = get_text(c, o, "sha256", false, rel->sha256, sizeof(rel->sha256))) < 0 ||
            (r = get_text_dup(c, o, "chip", true, RELEASE_CHIP_MAX, &rel->chip)) < 0 ||
            (r = get_bool(c, o, "signed", &rel->is_signed)) < 0 ||
            (r = get_bool(c, o, "compressed", &rel->compressed)) < 0 ||
            (r = get_int(c, o, "min_flash_size", true, 0, 0, INT64_MAX, &min_flash)) < 0 ||
            (r = get_text_dup(c, o, "notes", true, RELEASE_NOTES_MAX, &rel->notes)) < 0 ||
            (r = get_time(c, o, "created", &rel->created)) < 0)
                return r;
        rel->platform = (Platform) platform;
        rel->kind = (ImageKind) kind;
        rel->size = (uint64_t) size;
        rel->min_flash_size = (uint64_t) min_flash;
        return 0;
}

static int release_from(const cJSON *o, Release *ret, char *err) {
        Ctx c = { "release", err };
        Release rel = {};

        if (need_object(&c, o) < 0)
                return -EBADMSG;
        int r = release_fields(&c, o, &rel);
        if (r < 0) {
                release_done(&rel);
                return r;
        }
        *ret = rel;
        return 0;
}

static int channel_from(const cJSON *o, ChannelInfo *ret, char *err) {
        Ctx c = { "channel", err };
        ChannelInfo ch = {};
        int kind = 0, r;

        if (need_object(&c, o) < 0)
                return -EBADMSG;
        if ((r = get_text(&c, o, "product", false, ch.product, sizeof(ch.product))) < 0 ||
            (r = get_text(&c, o, "name", false, ch.name, sizeof(ch.name))) < 0 ||
            (r = get_word(&c, o, "kind", false, 0, kind_word, &kind)) < 0 ||
            (r = get_int(&c, o, "release", false, 0, 0, INT64_MAX, &ch.release)) < 0 ||
            (r = get_text(&c, o, "version", true, ch.version, sizeof(ch.version))) < 0 ||
            (r = get_time(&c, o, "updated", &ch.updated)) < 0)
                return r;
        if (!ch.name[0])
                return fail(&c, "\"name\" is empty");
        ch.kind = (ImageKind) kind;
        *ret = ch;
        return 0;
}

static int product_from(const cJSON *o, ProductInfo *ret, char *err) {
        Ctx c = { "product", err };
        ProductInfo p = {};
        int platform = 0, r;

        if (need_object(&c, o) < 0)
                return -EBADMSG;
        if ((r = get_int(&c, o, "id", false, 0, 1, INT64_MAX, &p.id)) < 0 ||
            (r = get_text(&c, o, "name", false, p.name, sizeof(p.name))) < 0 ||
            (r = get_bool(&c, o, "has_key", &p.has_key)) < 0 ||
            (r = get_word(&c, o, "platform", true, _PLATFORM_INVALID, platform_word, &platform)) < 0 ||
            (r = get_time(&c, o, "created", &p.created)) < 0)
                return r;
        if (!p.name[0])
                return fail(&c, "\"name\" is empty");
        p.platform = (Platform) platform;
        *ret = p;
        return 0;
}

static int change_from(const cJSON *o, ChannelChangeRecord *ret, char *err) {
        Ctx c = { "channel change", err };
        ChannelChangeRecord ch = {};
        int kind = 0, r;

        if (need_object(&c, o) < 0)
                return -EBADMSG;
        if ((r = get_int(&c, o, "id", false, 0, 1, INT64_MAX, &ch.id)) < 0 ||
            (r = get_text(&c, o, "product", false, ch.product, sizeof(ch.product))) < 0 ||
            (r = get_text(&c, o, "name", false, ch.name, sizeof(ch.name))) < 0 ||
            (r = get_word(&c, o, "kind", false, 0, kind_word, &kind)) < 0 ||
            (r = get_int(&c, o, "release", false, 0, 0, INT64_MAX, &ch.release)) < 0 ||
            (r = get_int(&c, o, "previous_release", true, 0, 1, INT64_MAX, &ch.previous_release)) < 0 ||
            (r = get_text(&c, o, "actor", true, ch.actor, sizeof(ch.actor))) < 0 ||
            (r = get_time(&c, o, "at", &ch.at)) < 0)
                return r;
        ch.kind = (ImageKind) kind;
        *ret = ch;
        return 0;
}

ChannelChange channel_change_record_view(const ChannelChangeRecord *r) {
        return (ChannelChange) {
                .id = r->id,
                .product = r->product,
                .name = r->name,
                .kind = image_kind_to_string(r->kind),
                .release_id = r->release,
                .previous_release_id = r->previous_release,
                .actor = r->actor,
                .at = r->at,
        };
}

/* Decodes each element of o[key] with from() into a new array of elsize-byte items. */
static int decode_array(const Ctx *c, const cJSON *o, const char *key, size_t elsize,
                        int (*from)(const cJSON *e, void *ret, char *err), void (*done)(void *item),
                        void **ret, size_t *ret_n) {
        const cJSON *arr, *e;
        size_t n, i = 0;
        int r = get_array(c, o, key, &arr, &n);

        if (r < 0)
                return r;
        char *items = n ? xcalloc(n, elsize) : NULL;
        cJSON_ArrayForEach(e, arr) {
                r = from(e, items + i * elsize, c->err);
                if (r < 0) {
                        for (size_t k = 0; done && k < i; k++)
                                done(items + k * elsize);
                        free(items);
                        return r;
                }
                i++;
        }
        *ret = items;
        *ret_n = n;
        return 0;
}

static int product_item(const cJSON *e, void *ret, char *err) {
        return product_from(e, ret, err);
}

static int change_item(const cJSON *e, void *ret, char *err) {
        return change_from(e, ret, err);
}

static int device_item(const cJSON *e, void *ret, char *err) {
        return device_from(e, ret, err);
}

static void device_item_done(void *item) {
        device_record_done(item);
}

static int checkin_item(const cJSON *e, void *ret, char *err) {
        return checkin_from(e, ret, err);
}

static int release_item(const cJSON *e, void *ret, char *err) {
        return release_from(e, ret, err);
}

static void release_item_done(void *item) {
        release_done(item);
}

static int channel_item(const cJSON *e, void *ret, char *err) {
        return channel_from(e, ret, err);
}

/* One object answer, decoded with from(). */
static int decode_one(const char *what, const char *text, size_t len,
                      int (*from)(const cJSON *e, void *ret, char *err), void *ret, char *err) {
        Ctx c = { what, err };
        _cleanup_(cJSON_Deletep) cJSON *j = NULL;
        int r = parse(&c, text, len, &j);

        return r < 0 ? r : from(j, ret, err);
}

int json_decode_error_body(const char *text, size_t len, char *msg, size_t size) {
        char ignored[JSON_DECODE_ERROR_MAX];
        Ctx c = { "error", ignored };
        _cleanup_(cJSON_Deletep) cJSON *j = NULL;
        const cJSON *e, *m;

        if (parse(&c, text, len, &j) < 0 || !cJSON_IsObject(j))
                return -EBADMSG;
        e = cJSON_GetObjectItemCaseSensitive(j, "error");
        m = cJSON_GetObjectItemCaseSensitive(e, "message");
        if (!cJSON_IsObject(e) || !cJSON_IsString(m) || !m->valuestring[0])
                return -EBADMSG;
        (void) strscpy(msg, size, m->valuestring);
        return 0;
}

int json_decode_device(const char *text, size_t len, DeviceRecord *ret,
                       char err[static JSON_DECODE_ERROR_MAX]) {
        return decode_one("device", text, len, device_item, ret, err);
}

int json_decode_device_detail(const char *text, size_t len, DeviceDetail *ret,
                              char err[static JSON_DECODE_ERROR_MAX]) {
        Ctx c = { "device", err };
        _cleanup_(cJSON_Deletep) cJSON *j = NULL;
        DeviceDetail d = {};
        void *items;
        int r = parse(&c, text, len, &j);

        if (r < 0 || (r = device_from(j, &d.device, err)) < 0)
                return r;
        r = decode_array(&c, j, "checkins", sizeof(Checkin), checkin_item, NULL, &items, &d.n_checkins);
        if (r < 0) {
                device_record_done(&d.device);
                return r;
        }
        d.checkins = items;
        *ret = d;
        return 0;
}

int json_decode_device_list(const char *text, size_t len, DeviceRecordList *ret,
                            char err[static JSON_DECODE_ERROR_MAX]) {
        Ctx c = { "device list", err };
        _cleanup_(cJSON_Deletep) cJSON *j = NULL;
        DeviceRecordList l = {};
        void *items;
        int r = parse(&c, text, len, &j);

        if (r < 0 || (r = need_object(&c, j)) < 0)
                return r;
        r = decode_array(&c, j, "devices", sizeof(DeviceRecord), device_item, device_item_done, &items,
                         &l.n);
        if (r < 0)
                return r;
        l.items = items;
        r = get_text(&c, j, "next", true, l.next, sizeof(l.next));
        if (r < 0) {
                device_record_list_done(&l);
                return r;
        }
        *ret = l;
        return 0;
}

int json_decode_checkin(const char *text, size_t len, Checkin *ret, char err[static JSON_DECODE_ERROR_MAX]) {
        return decode_one("check-in", text, len, checkin_item, ret, err);
}

int json_decode_checkin_list(const char *text, size_t len, CheckinList *ret,
                             char err[static JSON_DECODE_ERROR_MAX]) {
        Ctx c = { "check-in list", err };
        _cleanup_(cJSON_Deletep) cJSON *j = NULL;
        CheckinList l = {};
        void *items;
        int r = parse(&c, text, len, &j);

        if (r < 0 || (r = need_object(&c, j)) < 0)
                return r;
        r = decode_array(&c, j, "checkins", sizeof(Checkin), checkin_item, NULL, &items, &l.n);
        if (r < 0)
                return r;
        l.items = items;
        r = get_int(&c, j, "next", false, 0, 0, INT64_MAX, &l.next);
        if (r >= 0 && json_checkin_list_exact_ids(text, len, &l) < 0)
                r = fail(&c, "the check-in ids are not plain integers");
        if (r < 0) {
                checkin_list_done(&l);
                return r;
        }
        *ret = l;
        return 0;
}

/* A {"KEY": [item...]} answer: each item decoded with from() into a new array. */
static int decode_list(const char *what, const char *text, size_t len, const char *key, size_t elsize,
                       int (*from)(const cJSON *e, void *ret, char *err), void (*done)(void *item),
                       void **ret, size_t *ret_n, char *err) {
        Ctx c = { what, err };
        _cleanup_(cJSON_Deletep) cJSON *j = NULL;
        int r = parse(&c, text, len, &j);

        if (r < 0 || (r = need_object(&c, j)) < 0)
                return r;
        return decode_array(&c, j, key, elsize, from, done, ret, ret_n);
}

int json_decode_release(const char *text, size_t len, Release *ret, char err[static JSON_DECODE_ERROR_MAX]) {
        return decode_one("release", text, len, release_item, ret, err);
}

int json_decode_release_list(const char *text, size_t len, ReleaseList *ret,
                             char err[static JSON_DECODE_ERROR_MAX]) {
        void *items;
        size_t n;
        int r = decode_list("release list", text, len, "releases", sizeof(Release), release_item,
                            release_item_done, &items, &n, err);

        if (r < 0)
                return r;
        *ret = (ReleaseList) { .items = items, .n = n };
        return 0;
}

int json_decode_channel(const char *text, size_t len, ChannelInfo *ret,
                        char err[static JSON_DECODE_ERROR_MAX]) {
        return decode_one("channel", text, len, channel_item, ret, err);
}

int json_decode_channel_list(const char *text, size_t len, ChannelInfoList *ret,
                             char err[static JSON_DECODE_ERROR_MAX]) {
        void *items;
        size_t n;
        int r = decode_list("channel list", text, len, "channels", sizeof(ChannelInfo), channel_item, NULL,
                            &items, &n, err);

        if (r < 0)
                return r;
        *ret = (ChannelInfoList) { .items = items, .n = n };
        return 0;
}

int json_decode_product(const char *text, size_t len, ProductInfo *ret,
                        char err[static JSON_DECODE_ERROR_MAX]) {
        return decode_one("product", text, len, product_item, ret, err);
}

int json_decode_product_list(const char *text, size_t len, ProductInfoList *ret,
                             char err[static JSON_DECODE_ERROR_MAX]) {
        void *items;
        size_t n;
        int r = decode_list("product list", text, len, "products", sizeof(ProductInfo), product_item, NULL,
                            &items, &n, err);

        if (r < 0)
                return r;
        *ret = (ProductInfoList) { .items = items, .n = n };
        return 0;
}

int json_decode_channel_history(const char *text, size_t len, ChannelChangeList *ret,
                                char err[static JSON_DECODE_ERROR_MAX]) {
        void *items;
        size_t n;
        int r = decode_list("channel history", text, len, "history", sizeof(ChannelChangeRecord),
                            change_item, NULL, &items, &n, err);

        if (r < 0)
                return r;
        *ret = (ChannelChangeList) { .items = items, .n = n };
        return 0;
}

int json_decode_assign_result(const char *text, size_t len, AssignResult *ret,
                              char err[static JSON_DECODE_ERROR_MAX]) {
        Ctx c = { "assignment", err };
        _cleanup_(cJSON_Deletep) cJSON *j = NULL;
        int64_t release = 0, devices = 0;
        int r = parse(&c, text, len, &j);

        if (r < 0 || (r = need_object(&c, j)) < 0 ||
            (r = get_int(&c, j, "release", true, 0, 1, INT64_MAX, &release)) < 0 ||
            (r = get_int(&c, j, "devices", false, 0, 0, INT64_MAX, &devices)) < 0)
                return r;
        *ret = (AssignResult) { .release = release, .devices = (uint64_t) devices };
        return 0;
}

int json_decode_token_info(const char *text, size_t len, TokenInfo *ret,
                           char err[static JSON_DECODE_ERROR_MAX]) {
        Ctx c = { "token", err };
        _cleanup_(cJSON_Deletep) cJSON *j = NULL;
        char role[16];
        TokenInfo t = {};
        int r = parse(&c, text, len, &j);

        if (r < 0 || (r = need_object(&c, j)) < 0 ||
            (r = get_text(&c, j, "name", false, t.name, sizeof(t.name))) < 0 ||
            (r = get_text(&c, j, "role", false, role, sizeof(role))) < 0)
                return r;
        if (!streq(role, "admin") && !streq(role, "read"))
                return fail(&c, "\"role\" is neither admin nor read");
        t.admin = streq(role, "admin");
        *ret = t;
        return 0;
}

static int assigned_item(const cJSON *e, void *ret, char *err) {
        Ctx c = { "assigned device", err };
        AssignedDevice *d = ret;
        int64_t polls;
        int r;

        if (need_object(&c, e) < 0)
                return -EBADMSG;
        if ((r = get_text(&c, e, "id", false, d->id, sizeof(d->id))) < 0 || !d->id[0])
                return r < 0 ? r : fail(&c, "\"id\" is empty");
        if ((r = get_int(&c, e, "polls", false, 0, 0, INT64_MAX, &polls)) < 0 ||
            (r = get_time(&c, e, "first_seen", &d->first_seen)) < 0 ||
            (r = get_time(&c, e, "last_seen", &d->last_seen)) < 0)
                return r;
        d->polls = (uint64_t) polls;
        return 0;
}

int json_decode_assignment_page(const char *text, size_t len, AssignmentPage *ret,
                                char err[static JSON_DECODE_ERROR_MAX]) {
        if (json_scan_assignment_page(text, len, ret) == 0)
                return 0;

        Ctx c = { "assignment list", err };
        _cleanup_(cJSON_Deletep) cJSON *j = NULL;
        AssignmentPage p = {};
        void *items;
        int r = parse(&c, text, len, &j);

        if (r < 0 || (r = need_object(&c, j)) < 0)
                return r;
        r = get_int(&c, j, "release", false, 0, 1, INT64_MAX, &p.release);
        if (r >= 0)
                r = decode_array(&c, j, "devices", sizeof(AssignedDevice), assigned_item, NULL, &items,
                                 &p.n);
        if (r < 0)
                return r;
        p.items = items;
        r = get_text(&c, j, "next", true, p.next, sizeof(p.next));
        if (r < 0) {
                assignment_page_done(&p);
                return r;
        }
        *ret = p;
        return 0;
}
