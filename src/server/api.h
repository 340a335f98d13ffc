/* SPDX-License-Identifier: MIT */
/* The management API: routing table, per-request state and the handlers of each resource. */
#pragma once

#include "flota/hash.h"
#include "server.h"

#define API_PREFIX "/api/v1/"
#define API_MAX_SEGMENTS 4

typedef struct Upload Upload;

typedef struct ApiCall {
        RequestKind kind; /* REQUEST_API */
        Server *srv;
        struct MHD_Connection *conn;
        const char *method;
        char *segments[API_MAX_SEGMENTS];
        size_t n_segments;
        TokenRole role;
        char actor[65];
        /* JSON body */
        char *body;
        size_t body_len, body_allocated;
        bool body_too_large;
        /* release upload */
        Upload *upload;
        const struct Route *route;
} ApiCall;

typedef enum MHD_Result (*ApiHandler)(ApiCall *call);

typedef struct Route {
        const char *method;
        const char *pattern; /* segments after /api/v1/, '*' matches one */
        ApiHandler handler;
        bool streams_body; /* the body is an image streamed to disk */
} Route;

/*
 * Answers 500 "catalog" for a write that was saved but whose catalog reload failed
 * (server_catalog_changed()); frees body (the answer the write would have had), may be NULL.
 */
enum MHD_Result api_catalog_stale(ApiCall *call, cJSON *body);

/* The name of route i: its method and pattern (a star for any segment); "none" past the table. In buf. */
const char *api_route_name(size_t i, char *buf, size_t size);
size_t api_n_routes(void);

/* First call for an /api/v1 request: authenticates, routes, prepares the body. */
enum MHD_Result api_begin(Server *srv, struct MHD_Connection *conn, const char *url, const char *method,
                          ApiCall **ret_call);
/* Feeds body bytes. */
void api_feed(ApiCall *call, const char *data, size_t size);
/* Runs the handler once the body is complete. */
enum MHD_Result api_finish(ApiCall *call);
void api_call_free(ApiCall *call);

/* Query argument or NULL. */
const char *api_arg(ApiCall *call, const char *name);
/* Responds 400 with the message of a failed body parse. */
enum MHD_Result api_bad_body(ApiCall *call, const char *message);
/* Responds for a store error (-ENOENT 404, -EEXIST 409, -EBUSY 503, -ENOSPC 507, else 500). */
enum MHD_Result api_store_error(ApiCall *call, int r, const char *what);

/* Release uploads (api-releases.c). */
int upload_begin(ApiCall *call, char *err, size_t errlen, unsigned *ret_status);
void upload_feed(Upload *u, const char *data, size_t size);
Upload *upload_free(Upload *u);

/* Handlers. */
enum MHD_Result api_products_list(ApiCall *call);
enum MHD_Result api_products_create(ApiCall *call);
enum MHD_Result api_releases_list(ApiCall *call);
enum MHD_Result api_releases_create(ApiCall *call);
enum MHD_Result api_release_get(ApiCall *call);
enum MHD_Result api_release_image(ApiCall *call);
enum MHD_Result api_release_delete(ApiCall *call);
enum MHD_Result api_channels_list(ApiCall *call);
enum MHD_Result api_channel_put(ApiCall *call);
enum MHD_Result api_channel_history(ApiCall *call);
enum MHD_Result api_devices_list(ApiCall *call);
enum MHD_Result api_device_get(ApiCall *call);
enum MHD_Result api_device_pin_put(ApiCall *call);
enum MHD_Result api_device_pin_delete(ApiCall *call);
enum MHD_Result api_device_labels_put(ApiCall *call);
enum MHD_Result api_device_channel_put(ApiCall *call);
enum MHD_Result api_assignments_post(ApiCall *call);
enum MHD_Result api_assignments_delete(ApiCall *call);
enum MHD_Result api_assignments_list(ApiCall *call);
enum MHD_Result api_checkins_list(ApiCall *call);
