/* SPDX-License-Identifier: MIT */
/* libmicrohttpd glue: the access handler that routes every request, and response helpers. */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "flota/alloc.h"
#include "flota/log.h"
#include "flota/strutil.h"
#include "http.h"

static _Thread_local unsigned last_status;

void http_status_reset(void) {
        last_status = 0;
}

unsigned http_status_last(void) {
        return last_status;
}

enum MHD_Result respond_json(struct MHD_Connection *conn, unsigned status, cJSON *body) {
        char *text = json_print(body);
        size_t len = strlen(text);

        cJSON_Delete(body);
        text = xrealloc(text, len + 2);
        text[len++] = '\n';
        text[len] = 0;
        return respond_json_text(conn, status, text, len);
}

enum MHD_Result respond_json_text(struct MHD_Connection *conn, unsigned status, char *text, size_t len) {
        struct MHD_Response *resp = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
        last_status = status;
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
        enum MHD_Result ret = MHD_queue_response(conn, status, resp);
        MHD_destroy_response(resp);
        return ret;
}

enum MHD_Result respond_error(struct MHD_Connection *conn, unsigned status, const char *code, const char *fmt, ...) {
        char message[512];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(message, sizeof(message), fmt, ap);
        va_end(ap);
        cJSON *body = cJSON_CreateObject();
        cJSON *e = cJSON_AddObjectToObject(body, "error");
        cJSON_AddStringToObject(e, "code", code);
        cJSON_AddStringToObject(e, "message", message);
        return respond_json(conn, status, body);
}

enum MHD_Result respond_too_many(struct MHD_Connection *conn, unsigned retry_after, bool json) {
        const char *msg = "too many failed authentications from this address; try again later";
        struct MHD_Response *resp;
        char secs[16];

        if (json) {
                cJSON *body = cJSON_CreateObject();
                cJSON *e = cJSON_AddObjectToObject(body, "error");
                cJSON_AddStringToObject(e, "code", "too-many-requests");
                cJSON_AddStringToObject(e, "message", msg);
                char *text = json_print(body);
                cJSON_Delete(body);
                resp = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
                MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
        } else {
                resp = MHD_create_response_from_buffer(strlen(msg), (void *) msg, MHD_RESPMEM_PERSISTENT);
                MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
        }
        last_status = MHD_HTTP_TOO_MANY_REQUESTS;
        snprintf(secs, sizeof(secs), "%u", retry_after);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, secs);
        enum MHD_Result ret = MHD_queue_response(conn, MHD_HTTP_TOO_MANY_REQUESTS, resp);
        MHD_destroy_response(resp);
        return ret;
}

enum MHD_Result respond_text(struct MHD_Connection *conn, unsigned status, const char *text) {
        struct MHD_Response *resp = MHD_create_response_from_buffer(strlen(text), (void *) text, MHD_RESPMEM_MUST_COPY);
        last_status = status;
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
        enum MHD_Result ret = MHD_queue_response(conn, status, resp);
        MHD_destroy_response(resp);
        return ret;
}

void connection_peer(struct MHD_Connection *conn, char *buf, size_t size) {
        const union MHD_ConnectionInfo *info = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        const struct sockaddr *sa = info ? info->client_addr : NULL;

        strscpy(buf, size, "");
        if (sa && sa->sa_family == AF_INET)
                inet_ntop(AF_INET, &((const struct sockaddr_in *) sa)->sin_addr, buf, (socklen_t) size);
        else if (sa && sa->sa_family == AF_INET6) {
                const struct in6_addr *a = &((const struct sockaddr_in6 *) sa)->sin6_addr;
                if (IN6_IS_ADDR_V4MAPPED(a))
                        inet_ntop(AF_INET, &a->s6_addr[12], buf, (socklen_t) size);
                else
                        inet_ntop(AF_INET6, a, buf, (socklen_t) size);
        }
}

/* Matches "<update-path>" (query form) and "<update-path>/<product>"; sets *ret_product. */
static bool is_device_path(Server *srv, const char *url, const char **ret_product) {
        const char *rest = startswith(url, srv->config->update_path);

        if (!rest)
                return false;
        if (*rest == 0) {
                *ret_product = NULL;
                return true;
        }
        if (*rest == '/' && rest[1] && !strchr(rest + 1, '/')) {
                *ret_product = rest + 1;
                return true;
        }
        return false;
}

static RequestKind refused_uri = REQUEST_REFUSED;

/* True when s has "%00", which unescaping would turn into a NUL that cuts the value short. */
static bool has_escaped_nul(const char *s) {
        for (const char *p = strchr(s, '%'); p; p = strchr(p + 1, '%'))
                if (p[1] == '0' && p[2] == '0')
                        return true;
        return false;
}

void *http_on_uri(void *cls, const char *uri, struct MHD_Connection *conn) {
        /* the raw URI, before libmicrohttpd unescapes path and query */
        return uri && has_escaped_nul(uri) ? &refused_uri : NULL;
}

enum MHD_Result http_on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                const char *version, const char *upload_data, size_t *upload_data_size,
                                void **con_cls) {
        Server *srv = cls;
        ApiCall *call = *con_cls;
        const char *product;

        if (!call)
                conn_guard_head_done(conn);
        if (*con_cls == &refused_uri) {
                *con_cls = NULL;
                return respond_error(conn, MHD_HTTP_BAD_REQUEST, "bad-request",
                                     "a NUL byte (%%00) in the path or query is not allowed");
        }
        /* only API calls come back here with a state: an image answer was queued on the first call */
        if (call) {
                if (*upload_data_size) {
                        api_feed(call, upload_data, *upload_data_size);
                        *upload_data_size = 0;
                        return MHD_YES;
                }
                return api_finish(call);
        }

        if (is_device_path(srv, url, &product))
                return device_handle(srv, conn, method, product, con_cls);
        if (startswith(url, API_PREFIX)) {
                enum MHD_Result r = api_begin(srv, conn, url, method, &call);
                *con_cls = call;
                return r;
        }
        if (streq(url, "/healthz") && streq(method, "GET"))
                return healthz_handle(srv, conn);
        if (streq(url, "/metrics") && streq(method, "GET"))
                return metrics_handle(srv, conn);
        return respond_error(conn, MHD_HTTP_NOT_FOUND, "not-found", "nothing at %.100s", url);
}

void http_on_completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe) {
        RequestKind *kind = *con_cls;

        if (!kind || *kind == REQUEST_REFUSED) {
                *con_cls = NULL;
                return;
        }
        if (*kind == REQUEST_IMAGE)
                image_transfer_done(cls, *con_cls, toe == MHD_REQUEST_TERMINATED_COMPLETED_OK);
        else
                api_call_free(*con_cls);
        *con_cls = NULL;
}

void http_log(void *cls, const char *fmt, va_list ap) {
        char line[512];

        vsnprintf(line, sizeof(line), fmt, ap);
        line[strcspn(line, "\n")] = 0;
        log_debug("http: %s", line);
}
