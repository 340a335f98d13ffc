/* SPDX-License-Identifier: MIT */
/* Owning device records and their borrowed views. */
#include "flota/device.h"

#include <stdlib.h>

void device_record_done(DeviceRecord *d) {
        free(d->labels);
        d->labels = NULL;
}

Device device_record_view(const DeviceRecord *d) {
        return (Device) {
                .id = d->id,
                .product = d->product,
                .mac = d->mac,
                .ap_mac = d->ap_mac,
                .channel = d->channel[0] ? d->channel : NULL,
                .pin_release_id = d->pin,
                .assigned_release_id = d->assigned,
                .labels = d->labels ? d->labels : "",
                .first_seen = d->first_seen,
                .last_seen = d->last_seen,
                .ip = d->ip,
                .platform = platform_to_string(d->platform),
                .version = d->version,
                .sketch_md5 = d->sketch_md5,
                .free_space = d->free_space,
                .chip_size = d->chip_size,
                .sdk = d->sdk,
                .last_status = d->last_status,
                .last_reason = d->last_reason,
                .polls = (int64_t) d->polls,
                .fs_version = d->fs_version,
                .fs_md5 = d->fs_md5,
                .fs_updated = d->fs_updated,
        };
}
