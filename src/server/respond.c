/* SPDX-License-Identifier: MIT */
/*
 * Responses: each helper queues and releases one. A file of their own, below the router
 * (http.c) and the handlers (api*.c, device.c, metrics.c) that all answer through them, so
 * that neither calls back into the other.
 */
#include "respond.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "flota/alloc.h"
#include "flota/strutil.h"

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

enum MHD_Result respond_error(struct MHD_Connection *conn, unsigned status, const char *code,
                              const char *fmt, ...) {
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
        struct MHD_Response *resp =
                MHD_create_response_from_buffer(strlen(text), (void *) text, MHD_RESPMEM_MUST_COPY);
        last_status = status;
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
        enum MHD_Result ret = MHD_queue_response(conn, status, resp);
        MHD_destroy_response(resp);
        return ret;
}

void connection_peer(struct MHD_Connection *conn, char *buf, size_t size) {
        const union MHD_ConnectionInfo *info =
                MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
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
