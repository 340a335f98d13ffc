/* SPDX-License-Identifier: MIT */
/* Layer: model. The update decision for one poll: serve the target release, or 304 and why. */
#pragma once

#include "flota/device-request.h"
#include "flota/firmware.h"

typedef enum Reason {
        REASON_UPDATE,  /* 200: the target image is sent */
        REASON_VERSION, /* 200: answer to a version query (x-version) */
        REASON_UP_TO_DATE,
        REASON_NO_RELEASE,
        REASON_TOO_LARGE,
        REASON_WRONG_PLATFORM,
        REASON_WRONG_MODE,
        REASON_WRONG_PRODUCT,
        REASON_FLASH_TOO_SMALL,
        REASON_UNKNOWN_PRODUCT, /* 404 */
        REASON_UNAUTHORIZED,    /* 401 */
        REASON_UPDATE_ABORTED,  /* 200 whose transfer broke off before the whole image was sent */
        _REASON_MAX,
        _REASON_INVALID = -EINVAL,
} Reason;

/* Where the target came from. */
typedef enum TargetSource {
        TARGET_PIN,
        TARGET_ASSIGNMENT,
        TARGET_CHANNEL,
        TARGET_NONE,
        _TARGET_SOURCE_MAX,
        _TARGET_SOURCE_INVALID = -EINVAL,
} TargetSource;

const char *reason_to_string(Reason r);
Reason reason_from_string(const char *s);
const char *target_source_to_string(TargetSource s);
TargetSource target_source_from_string(const char *s);

/* HTTP status for a reason: 200 for REASON_UPDATE/REASON_VERSION, 404, 401, else 304. */
int reason_http_status(Reason r);

/* True when the device already runs target (same version string, or same sketch MD5/SHA-256). */
bool device_runs_release(const DeviceRequest *req, const Release *target);

/*
 * Decides what to answer req when target (may be NULL) is what the device should run
 * and product_id the product it polled for. A device is never sent an image for another
 * platform, product or partition, one that does not fit its free space or its flash
 * chip, or the image it already runs.
 */
Reason decide(const DeviceRequest *req, int64_t product_id, const Release *target);
