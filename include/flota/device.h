/* SPDX-License-Identifier: MIT */
/*
 * Layer: model. A device as flotad records it: a borrowed view (Device, what the store hands
 * its callbacks and the JSON encoder writes) and an owning record (DeviceRecord, what a client
 * decodes from flotad's answers).
 */
#pragma once

#include <stdint.h>

#include "flota/checkin.h"
#include "flota/device-request.h"
#include "flota/firmware.h"

/* The same values as in api.h: a channel's name and a check-in reason's word. */
#define CHANNEL_NAME_MAX 64
#define REASON_STR_MAX 32
#define DEVICE_SDK_MAX 47

/* A device row; strings are borrowed for the duration of the callback. */
typedef struct Device {
        const char *id;
        const char *product;
        const char *mac;
        const char *channel; /* NULL: default */
        int64_t pin_release_id;
        int64_t assigned_release_id;
        const char *labels; /* comma-separated, "" when none */
        usec_t first_seen;
        usec_t last_seen;
        const char *ip;
        const char *platform;
        const char *version; /* the sketch's, as its last sketch-mode poll said */
        const char *sketch_md5;
        const char *ap_mac;     /* "" when unknown */
        const char *fs_version; /* the filesystem image's, as its last filesystem-mode poll said */
        const char *fs_md5;     /* MD5 of the filesystem image last sent in full; "" when none */
        usec_t sketch_updated;  /* when a sketch image was last sent in full; 0: never */
        usec_t fs_updated;      /* when a filesystem image was last sent in full; 0: never */
        int64_t free_space;
        int64_t chip_size;
        const char *sdk;
        int last_status;
        const char *last_reason;
        int64_t last_checkin_id;
        int64_t polls; /* authorised polls since first_seen */
} Device;

/* A device with its own copies of every field: "" for an absent text, -1 for an unknown size. */
typedef struct DeviceRecord {
        char id[DEVICE_ID_MAX + 1];
        char mac[MAC_STR_LEN + 1];
        char ap_mac[MAC_STR_LEN + 1]; /* the soft-AP MAC its polls send; "" when unknown */
        char product[PRODUCT_NAME_MAX + 1];
        char channel[CHANNEL_NAME_MAX + 1];
        int64_t pin;       /* release id, 0: none */
        int64_t assigned;  /* release id, 0: none */
        char *labels;      /* owned; comma-separated, "" when none */
        Platform platform; /* _PLATFORM_INVALID when unknown */
        char version[DEVICE_VERSION_MAX + 1];
        char sketch_md5[MD5_HEX_LEN + 1];
        int64_t free_space;
        int64_t chip_size;
        char sdk[DEVICE_SDK_MAX + 1];
        char ip[IP_STR_MAX];
        usec_t first_seen;
        usec_t last_seen;
        uint64_t polls; /* 0 when not known */
        int last_status;
        char last_reason[REASON_STR_MAX + 1];
        /* the "filesystem" object, for devices that polled in filesystem mode; "" and 0 otherwise */
        char fs_version[DEVICE_VERSION_MAX + 1];
        char fs_md5[MD5_HEX_LEN + 1];
        usec_t fs_updated;
} DeviceRecord;

void device_record_done(DeviceRecord *d);

/* A borrowed view of d for the encoders; valid while d is unchanged. */
Device device_record_view(const DeviceRecord *d);
