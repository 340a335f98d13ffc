/* SPDX-License-Identifier: MIT */
/* Building check-in records from polls. */
#include "flota/checkin.h"

#include "flota/strutil.h"

void checkin_fill(Checkin *c, const DeviceRequest *req, const char *product, const char *ip, usec_t at,
                  Reason reason, const Release *target, TargetSource source) {
        *c = (Checkin) {
                .at = at,
                .has_chip_id = req->has_chip_id,
                .chip_id = req->chip_id,
                .platform = req->platform,
                .free_space = req->free_space,
                .sketch_size = req->sketch_size,
                .chip_size = req->chip_size,
                .mode = req->mode,
                .status = reason_http_status(reason),
                .reason = reason,
                .release_id = target ? target->id : 0,
                .source = source,
        };
        strscpy(c->ip, sizeof(c->ip), ip);
        strscpy(c->product, sizeof(c->product), product);
        strscpy(c->device_id, sizeof(c->device_id), req->device_id);
        strscpy(c->mac, sizeof(c->mac), req->sta_mac[0] ? req->sta_mac : req->base_mac);
        strscpy(c->ap_mac, sizeof(c->ap_mac), req->ap_mac);
        strscpy(c->version, sizeof(c->version), req->version);
        strscpy(c->sketch_md5, sizeof(c->sketch_md5), req->sketch_md5);
        strscpy(c->sketch_sha256, sizeof(c->sketch_sha256), req->sketch_sha256);
        strscpy(c->sdk, sizeof(c->sdk), req->sdk);
        strscpy(c->user_agent, sizeof(c->user_agent), req->user_agent);
}
