/* SPDX-License-Identifier: MIT */
/* Devices: listing, detail with recent check-ins, pins, labels, channels and bulk assignment. */
#include <errno.h>
#include <string.h>

#include "api.h"
#include "flota/alloc.h"
#include "flota/api-body.h"
#include "flota/json-writer.h"
#include "flota/log.h"
#include "flota/strutil.h"

#define DEVICES_PAGE_DEFAULT 100
#define DEVICES_PAGE_MAX 10000
#define DEVICE_RECENT_CHECKINS 20

/* A page of the list is written as it is read: no tree of a whole page (10,000 devices) is built. */
typedef struct DeviceList {
        JsonWriter w;
        char last[DEVICE_ID_MAX + 1];
} DeviceList;

static void device_list_done(DeviceList *l) {
        json_writer_done(&l->w);
}

/*
 * Lists the devices f selects into the writer's open "devices" array, each with add(), and
 * answers the page: a full page may have more after it, so "next" is its last id.
 */
static enum MHD_Result respond_device_page(ApiCall *call, DeviceList *l, DeviceFilter *f,
                                           int (*add)(const Device *d, void *userdata), const char *what) {
        Server *srv = call->srv;

        pthread_mutex_lock(&srv->api_lock);
        int r = store_devices_list(srv->api_store, f, add, l);
        pthread_mutex_unlock(&srv->api_lock);
        if (r < 0)
                return api_store_error(call, r, what);
        json_write_close(&l->w, ']');
        json_write_key(&l->w, "next");
        json_write_string_or_null(&l->w, (size_t) r == f->limit ? l->last : NULL);
        json_write_close(&l->w, '}');
        size_t len;
        char *text = json_writer_steal(&l->w, &len);
        text = xrealloc(text, len + 2);
        memcpy(text + len, "\n", 2);
        return respond_json_text(call->conn, MHD_HTTP_OK, text, len + 1);
}

static int add_device(const Device *d, void *userdata) {
        DeviceList *l = userdata;
        device_write_json(&l->w, d);
        strscpy(l->last, sizeof(l->last), d->id);
        return 0;
}

enum MHD_Result api_devices_list(ApiCall *call) {
        DeviceFilter f = {
                .product = api_arg(call, "product"),
                .version = api_arg(call, "version"),
                .label = api_arg(call, "label"),
                .after = api_arg(call, "after"),
                .limit = DEVICES_PAGE_DEFAULT,
        };
        const char *limit = api_arg(call, "limit"), *since = api_arg(call, "seen_since");
        const char *assigned = api_arg(call, "assigned");
        _cleanup_(device_list_done) DeviceList l = {};
        uint64_t n;

        if (limit) {
                if (parse_u64(limit, &n) < 0 || n == 0 || n > DEVICES_PAGE_MAX)
                        return api_bad_body(call, "limit must be 1-10000");
                f.limit = n;
        }
        if (since && parse_timestamp(since, &f.seen_since) < 0)
                return api_bad_body(call, "seen_since must be Unix seconds or an RFC 3339 UTC time");
        if (assigned) {
                if (parse_u64(assigned, &n) < 0 || n == 0 || n > INT64_MAX)
                        return api_bad_body(call, "assigned must be a release id");
                f.assigned = (int64_t) n;
        }

        json_write_open(&l.w, '{');
        json_write_key(&l.w, "devices");
        json_write_open(&l.w, '[');
        return respond_device_page(call, &l, &f, add_device, "devices");
}

static int set_device(const Device *d, void *userdata) {
        *(cJSON **) userdata = device_to_json(d);
        return 0;
}

static int add_checkin(const Checkin *c, void *userdata) {
        cJSON_AddItemToArray(userdata, checkin_to_json(c));
        return 0;
}

/* Normalises the device id in the path; responds 400 and returns false when it is not one. */
static bool device_arg(ApiCall *call, char id[static DEVICE_ID_MAX + 1]) {
        if (device_id_normalize(call->segments[1], id) < 0) {
                (void) respond_error(call->conn, MHD_HTTP_BAD_REQUEST, "bad-request",
                                     "'%.64s' is not a MAC address or device id", call->segments[1]);
                return false;
        }
        return true;
}

enum MHD_Result api_device_get(ApiCall *call) {
        Server *srv = call->srv;
        char id[DEVICE_ID_MAX + 1];
        cJSON *o = NULL, *recent = cJSON_CreateArray();

        if (!device_arg(call, id)) {
                cJSON_Delete(recent);
                return MHD_YES;
        }
        pthread_mutex_lock(&srv->api_lock);
        int r = store_device_get(srv->api_store, id, set_device, &o);
        if (r == 0)
                r = store_device_checkins(srv->api_store, id, DEVICE_RECENT_CHECKINS, add_checkin, recent);
        pthread_mutex_unlock(&srv->api_lock);
        if (r < 0) {
                cJSON_Delete(o);
                cJSON_Delete(recent);
                return api_store_error(call, r, "device");
        }
        cJSON_AddItemToObject(o, "checkins", recent);
        return respond_json(call->conn, MHD_HTTP_OK, o);
}

/* Runs a device write under the API lock, reloads the catalog, answers with the device. */
static enum MHD_Result device_write_done(ApiCall *call, const char *id, int r, const char *what) {
        Server *srv = call->srv;
        cJSON *o = NULL;

        if (r == 0) {
                if (server_catalog_changed(srv) < 0)
                        return api_catalog_stale(call, NULL);
                r = store_device_get(srv->api_store, id, set_device, &o);
                log_info("device %s: %s by %s", id, what, call->actor);
        }
        if (r < 0)
                return api_store_error(call, r, "device");
        return respond_json(call->conn, MHD_HTTP_OK, o);
}

static enum MHD_Result set_pin(ApiCall *call, int64_t release_id) {
        Server *srv = call->srv;
        char id[DEVICE_ID_MAX + 1];
        enum MHD_Result ret;

        if (!device_arg(call, id))
                return MHD_YES;
        pthread_mutex_lock(&srv->api_lock);
        if (release_id > 0 && !catalog_release(srv->served->catalog, release_id))
                ret = respond_error(call->conn, MHD_HTTP_NOT_FOUND, "not-found",
                                    "release %" PRId64 " not found", release_id);
        else
                ret = device_write_done(call, id, store_device_set_pin(srv->api_store, id, release_id),
                                        release_id ? "pinned" : "unpinned");
        pthread_mutex_unlock(&srv->api_lock);
        return ret;
}

enum MHD_Result api_device_pin_put(ApiCall *call) {
        char err[API_ERROR_MAX];
        int64_t release_id;

        if (api_parse_release_ref(call->body, call->body_len, &release_id, err) < 0)
                return api_bad_body(call, err);
        return set_pin(call, release_id);
}

enum MHD_Result api_device_pin_delete(ApiCall *call) {
        return set_pin(call, 0);
}

enum MHD_Result api_device_labels_put(ApiCall *call) {
        Server *srv = call->srv;
        _cleanup_(labels_body_done) LabelsBody b = {};
        char id[DEVICE_ID_MAX + 1], err[API_ERROR_MAX];
        enum MHD_Result ret;

        if (!device_arg(call, id))
                return MHD_YES;
        if (api_parse_labels(call->body, call->body_len, &b, err) < 0)
                return api_bad_body(call, err);
        pthread_mutex_lock(&srv->api_lock);
        ret = device_write_done(call, id, store_device_set_labels(srv->api_store, id, b.labels, b.n),
                                "labels set");
        pthread_mutex_unlock(&srv->api_lock);
        return ret;
}

enum MHD_Result api_device_channel_put(ApiCall *call) {
        Server *srv = call->srv;
        _cleanup_free_ char *channel = NULL;
        char id[DEVICE_ID_MAX + 1], err[API_ERROR_MAX];
        enum MHD_Result ret;

        if (!device_arg(call, id))
                return MHD_YES;
        if (api_parse_channel_name(call->body, call->body_len, &channel, err) < 0)
                return api_bad_body(call, err);
        pthread_mutex_lock(&srv->api_lock);
        ret = device_write_done(call, id, store_device_set_channel(srv->api_store, id, channel),
                                "channel set");
        pthread_mutex_unlock(&srv->api_lock);
        return ret;
}

static enum MHD_Result assign(ApiCall *call, bool set) {
        Server *srv = call->srv;
        _cleanup_(assign_body_done) AssignBody b = {};
        char err[API_ERROR_MAX];
        enum MHD_Result ret;

        if (api_parse_assignment(call->body, call->body_len, set, &b, err) < 0)
                return api_bad_body(call, err);
        pthread_mutex_lock(&srv->api_lock);
        if (set && !catalog_release(srv->served->catalog, b.release_id))
                ret = respond_error(call->conn, MHD_HTTP_NOT_FOUND, "not-found",
                                    "release %" PRId64 " not found", b.release_id);
        else {
                int r = store_assign(srv->api_store, set ? b.release_id : 0, b.devices, b.n);
                if (r < 0)
                        ret = api_store_error(call, r, "assignment");
                else if (server_catalog_changed(srv) < 0)
                        ret = api_catalog_stale(call, NULL);
                else {
                        log_info("%s %zu devices (release %" PRId64 ") by %s",
                                 set ? "assigned" : "unassigned", b.n, b.release_id, call->actor);
                        cJSON *o = cJSON_CreateObject();
                        json_add_id(o, "release", set ? b.release_id : 0);
                        cJSON_AddNumberToObject(o, "devices", (double) b.n);
                        ret = respond_json(call->conn, MHD_HTTP_OK, o);
                }
        }
        pthread_mutex_unlock(&srv->api_lock);
        return ret;
}

enum MHD_Result api_assignments_post(ApiCall *call) {
        return assign(call, true);
}

enum MHD_Result api_assignments_delete(ApiCall *call) {
        return assign(call, false);
}

/* A page of the feed, and the last id on it (exact: positions pass 2^53 on PostgreSQL). */
typedef struct FeedPage {
        cJSON *items;
        int64_t last;
} FeedPage;

static int add_feed_checkin(const Checkin *c, void *userdata) {
        FeedPage *page = userdata;
        cJSON_AddItemToArray(page->items, checkin_to_json(c));
        page->last = c->id;
        return 0;
}

enum MHD_Result api_checkins_list(ApiCall *call) {
        Server *srv = call->srv;
        const char *after = api_arg(call, "after"), *limit = api_arg(call, "limit");
        int64_t cursor = 0;
        uint64_t n = 500;

        if (after && (parse_i64(after, &cursor) < 0 || cursor < 0))
                return api_bad_body(call, "after must be a check-in id (0 for the beginning)");
        if (limit && (parse_u64(limit, &n) < 0 || n == 0 || n > 10000))
                return api_bad_body(call, "limit must be 1-10000");

        FeedPage page = { .items = cJSON_CreateArray(), .last = cursor };
        pthread_mutex_lock(&srv->api_lock);
        int r = store_checkins_after(srv->api_store, cursor, n, add_feed_checkin, &page);
        pthread_mutex_unlock(&srv->api_lock);
        if (r < 0) {
                cJSON_Delete(page.items);
                return api_store_error(call, r, "check-ins");
        }
        cJSON *o = cJSON_CreateObject();
        cJSON_AddItemToObject(o, "checkins", page.items);
        json_add_int(o, "next", page.last);
        return respond_json(call->conn, MHD_HTTP_OK, o);
}

#define ASSIGNMENTS_PAGE_DEFAULT 10000
#define ASSIGNMENTS_PAGE_MAX 100000

/* An assigned device as rollouts need it: who, and how it polls (to learn when it went silent). */
static int add_assigned(const Device *d, void *userdata) {
        DeviceList *l = userdata;
        json_write_open(&l->w, '{');
        json_write_key(&l->w, "id");
        json_write_string(&l->w, d->id);
        json_write_key(&l->w, "polls");
        json_write_int(&l->w, d->polls);
        json_write_key(&l->w, "first_seen");
        json_write_time(&l->w, d->first_seen);
        json_write_key(&l->w, "last_seen");
        json_write_time(&l->w, d->last_seen);
        json_write_close(&l->w, '}');
        strscpy(l->last, sizeof(l->last), d->id);
        return 0;
}

/*
 * GET /assignments?release=ID[&after=][&limit=]: the devices assigned a release, in id order,
 * paged: {"release": ID, "devices": [{"id", "polls", "first_seen", "last_seen"}...], "next":
 * id|null}. What rollouts reconcile against and learn silence from, so it carries only that.
 */
enum MHD_Result api_assignments_list(ApiCall *call) {
        const char *release = api_arg(call, "release"), *limit = api_arg(call, "limit");
        DeviceFilter f = { .after = api_arg(call, "after"), .limit = ASSIGNMENTS_PAGE_DEFAULT };
        _cleanup_(device_list_done) DeviceList l = {};
        uint64_t n;

        if (!release || parse_u64(release, &n) < 0 || n == 0 || n > INT64_MAX)
                return api_bad_body(call, "release must be a release id");
        f.assigned = (int64_t) n;
        if (limit) {
                if (parse_u64(limit, &n) < 0 || n == 0 || n > ASSIGNMENTS_PAGE_MAX)
                        return api_bad_body(call, "limit must be 1-100000");
                f.limit = n;
        }
        json_write_open(&l.w, '{');
        json_write_key(&l.w, "release");
        json_write_int(&l.w, f.assigned);
        json_write_key(&l.w, "devices");
        json_write_open(&l.w, '[');
        return respond_device_page(call, &l, &f, add_assigned, "assignments");
}
