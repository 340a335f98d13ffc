/* SPDX-License-Identifier: MIT */
/* flota/store.h's functions: choose a backend by the database's address, then dispatch to it. */
#include <errno.h>

#include "flota/strutil.h"
#include "store-ops.h"

bool store_url_is_postgresql(const char *url) {
        return url && (startswith(url, "postgresql://") || startswith(url, "postgres://"));
}

int store_open_url(const char *url, Store **ret) {
        if (store_url_is_postgresql(url)) {
                int r = store_pg_open(url, ret);
                if (r == 0)
                        (*ret)->checkin_heartbeat = STORE_CHECKIN_HEARTBEAT_DEFAULT;
                return r;
        }
        if (startswith(url, "sqlite:"))
                url += strlen("sqlite:");
        return store_open(url, ret);
}

const char *store_backend_name(Store *s) {
        return s->ops->name;
}

Store *store_free(Store *s) {
        if (s)
                s->ops->free(s);
        return NULL;
}

void store_set_checkin_heartbeat(Store *s, usec_t heartbeat) {
        s->checkin_heartbeat = heartbeat;
}

int store_end(Store *s, int r) {
        if (r >= 0)
                r = store_commit(s);
        if (r < 0)
                store_rollback(s);
        return r;
}

const char *store_last_error(Store *s) {
        return s->ops->last_error(s);
}

int store_schema_version(Store *s) {
        return s->ops->schema_version(s);
}

int store_begin(Store *s) {
        return s->ops->begin(s);
}

int store_commit(Store *s) {
        return s->ops->commit(s);
}

void store_rollback(Store *s) {
        s->ops->rollback(s);
}

int store_quick_check(Store *s, char **ret_problem) {
        return s->ops->quick_check(s, ret_problem);
}

int store_tune_for_checkins(Store *s) {
        return s->ops->tune_for_checkins(s);
}

void store_set_busy_timeout(Store *s, unsigned ms) {
        s->ops->set_busy_timeout(s, ms);
}

int store_catalog_load(Store *s, Catalog **ret) {
        return s->ops->catalog_load(s, ret);
}

int store_catalog_version(Store *s, int64_t *ret) {
        return s->ops->catalog_version(s, ret);
}

int store_catalog_wait(Store *s, unsigned timeout_ms) {
        return s->ops->catalog_wait(s, timeout_ms);
}

int store_product_create(Store *s, const char *name, const char *key_sha256, Platform platform,
                         int64_t *ret_id) {
        return s->ops->product_create(s, name, key_sha256, platform, ret_id);
}

int store_product_set_signing_key(Store *s, int64_t product_id, const char *pem) {
        return s->ops->product_set_signing_key(s, product_id, pem);
}

int store_release_insert(Store *s, Release *r) {
        return s->ops->release_insert(s, r);
}

int store_release_delete(Store *s, int64_t id, const char **reterr_user) {
        return s->ops->release_delete(s, id, reterr_user);
}

int store_blob_in_use(Store *s, const char *sha256) {
        return s->ops->blob_in_use(s, sha256);
}

int store_channel_set(Store *s, int64_t product_id, const char *name, ImageKind kind, int64_t release_id,
                      const char *actor) {
        return s->ops->channel_set(s, product_id, name, kind, release_id, actor);
}

int store_channel_history(Store *s, const char *product, const char *name, size_t limit,
                          int (*cb)(const ChannelChange *c, void *userdata), void *userdata) {
        return s->ops->channel_history(s, product, name, limit, cb, userdata);
}

int store_devices_list(Store *s, const DeviceFilter *f, DeviceCallback cb, void *userdata) {
        return s->ops->devices_list(s, f, cb, userdata);
}

int store_device_get(Store *s, const char *id, DeviceCallback cb, void *userdata) {
        return s->ops->device_get(s, id, cb, userdata);
}

int store_device_checkins(Store *s, const char *id, size_t limit, CheckinCallback cb, void *userdata) {
        return s->ops->device_checkins(s, id, limit, cb, userdata);
}

int store_device_set_pin(Store *s, const char *id, int64_t release_id) {
        return s->ops->device_set_pin(s, id, release_id);
}

int store_device_set_channel(Store *s, const char *id, const char *channel) {
        return s->ops->device_set_channel(s, id, channel);
}

int store_device_set_labels(Store *s, const char *id, char *const *labels, size_t n) {
        return s->ops->device_set_labels(s, id, labels, n);
}

int store_assign(Store *s, int64_t release_id, char *const *ids, size_t n) {
        return s->ops->assign(s, release_id, ids, n);
}

int store_checkins_write(Store *s, Checkin *c, size_t n) {
        for (size_t done = 0; done < n;) {
                size_t k = n - done < STORE_CHECKINS_BATCH_MAX ? n - done : STORE_CHECKINS_BATCH_MAX;
                int r = s->ops->checkins_write(s, c + done, k, NULL);
                if (r < 0)
                        return r;
                done += k;
        }
        return 0;
}

int store_checkins_write_marked(Store *s, Checkin *c, size_t n, const JournalMark *mark) {
        if (n > STORE_CHECKINS_BATCH_MAX)
                return -EINVAL;
        return s->ops->checkins_write(s, c, n, mark);
}

int store_journal_mark(Store *s, const char *journal, JournalMark *ret) {
        return s->ops->journal_mark(s, journal, ret);
}

int store_checkins_after(Store *s, int64_t after, size_t limit, CheckinCallback cb, void *userdata) {
        return s->ops->checkins_after(s, after, limit, cb, userdata);
}

int64_t store_checkins_count(Store *s) {
        return s->ops->checkins_count(s);
}

int store_checkins_prune(Store *s, usec_t before, size_t max_rows) {
        return s->ops->checkins_prune(s, before, max_rows);
}

int store_token_create(Store *s, const char *name, TokenRole role, const char *sha256) {
        return s->ops->token_create(s, name, role, sha256);
}

int store_token_delete(Store *s, const char *name) {
        return s->ops->token_delete(s, name);
}

int store_tokens_list(Store *s, int (*cb)(const Token *t, void *userdata), void *userdata) {
        return s->ops->tokens_list(s, cb, userdata);
}
