/* SPDX-License-Identifier: MIT */
/*
 * The web updater transport (PROTOCOLS.md section 4): a multipart POST of the image to the
 * device's update page on the Pusher's libcurl multi handle, and the reading of its answer,
 * which says 200 even when the update failed.
 */
#include <stdio.h>
#include <string.h>

#include "flota/alloc.h"
#include "flota/strutil.h"
#include "push-internal.h"

#define BODY_MAX (16u << 10)

/* Copies the text of an HTML body: tags removed, blanks folded, trimmed. */
static void plain_text(const char *body, size_t n, char *out, size_t size) {
        size_t k = 0;
        bool tag = false, blank = false;

        for (size_t i = 0; i < n && k + 1 < size; i++) {
                char c = body[i];
                if (c == '<') {
                        tag = true;
                        continue;
                }
                if (tag) {
                        if (c == '>')
                                tag = false;
                        continue;
                }
                if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
                        blank = k > 0;
                        continue;
                }
                if (blank && k + 2 < size)
                        out[k++] = ' ';
                blank = false;
                out[k++] = c;
        }
        out[k] = 0;
}

static const char *find_text(const char *s, const char *needle) {
        return strstr(s, needle);
}

PushOutcome web_push_classify(long status, const char *body, size_t n,
                              char msg[static PUSH_MESSAGE_MAX + 1]) {
        char text[PUSH_MESSAGE_MAX + 1];
        const char *e;

        plain_text(body ? body : "", body ? n : 0, text, sizeof(text));
        if (status == 401 || status == 403) {
                snprintf(msg, PUSH_MESSAGE_MAX + 1, "HTTP %ld: the device wants other credentials", status);
                return PUSH_AUTH_FAILED;
        }
        if (status == 404 || status == 405 || status == 501) {
                snprintf(msg, PUSH_MESSAGE_MAX + 1, "HTTP %ld: no web updater at this path%s%.180s", status,
                         *text ? ": " : "", text);
                return PUSH_REFUSED;
        }
        if (status != 200) {
                /* ElegantOTA-style pages say 400/500 with the Updater's words */
                snprintf(msg, PUSH_MESSAGE_MAX + 1, "HTTP %ld%s%.200s", status, *text ? ": " : "", text);
                return PUSH_UPLOAD_FAILED;
        }
        /* the stock ESP8266HTTPUpdateServer / ESP32 HTTPUpdateServer: 200 either way */
        if ((e = find_text(text, "Update error:"))) {
                snprintf(msg, PUSH_MESSAGE_MAX + 1, "%s", e);
                return PUSH_UPLOAD_FAILED;
        }
        if ((e = find_text(text, "Update Success"))) {
                snprintf(msg, PUSH_MESSAGE_MAX + 1, "%s", e);
                return PUSH_OK;
        }
        /* the ESP32 WebServer + Update example (OTAWebUpdater): "FAIL" or "OK" as text/plain */
        if (streq(text, "FAIL")) {
                snprintf(msg, PUSH_MESSAGE_MAX + 1, "FAIL");
                return PUSH_UPLOAD_FAILED;
        }
        if (streq(text, "OK")) {
                snprintf(msg, PUSH_MESSAGE_MAX + 1, "OK");
                return PUSH_OK;
        }
        /* a page flota does not know: never taken for a success */
        snprintf(msg, PUSH_MESSAGE_MAX + 1, "unrecognised answer: %.200s", *text ? text : "(empty)");
        return PUSH_UPLOAD_FAILED;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata) {
        Push *p = userdata;
        size_t n = size * nmemb, room = BODY_MAX - p->body_len;
        size_t k = n < room ? n : room;

        if (!p->body)
                p->body = xmalloc(BODY_MAX + 1);
        memcpy(p->body + p->body_len, data, k);
        p->body_len += k;
        return n;
}

static size_t on_read(char *buf, size_t size, size_t nitems, void *arg) {
        Push *p = arg;
        size_t room = size * nitems, left = p->req.size - p->mime_off;
        size_t k = room < left ? room : left;

        memcpy(buf, p->req.image + p->mime_off, k);
        p->mime_off += k;
        return k;
}

static int on_seek(void *arg, curl_off_t offset, int origin) {
        Push *p = arg;

        if (origin != SEEK_SET || offset < 0 || (size_t) offset > p->req.size)
                return CURL_SEEKFUNC_CANTSEEK;
        p->mime_off = (size_t) offset;
        return CURL_SEEKFUNC_OK;
}

static int on_xfer(void *userdata, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                   curl_off_t ulnow) {
        Push *p = userdata;

        (void) dltotal;
        (void) dlnow;
        (void) ultotal;
        uint64_t sent = ulnow > 0 ? (uint64_t) ulnow : 0;
        if (sent > p->req.size)
                sent = p->req.size; /* the multipart framing counts too */
        if (sent != p->result.sent)
                push_report_progress(p, sent);
        return 0;
}

static void web_push_cleanup(Push *p) {
        if (p->easy) {
                (void) curl_multi_remove_handle(p->pr->multi, p->easy);
                curl_easy_cleanup(p->easy);
                p->easy = NULL;
        }
        curl_mime_free(p->mime);
        p->mime = NULL;
        curl_slist_free_all(p->headers);
        p->headers = NULL;
        free(p->body);
        p->body = NULL;
}

static int web_push_begin(Push *p) {
        const PushRequest *r = &p->req;
        bool v6 = strchr(r->host, ':') != NULL;
        _cleanup_free_ char *url =
                xasprintf("http://%s%s%s:%u%s", v6 ? "[" : "", r->host, v6 ? "]" : "", r->port, r->path);
        long low_time = (long) (r->phase_timeout / USEC_PER_SEC);

        p->easy = curl_easy_init();
        if (!p->easy)
                return -ENOMEM;
        p->mime = curl_mime_init(p->easy);
        curl_mimepart *part = curl_mime_addpart(p->mime);
        /* the field name picks the target: "filesystem" or anything else for the sketch */
        curl_mime_name(part, r->filesystem ? "filesystem" : "firmware");
        curl_mime_filename(part, r->filesystem ? "filesystem.bin" : "firmware.bin");
        curl_mime_type(part, "application/octet-stream");
        curl_mime_data_cb(part, (curl_off_t) r->size, on_read, on_seek, NULL, p);
        /* the devices' web servers know nothing of 100-continue */
        p->headers = curl_slist_append(NULL, "Expect:");
        curl_easy_setopt(p->easy, CURLOPT_URL, url);
        curl_easy_setopt(p->easy, CURLOPT_MIMEPOST, p->mime);
        curl_easy_setopt(p->easy, CURLOPT_HTTPHEADER, p->headers);
        curl_easy_setopt(p->easy, CURLOPT_PRIVATE, p);
        curl_easy_setopt(p->easy, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(p->easy, CURLOPT_WRITEDATA, p);
        curl_easy_setopt(p->easy, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(p->easy, CURLOPT_XFERINFOFUNCTION, on_xfer);
        curl_easy_setopt(p->easy, CURLOPT_XFERINFODATA, p);
        curl_easy_setopt(p->easy, CURLOPT_ERRORBUFFER, p->errbuf);
        curl_easy_setopt(p->easy, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(p->easy, CURLOPT_PROTOCOLS_STR, "http");
        curl_easy_setopt(p->easy, CURLOPT_CONNECTTIMEOUT_MS, (long) (r->phase_timeout / USEC_PER_MSEC));
        curl_easy_setopt(p->easy, CURLOPT_TIMEOUT_MS, (long) (r->deadline / USEC_PER_MSEC));
        /* a transfer stalled for a phase (nothing moves at all) is over */
        curl_easy_setopt(p->easy, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(p->easy, CURLOPT_LOW_SPEED_TIME, low_time > 0 ? low_time : 1L);
        if (r->password) {
                curl_easy_setopt(p->easy, CURLOPT_HTTPAUTH, (long) CURLAUTH_BASIC);
                curl_easy_setopt(p->easy, CURLOPT_USERNAME, r->user);
                curl_easy_setopt(p->easy, CURLOPT_PASSWORD, r->password);
        }
        if (curl_multi_add_handle(p->pr->multi, p->easy) != CURLM_OK)
                return -EIO;
        return 0;
}

static void web_push_done(Push *p, CURLcode code) {
        long status = 0;

        (void) curl_easy_getinfo(p->easy, CURLINFO_RESPONSE_CODE, &status);
        p->result.http_status = (int) status;
        const char *why = p->errbuf[0] ? p->errbuf : curl_easy_strerror(code);
        switch (code) {
        case CURLE_OK: {
                char msg[PUSH_MESSAGE_MAX + 1];
                PushOutcome o = web_push_classify(status, p->body, p->body_len, msg);
                if (o == PUSH_OK)
                        push_report_progress(p, p->req.size);
                push_finish(p, o, "%s", msg);
                return;
        }
        case CURLE_COULDNT_CONNECT:
        case CURLE_COULDNT_RESOLVE_HOST: push_finish(p, PUSH_NO_ANSWER, "%s", why); return;
        case CURLE_OPERATION_TIMEDOUT: {
                /* no connection at all within the phase: nothing answered */
                curl_off_t connected = 0;
                (void) curl_easy_getinfo(p->easy, CURLINFO_CONNECT_TIME_T, &connected);
                push_finish(p, connected == 0 && status == 0 ? PUSH_NO_ANSWER : PUSH_TIMEOUT, "%s", why);
                return;
        }
        default:
                push_finish(p, PUSH_UPLOAD_FAILED, "%s after %llu of %zu bytes", why,
                            (unsigned long long) p->result.sent, p->req.size);
                return;
        }
}

const PushTransportOps web_push_transport = {
        .begin = web_push_begin,
        .cleanup = web_push_cleanup,
        .curl_done = web_push_done,
};
