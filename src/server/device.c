/* SPDX-License-Identifier: MIT */
/*
 * The device endpoint that the stock ESP8266httpUpdate / ESP32 HTTPUpdate clients poll.
 * Hot path: no database access and no allocation for 304 and 200 answers; the decision
 * reads the served catalog and the check-in is queued for the batch writer.
 */
#include <stdlib.h>
#include <string.h>

#include "flota/alloc.h"

#include "flota/decision.h"
#include "flota/hash.h"
#include "flota/log.h"
#include "flota/strutil.h"
#include "server.h"

typedef struct HeaderScan {
        DeviceRequest *req;
        RequestError err;
        bool failed;
} HeaderScan;

static enum MHD_Result on_header(void *cls, enum MHD_ValueKind kind, const char *key, const char *value) {
        HeaderScan *s = cls;

        if (device_request_add_header(s->req, key, value ? value : "", &s->err) < 0) {
                s->failed = true;
                return MHD_NO;
        }
        return MHD_YES;
}

static enum MHD_Result on_query(void *cls, enum MHD_ValueKind kind, const char *key, const char *value) {
        HeaderScan *s = cls;

        if (device_request_add_query(s->req, key, value ? value : "", &s->err) < 0) {
                s->failed = true;
                return MHD_NO;
        }
        return MHD_YES;
}

static enum MHD_Result reject(Server *srv, struct MHD_Connection *conn, unsigned status,
                              const char *message) {
        metrics_count_poll(&srv->metrics, status);
        log_debug("poll rejected (%u): %s", status, message);
        return respond_text(conn, status, message);
}

static enum MHD_Result queue_version(struct MHD_Connection *conn, const Release *target) {
        struct MHD_Response *resp = MHD_create_response_from_buffer(0, (void *) "", MHD_RESPMEM_PERSISTENT);
        MHD_add_response_header(resp, "x-version", target->version);
        enum MHD_Result ret = MHD_queue_response(conn, MHD_HTTP_OK, resp);
        MHD_destroy_response(resp);
        return ret;
}

static enum MHD_Result unauthorized(struct MHD_Connection *conn, const char *message) {
        struct MHD_Response *resp =
                MHD_create_response_from_buffer(strlen(message), (void *) message, MHD_RESPMEM_MUST_COPY);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Basic realm=\"flotad\"");
        enum MHD_Result ret = MHD_queue_response(conn, MHD_HTTP_UNAUTHORIZED, resp);
        MHD_destroy_response(resp);
        return ret;
}

/* The key a device presents: ?k= or the password of HTTP Basic (setAuthorization). Caller frees with
 * MHD_free. */
static char *presented_key(struct MHD_Connection *conn, bool *ret_from_basic) {
        const char *k = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "k");
        char *pass = NULL;

        *ret_from_basic = false;
        if (k)
                return xstrdup(k);
        char *user = MHD_basic_auth_get_username_password(conn, &pass);
        if (user)
                MHD_free(user);
        if (pass)
                *ret_from_basic = true;
        return pass;
}

/* True when the Basic credentials decode to bytes with a NUL: the password would be cut short. */
static bool basic_auth_has_nul(struct MHD_Connection *conn) {
        const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
        const char *b64 = h ? startswith_no_case(h, "Basic ") : NULL;
        _cleanup_free_ uint8_t *plain = NULL;
        size_t n;

        if (!b64 || base64_decode(b64 + strspn(b64, " "), &plain, &n) < 0)
                return false;
        return memchr(plain, 0, n) != NULL;
}

/* True when the product exists and its devices must present a key. */
static bool product_requires_key(Server *srv, const char *name) {
        pthread_rwlock_rdlock(&srv->catalog_lock);
        const Product *p = catalog_product(srv->served->catalog, name);
        bool r = p && p->key_sha256[0];
        pthread_rwlock_unlock(&srv->catalog_lock);
        return r;
}

static void free_key(char *key, bool from_basic) {
        if (from_basic)
                MHD_free(key);
        else
                free(key);
}

#define REFUSED_LOG_PER_MINUTE 10

/*
 * A refused poll (unknown product, wrong or missing key) is counted in the metrics and
 * logged, at most REFUSED_LOG_PER_MINUTE a minute; it changes no device, since what it
 * claims (version, MD5, product) comes from someone who did not prove who they are.
 */
static void log_refused(Server *srv, const DeviceRequest *req, const char *ip, const char *product,
                        Reason reason) {
        uint64_t minute = now_usec(CLOCK_MONOTONIC) / (60 * USEC_PER_SEC);
        uint64_t seen = atomic_load(&srv->metrics.refused_log_minute);

        if (seen != minute &&
            atomic_compare_exchange_strong(&srv->metrics.refused_log_minute, &seen, minute))
                atomic_store(&srv->metrics.refused_logged, 0);
        uint64_t n = atomic_fetch_add(&srv->metrics.refused_logged, 1);
        if (n < REFUSED_LOG_PER_MINUTE)
                log_info("poll refused (%s) from %s: device %s, product '%.64s'%s", reason_to_string(reason),
                         ip, req->device_id, product,
                         n + 1 == REFUSED_LOG_PER_MINUTE ? "; more this minute are only counted" : "");
}

void image_transfer_done(Server *srv, ImageTransfer *t, bool completed) {
        if (completed)
                atomic_fetch_add(&srv->metrics.bytes_served, t->size);
        else
                t->checkin.reason = REASON_UPDATE_ABORTED;
        atomic_fetch_add(&srv->metrics.reasons[t->checkin.reason], 1);
        checkin_queue_push(&srv->checkins, &t->checkin);
        free(t);
}

enum MHD_Result device_handle(Server *srv, struct MHD_Connection *conn, const char *method,
                              const char *product_name, void **con_cls) {
        DeviceRequest req;
        HeaderScan scan = { .req = &req };
        char ip[IP_STR_MAX];
        bool from_basic = false;

        if (!streq(method, "GET"))
                return reject(srv, conn, MHD_HTTP_METHOD_NOT_ALLOWED,
                              "the update endpoint answers GET only\n");
        device_request_init(&req);
        MHD_get_connection_values(conn, MHD_HEADER_KIND, on_header, &scan);
        if (!scan.failed && !product_name)
                MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, on_query, &scan);
        if (!scan.failed && device_request_finish(&req, &scan.err) < 0)
                scan.failed = true;
        if (scan.failed)
                return reject(srv, conn, (unsigned) scan.err.status, scan.err.message);
        if (!product_name && !req.product_key[0])
                return reject(srv, conn, MHD_HTTP_BAD_REQUEST, "query form needs k=<product key>\n");
        if (product_name && !name_is_valid(product_name))
                return reject(srv, conn, MHD_HTTP_NOT_FOUND, "no such product\n");
        if (product_name && basic_auth_has_nul(conn))
                return reject(srv, conn, MHD_HTTP_BAD_REQUEST,
                              "a NUL byte in the Basic credentials is not allowed\n");

        connection_peer(conn, ip, sizeof(ip));
        unsigned retry_after;
        if ((!product_name || product_requires_key(srv, product_name)) &&
            auth_limit_blocked(&srv->auth_limit, ip, &retry_after)) {
                metrics_count_poll(&srv->metrics, MHD_HTTP_TOO_MANY_REQUESTS);
                return respond_too_many(conn, retry_after, false);
        }
        char *key = product_name ? presented_key(conn, &from_basic) : NULL;

        pthread_rwlock_rdlock(&srv->catalog_lock);
        const Served *served = srv->served;
        const Catalog *cat = served->catalog;
        const Product *product = product_name ? catalog_product(cat, product_name)
                                              : catalog_product_by_key(cat, req.product_key);
        const Release *target = NULL;
        ImageTransfer *transfer = NULL;
        TargetSource source = TARGET_NONE;
        Reason reason;
        enum MHD_Result ret;

        if (!product)
                reason = product_name ? REASON_UNKNOWN_PRODUCT : REASON_UNAUTHORIZED;
        else if (product_name && !product_key_matches(product, key))
                reason = REASON_UNAUTHORIZED;
        else {
                target = catalog_target(cat, product, req.device_id, update_mode_image_kind(req.mode),
                                        &source);
                reason = decide(&req, product->id, target);
        }

        switch (reason) {
        case REASON_UPDATE: {
                struct MHD_Response *image =
                        image_response(srv, target, served->image_fds[target - cat->releases]);
                if (image) {
                        ret = MHD_queue_response(conn, MHD_HTTP_OK, image);
                        MHD_destroy_response(image);
                        transfer = xmalloc(sizeof(ImageTransfer));
                        transfer->kind = REQUEST_IMAGE;
                        transfer->size = target->size;
                } else {
                        ret = respond_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR,
                                           "image file missing on server\n");
                        log_error("release %" PRId64 ": image file is missing from the store", target->id);
                }
                break;
        }
        case REASON_VERSION: ret = queue_version(conn, target); break;
        case REASON_UNKNOWN_PRODUCT:
                ret = respond_text(conn, MHD_HTTP_NOT_FOUND, "no such product\n");
                break;
        case REASON_UNAUTHORIZED:
                ret = unauthorized(conn,
                                   product ? "wrong or missing product key\n" : "unknown product key\n");
                break;
        default: ret = MHD_queue_response(conn, MHD_HTTP_NOT_MODIFIED, srv->not_modified); break;
        }

        Checkin c;
        checkin_fill(transfer ? &transfer->checkin : &c, &req,
                     product        ? product->name
                     : product_name ? product_name
                                    : "",
                     ip, now_usec(CLOCK_REALTIME), reason, target, source);
        pthread_rwlock_unlock(&srv->catalog_lock);
        if (key)
                free_key(key, from_basic);

        metrics_count_poll(&srv->metrics, (unsigned) reason_http_status(reason));
        if (reason == REASON_UNKNOWN_PRODUCT || reason == REASON_UNAUTHORIZED) {
                if (reason == REASON_UNAUTHORIZED)
                        auth_limit_failed(&srv->auth_limit, ip);
                atomic_fetch_add(&srv->metrics.reasons[reason], 1);
                log_refused(srv, &req, ip, product_name ? product_name : "(by key)", reason);
                return ret;
        }
        if (transfer) {
                /* recorded when the image has been sent, or the transfer broke off */
                *con_cls = transfer;
                return ret;
        }
        atomic_fetch_add(&srv->metrics.reasons[reason], 1);
        checkin_queue_push(&srv->checkins, &c);
        return ret;
}
