/* SPDX-License-Identifier: MIT */
/*
 * A device's labels, in flotad's database and in flota's inventory alike: the one writer.
 * Labels name a device whether or not it has been seen, so setting them creates the device's
 * row (as a pin, a channel or an assignment does on flotad): the device is listed with its
 * labels from then on, in both databases, instead of labels waiting on a row that may never come.
 */
#include "store-internal.h"

int store_labels_replace(Store *s, const char *ensure_device, const char *id, char *const *labels,
                         size_t n) {
        _cleanup_stmt_ sqlite3_stmt *ensure = NULL, *del = NULL, *ins = NULL;
        int r = store_prepare(s, ensure_device, &ensure);

        if (r == 0)
                r = store_prepare(s, "DELETE FROM device_labels WHERE device_id = ?", &del);
        if (r == 0)
                r = store_prepare(s, "INSERT OR IGNORE INTO device_labels (device_id, label) VALUES (?, ?)",
                                  &ins);
        if (r < 0)
                return r;
        r = lite_begin(s);
        if (r < 0)
                return r;
        store_bind_text(ensure, 1, id);
        r = store_step_done(ensure);
        store_bind_text(del, 1, id);
        if (r == 0)
                r = store_step_done(del);
        for (size_t i = 0; r == 0 && i < n; i++) {
                sqlite3_reset(ins);
                store_bind_text(ins, 1, id);
                store_bind_text(ins, 2, labels[i]);
                r = store_step_done(ins);
        }
        return lite_end(s, r);
}
