/* SPDX-License-Identifier: MIT */
/* Management API: bearer-token authentication, the route table and body handling. */
#include "api.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "flota/alloc.h"
#include "flota/log.h"
#include "flota/strutil.h"

/* The token the call came with: its name and role, so a client knows up front what it may do. */
static enum MHD_Result api_token_get(ApiCall *call) {
        cJSON *o = cJSON_CreateObject();

        cJSON_AddStringToObject(o, "name", call->actor);
        cJSON_AddStringToObject(o, "role", token_role_to_string(call->role));
        return respond_json(call->conn, MHD_HTTP_OK, o);
}

static const Route routes[] = {
        { "GET", "products", api_products_list, false },
        { "POST", "products", api_products_create, false },
        { "GET", "releases", api_releases_list, false },
        { "POST", "releases", api_releases_create, true },
        { "GET", "releases/*", api_release_get, false },
        { "GET", "releases/*/image", api_release_image, false },
        { "DELETE", "releases/*", api_release_delete, false },
        { "GET", "channels", api_channels_list, false },
        { "GET", "channels/history", api_channel_history, false },
        { "PUT", "channels/*/*", api_channel_put, false },
        { "GET", "devices", api_devices_list, false },
        { "GET", "devices/*", api_device_get, false },
        { "PUT", "devices/*/pin", api_device_pin_put, false },
        { "DELETE", "devices/*/pin", api_device_pin_delete, false },
        { "PUT", "devices/*/labels", api_device_labels_put, false },
        { "PUT", "devices/*/channel", api_device_channel_put, false },
        { "POST", "assignments", api_assignments_post, false },
        { "DELETE", "assignments", api_assignments_delete, false },
        { "GET", "assignments", api_assignments_list, false },
        { "GET", "checkins", api_checkins_list, false },
        { "GET", "token", api_token_get, false },
};

_Static_assert(ELEMENTSOF(routes) <= API_ROUTES_MAX, "raise API_ROUTES_MAX");

static bool pattern_matches(const char *pattern, char *const *segments, size_t n) {
        size_t i = 0;
        const char *p = pattern;

        while (*p) {
                const char *e = strchr(p, '/');
                size_t len = e ? (size_t) (e - p) : strlen(p);
                if (i >= n)
                        return false;
                if (!(len == 1 && *p == '*') &&
                    (strlen(segments[i]) != len || strncmp(p, segments[i], len) != 0))
                        return false;
                i++;
                p += len + (e ? 1 : 0);
        }
        return i == n;
}

/* Finds the route; *ret_path_known tells 405 from 404 when none matches the method. */
static const Route *find_route(const char *method, char *const *segments, size_t n, bool *ret_path_known) {
        *ret_path_known = false;
        for (size_t i = 0; i < ELEMENTSOF(routes); i++) {
                if (!pattern_matches(routes[i].pattern, segments, n))
                        continue;
                *ret_path_known = true;
                /* a literal segment beats a wildcard: "channels/history" before "channels/x/y" */
                if (streq(routes[i].method, method))
                        return &routes[i];
        }
        return NULL;
}

static int split_path(const char *path, char **segments, size_t *ret_n) {
        size_t n = 0;
        const char *p = path;

        while (*p) {
                const char *e = strchr(p, '/');
                size_t len = e ? (size_t) (e - p) : strlen(p);
                if (len == 0 || n >= API_MAX_SEGMENTS || len > 128) {
                        while (n > 0)
                                free(segments[--n]);
                        return -EINVAL;
                }
                segments[n++] = xstrndup(p, len);
                p += len + (e ? 1 : 0);
        }
        *ret_n = n;
        return n > 0 ? 0 : -EINVAL;
}

typedef struct AuthState {
        char digest[SHA256_HEX_LEN + 1];
        bool found;
        TokenRole role;
        char name[65];
} AuthState;

static int match_token(const Token *t, void *userdata) {
        AuthState *a = userdata;

        /* every token is compared, so timing does not tell which one matched */
        if (streq_consttime(a->digest, t->sha256) && !a->found) {
                a->found = true;
                a->role = t->role;
                strscpy(a->name, sizeof(a->name), t->name);
        }
        return 0;
}

static int authenticate(Server *srv, struct MHD_Connection *conn, AuthState *a) {
        const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
        const char *token = h ? startswith_no_case(h, "Bearer ") : NULL;
        int r;

        if (!token || !*token)
                return -ENOKEY;
        while (*token == ' ')
                token++;
        sha256_hex(token, strlen(token), a->digest);
        pthread_mutex_lock(&srv->api_lock);
        r = store_tokens_list(srv->api_store, match_token, a);
        pthread_mutex_unlock(&srv->api_lock);
        if (r < 0)
                return r;
        return a->found ? 0 : -EACCES;
}

const char *api_route_name(size_t i, char *buf, size_t size) {
        if (i >= ELEMENTSOF(routes))
                return "none";
        snprintf(buf, size, "%s /%s", routes[i].method, routes[i].pattern);
        return buf;
}

size_t api_n_routes(void) {
        return ELEMENTSOF(routes);
}

/* Counts an API call by route (NULL: none matched) and by the class of its status. */
static void api_call_count(Server *srv, const Route *route, unsigned status) {
        size_t i = route ? (size_t) (route - routes) : ELEMENTSOF(routes);
        unsigned class = status >= 200 && status < 600 ? status / 100 - 2 : 3;

        atomic_fetch_add(&srv->metrics.api_requests, 1);
        if (status >= 500)
                atomic_fetch_add(&srv->metrics.api_errors_5xx, 1);
        else if (status >= 400)
                atomic_fetch_add(&srv->metrics.api_errors_4xx, 1);
        if (i <= API_ROUTES_MAX)
                atomic_fetch_add(&srv->metrics.api_calls[i][class], 1);
}

static enum MHD_Result early_error(Server *srv, struct MHD_Connection *conn, const Route *route,
                                   unsigned status, const char *code, const char *message) {
        api_call_count(srv, route, status);
        if (status == MHD_HTTP_UNAUTHORIZED) {
                cJSON *body = cJSON_CreateObject();
                cJSON *e = cJSON_AddObjectToObject(body, "error");
                cJSON_AddStringToObject(e, "code", code);
                cJSON_AddStringToObject(e, "message", message);
                char *text = json_print(body);
                cJSON_Delete(body);
                struct MHD_Response *resp =
                        MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
                MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
                MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"flotad\"");
                enum MHD_Result ret = MHD_queue_response(conn, status, resp);
                MHD_destroy_response(resp);
                return ret;
        }
        return respond_error(conn, status, code, "%s", message);
}

enum MHD_Result api_begin(Server *srv, struct MHD_Connection *conn, const char *url, const char *method,
                          ApiCall **ret_call) {
        _cleanup_free_ ApiCall *call = xcalloc(1, sizeof(ApiCall));
        AuthState auth = {};
        bool path_known;
        int r;

        *ret_call = NULL;
        char ip[IP_STR_MAX];
        unsigned retry_after;
        connection_peer(conn, ip, sizeof(ip));
        if (auth_limit_blocked(&srv->auth_limit, ip, &retry_after)) {
                api_call_count(srv, NULL, MHD_HTTP_TOO_MANY_REQUESTS);
                return respond_too_many(conn, retry_after, true);
        }
        r = authenticate(srv, conn, &auth);
        if (r == -EACCES)
                auth_limit_failed(&srv->auth_limit, ip);
        if (r == -ENOKEY)
                return early_error(
                        srv, conn, NULL, MHD_HTTP_UNAUTHORIZED, "unauthorized",
                        "missing 'Authorization: Bearer <token>' (create one with 'flotad token create')");
        if (r == -EACCES)
                return early_error(srv, conn, NULL, MHD_HTTP_UNAUTHORIZED, "unauthorized",
                                   "unknown or revoked API token");
        /* a database that is locked or down (a replica's server restarting): try again */
        if (r == -EBUSY)
                return early_error(srv, conn, NULL, MHD_HTTP_SERVICE_UNAVAILABLE, "busy",
                                   "database is busy, try again");
        if (r < 0)
                return early_error(srv, conn, NULL, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal",
                                   "token lookup failed");

        if (split_path(url + strlen(API_PREFIX), call->segments, &call->n_segments) < 0)
                return early_error(srv, conn, NULL, MHD_HTTP_NOT_FOUND, "not-found", "no such API resource");
        call->kind = REQUEST_API;
        call->srv = srv;
        call->conn = conn;
        call->method = method;
        call->role = auth.role;
        strscpy(call->actor, sizeof(call->actor), auth.name);
        call->route = find_route(method, call->segments, call->n_segments, &path_known);

        const Route *route = call->route;
        if (!route) {
                api_call_free(TAKE_PTR(call));
                if (path_known)
                        return early_error(srv, conn, NULL, MHD_HTTP_METHOD_NOT_ALLOWED,
                                           "method-not-allowed",
                                           "this resource does not support that method");
                return early_error(srv, conn, NULL, MHD_HTTP_NOT_FOUND, "not-found", "no such API resource");
        }
        if (call->role != TOKEN_ROLE_ADMIN && !streq(method, "GET")) {
                api_call_free(TAKE_PTR(call));
                return early_error(srv, conn, route, MHD_HTTP_FORBIDDEN, "forbidden",
                                   "this token may only read (role read)");
        }
        if (call->route->streams_body) {
                char err[200];
                unsigned status;
                r = upload_begin(call, err, sizeof(err), &status);
                if (r < 0) {
                        api_call_free(TAKE_PTR(call));
                        return early_error(srv, conn, route, status,
                                           status == 413 ? "too-large" : "bad-request", err);
                }
        } else {
                const char *cl =
                        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
                uint64_t len;
                if (cl && parse_u64(cl, &len) == 0 && len > srv->config->max_json_size) {
                        api_call_free(TAKE_PTR(call));
                        return early_error(srv, conn, route, MHD_HTTP_CONTENT_TOO_LARGE, "too-large",
                                           "request body is larger than the JSON limit");
                }
        }
        *ret_call = TAKE_PTR(call);
        return MHD_YES;
}

void api_feed(ApiCall *call, const char *data, size_t size) {
        if (call->upload) {
                upload_feed(call->upload, data, size);
                return;
        }
        if (call->body_too_large || call->body_len + size > call->srv->config->max_json_size) {
                call->body_too_large = true;
                return;
        }
        call->body = xgrow(call->body, &call->body_allocated, call->body_len + size + 1, 1);
        memcpy(call->body + call->body_len, data, size);
        call->body_len += size;
        call->body[call->body_len] = 0;
}

/* True when a JSON text holds a NUL, raw or as \u0000, which would cut a string short. */
static bool json_has_nul(const char *s, size_t n) {
        if (memchr(s, 0, n))
                return true;
        for (size_t i = 0; i + 1 < n; i++)
                if (s[i] == '\\') {
                        if (s[i + 1] == 'u' && i + 5 < n && memcmp(s + i + 2, "0000", 4) == 0)
                                return true;
                        i++; /* the escaped character */
                }
        return false;
}

static enum MHD_Result run_handler(ApiCall *call) {
        if (call->body_too_large)
                return respond_error(call->conn, MHD_HTTP_CONTENT_TOO_LARGE, "too-large",
                                     "request body is larger than the JSON limit");
        if (call->body && json_has_nul(call->body, call->body_len))
                return respond_error(call->conn, MHD_HTTP_BAD_REQUEST, "bad-request",
                                     "a NUL character (\\u0000) in a JSON string is not allowed");
        return call->route->handler(call);
}

enum MHD_Result api_catalog_stale(ApiCall *call, cJSON *body) {
        cJSON_Delete(body);
        return respond_error(
                call->conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "catalog",
                "the change was saved but is not served yet: reloading the catalog failed (see the "
                "server log); it is retried before every API call");
}

enum MHD_Result api_finish(ApiCall *call) {
        if (atomic_load(&call->srv->catalog_stale)) {
                pthread_mutex_lock(&call->srv->api_lock);
                server_catalog_retry(call->srv);
                pthread_mutex_unlock(&call->srv->api_lock);
        } else if (call->srv->shared_database) {
                /* what another replica changed a moment ago counts for this call (read your writes) */
                pthread_mutex_lock(&call->srv->api_lock);
                server_catalog_sync(call->srv);
                pthread_mutex_unlock(&call->srv->api_lock);
        }
        http_status_reset();
        enum MHD_Result r = run_handler(call);
        api_call_count(call->srv, call->route, http_status_last());
        return r;
}

void api_call_free(ApiCall *call) {
        if (!call)
                return;
        for (size_t i = 0; i < call->n_segments; i++)
                free(call->segments[i]);
        free(call->body);
        upload_free(call->upload);
        free(call);
}

const char *api_arg(ApiCall *call, const char *name) {
        return MHD_lookup_connection_value(call->conn, MHD_GET_ARGUMENT_KIND, name);
}

enum MHD_Result api_bad_body(ApiCall *call, const char *message) {
        return respond_error(call->conn, MHD_HTTP_BAD_REQUEST, "bad-request", "%s", message);
}

enum MHD_Result api_store_error(ApiCall *call, int r, const char *what) {
        switch (r) {
        case -ENOENT:
                return respond_error(call->conn, MHD_HTTP_NOT_FOUND, "not-found", "%s not found", what);
        case -EEXIST:
                return respond_error(call->conn, MHD_HTTP_CONFLICT, "conflict", "%s already exists", what);
        case -ENOLINK:
                return respond_error(call->conn, MHD_HTTP_CONFLICT, "reference",
                                     "%s refers to something that does not exist, or is still referred to",
                                     what);
        case -EINVAL:
                return respond_error(call->conn, MHD_HTTP_BAD_REQUEST, "invalid",
                                     "%s: a required value is missing or out of range", what);
        case -EBUSY:
                return respond_error(call->conn, MHD_HTTP_SERVICE_UNAVAILABLE, "busy",
                                     "database is busy, try again");
        case -ENOSPC:
                return respond_error(call->conn, MHD_HTTP_INSUFFICIENT_STORAGE, "no-space",
                                     "server disk is full");
        default:
                log_error("%s: database error: %s", what, store_last_error(call->srv->api_store));
                return respond_error(call->conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal",
                                     "database error (see the server log)");
        }
}
