/* SPDX-License-Identifier: MIT */
/*
 * Layer: json. The JSON form of flota's types, shared by flotad's API and flota's --json
 * output, so both speak one schema. Every function returns a new cJSON tree (never NULL).
 * Times are RFC 3339 UTC strings.
 */
#pragma once

#include <cjson/cJSON.h>
#include <stdio.h>

#include "flota/catalog.h"
#include "flota/channel.h"
#include "flota/checkin.h"
#include "flota/device.h"
#include "flota/json-writer.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(cJSON *, cJSON_Delete);

cJSON *product_to_json(const Product *p);
cJSON *release_to_json(const Release *r);
cJSON *channel_slot_to_json(const Catalog *c, const ChannelSlot *s);
cJSON *channel_info_to_json(const ChannelInfo *ch);
cJSON *channel_change_to_json(const ChannelChange *c);
cJSON *device_to_json(const Device *d);
/* The same device written compactly into w (the text cJSON_PrintUnformatted() gives for device_to_json()).
 */
void device_write_json(JsonWriter *w, const Device *d);
/*
 * The same device laid out as print_json() lays out device_to_json(), as if nested depth
 * levels deep (for lists streamed a page at a time, without a tree of the whole list).
 */
void device_print_json(FILE *out, const Device *d, unsigned depth);
cJSON *checkin_to_json(const Checkin *c);

/* Adds "key": RFC 3339 time, or null for 0. */
/* An integer member written exactly, whatever its size (cJSON's numbers are doubles). */
void json_add_int(cJSON *o, const char *key, int64_t v);
void json_add_time(cJSON *o, const char *key, usec_t t);
/* Adds "key": string, or null for NULL/"" when empty_is_null. */
void json_add_string_or_null(cJSON *o, const char *key, const char *s);
/* Adds "key": number, or null for values <= 0 (ids) / < 0 (sizes) as the caller chooses. */
void json_add_id(cJSON *o, const char *key, int64_t id);

/* Serialises compactly; aborts on out-of-memory. Caller frees. */
char *json_print(const cJSON *j);
