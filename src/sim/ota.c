/* SPDX-License-Identifier: MIT */
/*
 * flota-sim --ota: each device answers pushes on its own loopback address as the cores do.
 * espota (PROTOCOLS.md 3.2/3.3): the invitation datagram, the AUTH challenge (MD5, or the ESP32
 * 3.3.1+ SHA-256 one), the TCP connection back to the uploader from the device's own address, a
 * byte count after each read, "OK" or the Updater's error. Web (section 4): the update page, a
 * multipart POST with Basic credentials, "Update Success! Rebooting..." or "Update error: ..."
 * both with 200 (or the OTAWebUpdater example's "OK"/"FAIL"). Faults go to the lowest-indexed
 * devices, in the order of the fault table.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "flota/alloc.h"
#include "flota/hash.h"
#include "flota/image.h"
#include "flota/log.h"
#include "flota/push.h"
#include "flota/strutil.h"
#include "sim.h"

#define HEAD_MAX 8192
#define BODY_MAX ((size_t) 17 << 20)
#define FIRST_MAX 8192
#define STALL_HOLD (60 * USEC_PER_SEC)
#define READ_MAX 1460 /* the device reads at most a segment per Update.write */

enum {
        OTA_FAULT_NONE,
        OTA_FAULT_MUTE,       /* answers nothing */
        OTA_FAULT_REFUSE,     /* Update.begin() fails: not enough space */
        OTA_FAULT_CORRUPT,    /* a byte flips on the way: MD5 / magic byte check fails */
        OTA_FAULT_DROP,       /* the link drops half way */
        OTA_FAULT_STALL,      /* stops reading half way, for a minute */
        OTA_FAULT_NEVER_BACK, /* takes the image and never comes back */
};

static const char *const fault_names[SIM_OTA_FAULTS + 1] = {
        "none", "mute", "refuse", "corrupt", "drop", "stall", "never-back",
};

const char *sim_ota_fault_name(int fault) {
        return fault >= 0 && fault <= SIM_OTA_FAULTS ? fault_names[fault] : "none";
}

enum { ST_IDLE, ST_WAITAUTH, ST_CONNECTING, ST_RECEIVING, ST_STALLED, ST_DONE };

typedef struct OtaDev {
        Sim *s;
        SimDevice *d;
        struct in_addr addr;
        int udp, lsn, tcp;
        int state;
        int cmd;
        uint16_t peer_port;
        struct in_addr peer;
        uint64_t size, got;
        char md5[MD5_HEX_LEN + 1];
        char nonce[SHA256_HEX_LEN + 1];
        unsigned nonces;
        Hasher *h;
        uint8_t first[FIRST_MAX];
        size_t first_len;
        LoopTimerHandle timer;
        /* web */
        char *req;
        size_t req_len, head_len;
        uint64_t content_length;
} OtaDev;

typedef struct SimOta {
        OtaDev *devs;
        uint32_t n;
} SimOta;

int sim_ota_parse(SimOptions *o, const char *name, const char *arg) {
        if (streq(name, "ota")) {
                o->ota = streq(arg, "espota") ? SIM_OTA_ESPOTA : streq(arg, "web") ? SIM_OTA_WEB : -1;
                return o->ota < 0 ? -EINVAL : 0;
        }
        if (streq(name, "ota-auth")) {
                if (!streq(arg, "md5") && !streq(arg, "sha256"))
                        return -EINVAL;
                o->ota_sha256 = streq(arg, "sha256");
                return 0;
        }
        if (streq(name, "ota-updater")) {
                if (!streq(arg, "stock") && !streq(arg, "example"))
                        return -EINVAL;
                o->ota_example = streq(arg, "example");
                return 0;
        }
        if (streq(name, "ota-password") || streq(name, "ota-user")) {
                char **dst = streq(name, "ota-user") ? &o->ota_user : &o->ota_password;
                free(*dst);
                *dst = xstrdup(arg);
                return 0;
        }
        if (streq(name, "ota-port")) {
                uint32_t v;
                if (parse_u32(arg, &v) < 0 || v == 0 || v > 65535)
                        return -EINVAL;
                o->ota_port = (uint16_t) v;
                return 0;
        }
        if (streq(name, "ota-addr-base")) {
                struct in_addr a;
                if (inet_pton(AF_INET, arg, &a) != 1)
                        return -EINVAL;
                o->ota_addr_base = ntohl(a.s_addr);
                return 0;
        }
        double *f = NULL;
        for (int i = 1; i <= SIM_OTA_FAULTS; i++) {
                char opt[32];
                snprintf(opt, sizeof(opt), "ota-%s", fault_names[i]);
                if (streq(name, opt))
                        f = &o->ota_faults[i - 1];
        }
        if (!f && !streq(name, "ota-reboot"))
                return -EINVAL;
        char *end;
        errno = 0;
        double v = strtod(arg, &end);
        if (errno || *end || v < 0 || (f && v > 1) || v > 3600)
                return -EINVAL;
        *(f ? f : &o->ota_reboot) = v;
        return 0;
}

static uint16_t listen_port(const Sim *s, const SimDevice *d) {
        if (s->o->ota_port)
                return s->o->ota_port;
        if (s->o->ota == SIM_OTA_WEB)
                return 80;
        return esp_ota_port(&d->esp);
}

static void reset(OtaDev *o) {
        Loop *l = o->s->loop;

        if (o->tcp >= 0) {
                loop_unwatch(l, o->tcp);
                close(o->tcp);
                o->tcp = -1;
        }
        loop_timer_cancel(l, &o->timer);
        o->h = hasher_free(o->h);
        free(o->req);
        o->req = NULL;
        o->req_len = o->head_len = 0;
        o->content_length = 0;
        o->got = 0;
        o->state = ST_IDLE;
}

static bool is_up(const OtaDev *o) {
        return !o->d->bricked && !o->d->offline;
}

/* The pushed image runs: the device reboots into it. */
static void apply(OtaDev *o, const char *md5, uint64_t size, bool fs) {
        Sim *s = o->s;
        SimDevice *d = o->d;

        if (fs)
                s->stats.ota_filesystem++;
        else if (d->fault == FAULT_BOOTLOOP) {
                /* the new image crashes at boot and the bootloader falls back: the old version */
                s->stats.ota_sketch++;
                s->stats.bootloops++;
        } else {
                char version[VERSION_MAX + 1];
                if (image_embedded_version(o->first, o->first_len, version) < 0)
                        snprintf(version, sizeof(version), "unknown-%.8s", md5);
                esp_device_run(&d->esp, version, md5, "", size);
                s->stats.ota_sketch++;
                s->stats.updates_applied++;
        }
        s->device_reboot(s, d, d->ota_fault == OTA_FAULT_NEVER_BACK);
}

/* ---- espota ---- */

static void on_espota_tcp(Loop *l, int fd, short revents, void *userdata);

static void on_stall_end(Loop *l, void *userdata) {
        OtaDev *o = userdata;

        (void) l;
        /* the Updater gives up on the stream */
        o->s->stats.ota_failed++;
        reset(o);
}

static void espota_fail(OtaDev *o, const char *text) {
        if (text)
                (void) send(o->tcp, text, strlen(text), MSG_NOSIGNAL);
        o->s->stats.ota_failed++;
        reset(o);
}

static void espota_received(OtaDev *o) {
        char md5[MD5_HEX_LEN + 1], sha[SHA256_HEX_LEN + 1];

        hasher_final(o->h, md5, sha);
        o->h = hasher_free(o->h);
        if (!streq(md5, o->md5)) {
                espota_fail(o, "ERROR[7]: MD5 verification failed");
                return;
        }
        /* ESP32: "OK" and close; the device then restarts */
        (void) send(o->tcp, "OK", 2, MSG_NOSIGNAL);
        bool fs = o->cmd == ESPOTA_CMD_FS;
        uint64_t size = o->size;
        reset(o);
        apply(o, md5, size, fs);
}

static void on_espota_tcp(Loop *l, int fd, short revents, void *userdata) {
        OtaDev *o = userdata;
        uint8_t buf[READ_MAX];

        if (o->state == ST_CONNECTING) {
                int err = 0;
                socklen_t len = sizeof(err);
                if ((revents & (POLLERR | POLLHUP)) ||
                    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err) {
                        o->s->stats.ota_failed++;
                        reset(o);
                        return;
                }
                o->state = ST_RECEIVING;
                o->h = hasher_new_md5();
                (void) loop_watch(l, fd, POLLIN, on_espota_tcp, o);
                return;
        }
        if (o->state != ST_RECEIVING)
                return;
        ssize_t n = recv(fd, buf, sizeof(buf), 0);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return;
        if (n <= 0) {
                /* the uploader went away */
                o->s->stats.ota_failed++;
                reset(o);
                return;
        }
        if ((uint64_t) n > o->size - o->got)
                n = (ssize_t) (o->size - o->got);
        if (o->got == 0 && o->cmd == ESPOTA_CMD_FLASH && o->d->ota_fault == OTA_FAULT_CORRUPT)
                buf[n / 2] ^= 0x40;
        if (o->got == 0 && o->cmd == ESPOTA_CMD_FLASH && buf[0] != 0xE9 && buf[0] != 0x1f) {
                espota_fail(o, "ERROR[10]: Magic byte is not 0xE9");
                return;
        }
        if (o->first_len < FIRST_MAX) {
                size_t k = (size_t) n < FIRST_MAX - o->first_len ? (size_t) n : FIRST_MAX - o->first_len;
                memcpy(o->first + o->first_len, buf, k);
                o->first_len += k;
        }
        hasher_update(o->h, buf, (size_t) n);
        o->got += (uint64_t) n;
        if (o->got > o->size / 2 && o->d->ota_fault == OTA_FAULT_DROP) {
                struct linger lg = { .l_onoff = 1, .l_linger = 0 };
                (void) setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
                o->s->stats.ota_failed++;
                reset(o);
                return;
        }
        if (o->got > o->size / 2 && o->d->ota_fault == OTA_FAULT_STALL) {
                o->state = ST_STALLED;
                loop_unwatch(l, fd);
                loop_timer_start(l, loop_now(l) + STALL_HOLD, on_stall_end, o, &o->timer);
                return;
        }
        /* the count of bytes just written, no separator */
        char count[24];
        int k = snprintf(count, sizeof(count), "%zd", n);
        (void) send(fd, count, (size_t) k, MSG_NOSIGNAL);
        if (o->got == o->size)
                espota_received(o);
}

static void connect_back(OtaDev *o) {
        struct sockaddr_in self = { .sin_family = AF_INET, .sin_addr = o->addr };
        struct sockaddr_in to = { .sin_family = AF_INET,
                                  .sin_addr = o->peer,
                                  .sin_port = htons(o->peer_port) };

        o->tcp = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        /* from the device's own address, as a device on the network would */
        if (o->tcp < 0 || bind(o->tcp, (struct sockaddr *) &self, sizeof(self)) < 0 ||
            (connect(o->tcp, (struct sockaddr *) &to, sizeof(to)) < 0 && errno != EINPROGRESS)) {
                reset(o);
                return;
        }
        o->state = ST_CONNECTING;
        o->got = o->first_len = 0;
        (void) loop_watch(o->s->loop, o->tcp, POLLOUT, on_espota_tcp, o);
}

/* "<cmd> <port> <size> <md5>": the device skips spaces, reads digits, then the MD5 to the newline. */
static bool parse_invitation(const char *p, int *cmd, uint32_t *port, uint64_t *size, char md5[static 33]) {
        char *end;
        errno = 0;
        unsigned long c = strtoul(p, &end, 10);
        if (end == p)
                return false;
        p = end;
        unsigned long pt = strtoul(p, &end, 10);
        if (end == p)
                return false;
        p = end;
        unsigned long long sz = strtoull(p, &end, 10);
        if (end == p || errno)
                return false;
        p = end;
        while (*p == ' ')
                p++;
        size_t n = strcspn(p, "\n");
        while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\r'))
                n--;
        if (n != MD5_HEX_LEN)
                return false;
        memcpy(md5, p, n);
        md5[n] = 0;
        *cmd = (int) c;
        *port = (uint32_t) pt;
        *size = sz;
        return true;
}

static void reply(OtaDev *o, const char *text, const struct sockaddr_in *to) {
        (void) sendto(o->udp, text, strlen(text), 0, (const struct sockaddr *) to, sizeof(*to));
}

static void start_update(OtaDev *o, const struct sockaddr_in *from) {
        if (o->d->ota_fault == OTA_FAULT_REFUSE) {
                reply(o, "ERR: Not Enough Space", from);
                o->s->stats.ota_failed++;
                o->state = ST_IDLE;
                return;
        }
        reply(o, "OK", from);
        connect_back(o);
}

/* An invitation while idle: "AUTH nonce" when a password is set, else straight to the update. */
static void invited(OtaDev *o, const char *buf, const struct sockaddr_in *from) {
        int cmd;
        uint32_t port;
        uint64_t size;

        if (!parse_invitation(buf, &cmd, &port, &size, o->md5) ||
            (cmd != ESPOTA_CMD_FLASH && cmd != ESPOTA_CMD_FS) || port == 0 || port > 65535 || size == 0)
                return;
        o->cmd = cmd;
        o->peer_port = (uint16_t) port;
        o->peer = from->sin_addr;
        o->size = size;
        if (isempty(o->s->o->ota_password)) {
                start_update(o, from);
                return;
        }
        /* the nonce: a digest of a counter, 32 hex (MD5) or 64 hex (3.3.1+) */
        char seed[48], auth[80];
        snprintf(seed, sizeof(seed), "%u-%u-%llu", o->d->index, ++o->nonces,
                 (unsigned long long) loop_now(o->s->loop));
        if (o->s->o->ota_sha256)
                sha256_hex(seed, strlen(seed), o->nonce);
        else
                md5_hex(seed, strlen(seed), o->nonce);
        snprintf(auth, sizeof(auth), "AUTH %s", o->nonce);
        reply(o, auth, from);
        o->state = ST_WAITAUTH;
}

/* "200 <cnonce> <response>" while waiting for it; anything else sends the device back to idle. */
static void authenticating(OtaDev *o, char *buf, const struct sockaddr_in *from) {
        char *save, *c = strtok_r(buf, " \n", &save), *cnonce = strtok_r(NULL, " \n", &save),
                    *resp = strtok_r(NULL, " \n", &save);
        char want[SHA256_HEX_LEN + 1];

        if (!c || !streq(c, "200") || !cnonce || !resp) {
                o->state = ST_IDLE;
                return;
        }
        if (espota_auth_response(o->s->o->ota_password, o->nonce, cnonce, want, sizeof(want)) < 0 ||
            !streq(want, resp)) {
                reply(o, "Authentication Failed", from);
                o->s->stats.ota_auth_failed++;
                o->state = ST_IDLE;
                return;
        }
        start_update(o, from);
}

static void on_espota_udp(Loop *l, int fd, short revents, void *userdata) {
        OtaDev *o = userdata;
        struct sockaddr_in from;
        socklen_t flen = sizeof(from);
        char buf[512];

        (void) l;
        (void) revents;
        ssize_t n = recvfrom(fd, buf, sizeof(buf) - 1, 0, (struct sockaddr *) &from, &flen);
        if (n <= 0)
                return;
        buf[n] = 0;
        if (!is_up(o) || o->d->ota_fault == OTA_FAULT_MUTE)
                return;
        if (o->state == ST_IDLE)
                invited(o, buf, &from);
        else if (o->state == ST_WAITAUTH)
                authenticating(o, buf, &from);
}

/* ---- web updater ---- */

static const char page[] =
        "<html><body><form method='POST' action='' enctype='multipart/form-data'>Firmware:<br>"
        "<input type='file' accept='.bin,.bin.gz' name='firmware'><input type='submit' value='Update "
        "Firmware'>"
        "</form><form method='POST' action='' enctype='multipart/form-data'>FileSystem:<br>"
        "<input type='file' accept='.bin,.bin.gz,.image' name='filesystem'>"
        "<input type='submit' value='Update FileSystem'></form></body></html>";

static void web_answer(OtaDev *o, int status, const char *type, const char *extra, const char *body) {
        const char *reason = status == 200   ? "OK"
                             : status == 401 ? "Unauthorized"
                             : status == 404 ? "Not Found"
                                             : "Bad Request";
        _cleanup_free_ char *out =
                xasprintf("HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s"
                          "Connection: close\r\n\r\n%s",
                          status, reason, type, strlen(body), extra ? extra : "", body);
        (void) send(o->tcp, out, strlen(out), MSG_NOSIGNAL);
}

static const char *header(const char *head, const char *name) {
        size_t n = strlen(name);
        for (const char *p = strstr(head, "\r\n"); p && p[2]; p = strstr(p + 2, "\r\n"))
                if (strncasecmp(p + 2, name, n) == 0 && p[2 + n] == ':') {
                        const char *v = p + 3 + n;
                        while (*v == ' ')
                                v++;
                        return v;
                }
        return NULL;
}

static bool credentials_ok(const OtaDev *o, const char *head) {
        const SimOptions *so = o->s->o;
        if (isempty(so->ota_password))
                return true;
        const char *a = header(head, "Authorization");
        if (!a || !startswith_no_case(a, "Basic "))
                return false;
        char enc[512];
        size_t n = strcspn(a + 6, "\r\n");
        if (n >= sizeof(enc))
                return false;
        memcpy(enc, a + 6, n);
        enc[n] = 0;
        _cleanup_free_ uint8_t *dec = NULL;
        size_t dn;
        if (base64_decode(enc, &dec, &dn) < 0)
                return false;
        _cleanup_free_ char *want =
                xasprintf("%s:%s", so->ota_user ? so->ota_user : "admin", so->ota_password);
        return dn == strlen(want) && memcmp(dec, want, dn) == 0;
}

/* The first part of a multipart body: its field name and data. */
static bool multipart(const char *head, char *body, size_t n, char name[static 32], uint8_t **data,
                      size_t *len) {
        const char *ct = header(head, "Content-Type"), *b = ct ? strstr(ct, "boundary=") : NULL;
        if (!b)
                return false;
        b += strlen("boundary=");
        char delim[96];
        size_t bl = strcspn(b, "\r\n;");
        if (bl == 0 || bl > 70)
                return false;
        snprintf(delim, sizeof(delim), "\r\n--%.*s", (int) bl, b);
        if (n < bl + 2 || memcmp(body, delim + 2, bl + 2) != 0)
                return false;
        char *ph = memmem(body, n, "\r\n\r\n", 4);
        if (!ph)
                return false;
        *ph = 0;
        const char *nm = strstr(body, "name=\"");
        if (!nm)
                return false;
        nm += 6;
        size_t nl = strcspn(nm, "\"");
        snprintf(name, 32, "%.*s", (int) (nl < 31 ? nl : 31), nm);
        char *start = ph + 4;
        char *end = memmem(start, n - (size_t) (start - body), delim, strlen(delim));
        if (!end)
                return false;
        *data = (uint8_t *) start;
        *len = (size_t) (end - start);
        return true;
}

static void web_handle(OtaDev *o) {
        const SimOptions *so = o->s->o;
        char *head = o->req, *body = o->req + o->head_len;
        bool post = startswith(head, "POST "), get = startswith(head, "GET ");
        const char *path = strchr(head, ' ') + 1;

        if ((!post && !get) || strncmp(path, "/update", 7) != 0 || (path[7] != ' ' && path[7] != '?')) {
                web_answer(o, 404, "text/plain", NULL, "Not found");
                return;
        }
        if (!credentials_ok(o, head)) {
                o->s->stats.ota_auth_failed++;
                web_answer(o, 401, "text/html", "WWW-Authenticate: Basic realm=\"Login Required\"\r\n", "");
                return;
        }
        if (get) {
                web_answer(o, 200, "text/html", NULL, page);
                return;
        }
        char name[32];
        uint8_t *data;
        size_t len;
        const char *err = NULL;
        if (!multipart(head, body, o->content_length, name, &data, &len) || len == 0)
                err = "ERROR[6]: Bad Size Given";
        bool fs = !err && streq(name, "filesystem");
        if (!err && o->d->ota_fault == OTA_FAULT_REFUSE)
                err = "ERROR[4]: Not Enough Space";
        if (!err && o->d->ota_fault == OTA_FAULT_CORRUPT)
                data[0] ^= 0x40;
        if (!err && !fs && data[0] != 0xE9 && data[0] != 0x1f)
                err = "ERROR[10]: Magic byte is not 0xE9";
        if (err) {
                o->s->stats.ota_failed++;
                _cleanup_free_ char *t = xasprintf("Update error: %s", err);
                web_answer(o, 200, so->ota_example ? "text/plain" : "text/html", NULL,
                           so->ota_example ? "FAIL" : t);
                return;
        }
        char md5[MD5_HEX_LEN + 1];
        md5_hex(data, len, md5);
        o->first_len = len < FIRST_MAX ? len : FIRST_MAX;
        memcpy(o->first, data, o->first_len);
        web_answer(
                o, 200, so->ota_example ? "text/plain" : "text/html", NULL,
                so->ota_example
                        ? "OK"
                        : "<META http-equiv=\"refresh\" content=\"15;URL=/\">Update Success! Rebooting...");
        loop_unwatch(o->s->loop, o->tcp);
        close(o->tcp);
        o->tcp = -1;
        apply(o, md5, len, fs);
}

/* The request head is in: its length and Content-Length. false when the request was refused. */
static bool parsed_head(OtaDev *o) {
        o->req[o->req_len] = 0;
        char *e = memmem(o->req, o->req_len, "\r\n\r\n", 4);
        if (!e)
                return true; /* not yet */
        *e = 0;
        o->head_len = (size_t) (e - o->req) + 4;
        const char *cl = header(o->req, "Content-Length");
        uint64_t v = 0;
        if (cl) {
                char digits[24];
                snprintf(digits, sizeof(digits), "%.*s", (int) strcspn(cl, "\r\n"), cl);
                if (parse_u64(digits, &v) < 0 || v > BODY_MAX) {
                        web_answer(o, 400, "text/plain", NULL, "bad length");
                        return false;
                }
        }
        o->content_length = v;
        size_t need = o->head_len + (size_t) v > o->req_len ? o->head_len + (size_t) v : o->req_len;
        o->req = xrealloc(o->req, need + 1);
        return true;
}

/* Half the body is in: the faults that strike then. true when one did (o reset or stalled). */
static bool struck_half_way(Loop *l, OtaDev *o) {
        if (o->d->ota_fault == OTA_FAULT_DROP) {
                struct linger lg = { .l_onoff = 1, .l_linger = 0 };
                (void) setsockopt(o->tcp, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
                o->s->stats.ota_failed++;
                reset(o);
                return true;
        }
        if (o->d->ota_fault == OTA_FAULT_STALL) {
                o->state = ST_STALLED;
                loop_unwatch(l, o->tcp);
                loop_timer_start(l, loop_now(l) + STALL_HOLD, on_stall_end, o, &o->timer);
                return true;
        }
        return false;
}

static void on_web_conn(Loop *l, int fd, short revents, void *userdata) {
        OtaDev *o = userdata;
        char buf[16384];

        (void) revents;
        if (o->state == ST_STALLED)
                return;
        ssize_t n = recv(fd, buf, sizeof(buf), 0);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return;
        if (n <= 0) {
                reset(o);
                return;
        }
        size_t want = o->head_len ? o->head_len + (size_t) o->content_length : HEAD_MAX;
        if (!o->req)
                o->req = xmalloc(HEAD_MAX + sizeof(buf) + 1);
        if (o->req_len + (size_t) n > want + HEAD_MAX || (!o->head_len && o->req_len >= HEAD_MAX)) {
                web_answer(o, 400, "text/plain", NULL, "request too large");
                reset(o);
                return;
        }
        memcpy(o->req + o->req_len, buf, (size_t) n);
        o->req_len += (size_t) n;
        if (!o->head_len) {
                if (!parsed_head(o)) {
                        reset(o);
                        return;
                }
                if (!o->head_len)
                        return; /* the head is not in yet */
        }
        uint64_t body = o->req_len - o->head_len;
        if (o->content_length && body > o->content_length / 2 && struck_half_way(l, o))
                return;
        if (body < o->content_length)
                return;
        web_handle(o);
        reset(o);
}

static void on_web_accept(Loop *l, int fd, short revents, void *userdata) {
        OtaDev *o = userdata;

        (void) revents;
        if (o->tcp >= 0)
                return; /* one client at a time, as the device's WebServer */
        int c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (c < 0)
                return;
        if (!is_up(o)) {
                close(c);
                return;
        }
        o->tcp = c;
        o->state = ST_IDLE;
        o->first_len = 0;
        (void) loop_watch(l, c, POLLIN, on_web_conn, o);
}

static int open_socket(OtaDev *o, int type, uint16_t port) {
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr = o->addr, .sin_port = htons(port) };
        int fd = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

        if (fd < 0)
                return -errno;
        (void) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &(int) { 1 }, sizeof(int));
        if (bind(fd, (struct sockaddr *) &a, sizeof(a)) < 0 || (type == SOCK_STREAM && listen(fd, 8) < 0)) {
                int r = -errno;
                close(fd);
                return r;
        }
        return fd;
}

int sim_ota_start(Sim *s) {
        const SimOptions *so = s->o;
        SimOta *ota = xcalloc(1, sizeof(SimOta));
        uint32_t next = 0;

        s->ota = ota;
        ota->n = s->n_devices;
        ota->devs = xcalloc(s->n_devices, sizeof(OtaDev));
        /* faults: blocks of the lowest indexes, in the table's order */
        for (int f = 1; f <= SIM_OTA_FAULTS; f++) {
                uint32_t k = (uint32_t) (so->ota_faults[f - 1] * s->n_devices + 0.5);
                for (uint32_t j = 0; j < k && next < s->n_devices; j++)
                        s->devices[next++].ota_fault = f;
        }
        /* every device first, so that sim_ota_stop() after a failure below finds each one whole */
        for (uint32_t i = 0; i < s->n_devices; i++) {
                ota->devs[i] = (OtaDev) { .s = s, .d = &s->devices[i], .udp = -1, .lsn = -1, .tcp = -1 };
                ota->devs[i].addr.s_addr = htonl(so->ota_addr_base + i);
        }
        for (uint32_t i = 0; i < s->n_devices; i++) {
                OtaDev *o = &ota->devs[i];
                uint16_t port = listen_port(s, o->d);
                int r;
                if (so->ota == SIM_OTA_ESPOTA) {
                        r = o->udp = open_socket(o, SOCK_DGRAM, port);
                        if (r >= 0)
                                r = loop_watch(s->loop, o->udp, POLLIN, on_espota_udp, o);
                } else if (o->d->ota_fault == OTA_FAULT_MUTE)
                        r = 0; /* nothing listens */
                else {
                        r = o->lsn = open_socket(o, SOCK_STREAM, port);
                        if (r >= 0)
                                r = loop_watch(s->loop, o->lsn, POLLIN, on_web_accept, o);
                }
                if (r < 0) {
                        char a[INET_ADDRSTRLEN];
                        inet_ntop(AF_INET, &o->addr, a, sizeof(a));
                        log_error("--ota: cannot listen on %s:%u: %s", a, port, strerror(-r));
                        return r;
                }
        }
        return 0;
}

void sim_ota_device_changed(Sim *s, SimDevice *d) {
        if (!s->ota || s->o->ota != SIM_OTA_WEB || d->ota_fault == OTA_FAULT_MUTE)
                return;
        OtaDev *o = &s->ota->devs[d->index];
        if (!is_up(o) && o->lsn >= 0) {
                /* restarting: nothing listens, connections are refused */
                loop_unwatch(s->loop, o->lsn);
                close(o->lsn);
                o->lsn = -1;
        } else if (is_up(o) && o->lsn < 0) {
                o->lsn = open_socket(o, SOCK_STREAM, listen_port(s, d));
                if (o->lsn >= 0)
                        (void) loop_watch(s->loop, o->lsn, POLLIN, on_web_accept, o);
        }
}

void sim_ota_stop(Sim *s) {
        SimOta *ota = s->ota;

        if (!ota)
                return;
        for (uint32_t i = 0; i < ota->n; i++) {
                OtaDev *o = &ota->devs[i];
                reset(o);
                if (o->udp >= 0) {
                        loop_unwatch(s->loop, o->udp);
                        close(o->udp);
                }
                if (o->lsn >= 0) {
                        loop_unwatch(s->loop, o->lsn);
                        close(o->lsn);
                }
        }
        free(ota->devs);
        free(ota);
        s->ota = NULL;
}
