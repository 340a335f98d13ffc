/* SPDX-License-Identifier: MIT */
/*
 * The espota uploader (PROTOCOLS.md 3.2, 3.3): an invitation over UDP with back-off, the AUTH
 * challenge, the device's TCP connection back to us, the image in chunks each acknowledged by
 * the device, and its verdict. A state machine on the Loop.
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "flota/alloc.h"
#include "flota/hash.h"
#include "flota/strutil.h"
#include "push-internal.h"

#define CHUNK 1460 /* what the ESP8266 espota sends, one TCP segment */
#define PBKDF2_ROUNDS 10000

enum {
        ST_INVITE,
        ST_AUTH,
        ST_ACCEPT,
        ST_UPLOAD,
        ST_FINAL,
};

int espota_invitation(int cmd, uint16_t port, uint64_t size, const char md5[static 33], char *buf,
                      size_t n) {
        int k = snprintf(buf, n, "%d %u %llu %s\n", cmd, port, (unsigned long long) size, md5);
        return k < 0 || (size_t) k >= n ? -ENOBUFS : k;
}

static void hex_lower(const uint8_t *d, size_t n, char *out) {
        hex_encode(d, n, out);
        ascii_strlower(out);
}

int espota_auth_response(const char *password, const char *nonce, const char *cnonce, char *ret_response,
                         size_t response_size) {
        size_t n = strlen(nonce);

        if ((n != MD5_HEX_LEN && n != SHA256_HEX_LEN) || !is_hex(nonce, n) || strlen(cnonce) != n ||
            !is_hex(cnonce, n) || response_size < n + 1)
                return -EINVAL;
        if (n == MD5_HEX_LEN) {
                /* md5hex(md5hex(password) ":" nonce ":" cnonce) */
                char ph[MD5_HEX_LEN + 1];
                md5_hex(password, strlen(password), ph);
                _cleanup_free_ char *s = xasprintf("%s:%s:%s", ph, nonce, cnonce);
                md5_hex(s, strlen(s), ret_response);
                return 0;
        }
        /* ESP32 core 3.3.1+: PBKDF2-HMAC-SHA256 over sha256hex(password), salt "nonce:cnonce";
         * response = sha256hex(hex(key) ":" nonce ":" cnonce) */
        char ph[SHA256_HEX_LEN + 1], keyhex[65];
        uint8_t key[32];
        sha256_hex(password, strlen(password), ph);
        _cleanup_free_ char *salt = xasprintf("%s:%s", nonce, cnonce);
        if (pbkdf2_sha256(ph, strlen(ph), salt, strlen(salt), PBKDF2_ROUNDS, key, sizeof(key)) < 0)
                return -EIO;
        hex_lower(key, sizeof(key), keyhex);
        _cleanup_free_ char *s = xasprintf("%s:%s:%s", keyhex, nonce, cnonce);
        sha256_hex(s, strlen(s), ret_response);
        return 0;
}

static void on_udp(Loop *l, int fd, short revents, void *userdata);
static void on_listener(Loop *l, int fd, short revents, void *userdata);
static void on_tcp(Loop *l, int fd, short revents, void *userdata);
static void on_resend(Loop *l, void *userdata);

static void espota_cleanup(Push *p) {
        Loop *l = push_loop(p);

        if (p->udp >= 0) {
                loop_unwatch(l, p->udp);
                close(p->udp);
                p->udp = -1;
        }
        if (p->listener >= 0) {
                loop_unwatch(l, p->listener);
                close(p->listener);
                p->listener = -1;
        }
        if (p->tcp >= 0) {
                loop_unwatch(l, p->tcp);
                close(p->tcp);
                p->tcp = -1;
        }
}

static int send_invitation(Push *p) {
        char buf[128];
        int n = espota_invitation(p->req.filesystem ? ESPOTA_CMD_FS : ESPOTA_CMD_FLASH, p->listen_port,
                                  p->req.size, p->md5, buf, sizeof(buf));
        if (n < 0)
                return n;
        /* a lost datagram is what the retries are for: only a local error counts */
        if (send(p->udp, buf, (size_t) n, MSG_NOSIGNAL) < 0 && errno != ECONNREFUSED && errno != EAGAIN)
                return -errno;
        p->tries++;
        return 0;
}

/* Invitation k waits base * 2^k; the waits of all invitations add up to the phase timeout. */
static usec_t first_backoff(const PushRequest *r) {
        usec_t parts = (1ull << (r->invitations > 20 ? 20 : r->invitations)) - 1;
        usec_t b = r->phase_timeout / parts;
        return b < 10 * USEC_PER_MSEC ? 10 * USEC_PER_MSEC : b;
}

static void on_resend(Loop *l, void *userdata) {
        Push *p = userdata;

        if (p->state != ST_INVITE)
                return;
        if (p->tries >= p->req.invitations) {
                push_finish(p, PUSH_NO_ANSWER, "no answer to %u invitations", p->tries);
                return;
        }
        int r = send_invitation(p);
        if (r < 0) {
                push_finish(p, PUSH_NO_ANSWER, "cannot send the invitation: %s", strerror(-r));
                return;
        }
        p->backoff *= 2;
        loop_timer_start(l, loop_now(l) + p->backoff, on_resend, p, &p->phase_timer);
}

static int same_host(const struct sockaddr_storage *a, const struct sockaddr_storage *b) {
        if (a->ss_family != b->ss_family)
                return 0;
        if (a->ss_family == AF_INET)
                return ((const struct sockaddr_in *) a)->sin_addr.s_addr ==
                       ((const struct sockaddr_in *) b)->sin_addr.s_addr;
        return memcmp(&((const struct sockaddr_in6 *) a)->sin6_addr,
                      &((const struct sockaddr_in6 *) b)->sin6_addr, sizeof(struct in6_addr)) == 0;
}

static int espota_begin(Push *p) {
        struct addrinfo hints = { .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV, .ai_socktype = SOCK_DGRAM },
                        *ai;
        struct sockaddr_storage local;
        socklen_t len = sizeof(local);
        char port[8];

        if (p->req.md5 && strlen(p->req.md5) == MD5_HEX_LEN && is_hex(p->req.md5, MD5_HEX_LEN))
                memcpy(p->md5, p->req.md5, sizeof(p->md5));
        else
                md5_hex(p->req.image, p->req.size, p->md5);
        snprintf(port, sizeof(port), "%u", p->req.port);
        if (getaddrinfo(p->req.host, port, &hints, &ai) != 0)
                return -EINVAL;
        p->udp = socket(ai->ai_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        int r = p->udp < 0 ? -errno : connect(p->udp, ai->ai_addr, ai->ai_addrlen) < 0 ? -errno : 0;
        freeaddrinfo(ai);
        if (r < 0)
                return r;
        /* the device connects back to the address it was invited from */
        if (getsockname(p->udp, (struct sockaddr *) &local, &len) < 0)
                return -errno;
        if (local.ss_family == AF_INET)
                ((struct sockaddr_in *) &local)->sin_port = 0;
        else
                ((struct sockaddr_in6 *) &local)->sin6_port = 0;
        p->listener = socket(local.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (p->listener < 0 || bind(p->listener, (struct sockaddr *) &local, len) < 0 ||
            listen(p->listener, 4) < 0)
                return -errno;
        len = sizeof(local);
        if (getsockname(p->listener, (struct sockaddr *) &local, &len) < 0)
                return -errno;
        p->listen_port = ntohs(local.ss_family == AF_INET ? ((struct sockaddr_in *) &local)->sin_port
                                                          : ((struct sockaddr_in6 *) &local)->sin6_port);
        if ((r = loop_watch(push_loop(p), p->udp, POLLIN, on_udp, p)) < 0)
                return r;
        if ((r = send_invitation(p)) < 0)
                return r;
        p->state = ST_INVITE;
        p->backoff = first_backoff(&p->req);
        loop_timer_start(push_loop(p), loop_now(push_loop(p)) + p->backoff, on_resend, p, &p->phase_timer);
        return 0;
}

/* Copies outside text into msg: printable, without the trailing newline. */
static void quote(const char *s, size_t n, char *msg, size_t size) {
        size_t k = 0;

        while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' '))
                n--;
        for (size_t i = 0; i < n && k + 1 < size; i++)
                msg[k++] = s[i];
        msg[k] = 0;
}

static void answer_auth(Push *p, const char *nonce) {
        char cnonce[SHA256_HEX_LEN + 1], response[SHA256_HEX_LEN + 1], buf[160];
        uint8_t rnd[32];
        size_t n = strlen(nonce);

        if (!p->req.password) {
                push_finish(p, PUSH_AUTH_FAILED, "the device asks for a password and none is configured");
                return;
        }
        p->result.sha256_auth = n == SHA256_HEX_LEN;
        if (random_bytes(rnd, n / 2) < 0) {
                push_finish(p, PUSH_AUTH_FAILED, "no random bytes for the client nonce");
                return;
        }
        hex_lower(rnd, n / 2, cnonce);
        if (espota_auth_response(p->req.password, nonce, cnonce, response, sizeof(response)) < 0) {
                push_finish(p, PUSH_REFUSED, "the device sent a malformed challenge");
                return;
        }
        int k = snprintf(buf, sizeof(buf), "%d %s %s\n", ESPOTA_CMD_AUTH, cnonce, response);
        (void) send(p->udp, buf, (size_t) k, MSG_NOSIGNAL);
        p->state = ST_AUTH;
        push_phase(p, p->req.phase_timeout, "answer to the authentication");
}

static void on_udp(Loop *l, int fd, short revents, void *userdata) {
        Push *p = userdata;
        char buf[256];

        (void) revents;
        ssize_t n = recv(fd, buf, sizeof(buf) - 1, 0);
        if (n < 0) {
                if (errno == EAGAIN || errno == EINTR)
                        return;
                if (errno == ECONNREFUSED && p->state == ST_INVITE) {
                        /* ICMP port unreachable: keep inviting, the device may be starting */
                        return;
                }
                push_finish(p, PUSH_NO_ANSWER, "%s", strerror(errno));
                return;
        }
        buf[n] = 0;
        if (p->state != ST_INVITE && p->state != ST_AUTH)
                return; /* a late repeat: nothing to do */
        if (startswith(buf, "AUTH ")) {
                char nonce[SHA256_HEX_LEN + 1];
                quote(buf + 5, (size_t) n - 5, nonce, sizeof(nonce));
                loop_timer_cancel(l, &p->phase_timer);
                answer_auth(p, nonce);
                return;
        }
        if (n >= 2 && buf[0] == 'O' && buf[1] == 'K') {
                loop_unwatch(l, p->udp);
                p->state = ST_ACCEPT;
                (void) loop_watch(l, p->listener, POLLIN, on_listener, p);
                push_phase(p, p->req.phase_timeout, "connection from the device");
                return;
        }
        char msg[PUSH_MESSAGE_MAX + 1];
        quote(buf, (size_t) n, msg, sizeof(msg));
        if (startswith(buf, "Authentication Failed"))
                push_finish(p, PUSH_AUTH_FAILED, "%s", msg);
        else
                push_finish(p, PUSH_REFUSED, "%s", msg);
}

static void on_listener(Loop *l, int fd, short revents, void *userdata) {
        Push *p = userdata;
        struct sockaddr_storage peer, dev;
        socklen_t plen = sizeof(peer), dlen = sizeof(dev);

        (void) revents;
        int c = accept4(fd, (struct sockaddr *) &peer, &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (c < 0)
                return;
        /* only the invited device may upload... receive: anything else is turned away */
        if (getpeername(p->udp, (struct sockaddr *) &dev, &dlen) < 0 || !same_host(&peer, &dev)) {
                close(c);
                return;
        }
        p->tcp = c;
        loop_unwatch(l, p->listener);
        close(p->listener);
        p->listener = -1;
        close(p->udp);
        loop_unwatch(l, p->udp);
        p->udp = -1;
        p->state = ST_UPLOAD;
        p->chunk_end = p->req.size < CHUNK ? p->req.size : CHUNK;
        (void) loop_watch(l, c, POLLOUT | POLLIN, on_tcp, p);
        push_phase(p, p->req.phase_timeout, "room to send");
}

/* The device's text after its byte counts: "" while it only counted. */
static const char *device_words(Push *p) {
        size_t i = 0;

        p->tail[p->tail_len] = 0;
        while (i < p->tail_len && p->tail[i] >= '0' && p->tail[i] <= '9')
                i++;
        return p->tail + i;
}

static void keep_tail(Push *p, const char *buf, size_t n) {
        if (n >= ESPOTA_TAIL_MAX - 1) {
                buf += n - (ESPOTA_TAIL_MAX - 1);
                n = ESPOTA_TAIL_MAX - 1;
        }
        if (p->tail_len + n > ESPOTA_TAIL_MAX - 1) {
                size_t drop = p->tail_len + n - (ESPOTA_TAIL_MAX - 1);
                memmove(p->tail, p->tail + drop, p->tail_len - drop);
                p->tail_len -= drop;
        }
        memcpy(p->tail + p->tail_len, buf, n);
        p->tail_len += n;
}

static void device_closed(Push *p) {
        const char *w = device_words(p);
        char msg[PUSH_MESSAGE_MAX + 1];

        quote(w, strlen(w), msg, sizeof(msg));
        if (startswith(msg, "OK") && p->off == p->req.size) {
                push_finish(p, PUSH_OK, "OK");
                return;
        }
        if (*msg)
                push_finish(p, PUSH_UPLOAD_FAILED, "%s", msg);
        else
                push_finish(p, PUSH_UPLOAD_FAILED, "the device closed the connection after %zu of %zu bytes",
                            p->off, p->req.size);
}

static void read_device(Push *p) {
        char buf[512];
        Loop *l = push_loop(p);

        for (;;) {
                ssize_t n = recv(p->tcp, buf, sizeof(buf), 0);
                if (n == 0) {
                        device_closed(p);
                        return;
                }
                if (n < 0) {
                        if (errno == EAGAIN || errno == EINTR)
                                break;
                        if (errno == ECONNRESET) {
                                device_closed(p);
                                return;
                        }
                        push_finish(p, PUSH_UPLOAD_FAILED, "%s after %zu of %zu bytes", strerror(errno),
                                    p->off, p->req.size);
                        return;
                }
                /* digits stop being counts once one is followed by "ERROR..." or "OK" */
                for (ssize_t i = 0; i < n; i++)
                        if (buf[i] == 0)
                                buf[i] = '?';
                keep_tail(p, buf, (size_t) n);
                /* an answer: the next chunk may go */
                p->awaiting_ack = false;
        }
        const char *w = device_words(p);
        if (*w == 0) {
                if (p->state == ST_UPLOAD && !p->awaiting_ack) {
                        if (p->off >= p->req.size) {
                                p->state = ST_FINAL;
                                (void) loop_watch(l, p->tcp, POLLIN, on_tcp, p);
                                push_phase(p, p->req.final_timeout, "verdict from the device");
                        } else {
                                (void) loop_watch(l, p->tcp, POLLIN | POLLOUT, on_tcp, p);
                                push_phase(p, p->req.phase_timeout, "room to send");
                        }
                }
                return;
        }
        if (startswith(w, "OK") && p->off >= p->req.size) {
                push_finish(p, PUSH_OK, "OK");
                return;
        }
        /* an error text: wait for the device to finish saying it and close */
        p->state = ST_FINAL;
        (void) loop_watch(l, p->tcp, POLLIN, on_tcp, p);
        push_phase(p, p->req.phase_timeout, "end of the device's error message");
}

static void write_chunk(Push *p) {
        Loop *l = push_loop(p);

        while (p->off < p->chunk_end) {
                ssize_t n = send(p->tcp, p->req.image + p->off, p->chunk_end - p->off, MSG_NOSIGNAL);
                if (n < 0) {
                        if (errno == EAGAIN || errno == EINTR)
                                return;
                        /* the device may have said why before it went */
                        read_device(p);
                        if (!p->finished)
                                push_finish(p, PUSH_UPLOAD_FAILED, "%s after %zu of %zu bytes",
                                            strerror(errno), p->off, p->req.size);
                        return;
                }
                p->off += (size_t) n;
        }
        push_report_progress(p, p->off);
        /* wait for the device's count before the next chunk, as espota does */
        p->awaiting_ack = true;
        p->chunk_end = p->off + CHUNK < p->req.size ? p->off + CHUNK : p->req.size;
        (void) loop_watch(l, p->tcp, POLLIN, on_tcp, p);
        push_phase(p, p->req.phase_timeout, "acknowledgement of a chunk");
}

static void on_tcp(Loop *l, int fd, short revents, void *userdata) {
        Push *p = userdata;

        (void) l;
        (void) fd;
        if (revents & (POLLIN | POLLHUP | POLLERR)) {
                read_device(p);
                if (p->finished)
                        return;
        }
        if ((revents & POLLOUT) && p->state == ST_UPLOAD && !p->awaiting_ack && p->off < p->req.size)
                write_chunk(p);
}

const PushTransportOps espota_transport = { .begin = espota_begin, .cleanup = espota_cleanup };
