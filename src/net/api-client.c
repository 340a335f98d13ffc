/* SPDX-License-Identifier: MIT */
/* flotad API client over libcurl's easy interface. */
#include "flota/api-client.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "flota/alloc.h"
#include "flota/strutil.h"

#define RESPONSE_MAX (64u << 20)

struct ApiClient {
        CURL *curl;
        char *server;
        char *auth_header;
        unsigned timeout;
};

typedef struct Sink {
        char *buf;
        size_t len, allocated;
        bool too_large;
} Sink;

typedef struct Source {
        int fd;
        uint64_t sent, total;
        void (*progress)(uint64_t, uint64_t, void *);
        void *userdata;
} Source;

static _printf_(2, 3) void say(char *err, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(err, API_CLIENT_ERROR_MAX, fmt, ap);
        va_end(ap);
}

int api_client_new(const char *server, const char *token, unsigned timeout_sec, ApiClient **ret,
                   char err[static API_CLIENT_ERROR_MAX]) {
        static bool initialised;

        if (isempty(server) || (!startswith(server, "http://") && !startswith(server, "https://"))) {
                say(err, "server '%s' is not an http:// or https:// URL", server ? server : "");
                return -EINVAL;
        }
        if (!initialised) {
                curl_global_init(CURL_GLOBAL_DEFAULT);
                initialised = true;
        }
        ApiClient *c = xcalloc(1, sizeof(ApiClient));
        c->server = xstrdup(server);
        size_t n = strlen(c->server);
        while (n > 0 && c->server[n - 1] == '/')
                c->server[--n] = 0;
        c->auth_header = token ? xasprintf("Authorization: Bearer %s", token) : NULL;
        c->timeout = timeout_sec ? timeout_sec : 10;
        c->curl = curl_easy_init();
        if (!c->curl)
                abort();
        *ret = c;
        return 0;
}

ApiClient *api_client_free(ApiClient *c) {
        if (!c)
                return NULL;
        curl_easy_cleanup(c->curl);
        free(c->server);
        free(c->auth_header);
        free(c);
        return NULL;
}

const char *api_client_server(const ApiClient *c) {
        return c->server;
}

static size_t on_data(char *data, size_t size, size_t n, void *userdata) {
        Sink *s = userdata;
        size_t k = size * n;

        if (s->len + k > RESPONSE_MAX) {
                s->too_large = true;
                return 0;
        }
        s->buf = xgrow(s->buf, &s->allocated, s->len + k + 1, 1);
        memcpy(s->buf + s->len, data, k);
        s->len += k;
        s->buf[s->len] = 0;
        return k;
}

static size_t on_read(char *buf, size_t size, size_t n, void *userdata) {
        Source *src = userdata;
        ssize_t k = read(src->fd, buf, size * n);

        if (k < 0)
                return CURL_READFUNC_ABORT;
        src->sent += (uint64_t) k;
        if (src->progress)
                src->progress(src->sent, src->total, src->userdata);
        return (size_t) k;
}

static int transport_error(ApiClient *c, CURLcode rc, const char *url, const char *detail, char *err) {
        switch (rc) {
        case CURLE_COULDNT_CONNECT:
                say(err, "cannot connect to %s: %s", c->server, detail[0] ? detail : "connection refused");
                return -ECONNREFUSED;
        case CURLE_COULDNT_RESOLVE_HOST:
                say(err, "cannot resolve the host of %s", c->server);
                return -EHOSTUNREACH;
        case CURLE_OPERATION_TIMEDOUT:
                say(err, "%s did not answer within %u s", url, c->timeout);
                return -ETIMEDOUT;
        default: say(err, "%s: %s", url, detail[0] ? detail : curl_easy_strerror(rc)); return -EIO;
        }
}

static int perform(ApiClient *c, const char *method, const char *path, const void *body, size_t len,
                   Source *src, ApiResponse *ret, char *err) {
        _cleanup_free_ char *url = xasprintf("%s%s", c->server, path);
        char detail[CURL_ERROR_SIZE] = "";
        struct curl_slist *headers = NULL;
        Sink sink = {};
        CURL *h = c->curl;

        curl_easy_reset(h);
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
        curl_easy_setopt(h, CURLOPT_ERRORBUFFER, detail);
        curl_easy_setopt(h, CURLOPT_TIMEOUT, (long) c->timeout);
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, (long) (c->timeout < 5 ? c->timeout : 5));
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
        curl_easy_setopt(h, CURLOPT_USERAGENT, "flota/" FLOTA_VERSION);
        if (c->auth_header)
                headers = curl_slist_append(headers, c->auth_header);
        headers = curl_slist_append(headers, "Expect:");
        if (src) {
                headers = curl_slist_append(headers, "Content-Type: application/octet-stream");
                curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
                curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
                curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
                curl_easy_setopt(h, CURLOPT_READDATA, src);
                curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t) src->total);
        } else if (body) {
                headers = curl_slist_append(headers, "Content-Type: application/json");
                curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
                curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) len);
        }
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
        CURLcode rc = curl_easy_perform(h);
        curl_slist_free_all(headers);
        if (rc != CURLE_OK) {
                free(sink.buf);
                if (sink.too_large) {
                        say(err, "%s: answer larger than %u MiB", url, RESPONSE_MAX >> 20);
                        return -EFBIG;
                }
                return transport_error(c, rc, url, detail, err);
        }
        *ret = (ApiResponse) { .body = sink.buf ? sink.buf : xstrdup(""), .len = sink.len };
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &ret->status);
        return 0;
}

int api_client_request(ApiClient *c, const char *method, const char *path, const void *body, size_t len,
                       ApiResponse *ret, char err[static API_CLIENT_ERROR_MAX]) {
        return perform(c, method, path, body, len, NULL, ret, err);
}

int api_client_upload(ApiClient *c, const char *path, int fd, uint64_t size,
                      void (*progress)(uint64_t sent, uint64_t total, void *userdata), void *userdata,
                      ApiResponse *ret, char err[static API_CLIENT_ERROR_MAX]) {
        Source src = { .fd = fd, .total = size, .progress = progress, .userdata = userdata };
        return perform(c, "POST", path, NULL, 0, &src, ret, err);
}

void api_response_done(ApiResponse *r) {
        free(r->body);
        *r = (ApiResponse) {};
}
