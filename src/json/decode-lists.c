/* SPDX-License-Identifier: MIT */
/* The destructors of the lists and records the decoders hand out. */
#include <stdlib.h>

#include "flota/json-decode.h"

void device_record_list_done(DeviceRecordList *l) {
        for (size_t i = 0; l && i < l->n; i++)
                device_record_done(&l->items[i]);
        if (l) {
                free(l->items);
                *l = (DeviceRecordList) {};
        }
}

void device_detail_done(DeviceDetail *d) {
        if (!d)
                return;
        device_record_done(&d->device);
        free(d->checkins);
        *d = (DeviceDetail) {};
}

void assignment_page_done(AssignmentPage *p) {
        if (!p)
                return;
        free(p->items);
        *p = (AssignmentPage) {};
}

void checkin_list_done(CheckinList *l) {
        if (!l)
                return;
        free(l->items);
        *l = (CheckinList) {};
}

void release_list_done(ReleaseList *l) {
        for (size_t i = 0; l && i < l->n; i++)
                release_done(&l->items[i]);
        if (l) {
                free(l->items);
                *l = (ReleaseList) {};
        }
}

void channel_info_list_done(ChannelInfoList *l) {
        if (!l)
                return;
        free(l->items);
        *l = (ChannelInfoList) {};
}

void product_info_list_done(ProductInfoList *l) {
        if (!l)
                return;
        free(l->items);
        *l = (ProductInfoList) {};
}

void channel_change_list_done(ChannelChangeList *l) {
        if (!l)
                return;
        free(l->items);
        *l = (ChannelChangeList) {};
}
