/* SPDX-License-Identifier: MIT */
/* Layer: model. A check-in: one recorded device poll, what it said and what it was answered. */
#pragma once

#include "flota/decision.h"
#include "flota/device-request.h"

#define IP_STR_MAX 46
#define PRODUCT_NAME_MAX 64

/* Fixed-size so the device endpoint can queue it without allocating per string. */
typedef struct Checkin {
        int64_t id; /* assigned by the store */
        usec_t at;
        char ip[IP_STR_MAX];
        char product[PRODUCT_NAME_MAX + 1];
        char device_id[DEVICE_ID_MAX + 1];
        char mac[MAC_STR_LEN + 1];
        char ap_mac[MAC_STR_LEN + 1]; /* "" when the poll did not say */
        bool has_chip_id;
        uint32_t chip_id;
        Platform platform; /* _PLATFORM_INVALID when the poll did not say */
        char version[DEVICE_VERSION_MAX + 1];
        char sketch_md5[MD5_HEX_LEN + 1];
        char sketch_sha256[SHA256_HEX_LEN + 1];
        int64_t free_space;
        int64_t sketch_size;
        int64_t chip_size;
        char sdk[48];
        UpdateMode mode;
        char user_agent[64];
        int status;
        Reason reason;
        int64_t release_id; /* the target considered; 0 for none */
        TargetSource source;
} Checkin;

/* Fills c from a parsed poll and the answer given. */
void checkin_fill(Checkin *c, const DeviceRequest *req, const char *product, const char *ip, usec_t at,
                  Reason reason, const Release *target, TargetSource source);
