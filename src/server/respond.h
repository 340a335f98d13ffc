/* SPDX-License-Identifier: MIT */
/* flotad's response helpers, for the router and every handler (respond.c). */
#pragma once

#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>

#include "flota/json-encode.h"
#include "flota/macro.h"

/* Response helpers: each queues and releases the response. */
enum MHD_Result respond_json(struct MHD_Connection *conn, unsigned status, cJSON *body);
/* The same for JSON already written out: takes text (malloc'ed, len bytes, ending in a newline). */
enum MHD_Result respond_json_text(struct MHD_Connection *conn, unsigned status, char *text, size_t len);
enum MHD_Result respond_error(struct MHD_Connection *conn, unsigned status, const char *code,
                              const char *fmt, ...) _printf_(4, 5);
enum MHD_Result respond_text(struct MHD_Connection *conn, unsigned status, const char *text);
/*
 * The status of the last response this thread queued through the respond_*() helpers,
 * so the API can count every call by its status. Reset before handling a call.
 */
void http_status_reset(void);
unsigned http_status_last(void);

/* 429 with Retry-After, as a JSON error (API) or plain text (device endpoint). */
enum MHD_Result respond_too_many(struct MHD_Connection *conn, unsigned retry_after, bool json);

/* Peer address as text. */
void connection_peer(struct MHD_Connection *conn, char *buf, size_t size);
