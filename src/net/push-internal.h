/* SPDX-License-Identifier: MIT */
/* Private to src/net's push transports: the Push object shared by espota.c and web-push.c. */
#pragma once

#include <curl/curl.h>

#include "flota/push.h"

#define ESPOTA_TAIL_MAX 256

struct Push {
        Pusher *pr;
        Push *prev, *next;
        PushRequest req; /* its strings are owned copies */
        PushDoneFn done;
        PushProgressFn progress;
        void *userdata;
        PushResult result;
        usec_t started;
        LoopTimerHandle deadline_timer;
        LoopTimerHandle phase_timer;
        bool finished;
        const char *phase_what; /* static text: what the phase timer waits for */
        usec_t phase_len;

        /* espota */
        int udp, listener, tcp;
        int state;
        unsigned tries;
        usec_t backoff;
        char md5[33];
        uint16_t listen_port;
        size_t off;       /* image bytes written to the TCP connection */
        size_t chunk_end; /* the chunk being written ends here */
        bool awaiting_ack;
        char tail[ESPOTA_TAIL_MAX]; /* the last bytes the device sent over TCP */
        size_t tail_len;

        /* web */
        CURL *easy;
        curl_mime *mime;
        struct curl_slist *headers;
        char *body;
        size_t body_len;
        size_t mime_off;
        char errbuf[CURL_ERROR_SIZE];
};

struct Pusher {
        Loop *loop;
        CURLM *multi;
        LoopTimerHandle curl_timer;
        Push *pushes;
        size_t n;
};

Loop *push_loop(Push *p);
/* Ends p with outcome and a message (printf); runs the done callback and frees p. */
void push_finish(Push *p, PushOutcome outcome, const char *fmt, ...) _printf_(3, 4);
/* (Re)arms the phase timer: on expiry the push ends in PUSH_TIMEOUT with what. */
void push_phase(Push *p, usec_t timeout, const char *what);
void push_report_progress(Push *p, uint64_t sent);

/*
 * A transport's part of a push. push.c reaches the transports through these tables only, so
 * that they call push.c's helpers above and push.c names none of their functions.
 */
typedef struct PushTransportOps {
        int (*begin)(Push *p);
        void (*cleanup)(Push *p); /* idempotent: its sockets and handles go */
        /* the multi handle: after curl finished an easy handle of p (NULL: the transport uses no curl) */
        void (*curl_done)(Push *p, CURLcode code);
} PushTransportOps;

extern const PushTransportOps espota_transport;
extern const PushTransportOps web_push_transport;
