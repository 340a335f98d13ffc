/* SPDX-License-Identifier: MIT */
/*
 * Layer: net. Pushing an image to a device that does not poll: ArduinoOTA's espota protocol
 * (PROTOCOLS.md section 3) and the device's web updater (section 4), both driven by a Loop and
 * never blocking it. Every push ends, within its deadline, in one named outcome, with the
 * device's own words when it said any.
 */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "flota/loop.h"
#include "flota/macro.h"
#include "flota/time-util.h"

typedef enum PushTransport {
        PUSH_TRANSPORT_ESPOTA,
        PUSH_TRANSPORT_WEB,
        _PUSH_TRANSPORT_MAX,
        _PUSH_TRANSPORT_INVALID = -EINVAL,
} PushTransport;

const char *push_transport_to_string(PushTransport t);
PushTransport push_transport_from_string(const char *s);

typedef enum PushOutcome {
        PUSH_OK,            /* the device took the image and said so */
        PUSH_AUTH_FAILED,   /* wrong or missing password */
        PUSH_REFUSED,       /* the device answered, but would not take it (ERR..., 404) */
        PUSH_NO_ANSWER,     /* nothing answered the invitation / the connection */
        PUSH_UPLOAD_FAILED, /* the transfer started and failed (MD5, magic byte, dropped link) */
        PUSH_TIMEOUT,       /* a phase or the whole push took longer than allowed */
        _PUSH_OUTCOME_MAX,
        _PUSH_OUTCOME_INVALID = -EINVAL,
} PushOutcome;

const char *push_outcome_to_string(PushOutcome o);
PushOutcome push_outcome_from_string(const char *s);

/* ArduinoOTA's commands (Updater.h U_FLASH, U_FS, U_AUTH). */
#define ESPOTA_CMD_FLASH 0
#define ESPOTA_CMD_FS 100
#define ESPOTA_CMD_AUTH 200

#define PUSH_MESSAGE_MAX 240
#define PUSH_DEFAULT_PORT_ESP8266 8266
#define PUSH_DEFAULT_PORT_ESP32 3232
#define PUSH_DEFAULT_WEB_PATH "/update"

typedef struct PushRequest {
        PushTransport transport;
        const char *host; /* numeric IPv4/IPv6 address (resolve before) */
        uint16_t port;
        const uint8_t *image; /* borrowed until the done callback ran */
        size_t size;
        const char *md5;      /* the image's MD5 (32 lowercase hex), NULL: computed per push */
        bool filesystem;      /* command 100 / form field "filesystem" */
        const char *password; /* NULL or "": none */
        const char *user;     /* web: Basic user (NULL: "admin") */
        const char *path;     /* web: update path (NULL: "/update") */
        usec_t phase_timeout; /* each reply, the accept, each chunk (0: 10 s) */
        usec_t final_timeout; /* the device's verdict after the last byte (0: 60 s) */
        usec_t deadline;      /* the whole push (0: 5 min) */
        unsigned invitations; /* invitations sent at most, with back-off (0: 5) */
} PushRequest;

typedef struct PushResult {
        PushOutcome outcome;
        char message[PUSH_MESSAGE_MAX + 1]; /* the device's words or ours; outside text: escape to print */
        uint64_t sent;                      /* image bytes sent */
        usec_t elapsed;
        bool sha256_auth; /* espota: the device asked for the ESP32 3.3.1+ authentication */
        int http_status;  /* web: the answer's status, 0 when none */
} PushResult;

typedef struct Push Push;
typedef struct Pusher Pusher;

typedef void (*PushDoneFn)(Push *p, const PushResult *r, void *userdata);
typedef void (*PushProgressFn)(Push *p, uint64_t sent, uint64_t total, void *userdata);

/* One per Loop: owns the libcurl multi handle of web pushes. */
Pusher *pusher_new(Loop *l);
/* Cancels pushes still running (their callbacks do not run). */
Pusher *pusher_free(Pusher *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(Pusher *, pusher_free);

/*
 * Starts a push. done runs exactly once, from the loop (never from inside this call), after
 * which the Push is gone. progress (may be NULL) runs as bytes go out. 0, or -errno (a bad
 * request: -EINVAL; no socket: the errno) and nothing was started.
 */
int push_start(Pusher *pr, const PushRequest *req, PushDoneFn done, PushProgressFn progress, void *userdata,
               Push **ret);
/* Pushes running. */
size_t pusher_active(const Pusher *pr);

/*
 * The espota authentication (PROTOCOLS.md 3.2 step 4): the response to a device's "AUTH nonce".
 * A 32-hex nonce gets the MD5 scheme, md5(md5(password):nonce:cnonce); a 64-hex nonce the ESP32
 * core 3.3.1+ scheme (section 3.3): SHA-256 throughout, the key derived with PBKDF2-HMAC-SHA256
 * (10000 rounds) from sha256(password) salted with "nonce:cnonce". ret_cnonce and ret_response
 * are as long as the nonce. -EINVAL for a nonce that is neither.
 */
int espota_auth_response(const char *password, const char *nonce, const char *cnonce, char *ret_response,
                         size_t response_size);
/* The invitation datagram "<cmd> <port> <size> <md5>\n". */
int espota_invitation(int cmd, uint16_t port, uint64_t size, const char md5[static 33], char *buf, size_t n);

/*
 * Classifies the answer of a web updater to a POST (the stock ESP8266/ESP32 HTTPUpdateServer, the
 * ESP32 WebServer + Update example, ElegantOTA-style pages): the stock pages say 200 even when the
 * update failed, so the body decides. Writes the device's words (trimmed, tags removed) to msg.
 */
PushOutcome web_push_classify(long status, const char *body, size_t n,
                              char msg[static PUSH_MESSAGE_MAX + 1]);
