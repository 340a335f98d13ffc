/* SPDX-License-Identifier: MIT */
/* The update decision. */
#include "flota/decision.h"

#include "flota/strutil.h"

static const char *const reason_names[_REASON_MAX] = {
        [REASON_UPDATE] = "update",
        [REASON_VERSION] = "version",
        [REASON_UP_TO_DATE] = "up-to-date",
        [REASON_NO_RELEASE] = "no-release",
        [REASON_TOO_LARGE] = "too-large",
        [REASON_WRONG_PLATFORM] = "wrong-platform",
        [REASON_WRONG_MODE] = "wrong-mode",
        [REASON_WRONG_PRODUCT] = "wrong-product",
        [REASON_FLASH_TOO_SMALL] = "flash-too-small",
        [REASON_UNKNOWN_PRODUCT] = "unknown-product",
        [REASON_UNAUTHORIZED] = "unauthorized",
        [REASON_UPDATE_ABORTED] = "update-aborted",
};

static const char *const source_names[_TARGET_SOURCE_MAX] = {
        [TARGET_PIN] = "pin",
        [TARGET_ASSIGNMENT] = "assignment",
        [TARGET_CHANNEL] = "channel",
        [TARGET_NONE] = "none",
};

const char *reason_to_string(Reason r) {
        return r >= 0 && r < _REASON_MAX ? reason_names[r] : NULL;
}

Reason reason_from_string(const char *s) {
        for (int i = 0; s && i < _REASON_MAX; i++)
                if (streq(s, reason_names[i]))
                        return (Reason) i;
        return _REASON_INVALID;
}

const char *target_source_to_string(TargetSource s) {
        return s >= 0 && s < _TARGET_SOURCE_MAX ? source_names[s] : NULL;
}

TargetSource target_source_from_string(const char *s) {
        for (int i = 0; s && i < _TARGET_SOURCE_MAX; i++)
                if (streq(s, source_names[i]))
                        return (TargetSource) i;
        return _TARGET_SOURCE_INVALID;
}

int reason_http_status(Reason r) {
        switch (r) {
        case REASON_UPDATE:
        case REASON_UPDATE_ABORTED:
        case REASON_VERSION: return 200;
        case REASON_UNKNOWN_PRODUCT: return 404;
        case REASON_UNAUTHORIZED: return 401;
        default: return 304;
        }
}

bool device_runs_release(const DeviceRequest *req, const Release *target) {
        if (req->version[0] && streq(req->version, target->version))
                return true;
        if (req->sketch_md5[0] && (streq(req->sketch_md5, target->md5) ||
                                   (target->payload_md5[0] && streq(req->sketch_md5, target->payload_md5))))
                return true;
        return req->sketch_sha256[0] && streq(req->sketch_sha256, target->sha256);
}

Reason decide(const DeviceRequest *req, int64_t product_id, const Release *target) {
        if (!target)
                return REASON_NO_RELEASE;
        if (target->product_id != product_id)
                return REASON_WRONG_PRODUCT;
        if (target->kind != update_mode_image_kind(req->mode))
                return REASON_WRONG_MODE;
        if (req->platform >= 0 && target->platform != req->platform)
                return REASON_WRONG_PLATFORM;
        if (req->mode == UPDATE_MODE_VERSION)
                return REASON_VERSION;
        if (device_runs_release(req, target))
                return REASON_UP_TO_DATE;
        if (target->min_flash_size > 0 && req->chip_size > 0 &&
            target->min_flash_size > (uint64_t) req->chip_size)
                return REASON_FLASH_TOO_SMALL;
        if (target->kind == IMAGE_KIND_SKETCH && req->free_space >= 0 &&
            target->size > (uint64_t) req->free_space)
                return REASON_TOO_LARGE;
        return REASON_UPDATE;
}
