/* SPDX-License-Identifier: MIT */
/*
 * Layer: net. A client for flotad's management API over libcurl: one blocking request at a
 * time, bounded by a timeout. Transport failures come back as -errno with a sentence naming
 * the URL and the cause; HTTP errors come back as a response with their status and body.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "flota/macro.h"

#define API_CLIENT_ERROR_MAX 512

typedef struct ApiClient ApiClient;

typedef struct ApiResponse {
        long status;
        char *body; /* NUL-terminated */
        size_t len;
} ApiResponse;

/*
 * server is "http://host:port" (a trailing slash is ignored); token may be NULL. 0 or -EINVAL
 * (with a message in err) for a URL that is not http(s).
 */
int api_client_new(const char *server, const char *token, unsigned timeout_sec, ApiClient **ret,
                   char err[static API_CLIENT_ERROR_MAX]);
ApiClient *api_client_free(ApiClient *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(ApiClient *, api_client_free);

const char *api_client_server(const ApiClient *c);

/*
 * Sends method path (with its query) and body (may be NULL) and reads the answer. Returns 0
 * whatever the HTTP status, or -ECONNREFUSED, -EHOSTUNREACH, -ETIMEDOUT, -EIO with err set.
 */
int api_client_request(ApiClient *c, const char *method, const char *path, const void *body, size_t len,
                       ApiResponse *ret, char err[static API_CLIENT_ERROR_MAX]);

/* Like api_client_request() with the body streamed from fd (size bytes); progress may be NULL. */
int api_client_upload(ApiClient *c, const char *path, int fd, uint64_t size,
                      void (*progress)(uint64_t sent, uint64_t total, void *userdata), void *userdata,
                      ApiResponse *ret, char err[static API_CLIENT_ERROR_MAX]);

void api_response_done(ApiResponse *r);
