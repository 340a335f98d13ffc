/* SPDX-License-Identifier: MIT */
/*
 * Layer: json. flotad's answers read back into flota's types: the inverse of json-encode.h,
 * field for field. Decoding is strict: text that is not one JSON value, a top-level value of
 * the wrong shape, a required member that is missing or of the wrong type, a word that names
 * no known value and a string longer than its field are all -EBADMSG, with a short sentence
 * naming the member in err. Members the encoders do not write are ignored (a newer flotad may
 * add some). ret_ arguments are written only on success; what they own is freed with the
 * matching _done().
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "flota/channel.h"
#include "flota/checkin.h"
#include "flota/device.h"
#include "flota/firmware.h"

#define JSON_DECODE_ERROR_MAX 192
/* Bounds for the release texts that have no fixed field. */
#define RELEASE_CHIP_MAX 32
#define RELEASE_NOTES_MAX 4096
/* Labels of one device: at most this many, each 1-64 bytes. */
#define DEVICE_LABELS_MAX 64
/* Who promoted: a token's name. */
#define CHANNEL_ACTOR_MAX 64

/* {"devices": [device...], "next": ID|null}: one page of GET /api/v1/devices. */
typedef struct DeviceRecordList {
        DeviceRecord *items;
        size_t n;
        char next[DEVICE_ID_MAX + 1]; /* "" on the last page */
} DeviceRecordList;

void device_record_list_done(DeviceRecordList *l);

/* A device object with its "checkins" array: GET /api/v1/devices/ID. */
typedef struct DeviceDetail {
        DeviceRecord device;
        Checkin *checkins; /* newest first, as flotad sends them */
        size_t n_checkins;
} DeviceDetail;

void device_detail_done(DeviceDetail *d);

/* {"checkins": [checkin...], "next": N}: GET /api/v1/checkins. */
typedef struct CheckinList {
        Checkin *items;
        size_t n;
        int64_t next;
} CheckinList;

void checkin_list_done(CheckinList *l);

typedef struct ReleaseList {
        Release *items;
        size_t n;
} ReleaseList;

void release_list_done(ReleaseList *l);

typedef struct ChannelInfoList {
        ChannelInfo *items;
        size_t n;
} ChannelInfoList;

void channel_info_list_done(ChannelInfoList *l);

/* A product as flotad shows it: its device key is never sent, only whether it has one. */
typedef struct ProductInfo {
        int64_t id;
        char name[PRODUCT_NAME_MAX + 1];
        bool has_key;
        Platform platform; /* _PLATFORM_INVALID: not declared */
        usec_t created;
} ProductInfo;

typedef struct ProductInfoList {
        ProductInfo *items;
        size_t n;
} ProductInfoList;

void product_info_list_done(ProductInfoList *l);

/* One promotion in a channel's history (GET /api/v1/channels/history), with its own copies. */
typedef struct ChannelChangeRecord {
        int64_t id;
        char product[PRODUCT_NAME_MAX + 1];
        char name[CHANNEL_NAME_MAX + 1];
        ImageKind kind;
        int64_t release;
        int64_t previous_release;          /* 0: none */
        char actor[CHANNEL_ACTOR_MAX + 1]; /* "" when not recorded */
        usec_t at;
} ChannelChangeRecord;

typedef struct ChannelChangeList {
        ChannelChangeRecord *items; /* newest first */
        size_t n;
} ChannelChangeList;

void channel_change_list_done(ChannelChangeList *l);

/* A borrowed view of r for channel_change_to_json(); valid while r is unchanged. */
ChannelChange channel_change_record_view(const ChannelChangeRecord *r);

/* {"release": ID|null, "devices": N}: the answer to an assignment. */
typedef struct AssignResult {
        int64_t release; /* 0: assignments were removed */
        uint64_t devices;
} AssignResult;

/* {"name": "...", "role": "admin"|"read"}: the token a request came with (GET /token). */
typedef struct TokenInfo {
        char name[65];
        bool admin; /* role admin; false: read */
} TokenInfo;

/*
 * An error body {"error": {"code": "...", "message": "..."}}: 0 with the message copied into
 * msg (cut to size), or -EBADMSG when text is not one.
 */
int json_decode_error_body(const char *text, size_t len, char *msg, size_t size);

int json_decode_device(const char *text, size_t len, DeviceRecord *ret,
                       char err[static JSON_DECODE_ERROR_MAX]);
int json_decode_device_detail(const char *text, size_t len, DeviceDetail *ret,
                              char err[static JSON_DECODE_ERROR_MAX]);
int json_decode_device_list(const char *text, size_t len, DeviceRecordList *ret,
                            char err[static JSON_DECODE_ERROR_MAX]);
int json_decode_checkin(const char *text, size_t len, Checkin *ret, char err[static JSON_DECODE_ERROR_MAX]);
int json_decode_checkin_list(const char *text, size_t len, CheckinList *ret,
                             char err[static JSON_DECODE_ERROR_MAX]);
int json_decode_release(const char *text, size_t len, Release *ret, char err[static JSON_DECODE_ERROR_MAX]);
int json_decode_release_list(const char *text, size_t len, ReleaseList *ret,
                             char err[static JSON_DECODE_ERROR_MAX]);
int json_decode_channel(const char *text, size_t len, ChannelInfo *ret,
                        char err[static JSON_DECODE_ERROR_MAX]);
int json_decode_channel_list(const char *text, size_t len, ChannelInfoList *ret,
                             char err[static JSON_DECODE_ERROR_MAX]);
int json_decode_product(const char *text, size_t len, ProductInfo *ret,
                        char err[static JSON_DECODE_ERROR_MAX]);
int json_decode_product_list(const char *text, size_t len, ProductInfoList *ret,
                             char err[static JSON_DECODE_ERROR_MAX]);
/* One device of GET /api/v1/assignments. */
typedef struct AssignedDevice {
        char id[DEVICE_ID_MAX + 1];
        uint64_t polls; /* polls since first_seen */
        usec_t first_seen;
        usec_t last_seen;
} AssignedDevice;

/* {"release": N, "devices": [{"id", "polls", "first_seen", "last_seen"}...], "next": id|null}. */
typedef struct AssignmentPage {
        int64_t release;
        AssignedDevice *items;
        size_t n;
        char next[DEVICE_ID_MAX + 1]; /* "" on the last page */
} AssignmentPage;

void assignment_page_done(AssignmentPage *p);
int json_decode_assignment_page(const char *text, size_t len, AssignmentPage *ret,
                                char err[static JSON_DECODE_ERROR_MAX]);

/* {"history": [change...]} */
int json_decode_channel_history(const char *text, size_t len, ChannelChangeList *ret,
                                char err[static JSON_DECODE_ERROR_MAX]);
int json_decode_assign_result(const char *text, size_t len, AssignResult *ret,
                              char err[static JSON_DECODE_ERROR_MAX]);
int json_decode_token_info(const char *text, size_t len, TokenInfo *ret,
                           char err[static JSON_DECODE_ERROR_MAX]);
