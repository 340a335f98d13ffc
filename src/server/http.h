/* SPDX-License-Identifier: MIT */
/* libmicrohttpd callbacks installed by server.c. */
#pragma once

#include <stdarg.h>

#include "server.h"

enum MHD_Result http_on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                const char *version, const char *upload_data, size_t *upload_data_size,
                                void **con_cls);
/*
 * libmicrohttpd's URI log callback: sees the raw request URI before unescaping and returns
 * the request's initial state; a URI with %00 is marked so that it is refused with 400.
 */
void *http_on_uri(void *cls, const char *uri, struct MHD_Connection *conn);
void http_on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                       enum MHD_RequestTerminationCode toe);
void http_log(void *cls, const char *fmt, va_list ap) _printf_(2, 0);
