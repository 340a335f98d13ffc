/* SPDX-License-Identifier: MIT */
/* flotad's management API as typed calls: paths and bodies out, decoded model types back. */
#include "flota/api.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flota/alloc.h"
#include "flota/hash.h"
#include "flota/json-writer.h"
#include "flota/strutil.h"

#define API_PREFIX "/api/v1"

static _printf_(2, 3) void say(char *err, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(err, API_CLIENT_ERROR_MAX, fmt, ap);
        va_end(ap);
}

/* A path with a query being built: every value goes through url_encode(). */
typedef struct Url {
        char *text;
        bool has_query;
} Url;

static void url_done(Url *u) {
        free(u->text);
}

/* The path API_PREFIX/<fixed>, then each of the n segments encoded. */
static Url url_path(const char *fixed, size_t n, ...) {
        Url u = { .text = xasprintf(API_PREFIX "/%s", fixed) };
        va_list ap;

        va_start(ap, n);
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *seg = url_encode(va_arg(ap, const char *));
                char *t = xasprintf("%s/%s", u.text, seg);
                free(u.text);
                u.text = t;
        }
        va_end(ap);
        return u;
}

/* Appends name=value (value encoded); a NULL value adds nothing. */
static void url_arg(Url *u, const char *name, const char *value) {
        if (!value)
                return;
        _cleanup_free_ char *v = url_encode(value);
        char *t = xasprintf("%s%c%s=%s", u->text, u->has_query ? '&' : '?', name, v);
        free(u->text);
        u->text = t;
        u->has_query = true;
}

static void url_arg_int(Url *u, const char *name, int64_t value) {
        char buf[24];

        snprintf(buf, sizeof(buf), "%" PRId64, value);
        url_arg(u, name, buf);
}

/* The message of an error body, or a stand-in when the body is not one. */
static void server_message(const ApiResponse *resp, char *msg, size_t size) {
        if (json_decode_error_body(resp->body, resp->len, msg, size) < 0)
                strscpy(msg, size, "the server refused the request");
}

/* Maps the HTTP status of an answer to 0 or -errno with a sentence in err (api.h's table). */
static int check_status(ApiClient *c, const ApiResponse *resp, char *err) {
        char msg[256];
        long s = resp->status;

        if (s >= 200 && s < 300)
                return 0;
        if (s == 401) {
                say(err, "%s rejected the API token", api_client_server(c));
                return -EACCES;
        }
        server_message(resp, msg, sizeof(msg));
        say(err, "%s (HTTP %ld)", msg, s);
        if (s == 403)
                return -EACCES;
        if (s == 404)
                return -ENOENT;
        if (s == 409)
                return -EEXIST;
        if (s >= 400 && s < 500)
                return -EINVAL;
        return -EIO;
}

/* One request whose answer must be a 2xx; *resp is set (and owned by the caller) only on success. */
static int call(ApiClient *c, const char *method, const char *path, const JsonWriter *body, ApiResponse *ret,
                char *err) {
        ApiResponse resp = {};
        int r = api_client_request(c, method, path, body ? body->buf : NULL, body ? body->len : 0, &resp,
                                   err);

        if (r < 0)
                return r;
        r = check_status(c, &resp, err);
        if (r < 0) {
                api_response_done(&resp);
                return r;
        }
        *ret = resp;
        return 0;
}

/* Turns a decoder's refusal into the sentence callers print. */
static int bad_answer(ApiClient *c, int r, const char *why, char *err) {
        say(err, "%s sent an answer of the wrong shape (%s)", api_client_server(c), why);
        return r;
}

/* A decoder's result: r, with err saying what was wrong with the answer when it refused it. */
static int decoded(ApiClient *c, int r, const char *why, char *err) {
        return r < 0 ? bad_answer(c, r, why, err) : 0;
}

void api_device_done(ApiDevice *d) {
        if (!d)
                return;
        free(d->labels);
        d->labels = NULL;
}

void api_device_page_done(ApiDevicePage *p) {
        for (size_t i = 0; p && i < p->n; i++)
                api_device_done(&p->items[i]);
        if (p) {
                free(p->items);
                *p = (ApiDevicePage) {};
        }
}

void api_checkin_page_done(ApiCheckinPage *p) {
        if (!p)
                return;
        free(p->items);
        *p = (ApiCheckinPage) {};
}

void api_release_list_done(ApiReleaseList *l) {
        for (size_t i = 0; l && i < l->n; i++)
                release_done(&l->items[i]);
        if (l) {
                free(l->items);
                *l = (ApiReleaseList) {};
        }
}

void api_channel_list_done(ApiChannelList *l) {
        if (!l)
                return;
        free(l->items);
        *l = (ApiChannelList) {};
}

/* Moves a decoded record into the rollout engine's type (the labels change hands). */
static void device_from_record(DeviceRecord *r, ApiDevice *d) {
        *d = (ApiDevice) {
                .pin = r->pin,
                .assigned = r->assigned,
                .labels = TAKE_PTR(r->labels),
                .platform = r->platform,
                .free_space = r->free_space,
                .chip_size = r->chip_size,
                .first_seen = r->first_seen,
                .last_seen = r->last_seen,
                .polls = r->polls,
                .last_status = r->last_status,
        };
        memcpy(d->id, r->id, sizeof(d->id));
        memcpy(d->mac, r->mac, sizeof(d->mac));
        memcpy(d->product, r->product, sizeof(d->product));
        memcpy(d->channel, r->channel, sizeof(d->channel));
        memcpy(d->version, r->version, sizeof(d->version));
        memcpy(d->sketch_md5, r->sketch_md5, sizeof(d->sketch_md5));
        memcpy(d->last_reason, r->last_reason, sizeof(d->last_reason));
        if (!d->labels)
                d->labels = xstrdup("");
}

static void channel_from_info(const ChannelInfo *i, ApiChannel *c) {
        *c = (ApiChannel) { .kind = i->kind, .release = i->release, .updated = i->updated };
        memcpy(c->product, i->product, sizeof(c->product));
        memcpy(c->name, i->name, sizeof(c->name));
        memcpy(c->version, i->version, sizeof(c->version));
}

static int check_query(const ApiDeviceQuery *q, char *err) {
        if (q && q->limit > 10000) {
                say(err, "a page holds at most 10000 devices, not %zu", q->limit);
                return -EINVAL;
        }
        return 0;
}

static Url devices_url(const ApiDeviceQuery *q) {
        Url u = url_path("devices", 0);
        char since[24];

        if (!q)
                return u;
        if (q->limit > 0)
                url_arg_int(&u, "limit", (int64_t) q->limit);
        url_arg(&u, "product", q->product);
        url_arg(&u, "version", q->version);
        url_arg(&u, "label", q->label);
        if (q->seen_since > 0) {
                snprintf(since, sizeof(since), "%" PRIu64, (uint64_t) (q->seen_since / USEC_PER_SEC));
                url_arg(&u, "seen_since", since);
        }
        if (q->assigned > 0)
                url_arg_int(&u, "assigned", q->assigned);
        url_arg(&u, "after", q->after);
        return u;
}

int api_device_records_page(ApiClient *c, const ApiDeviceQuery *q, DeviceRecordList *ret,
                            char err[static API_CLIENT_ERROR_MAX]) {
        _cleanup_(url_done) Url u = {};
        DeviceRecordList l = {};
        int r = check_query(q, err);

        if (r < 0)
                return r;
        u = devices_url(q);
        _cleanup_(api_response_done) ApiResponse resp = {};
        char why[JSON_DECODE_ERROR_MAX];
        r = call(c, "GET", u.text, NULL, &resp, err);
        if (r == 0)
                r = decoded(c, json_decode_device_list(resp.body, resp.len, &l, why), why, err);
        if (r < 0)
                return r;
        /* the cursor only grows: anything else would page forever */
        if (l.next[0] && q && q->after && strcmp(l.next, q->after) <= 0) {
                device_record_list_done(&l);
                return bad_answer(c, -EBADMSG, "device list: \"next\" does not advance", err);
        }
        *ret = l;
        return 0;
}

int api_assignments_page(ApiClient *c, int64_t release_id, const char *after, size_t limit,
                         AssignmentPage *ret, char err[static API_CLIENT_ERROR_MAX]) {
        _cleanup_(url_done) Url u = url_path("assignments", 0);
        _cleanup_(api_response_done) ApiResponse resp = {};
        char why[JSON_DECODE_ERROR_MAX];
        AssignmentPage p = {};

        if (release_id <= 0 || limit > 100000) {
                snprintf(err, API_CLIENT_ERROR_MAX,
                         "assignments: release must be an id and limit at most 100000");
                return -EINVAL;
        }
        url_arg_int(&u, "release", release_id);
        if (limit > 0)
                url_arg_int(&u, "limit", (int64_t) limit);
        url_arg(&u, "after", after);
        int r = call(c, "GET", u.text, NULL, &resp, err);
        if (r == 0)
                r = decoded(c, json_decode_assignment_page(resp.body, resp.len, &p, why), why, err);
        if (r < 0)
                return r;
        if (p.release != release_id || (p.next[0] && after && strcmp(p.next, after) <= 0)) {
                assignment_page_done(&p);
                return bad_answer(c, -EBADMSG,
                                  "assignment list: another release, or \"next\" does not advance", err);
        }
        *ret = p;
        return 0;
}

int api_devices_page(ApiClient *c, const ApiDeviceQuery *q, ApiDevicePage *ret,
                     char err[static API_CLIENT_ERROR_MAX]) {
        DeviceRecordList l = {};
        int r = api_device_records_page(c, q, &l, err);

        if (r < 0)
                return r;
        ApiDevicePage p = { .items = l.n ? xcalloc(l.n, sizeof(ApiDevice)) : NULL, .n = l.n };
        for (size_t i = 0; i < l.n; i++)
                device_from_record(&l.items[i], &p.items[i]);
        memcpy(p.next, l.next, sizeof(p.next));
        device_record_list_done(&l);
        *ret = p;
        return 0;
}

int api_device_detail(ApiClient *c, const char *id, DeviceDetail *ret,
                      char err[static API_CLIENT_ERROR_MAX]) {
        _cleanup_(url_done) Url u = url_path("devices", 1, id);
        _cleanup_(api_response_done) ApiResponse resp = {};
        char why[JSON_DECODE_ERROR_MAX];

        int r = call(c, "GET", u.text, NULL, &resp, err);
        if (r == 0)
                r = decoded(c, json_decode_device_detail(resp.body, resp.len, ret, why), why, err);
        return r;
}

int api_device_get(ApiClient *c, const char *id, ApiDevice *ret, char err[static API_CLIENT_ERROR_MAX]) {
        DeviceDetail d = {};
        int r = api_device_detail(c, id, &d, err);

        if (r < 0)
                return r;
        device_from_record(&d.device, ret);
        device_detail_done(&d);
        return 0;
}

/* A device write: the answer is the device afterwards, decoded into ret (may be NULL). */
static int device_write(ApiClient *c, const char *method, const char *id, const char *what,
                        const JsonWriter *body, DeviceRecord *ret, char *err) {
        _cleanup_(url_done) Url u = url_path("devices", 2, id, what);
        DeviceRecord d = {};
        _cleanup_(api_response_done) ApiResponse resp = {};
        char why[JSON_DECODE_ERROR_MAX];
        int r = call(c, method, u.text, body, &resp, err);
        if (r == 0)
                r = decoded(c, json_decode_device(resp.body, resp.len, &d, why), why, err);
        if (r < 0)
                return r;
        if (ret)
                *ret = d;
        else
                device_record_done(&d);
        return 0;
}

static void write_release_ref(JsonWriter *w, int64_t release_id) {
        json_write_key(w, "release");
        if (release_id > 0)
                json_write_int(w, release_id);
        else
                json_write_null(w);
}

int api_device_pin(ApiClient *c, const char *id, int64_t release_id, DeviceRecord *ret,
                   char err[static API_CLIENT_ERROR_MAX]) {
        _cleanup_(json_writer_done) JsonWriter w = {};

        if (release_id <= 0)
                return device_write(c, "DELETE", id, "pin", NULL, ret, err);
        json_write_open(&w, '{');
        write_release_ref(&w, release_id);
        json_write_close(&w, '}');
        return device_write(c, "PUT", id, "pin", &w, ret, err);
}

int api_device_labels(ApiClient *c, const char *id, const char *const *labels, size_t n, DeviceRecord *ret,
                      char err[static API_CLIENT_ERROR_MAX]) {
        _cleanup_(json_writer_done) JsonWriter w = {};

        json_write_open(&w, '{');
        json_write_key(&w, "labels");
        json_write_open(&w, '[');
        for (size_t i = 0; i < n; i++)
                json_write_string(&w, labels[i]);
        json_write_close(&w, ']');
        json_write_close(&w, '}');
        return device_write(c, "PUT", id, "labels", &w, ret, err);
}

int api_device_channel(ApiClient *c, const char *id, const char *channel, DeviceRecord *ret,
                       char err[static API_CLIENT_ERROR_MAX]) {
        _cleanup_(json_writer_done) JsonWriter w = {};

        json_write_open(&w, '{');
        json_write_key(&w, "channel");
        if (channel)
                json_write_string(&w, channel);
        else
                json_write_null(&w);
        json_write_close(&w, '}');
        return device_write(c, "PUT", id, "channel", &w, ret, err);
}

int api_checkins_page(ApiClient *c, int64_t after, size_t limit, ApiCheckinPage *ret,
                      char err[static API_CLIENT_ERROR_MAX]) {
        _cleanup_(url_done) Url u = url_path("checkins", 0);
        CheckinList l = {};

        if (after < 0 || limit > 10000) {
                say(err, "check-ins: 'after' must be 0 or more and a page at most 10000, not %zu", limit);
                return -EINVAL;
        }
        url_arg_int(&u, "after", after);
        if (limit > 0)
                url_arg_int(&u, "limit", (int64_t) limit);
        _cleanup_(api_response_done) ApiResponse resp = {};
        char why[JSON_DECODE_ERROR_MAX];
        int r = call(c, "GET", u.text, NULL, &resp, err);
        if (r == 0)
                r = decoded(c, json_decode_checkin_list(resp.body, resp.len, &l, why), why, err);
        if (r < 0)
                return r;
        /* ids only grow, and the cursor is the last one sent: anything else is not flotad's feed */
        bool ok = l.n == 0 ? l.next == after : l.next > after && l.next == l.items[l.n - 1].id;
        for (size_t i = 0; ok && i < l.n; i++)
                ok = l.items[i].id > (i ? l.items[i - 1].id : after);
        if (!ok) {
                checkin_list_done(&l);
                return bad_answer(c, -EBADMSG, "check-in list: the cursor does not advance with the ids",
                                  err);
        }
        *ret = (ApiCheckinPage) { .items = l.items, .n = l.n, .next = l.next };
        return 0;
}

static void write_assignment(JsonWriter *w, int64_t release_id, const char *const *ids, size_t n) {
        json_write_open(w, '{');
        if (release_id > 0)
                write_release_ref(w, release_id);
        json_write_key(w, "devices");
        json_write_open(w, '[');
        for (size_t i = 0; i < n; i++)
                json_write_string(w, ids[i]);
        json_write_close(w, ']');
        json_write_close(w, '}');
}

int api_assign_count(ApiClient *c, int64_t release_id, const char *const *ids, size_t n,
                     uint64_t *ret_devices, char err[static API_CLIENT_ERROR_MAX]) {
        _cleanup_(json_writer_done) JsonWriter w = {};
        _cleanup_(url_done) Url u = url_path("assignments", 0);
        AssignResult a = {};

        if (n == 0 || n > API_ASSIGN_MAX) {
                say(err, "an assignment lists 1 to %d devices, not %zu", API_ASSIGN_MAX, n);
                return -EINVAL;
        }
        write_assignment(&w, release_id, ids, n);
        _cleanup_(api_response_done) ApiResponse resp = {};
        char why[JSON_DECODE_ERROR_MAX];
        int r = call(c, release_id > 0 ? "POST" : "DELETE", u.text, &w, &resp, err);
        if (r == 0)
                r = decoded(c, json_decode_assign_result(resp.body, resp.len, &a, why), why, err);
        if (r < 0)
                return r;
        if (a.release != (release_id > 0 ? release_id : 0))
                return bad_answer(c, -EBADMSG, "assignment: \"release\" is not the one sent", err);
        if (ret_devices)
                *ret_devices = a.devices;
        return 0;
}

int api_assign(ApiClient *c, int64_t release_id, const char *const *ids, size_t n,
               char err[static API_CLIENT_ERROR_MAX]) {
        return api_assign_count(c, release_id, ids, n, NULL, err);
}

int api_release_get(ApiClient *c, int64_t id, Release *ret, char err[static API_CLIENT_ERROR_MAX]) {
        char num[24];

        snprintf(num, sizeof(num), "%" PRId64, id);
        _cleanup_(url_done) Url u = url_path("releases", 1, num);
        _cleanup_(api_response_done) ApiResponse resp = {};
        char why[JSON_DECODE_ERROR_MAX];
        int r = call(c, "GET", u.text, NULL, &resp, err);
        if (r == 0)
                r = decoded(c, json_decode_release(resp.body, resp.len, ret, why), why, err);
        return r;
}

int api_release_image(ApiClient *c, const Release *rel, uint8_t **ret, size_t *ret_size,
                      char err[static API_CLIENT_ERROR_MAX]) {
        char num[24], md5[MD5_HEX_LEN + 1];

        snprintf(num, sizeof(num), "%" PRId64, rel->id);
        _cleanup_(url_done) Url u = url_path("releases", 2, num, "image");
        _cleanup_(api_response_done) ApiResponse resp = {};
        int r = call(c, "GET", u.text, NULL, &resp, err);
        if (r < 0)
                return r;
        /* the bytes are the release's, or they are not taken: a cut or foreign answer is refused */
        md5_hex(resp.body, resp.len, md5);
        if (resp.len != rel->size || !strcaseeq(md5, rel->md5))
                return bad_answer(c, -EBADMSG, "the image's size or MD5 is not the release's", err);
        *ret = (uint8_t *) TAKE_PTR(resp.body);
        *ret_size = resp.len;
        return 0;
}

int api_releases_list(ApiClient *c, const char *product, ApiReleaseList *ret,
                      char err[static API_CLIENT_ERROR_MAX]) {
        _cleanup_(url_done) Url u = url_path("releases", 0);
        ReleaseList l = {};

        url_arg(&u, "product", product);
        _cleanup_(api_response_done) ApiResponse resp = {};
        char why[JSON_DECODE_ERROR_MAX];
        int r = call(c, "GET", u.text, NULL, &resp, err);
        if (r == 0)
                r = decoded(c, json_decode_release_list(resp.body, resp.len, &l, why), why, err);
        if (r < 0)
                return r;
        *ret = (ApiReleaseList) { .items = l.items, .n = l.n };
        return 0;
}

int api_channels_list(ApiClient *c, ApiChannelList *ret, char err[static API_CLIENT_ERROR_MAX]) {
        _cleanup_(url_done) Url u = url_path("channels", 0);
        ChannelInfoList l = {};

        _cleanup_(api_response_done) ApiResponse resp = {};
        char why[JSON_DECODE_ERROR_MAX];
        int r = call(c, "GET", u.text, NULL, &resp, err);
        if (r == 0)
                r = decoded(c, json_decode_channel_list(resp.body, resp.len, &l, why), why, err);
        if (r < 0)
                return r;
        ApiChannelList out = { .items = l.n ? xcalloc(l.n, sizeof(ApiChannel)) : NULL, .n = l.n };
        for (size_t i = 0; i < l.n; i++)
                channel_from_info(&l.items[i], &out.items[i]);
        channel_info_list_done(&l);
        *ret = out;
        return 0;
}

int api_channel_set(ApiClient *c, const char *product, const char *channel, int64_t release_id,
                    ApiChannel *ret, char err[static API_CLIENT_ERROR_MAX]) {
        _cleanup_(json_writer_done) JsonWriter w = {};
        _cleanup_(url_done) Url u = url_path("channels", 2, product, channel);
        ChannelInfo ch = {};

        json_write_open(&w, '{');
        write_release_ref(&w, release_id);
        json_write_close(&w, '}');
        _cleanup_(api_response_done) ApiResponse resp = {};
        char why[JSON_DECODE_ERROR_MAX];
        int r = call(c, "PUT", u.text, &w, &resp, err);
        if (r == 0)
                r = decoded(c, json_decode_channel(resp.body, resp.len, &ch, why), why, err);
        if (r < 0)
                return r;
        if (ret)
                channel_from_info(&ch, ret);
        return 0;
}

int api_channel_put(ApiClient *c, const char *product, const char *channel, int64_t release_id,
                    char err[static API_CLIENT_ERROR_MAX]) {
        return api_channel_set(c, product, channel, release_id, NULL, err);
}

int api_release_upload(ApiClient *c, const ApiReleaseUpload *up, int fd, uint64_t size,
                       void (*progress)(uint64_t sent, uint64_t total, void *userdata), void *userdata,
                       Release *ret, char err[static API_CLIENT_ERROR_MAX]) {
        _cleanup_(url_done) Url u = url_path("releases", 0);
        char why[JSON_DECODE_ERROR_MAX];
        ApiResponse resp = {};
        Release rel = {};

        url_arg(&u, "product", up->product);
        url_arg(&u, "version", up->version);
        url_arg(&u, "platform", up->platform);
        url_arg(&u, "kind", up->kind);
        url_arg(&u, "notes", up->notes);
        int r = api_client_upload(c, u.text, fd, size, progress, userdata, &resp, err);
        if (r < 0)
                return r;
        r = check_status(c, &resp, err);
        if (r == 0 && (r = json_decode_release(resp.body, resp.len, &rel, why)) < 0)
                (void) bad_answer(c, r, why, err);
        api_response_done(&resp);
        if (r < 0)
                return r;
        *ret = rel;
        return 0;
}

int api_products_list(ApiClient *c, ProductInfoList *ret, char err[static API_CLIENT_ERROR_MAX]) {
        _cleanup_(url_done) Url u = url_path("products", 0);
        _cleanup_(api_response_done) ApiResponse resp = {};
        char why[JSON_DECODE_ERROR_MAX];

        int r = call(c, "GET", u.text, NULL, &resp, err);
        if (r == 0)
                r = decoded(c, json_decode_product_list(resp.body, resp.len, ret, why), why, err);
        return r;
}

int api_channel_history(ApiClient *c, const char *product, const char *channel, size_t limit,
                        ChannelChangeList *ret, char err[static API_CLIENT_ERROR_MAX]) {
        _cleanup_(url_done) Url u = url_path("channels/history", 0);
        _cleanup_(api_response_done) ApiResponse resp = {};
        char why[JSON_DECODE_ERROR_MAX];

        if (limit > 1000) {
                say(err, "channel history: at most 1000 changes a call, not %zu", limit);
                return -EINVAL;
        }
        url_arg(&u, "product", product);
        url_arg(&u, "channel", channel);
        if (limit > 0)
                url_arg_int(&u, "limit", (int64_t) limit);
        int r = call(c, "GET", u.text, NULL, &resp, err);
        if (r == 0)
                r = decoded(c, json_decode_channel_history(resp.body, resp.len, ret, why), why, err);
        return r;
}

int api_product_create(ApiClient *c, const char *name, const char *platform, const char *key,
                       char err[static API_CLIENT_ERROR_MAX]) {
        _cleanup_(json_writer_done) JsonWriter w = {};
        _cleanup_(url_done) Url u = url_path("products", 0);
        ApiResponse resp = {};

        json_write_open(&w, '{');
        json_write_key(&w, "name");
        json_write_string(&w, name);
        if (platform) {
                json_write_key(&w, "platform");
                json_write_string(&w, platform);
        }
        if (key) {
                json_write_key(&w, "key");
                json_write_string(&w, key);
        }
        json_write_close(&w, '}');
        int r = call(c, "POST", u.text, &w, &resp, err);
        if (r < 0)
                return r;
        api_response_done(&resp);
        return 0;
}

int api_token_info(ApiClient *c, TokenInfo *ret, char err[static API_CLIENT_ERROR_MAX]) {
        _cleanup_(url_done) Url u = url_path("token", 0);
        _cleanup_(api_response_done) ApiResponse resp = {};
        char why[JSON_DECODE_ERROR_MAX];
        int r = call(c, "GET", u.text, NULL, &resp, err);

        if (r == 0)
                r = decoded(c, json_decode_token_info(resp.body, resp.len, ret, why), why, err);
        return r;
}

int api_healthz(ApiClient *c, char err[static API_CLIENT_ERROR_MAX]) {
        ApiResponse resp = {};
        int r = api_client_request(c, "GET", "/healthz", NULL, 0, &resp, err);

        if (r < 0)
                return r;
        if (resp.status != 200) {
                say(err, "/healthz answered HTTP %ld", resp.status);
                r = -EIO;
        }
        api_response_done(&resp);
        return r;
}
