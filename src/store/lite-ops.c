/* SPDX-License-Identifier: MIT */
/*
 * The SQLite backend's table of operations, on its own so that the files it names (db.c,
 * checkins.c, devices.c, releases.c, tokens.c) depend on db.c's helpers and not on each other.
 */
#include <errno.h>
#include <stdint.h>

#include "store-internal.h"
#include "store-ops.h"

static int lite_catalog_version(Store *s, int64_t *ret) {
        /* one flotad per SQLite file: its catalog changes only through its own API */
        *ret = 0;
        return 0;
}

static int lite_catalog_wait(Store *s, unsigned timeout_ms) {
        return -EOPNOTSUPP;
}

const StoreOps store_lite_ops = {
        .name = "sqlite",
        .free = lite_free,
        .last_error = lite_last_error,
        .schema_version = lite_schema_version,
        .begin = lite_begin,
        .commit = lite_commit,
        .rollback = lite_rollback,
        .quick_check = lite_quick_check,
        .tune_for_checkins = lite_tune_for_checkins,
        .set_busy_timeout = lite_set_busy_timeout,
        .catalog_load = lite_catalog_load,
        .catalog_version = lite_catalog_version,
        .catalog_wait = lite_catalog_wait,
        .product_create = lite_product_create,
        .product_set_signing_key = lite_product_set_signing_key,
        .release_insert = lite_release_insert,
        .release_delete = lite_release_delete,
        .blob_in_use = lite_blob_in_use,
        .channel_set = lite_channel_set,
        .channel_history = lite_channel_history,
        .devices_list = lite_devices_list,
        .device_get = lite_device_get,
        .device_checkins = lite_device_checkins,
        .device_set_pin = lite_device_set_pin,
        .device_set_channel = lite_device_set_channel,
        .device_set_labels = lite_device_set_labels,
        .assign = lite_assign,
        .checkins_write = lite_checkins_write,
        .journal_mark = lite_journal_mark,
        .checkins_after = lite_checkins_after,
        .checkins_count = lite_checkins_count,
        .checkins_prune = lite_checkins_prune,
        .token_create = lite_token_create,
        .token_delete = lite_token_delete,
        .tokens_list = lite_tokens_list,
};
