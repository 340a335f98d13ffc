/* SPDX-License-Identifier: MIT */
/*
 * Test fixture: a misbehaving "flotad" on 127.0.0.1 that answers every request with one canned
 * status and body, from a thread of the test process. For checking that clients refuse what a
 * real flotad never sends (foreign JSON, wrong shapes, repeated cursors).
 */
#pragma once

#include <pthread.h>
#include <stdbool.h>

typedef struct CannedHttp {
        int fd; /* the listening socket */
        int port;
        pthread_t thread;
        pthread_mutex_t lock;
        int status;
        char *body;        /* owned; what every request gets */
        unsigned requests; /* answered so far */
        bool stop;
} CannedHttp;

/* Listens on 127.0.0.1:0 and answers from a thread. 0 or -errno. */
int canned_http_start(CannedHttp *h);
/* From now on, every request is answered with status and a copy of body (as application/json). */
void canned_http_answer(CannedHttp *h, int status, const char *body);
unsigned canned_http_requests(CannedHttp *h);
void canned_http_stop(CannedHttp *h);
