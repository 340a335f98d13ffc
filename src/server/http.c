/* SPDX-License-Identifier: MIT */
/* libmicrohttpd glue: the access handler that routes every request (responses: respond.c). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "flota/alloc.h"
#include "flota/log.h"
#include "flota/strutil.h"
#include "http.h"

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

void http_on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                       enum MHD_RequestTerminationCode toe) {
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
