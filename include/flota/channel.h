/* SPDX-License-Identifier: MIT */
/*
 * Layer: model. A product's channel as flotad shows it (which release it serves) and one
 * change in a channel's history.
 */
#pragma once

#include <stdint.h>

#include "flota/checkin.h"
#include "flota/device.h"
#include "flota/firmware.h"

/* A channel and the release it points at; the same fields as api.h's ApiChannel. */
typedef struct ChannelInfo {
        char product[PRODUCT_NAME_MAX + 1]; /* "" when the release is gone */
        char name[CHANNEL_NAME_MAX + 1];
        ImageKind kind;
        int64_t release;
        char version[DEVICE_VERSION_MAX + 1]; /* "" when the release is gone */
        usec_t updated;
} ChannelInfo;

/* One promotion; strings are borrowed from whoever hands it out. */
typedef struct ChannelChange {
        int64_t id;
        const char *product;
        const char *name;
        const char *kind;
        int64_t release_id;
        int64_t previous_release_id;
        const char *actor;
        usec_t at;
} ChannelChange;
