/* SPDX-License-Identifier: MIT */
/* A loopback HTTP server with canned answers (see canned-http.h). */
#include "canned-http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "flota/alloc.h"

/* Reads the request head (bounded) and whatever body came with it in the same breath. */
static void read_request(int fd) {
        char buf[16384];
        size_t n = 0;

        while (n < sizeof(buf) - 1) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                if (poll(&p, 1, 2000) <= 0)
                        return;
                ssize_t k = read(fd, buf + n, sizeof(buf) - 1 - n);
                if (k <= 0)
                        return;
                n += (size_t) k;
                buf[n] = 0;
                if (strstr(buf, "\r\n\r\n"))
                        return;
        }
}

static void write_all_or_drop(int fd, const char *data, size_t len) {
        while (len > 0) {
                ssize_t k = write(fd, data, len);
                if (k <= 0)
                        return;
                data += k;
                len -= (size_t) k;
        }
}

static void answer(CannedHttp *h, int fd) {
        pthread_mutex_lock(&h->lock);
        _cleanup_free_ char *msg = xasprintf("HTTP/1.1 %d Canned\r\nContent-Type: application/json\r\n"
                                             "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                                             h->status, strlen(h->body), h->body);
        h->requests++;
        pthread_mutex_unlock(&h->lock);
        write_all_or_drop(fd, msg, strlen(msg));
}

static void *serve(void *userdata) {
        CannedHttp *h = userdata;

        for (;;) {
                struct pollfd p = { .fd = h->fd, .events = POLLIN };
                int r = poll(&p, 1, 100);
                pthread_mutex_lock(&h->lock);
                bool stop = h->stop;
                pthread_mutex_unlock(&h->lock);
                if (stop)
                        return NULL;
                if (r <= 0)
                        continue;
                int c = accept4(h->fd, NULL, NULL, SOCK_CLOEXEC);
                if (c < 0)
                        continue;
                read_request(c);
                answer(h, c);
                /* the client reads to the end: shut down writing first so it sees it */
                (void) shutdown(c, SHUT_WR);
                close(c);
        }
}

int canned_http_start(CannedHttp *h) {
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t len = sizeof(a);

        *h = (CannedHttp) { .status = 200, .body = xstrdup("{}") };
        pthread_mutex_init(&h->lock, NULL);
        h->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (h->fd < 0 || bind(h->fd, (struct sockaddr *) &a, sizeof(a)) < 0 || listen(h->fd, 16) < 0 ||
            getsockname(h->fd, (struct sockaddr *) &a, &len) < 0)
                return -errno;
        h->port = ntohs(a.sin_port);
        int r = pthread_create(&h->thread, NULL, serve, h);
        return r > 0 ? -r : 0;
}

void canned_http_answer(CannedHttp *h, int status, const char *body) {
        pthread_mutex_lock(&h->lock);
        free(h->body);
        h->body = xstrdup(body);
        h->status = status;
        pthread_mutex_unlock(&h->lock);
}

unsigned canned_http_requests(CannedHttp *h) {
        pthread_mutex_lock(&h->lock);
        unsigned n = h->requests;
        pthread_mutex_unlock(&h->lock);
        return n;
}

void canned_http_stop(CannedHttp *h) {
        pthread_mutex_lock(&h->lock);
        h->stop = true;
        pthread_mutex_unlock(&h->lock);
        (void) pthread_join(h->thread, NULL);
        close(h->fd);
        free(h->body);
        pthread_mutex_destroy(&h->lock);
}
