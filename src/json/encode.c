/* SPDX-License-Identifier: MIT */
/* cJSON encoders for products, releases, channels, devices and check-ins. */
#include "flota/json-encode.h"

#include <stdlib.h>
#include <string.h>

#include "flota/alloc.h"
#include "flota/json-scan.h"
#include "flota/json-writer.h"
#include "flota/strutil.h"

static cJSON *new_object(void) {
        cJSON *o = cJSON_CreateObject();
        if (!o)
                abort();
        return o;
}

void json_add_int(cJSON *o, const char *key, int64_t v) {
        char buf[24];

        /* as digits: a double, what cJSON keeps numbers as, is exact only below 2^53 */
        snprintf(buf, sizeof(buf), "%" PRId64, v);
        cJSON_AddRawToObject(o, key, buf);
}

void json_add_time(cJSON *o, const char *key, usec_t t) {
        char buf[RFC3339_MAX];

        if (t == 0)
                cJSON_AddNullToObject(o, key);
        else
                cJSON_AddStringToObject(o, key, format_rfc3339(buf, t));
}

void json_add_string_or_null(cJSON *o, const char *key, const char *s) {
        if (isempty(s))
                cJSON_AddNullToObject(o, key);
        else
                cJSON_AddStringToObject(o, key, s);
}

void json_add_id(cJSON *o, const char *key, int64_t id) {
        if (id <= 0)
                cJSON_AddNullToObject(o, key);
        else
                cJSON_AddNumberToObject(o, key, (double) id);
}

static void add_size(cJSON *o, const char *key, int64_t v) {
        if (v < 0)
                cJSON_AddNullToObject(o, key);
        else
                cJSON_AddNumberToObject(o, key, (double) v);
}

cJSON *product_to_json(const Product *p) {
        cJSON *o = new_object();

        cJSON_AddNumberToObject(o, "id", (double) p->id);
        cJSON_AddStringToObject(o, "name", p->name);
        cJSON_AddBoolToObject(o, "has_key", p->key_sha256[0] != 0);
        cJSON_AddBoolToObject(o, "requires_signature", p->signing_key != NULL);
        json_add_string_or_null(o, "platform", platform_to_string(p->platform));
        json_add_time(o, "created", p->created);
        return o;
}

cJSON *release_to_json(const Release *r) {
        cJSON *o = new_object();

        cJSON_AddNumberToObject(o, "id", (double) r->id);
        cJSON_AddStringToObject(o, "product", r->product);
        cJSON_AddStringToObject(o, "version", r->version);
        cJSON_AddStringToObject(o, "platform", platform_to_string(r->platform));
        cJSON_AddStringToObject(o, "kind", image_kind_to_string(r->kind));
        cJSON_AddNumberToObject(o, "size", (double) r->size);
        cJSON_AddStringToObject(o, "md5", r->md5);
        cJSON_AddStringToObject(o, "sha256", r->sha256);
        json_add_string_or_null(o, "chip", r->chip);
        cJSON_AddBoolToObject(o, "signed", r->is_signed);
        cJSON_AddBoolToObject(o, "compressed", r->compressed);
        add_size(o, "min_flash_size", r->min_flash_size ? (int64_t) r->min_flash_size : -1);
        json_add_string_or_null(o, "notes", r->notes);
        json_add_time(o, "created", r->created);
        return o;
}

cJSON *channel_info_to_json(const ChannelInfo *ch) {
        cJSON *o = new_object();

        cJSON_AddStringToObject(o, "product", ch->product);
        cJSON_AddStringToObject(o, "name", ch->name);
        cJSON_AddStringToObject(o, "kind", image_kind_to_string(ch->kind));
        cJSON_AddNumberToObject(o, "release", (double) ch->release);
        json_add_string_or_null(o, "version", ch->version);
        json_add_time(o, "updated", ch->updated);
        return o;
}

cJSON *channel_slot_to_json(const Catalog *c, const ChannelSlot *s) {
        const Release *r = catalog_release(c, s->release_id);
        ChannelInfo ch = { .kind = s->kind, .release = s->release_id, .updated = s->updated };

        /* one encoder for flotad's answer and flota's output of what it decoded */
        strscpy(ch.product, sizeof(ch.product), r ? r->product : "");
        strscpy(ch.name, sizeof(ch.name), s->name);
        strscpy(ch.version, sizeof(ch.version), r ? r->version : "");
        return channel_info_to_json(&ch);
}

cJSON *channel_change_to_json(const ChannelChange *c) {
        cJSON *o = new_object();

        cJSON_AddNumberToObject(o, "id", (double) c->id);
        cJSON_AddStringToObject(o, "product", c->product);
        cJSON_AddStringToObject(o, "name", c->name);
        cJSON_AddStringToObject(o, "kind", c->kind);
        cJSON_AddNumberToObject(o, "release", (double) c->release_id);
        json_add_id(o, "previous_release", c->previous_release_id);
        json_add_string_or_null(o, "actor", c->actor);
        json_add_time(o, "at", c->at);
        return o;
}

/* labels are stored joined by commas: written as an array of strings */
static void write_labels(JsonWriter *w, const char *joined) {
        const char *p = joined;

        json_write_open(w, '[');
        while (p && *p) {
                const char *e = strchr(p, ',');
                size_t n = e ? (size_t) (e - p) : strlen(p);
                _cleanup_free_ char *l = xstrndup(p, n);
                json_write_string(w, l);
                p = e ? e + 1 : NULL;
        }
        json_write_close(w, ']');
}

static void write_size(JsonWriter *w, const char *key, int64_t v) {
        json_write_key(w, key);
        if (v < 0)
                json_write_null(w);
        else
                json_write_int(w, v);
}

static void write_string_or_null(JsonWriter *w, const char *key, const char *s) {
        json_write_key(w, key);
        json_write_string_or_null(w, s);
}

static void write_id(JsonWriter *w, const char *key, int64_t id) {
        json_write_key(w, key);
        if (id <= 0)
                json_write_null(w);
        else
                json_write_int(w, id);
}

static void write_time(JsonWriter *w, const char *key, usec_t t) {
        json_write_key(w, key);
        json_write_time(w, t);
}

void device_write_json(JsonWriter *w, const Device *d) {
        json_write_open(w, '{');
        json_write_key(w, "id");
        json_write_string(w, d->id);
        write_string_or_null(w, "mac", d->mac);
        write_string_or_null(w, "ap_mac", d->ap_mac);
        write_string_or_null(w, "product", d->product);
        json_write_key(w, "channel");
        json_write_string(w, d->channel ? d->channel : DEFAULT_CHANNEL);
        write_id(w, "pin", d->pin_release_id);
        write_id(w, "assigned", d->assigned_release_id);
        json_write_key(w, "labels");
        write_labels(w, d->labels);
        write_string_or_null(w, "platform", d->platform);
        write_string_or_null(w, "version", d->version);
        write_string_or_null(w, "sketch_md5", d->sketch_md5);
        /*
         * Only for devices that polled in filesystem mode, so that flota's documented --json
         * schema (flota(1)) is unchanged for the others; sketch_updated is stored but not shown.
         */
        if (!isempty(d->fs_version) || !isempty(d->fs_md5) || d->fs_updated) {
                json_write_key(w, "filesystem");
                json_write_open(w, '{');
                write_string_or_null(w, "version", d->fs_version);
                write_string_or_null(w, "md5", d->fs_md5);
                write_time(w, "updated", d->fs_updated);
                json_write_close(w, '}');
        }
        write_size(w, "free_space", d->free_space);
        write_size(w, "chip_size", d->chip_size);
        write_string_or_null(w, "sdk", d->sdk);
        write_string_or_null(w, "ip", d->ip);
        write_time(w, "first_seen", d->first_seen);
        write_time(w, "last_seen", d->last_seen);
        json_write_key(w, "last_status");
        if (d->last_status)
                json_write_int(w, d->last_status);
        else
                json_write_null(w);
        write_string_or_null(w, "last_reason", d->last_reason);
        json_write_key(w, "polls");
        json_write_int(w, d->polls);
        json_write_close(w, '}');
}

cJSON *device_to_json(const Device *d) {
        _cleanup_(json_writer_done) JsonWriter w = {};

        /* one encoder for both forms, so the list and the detail never disagree */
        device_write_json(&w, d);
        cJSON *o = cJSON_ParseWithLength(w.buf, w.len);
        if (!o)
                abort();
        return o;
}

void device_print_json(FILE *out, const Device *d, unsigned depth) {
        _cleanup_(json_writer_done) JsonWriter w = {};

        device_write_json(&w, d);
        JsonScan s = json_scan_init(w.buf, w.len);
        /* our own compact text: the layout cannot fail */
        if (json_scan_value(&s, depth, out) < 0)
                abort();
}

cJSON *checkin_to_json(const Checkin *c) {
        cJSON *o = new_object();

        /* 0: a poll that changed nothing and got no row of its own (flotad's JSON-lines log) */
        if (c->id > 0)
                json_add_int(o, "id", c->id);
        else
                cJSON_AddNullToObject(o, "id");
        json_add_time(o, "at", c->at);
        cJSON_AddStringToObject(o, "device", c->device_id);
        json_add_string_or_null(o, "mac", c->mac);
        cJSON_AddStringToObject(o, "product", c->product);
        cJSON_AddStringToObject(o, "ip", c->ip);
        if (c->has_chip_id)
                cJSON_AddNumberToObject(o, "chip_id", c->chip_id);
        else
                cJSON_AddNullToObject(o, "chip_id");
        json_add_string_or_null(o, "platform", platform_to_string(c->platform));
        json_add_string_or_null(o, "version", c->version);
        json_add_string_or_null(o, "sketch_md5", c->sketch_md5);
        json_add_string_or_null(o, "sketch_sha256", c->sketch_sha256);
        add_size(o, "free_space", c->free_space);
        add_size(o, "sketch_size", c->sketch_size);
        add_size(o, "chip_size", c->chip_size);
        json_add_string_or_null(o, "sdk", c->sdk);
        json_add_string_or_null(o, "mode", update_mode_to_string(c->mode));
        json_add_string_or_null(o, "user_agent", c->user_agent);
        cJSON_AddNumberToObject(o, "status", c->status);
        json_add_string_or_null(o, "reason", reason_to_string(c->reason));
        json_add_id(o, "release", c->release_id);
        json_add_string_or_null(o, "source", target_source_to_string(c->source));
        return o;
}

char *json_print(const cJSON *j) {
        char *s = cJSON_PrintUnformatted(j);
        if (!s)
                abort();
        return s;
}
