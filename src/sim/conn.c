/* SPDX-License-Identifier: MIT */
/*
 * One simulated poll: a non-blocking connection that sends the core's request, reads the
 * answer and, on a 200, streams and verifies the image as the core's Updater does.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "flota/alloc.h"
#include "flota/image.h"
#include "flota/mac.h"
#include "flota/strutil.h"
#include "sim.h"

#define HEAD_MAX 8192
#define FIRST_MAX 8192
#define CLIENT_TIMEOUT (8 * USEC_PER_SEC) /* ESP8266httpUpdate / HTTPUpdate default */

typedef enum ConnState {
        CONN_CONNECTING,
        CONN_SENDING,
        CONN_HEAD,
        CONN_BODY,
} ConnState;

struct Conn {
        Sim *sim;
        SimDevice *dev;
        int fd;
        ConnState state;
        char req[2048];
        size_t req_len, req_off;
        char head[HEAD_MAX + 1];
        size_t head_len;
        EspHead h;
        Hasher *hasher;
        uint8_t first[FIRST_MAX];
        size_t first_len;
        uint8_t *gz; /* a gzip image, kept whole to inflate as eboot does */
        size_t gz_len;
        uint64_t received;
        usec_t started, deadline;
        bool sends_target; /* the request reports --until-version */
        Conn *prev, *next;
};

/* --poll-log: the device as the server names it (its MAC), and the answer. */
static void log_poll(Sim *s, const SimDevice *d, int status) {
        char mac[MAC_STR_LEN + 1];

        mac_format(d->platform == PLATFORM_ESP32 ? d->esp.base_mac : d->esp.sta_mac, mac);
        fprintf(s->poll_log, "%s %d\n", mac, status);
}

static void finish(Conn *c, int outcome) {
        Sim *s = c->sim;

        loop_unwatch(s->loop, c->fd);
        close(c->fd);
        if (c->prev)
                c->prev->next = c->next;
        else
                s->conns = c->next;
        if (c->next)
                c->next->prev = c->prev;
        stats_record(s, c->dev, outcome, c->h.status, loop_now(s->loop) - c->started);
        if (s->poll_log && (c->h.status == 200 || c->h.status == 304))
                log_poll(s, c->dev, c->h.status);
        hasher_free(c->hasher);
        SimDevice *d = c->dev;
        if (c->sends_target && c->h.status > 0)
                d->reported = true;
        free(c->gz);
        free(c);
        d->busy = false;
        s->in_flight--;
        s->device_done(s, d);
}

static void build_path(const Sim *s, const SimDevice *d, char *buf, size_t size) {
        const SimOptions *o = s->o;
        char mac[MAC_STR_LEN + 1];

        if (o->key) {
                /* the OTAdrive-style query form: the ESP8266 sends its chip id, the ESP32 its MAC */
                if (d->platform == PLATFORM_ESP32)
                        snprintf(buf, size, "%s?k=%s&s=%s&v=%s", o->path, o->key,
                                 mac_format(d->esp.base_mac, mac), d->esp.version);
                else
                        snprintf(buf, size, "%s?k=%s&s=%u&v=%s", o->path, o->key, d->esp.chip_id,
                                 d->esp.version);
        } else
                snprintf(buf, size, "%s/%s", o->path, o->product[d->platform]);
}

static void on_io(Loop *l, int fd, short revents, void *userdata);

/* A poll that failed before it started ends in the next loop turn, never inside sim_poll(). */
static void fail_now(Loop *l, void *userdata) {
        (void) l;
        finish(userdata, ESP_ERR_CONNECTION);
}

void sim_poll(Sim *s, SimDevice *d) {
        Conn *c = xcalloc(1, sizeof(Conn));
        char path[512];

        c->sim = s;
        c->dev = d;
        d->busy = true;
        c->sends_target = s->o->until_version && streq(d->esp.version, s->o->until_version);
        c->started = loop_now(s->loop);
        c->deadline = c->started + CLIENT_TIMEOUT;
        build_path(s, d, path, sizeof(path));
        EspPoll p = { .host = s->o->host, .port = s->o->port, .path = path, .authorization = s->o->auth };
        int n = esp_poll_format(&d->esp, &p, c->req, sizeof(c->req));
        c->req_len = n > 0 ? (size_t) n : 0;

        s->in_flight++;
        s->stats.polls++;
        c->next = s->conns;
        if (s->conns)
                s->conns->prev = c;
        s->conns = c;

        c->fd = socket(s->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (c->fd >= 0 && s->o->ota && s->addr.ss_family == AF_INET) {
                /* --ota: the device polls from its own address, the one that answers pushes */
                struct sockaddr_in self = { .sin_family = AF_INET,
                                            .sin_addr.s_addr = htonl(s->o->ota_addr_base + d->index) };
                (void) bind(c->fd, (struct sockaddr *) &self, sizeof(self));
        }
        if (c->fd < 0 || n <= 0 ||
            (connect(c->fd, (struct sockaddr *) &s->addr, s->addr_len) < 0 && errno != EINPROGRESS)) {
                if (c->fd < 0)
                        c->fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
                loop_timer(s->loop, loop_now(s->loop), fail_now, c);
                return;
        }
        c->state = CONN_CONNECTING;
        (void) loop_watch(s->loop, c->fd, POLLOUT, on_io, c);
}

static bool header_is(const char *line, const char *name, const char **ret_value) {
        const char *v = startswith_no_case(line, name);
        if (!v || *v != ':')
                return false;
        v++;
        while (*v == ' ' || *v == '\t')
                v++;
        *ret_value = v;
        return true;
}

/* Parses the status line and the headers the clients collect. false on a malformed head. */
static bool parse_head(Conn *c) {
        char *save = NULL, *line = strtok_r(c->head, "\r\n", &save);
        int status;

        if (!line || sscanf(line, "HTTP/1.%*d %d", &status) != 1)
                return false;
        c->h = (EspHead) { .status = status };
        while ((line = strtok_r(NULL, "\r\n", &save))) {
                const char *v;
                uint64_t len;
                if (header_is(line, "Content-Length", &v) && parse_u64(v, &len) == 0) {
                        c->h.has_length = true;
                        c->h.length = len;
                } else if (header_is(line, "x-MD5", &v))
                        strscpy(c->h.md5, sizeof(c->h.md5), v);
                else if (header_is(line, "x-SHA256", &v))
                        strscpy(c->h.sha256, sizeof(c->h.sha256), v);
                else if (header_is(line, "x-version", &v))
                        strscpy(c->h.version, sizeof(c->h.version), v);
        }
        return true;
}

/* The whole image is in: verify it and "reboot" into it. */
static void complete(Conn *c) {
        char md5[MD5_HEX_LEN + 1], sha[SHA256_HEX_LEN + 1], version[VERSION_MAX + 1];

        hasher_final(c->hasher, md5, sha);
        int r = esp_judge_body(&c->dev->esp, &c->h, md5, sha);
        if (r != 0) {
                finish(c, r);
                return;
        }
        uint64_t size = c->received;
        _cleanup_free_ uint8_t *raw = NULL;
        if (c->gz) {
                /* eboot inflates a gzip image as it writes it: the device then runs, and reports,
                 * the inflated image (its MD5 and its size), as the ESP8266 core does */
                char why[IMAGE_ERROR_MAX];
                size_t raw_size;
                if (image_gunzip(c->gz, c->gz_len, &raw, &raw_size, why) < 0) {
                        finish(c, ESP_ERR_BIN_VERIFY_HEADER_FAILED);
                        return;
                }
                md5_hex(raw, raw_size, md5);
                size = raw_size;
        }
        size_t head = raw ? (size < FIRST_MAX ? (size_t) size : FIRST_MAX) : c->first_len;
        if (image_embedded_version(raw ? raw : c->first, head, version) < 0)
                snprintf(version, sizeof(version), "unknown-%.8s", md5);
        SimDevice *d = c->dev;
        if (d->fault == FAULT_BOOTLOOP) {
                /* the new image crashes at boot and the bootloader falls back: same version, same MD5 */
                c->sim->stats.bootloops++;
        } else {
                esp_device_run(&d->esp, version, md5, d->platform == PLATFORM_ESP32 ? sha : "", size);
                c->sim->stats.updates_applied++;
                if (d->fault == FAULT_BRICK) {
                        d->bricked = true;
                        c->sim->stats.bricked++;
                }
        }
        finish(c, ESP_UPDATE_OK);
}

/* Feeds body bytes; returns true when the poll is over (and c freed). */
static bool feed_body(Conn *c, const uint8_t *data, size_t n) {
        if (c->received + n > c->h.length)
                n = (size_t) (c->h.length - c->received);
        /* a gzip image is kept whole (it is at most the device's free space, which the server checked) */
        bool gzip = (c->first_len >= 2 && c->first[0] == 0x1f && c->first[1] == 0x8b) ||
                    (c->first_len == 0 && n >= 2 && data[0] == 0x1f && data[1] == 0x8b);
        if (gzip) {
                if (!c->gz)
                        c->gz = xmalloc(c->h.length ? (size_t) c->h.length : 1);
                memcpy(c->gz + c->gz_len, data, n);
                c->gz_len += n;
        }
        if (c->first_len < FIRST_MAX) {
                size_t k = n < FIRST_MAX - c->first_len ? n : FIRST_MAX - c->first_len;
                bool had_magic = c->first_len >= 4;
                memcpy(c->first + c->first_len, data, k);
                c->first_len += k;
                /* the core peeks at the first 4 bytes before it starts writing */
                if (!had_magic && (c->first_len >= 4 || c->first_len == c->h.length)) {
                        int r = esp_judge_magic(&c->dev->esp, c->first, c->first_len);
                        if (r != 0) {
                                finish(c, r);
                                return true;
                        }
                }
        }
        if (c->dev->fault == FAULT_FAIL_DOWNLOAD && c->received + n > c->h.length / 2) {
                /* the link drops half way: the core's Updater times out on the stream */
                finish(c, ESP_ERR_UPDATER_STREAM);
                return true;
        }
        hasher_update(c->hasher, data, n);
        c->received += n;
        c->sim->stats.bytes += n;
        if (c->received < c->h.length)
                return false;
        complete(c);
        return true;
}

static void got_head(Conn *c, size_t body_start) {
        size_t extra = c->head_len - body_start;
        uint8_t body[HEAD_MAX];

        memcpy(body, c->head + body_start, extra);
        c->head[body_start] = 0;
        c->sim->stats.answered++;
        if (!parse_head(c)) {
                finish(c, ESP_ERR_CONNECTION);
                return;
        }
        int r = esp_judge_head(&c->dev->esp, "sketch", &c->h);
        if (r != 0) {
                finish(c, r);
                return;
        }
        c->state = CONN_BODY;
        /* the ESP8266 core checks MD5 only; the ESP32 core checks SHA-256 too */
        c->hasher = c->dev->platform == PLATFORM_ESP32 ? hasher_new() : hasher_new_md5();
        if (extra > 0)
                (void) feed_body(c, body, extra);
}

static void resume_reading(Loop *l, void *userdata) {
        Conn *c = userdata;
        (void) loop_watch(l, c->fd, POLLIN, on_io, c);
}

static void on_readable(Conn *c) {
        uint8_t buf[65536];
        uint64_t rate = c->sim->o->slow_link;

        for (;;) {
                ssize_t n;
                if (c->state == CONN_HEAD)
                        n = recv(c->fd, c->head + c->head_len, HEAD_MAX - c->head_len, 0);
                else if (rate) {
                        /* a slow link: a tenth of a second's worth, then a pause */
                        size_t want = rate / 10 ? rate / 10 : 1;
                        n = recv(c->fd, buf, want < sizeof(buf) ? want : sizeof(buf), 0);
                        if (n > 0) {
                                Loop *l = c->sim->loop;
                                if (feed_body(c, buf, (size_t) n))
                                        return;
                                /* the pause (at most a second) is well inside the 8 s client timeout */
                                c->deadline = loop_now(l) + CLIENT_TIMEOUT;
                                loop_unwatch(l, c->fd);
                                loop_timer(l, loop_now(l) + (usec_t) n * USEC_PER_SEC / rate, resume_reading,
                                           c);
                                return;
                        }
                } else
                        n = recv(c->fd, buf, sizeof(buf), 0);
                if (n < 0 && (errno == EAGAIN || errno == EINTR))
                        return;
                if (n <= 0) {
                        /* closed before the answer was complete */
                        finish(c, c->state == CONN_BODY ? ESP_ERR_UPDATER_STREAM : ESP_ERR_CONNECTION);
                        return;
                }
                c->deadline = loop_now(c->sim->loop) + CLIENT_TIMEOUT;
                if (c->state == CONN_BODY) {
                        if (feed_body(c, buf, (size_t) n))
                                return;
                        continue;
                }
                c->head_len += (size_t) n;
                c->head[c->head_len] = 0;
                char *end = strstr(c->head, "\r\n\r\n");
                if (end) {
                        got_head(c, (size_t) (end - c->head) + 4);
                        return;
                }
                if (c->head_len == HEAD_MAX) {
                        finish(c, ESP_ERR_CONNECTION);
                        return;
                }
        }
}

static void on_io(Loop *l, int fd, short revents, void *userdata) {
        Conn *c = userdata;

        if (c->state == CONN_CONNECTING) {
                int err = 0;
                socklen_t len = sizeof(err);
                if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err != 0) {
                        finish(c, ESP_ERR_CONNECTION);
                        return;
                }
                c->state = CONN_SENDING;
        }
        if (c->state == CONN_SENDING) {
                ssize_t n = send(fd, c->req + c->req_off, c->req_len - c->req_off, MSG_NOSIGNAL);
                if (n < 0 && errno != EAGAIN) {
                        finish(c, ESP_ERR_CONNECTION);
                        return;
                }
                if (n > 0)
                        c->req_off += (size_t) n;
                if (c->req_off == c->req_len) {
                        c->state = CONN_HEAD;
                        (void) loop_watch(l, fd, POLLIN, on_io, c);
                }
                return;
        }
        if (revents & (POLLIN | POLLHUP | POLLERR))
                on_readable(c);
}

void sim_sweep_timeouts(Sim *s) {
        usec_t now = loop_now(s->loop);

        for (Conn *c = s->conns, *next; c; c = next) {
                next = c->next;
                if (now > c->deadline)
                        finish(c, c->state == CONN_BODY ? ESP_ERR_UPDATER_STREAM : ESP_ERR_CONNECTION);
        }
}
