/* SPDX-License-Identifier: MIT */
/*
 * Layer: net. flotad's management API as typed calls: each returns model types decoded from
 * the server's answer and checked against the API's schema. An answer of the wrong shape is
 * an error (-EBADMSG), never an empty result. Every call is one or more blocking requests on
 * an ApiClient (see api-client.h); query parameters are URL-encoded here, never by callers.
 *
 * Errors: -errno with a one-line sentence in err: transport failures as api_client_request();
 * -ENOENT for 404, -EACCES for 401/403, -EEXIST for 409, -EINVAL for other 4xx (err carries
 * the server's message), -EIO for 5xx, -EBADMSG for an answer that does not match the schema.
 * ret_ arguments are only written on success.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "flota/api-client.h"
#include "flota/channel.h"
#include "flota/checkin.h"
#include "flota/device.h"
#include "flota/firmware.h"
#include "flota/json-decode.h"

#define CHANNEL_NAME_MAX 64
#define REASON_STR_MAX 32

/* A device as flotad records it (GET /devices, GET /devices/<id>). */
typedef struct ApiDevice {
        char id[DEVICE_ID_MAX + 1];
        char mac[MAC_STR_LEN + 1]; /* "" when flotad knows only a chip id */
        char product[PRODUCT_NAME_MAX + 1];
        char channel[CHANNEL_NAME_MAX + 1]; /* "": the default channel */
        int64_t pin;                        /* release id, 0: none */
        int64_t assigned;                   /* release id, 0: none */
        char *labels;                       /* owned; comma-separated, "" when none */
        Platform platform;                  /* _PLATFORM_INVALID when unknown */
        char version[DEVICE_VERSION_MAX + 1];
        char sketch_md5[MD5_HEX_LEN + 1];
        int64_t free_space; /* -1: unknown */
        int64_t chip_size;  /* -1: unknown */
        usec_t first_seen;
        usec_t last_seen;
        uint64_t polls; /* polls counted since first_seen; 0 when flotad does not say */
        int last_status;
        char last_reason[REASON_STR_MAX + 1];
} ApiDevice;

void api_device_done(ApiDevice *d);

typedef struct ApiDeviceQuery {
        const char *product; /* NULL: any */
        const char *version;
        const char *label;
        usec_t seen_since; /* 0: any */
        int64_t assigned;  /* > 0: only devices assigned this release */
        const char *after; /* paging: ids after this one; NULL: from the start */
        size_t limit;      /* 1..10000; 0: the server's default */
} ApiDeviceQuery;

typedef struct ApiDevicePage {
        ApiDevice *items;
        size_t n;
        char next[DEVICE_ID_MAX + 1]; /* "" on the last page */
} ApiDevicePage;

void api_device_page_done(ApiDevicePage *p);

typedef struct ApiCheckinPage {
        Checkin *items;
        size_t n;
        int64_t next; /* the cursor for the next page; equal to 'after' when none */
} ApiCheckinPage;

void api_checkin_page_done(ApiCheckinPage *p);

typedef struct ApiReleaseList {
        Release *items;
        size_t n;
} ApiReleaseList;

void api_release_list_done(ApiReleaseList *l);

/* A channel: which release it points at (GET /channels). */
typedef struct ApiChannel {
        char product[PRODUCT_NAME_MAX + 1];
        char name[CHANNEL_NAME_MAX + 1];
        ImageKind kind;
        int64_t release;
        char version[DEVICE_VERSION_MAX + 1];
        usec_t updated;
} ApiChannel;

typedef struct ApiChannelList {
        ApiChannel *items;
        size_t n;
} ApiChannelList;

void api_channel_list_done(ApiChannelList *l);

/* One page of devices matching q. */
int api_devices_page(ApiClient *c, const ApiDeviceQuery *q, ApiDevicePage *ret,
                     char err[static API_CLIENT_ERROR_MAX]);
/* One device; -ENOENT when flotad does not know it. */
int api_device_get(ApiClient *c, const char *id, ApiDevice *ret, char err[static API_CLIENT_ERROR_MAX]);

/* Check-ins with an id after 'after', oldest first, at most limit (0: the server's default). */
int api_checkins_page(ApiClient *c, int64_t after, size_t limit, ApiCheckinPage *ret,
                      char err[static API_CLIENT_ERROR_MAX]);

/*
 * Assigns release_id to every listed device (release_id 0: removes their assignments), in one
 * atomic request; callers split lists longer than API_ASSIGN_MAX.
 */
#define API_ASSIGN_MAX 100000
int api_assign(ApiClient *c, int64_t release_id, const char *const *ids, size_t n,
               char err[static API_CLIENT_ERROR_MAX]);

/*
 * One page of the ids of the devices assigned release_id, in id order, after 'after' (NULL:
 * from the start), at most limit (0: 10,000; at most 100,000). What rollouts reconcile against.
 */
int api_assignments_page(ApiClient *c, int64_t release_id, const char *after, size_t limit,
                         AssignmentPage *ret, char err[static API_CLIENT_ERROR_MAX]);

int api_release_get(ApiClient *c, int64_t id, Release *ret, char err[static API_CLIENT_ERROR_MAX]);
/* Releases, of one product when product is not NULL. */
int api_releases_list(ApiClient *c, const char *product, ApiReleaseList *ret,
                      char err[static API_CLIENT_ERROR_MAX]);
/*
 * The image file of rel (api_release_get()'s) into *ret (malloc'ed, *ret_size bytes): refused
 * (-EBADMSG) unless its size and MD5 are the release's.
 */
int api_release_image(ApiClient *c, const Release *rel, uint8_t **ret, size_t *ret_size,
                      char err[static API_CLIENT_ERROR_MAX]);

int api_channels_list(ApiClient *c, ApiChannelList *ret, char err[static API_CLIENT_ERROR_MAX]);
/* Points product's channel at release_id (a promotion). */
int api_channel_put(ApiClient *c, const char *product, const char *channel, int64_t release_id,
                    char err[static API_CLIENT_ERROR_MAX]);

/*
 * What the front ends need beyond the calls above; the same error contract. A ret argument
 * that "may be NULL" is the resource as flotad answered the write, when the caller wants it.
 */

/* One page of devices with every member flotad sends (ip and sdk too), as flota prints them. */
int api_device_records_page(ApiClient *c, const ApiDeviceQuery *q, DeviceRecordList *ret,
                            char err[static API_CLIENT_ERROR_MAX]);
/* One device with its recent check-ins (newest first); -ENOENT when flotad does not know it. */
int api_device_detail(ApiClient *c, const char *id, DeviceDetail *ret,
                      char err[static API_CLIENT_ERROR_MAX]);
/* Pins the device to release_id; release_id 0 removes the pin. ret may be NULL. */
int api_device_pin(ApiClient *c, const char *id, int64_t release_id, DeviceRecord *ret,
                   char err[static API_CLIENT_ERROR_MAX]);
/* Replaces the device's labels (n 0: none). ret may be NULL. */
int api_device_labels(ApiClient *c, const char *id, const char *const *labels, size_t n, DeviceRecord *ret,
                      char err[static API_CLIENT_ERROR_MAX]);
/* Puts the device on channel (NULL: back on the default channel). ret may be NULL. */
int api_device_channel(ApiClient *c, const char *id, const char *channel, DeviceRecord *ret,
                       char err[static API_CLIENT_ERROR_MAX]);

/* api_assign() that also gives flotad's count of the devices it changed (ret_devices may be NULL). */
int api_assign_count(ApiClient *c, int64_t release_id, const char *const *ids, size_t n,
                     uint64_t *ret_devices, char err[static API_CLIENT_ERROR_MAX]);

/* api_channel_put() that also gives the channel as it is afterwards (ret may be NULL). */
int api_channel_set(ApiClient *c, const char *product, const char *channel, int64_t release_id,
                    ApiChannel *ret, char err[static API_CLIENT_ERROR_MAX]);

/* An upload's metadata; NULL members are left to flotad (it reads the version from the image). */
typedef struct ApiReleaseUpload {
        const char *product; /* required */
        const char *version;
        const char *platform; /* "esp8266", "esp32" */
        const char *kind;     /* "sketch", "filesystem" */
        const char *notes;
} ApiReleaseUpload;

/*
 * Uploads size bytes read from fd as a new release; progress (may be NULL) is called as the
 * body goes out. -EEXIST when the product already has that version.
 */
int api_release_upload(ApiClient *c, const ApiReleaseUpload *u, int fd, uint64_t size,
                       void (*progress)(uint64_t sent, uint64_t total, void *userdata), void *userdata,
                       Release *ret, char err[static API_CLIENT_ERROR_MAX]);

int api_products_list(ApiClient *c, ProductInfoList *ret, char err[static API_CLIENT_ERROR_MAX]);

/*
 * Promotions, newest first: of one product and/or channel when not NULL, at most limit
 * (1..1000; 0: flotad's default of 100).
 */
int api_channel_history(ApiClient *c, const char *product, const char *channel, size_t limit,
                        ChannelChangeList *ret, char err[static API_CLIENT_ERROR_MAX]);

/* Creates a product; platform ("esp8266", "esp32") and key may be NULL. -EEXIST when it exists. */
int api_product_create(ApiClient *c, const char *name, const char *platform, const char *key,
                       char err[static API_CLIENT_ERROR_MAX]);

/* The token the client sends: its name and role (GET /api/v1/token). */
int api_token_info(ApiClient *c, TokenInfo *ret, char err[static API_CLIENT_ERROR_MAX]);

/* 0 when flotad answers GET /healthz with 200; -EIO (err says the status) or a transport error. */
int api_healthz(ApiClient *c, char err[static API_CLIENT_ERROR_MAX]);
