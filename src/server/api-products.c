/* SPDX-License-Identifier: MIT */
/* Products and channels (promotion = pointing a channel at a release, with history). */
#include <errno.h>
#include <string.h>

#include "api.h"
#include "flota/api-body.h"
#include "flota/hash.h"
#include "flota/log.h"
#include "flota/strutil.h"

enum MHD_Result api_products_list(ApiCall *call) {
        Server *srv = call->srv;
        cJSON *arr = cJSON_CreateArray();

        pthread_rwlock_rdlock(&srv->catalog_lock);
        const Catalog *cat = srv->served->catalog;
        for (size_t i = 0; i < cat->n_products; i++)
                cJSON_AddItemToArray(arr, product_to_json(&cat->products[i]));
        pthread_rwlock_unlock(&srv->catalog_lock);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddItemToObject(o, "products", arr);
        return respond_json(call->conn, MHD_HTTP_OK, o);
}

/* Creates the product and sets its signing key in one transaction: never a product half made. */
static int create_product(Store *store, const ProductBody *b, const char *key_sha, int64_t *ret_id) {
        int r = store_begin(store);

        if (r < 0)
                return r;
        r = store_product_create(store, b->name, key_sha, b->platform, ret_id);
        if (r == 0 && b->signing_key)
                r = store_product_set_signing_key(store, *ret_id, b->signing_key);
        if (r == 0)
                r = store_commit(store);
        if (r < 0)
                store_rollback(store);
        return r;
}

enum MHD_Result api_products_create(ApiCall *call) {
        Server *srv = call->srv;
        _cleanup_(product_body_done) ProductBody b = {};
        char err[API_ERROR_MAX], key_sha[SHA256_HEX_LEN + 1];
        enum MHD_Result ret;
        int64_t id;

        if (api_parse_product(call->body, call->body_len, &b, err) < 0)
                return api_bad_body(call, err);
        if (b.key)
                sha256_hex(b.key, strlen(b.key), key_sha);
        if (b.signing_key && public_key_check(b.signing_key) < 0)
                return api_bad_body(call,
                                    "\"signing_key\" is not a PEM public key (-----BEGIN PUBLIC KEY-----)");
        pthread_mutex_lock(&srv->api_lock);
        int r = create_product(srv->api_store, &b, b.key ? key_sha : NULL, &id);
        if (r == -EEXIST)
                ret = respond_error(call->conn, MHD_HTTP_CONFLICT, "conflict", "product '%s' already exists",
                                    b.name);
        else if (r < 0)
                ret = api_store_error(call, r, "product");
        else if (server_catalog_changed(srv) < 0)
                ret = api_catalog_stale(call, NULL);
        else {
                const Product *p = catalog_product(srv->served->catalog, b.name);
                log_info("product %s created by %s", b.name, call->actor);
                ret = respond_json(call->conn, MHD_HTTP_CREATED,
                                   p ? product_to_json(p) : cJSON_CreateObject());
        }
        pthread_mutex_unlock(&srv->api_lock);
        return ret;
}

enum MHD_Result api_channels_list(ApiCall *call) {
        Server *srv = call->srv;
        const char *product = api_arg(call, "product");
        cJSON *arr = cJSON_CreateArray();

        pthread_rwlock_rdlock(&srv->catalog_lock);
        const Catalog *cat = srv->served->catalog;
        for (size_t i = 0; i < cat->n_channels; i++) {
                cJSON *j = channel_slot_to_json(cat, &cat->channels[i]);
                const cJSON *p = cJSON_GetObjectItemCaseSensitive(j, "product");
                if (product && !(cJSON_IsString(p) && streq(p->valuestring, product)))
                        cJSON_Delete(j);
                else
                        cJSON_AddItemToArray(arr, j);
        }
        pthread_rwlock_unlock(&srv->catalog_lock);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddItemToObject(o, "channels", arr);
        return respond_json(call->conn, MHD_HTTP_OK, o);
}

enum MHD_Result api_channel_put(ApiCall *call) {
        Server *srv = call->srv;
        const char *product = call->segments[1], *name = call->segments[2];
        char err[API_ERROR_MAX];
        enum MHD_Result ret;
        int64_t release_id;

        if (!name_is_valid(name))
                return api_bad_body(call,
                                    "channel names are 1-64 characters of letters, digits, '.', '_' or '-'");
        if (api_parse_release_ref(call->body, call->body_len, &release_id, err) < 0)
                return api_bad_body(call, err);

        pthread_mutex_lock(&srv->api_lock);
        const Catalog *cat = srv->served->catalog;
        const Product *p = catalog_product(cat, product);
        const Release *r = catalog_release(cat, release_id);
        if (!p)
                ret = respond_error(call->conn, MHD_HTTP_NOT_FOUND, "not-found", "product '%.64s' not found",
                                    product);
        else if (!r)
                ret = respond_error(call->conn, MHD_HTTP_NOT_FOUND, "not-found",
                                    "release %" PRId64 " not found", release_id);
        else if (r->product_id != p->id)
                ret = respond_error(call->conn, MHD_HTTP_UNPROCESSABLE_CONTENT, "wrong-product",
                                    "release %" PRId64 " belongs to %s, not %s", release_id, r->product,
                                    p->name);
        else {
                ImageKind kind = r->kind;
                int64_t product_id = p->id;
                int k = store_channel_set(srv->api_store, product_id, name, kind, release_id, call->actor);
                if (k < 0)
                        ret = api_store_error(call, k, "channel");
                /* p and r belong to the catalog the reload replaces */
                else if (server_catalog_changed(srv) < 0)
                        ret = api_catalog_stale(call, NULL);
                else {
                        cat = srv->served->catalog;
                        log_info("channel %s/%s (%s) now serves release %" PRId64 " (set by %s)", product,
                                 name, image_kind_to_string(kind), release_id, call->actor);
                        const ChannelSlot *s = catalog_channel(cat, product_id, name, kind);
                        ret = respond_json(call->conn, MHD_HTTP_OK,
                                           s ? channel_slot_to_json(cat, s) : cJSON_CreateObject());
                }
        }
        pthread_mutex_unlock(&srv->api_lock);
        return ret;
}

static int add_change(const ChannelChange *c, void *userdata) {
        cJSON_AddItemToArray(userdata, channel_change_to_json(c));
        return 0;
}

enum MHD_Result api_channel_history(ApiCall *call) {
        Server *srv = call->srv;
        cJSON *arr = cJSON_CreateArray();
        uint64_t limit = 100;
        const char *l = api_arg(call, "limit");

        if (l && (parse_u64(l, &limit) < 0 || limit == 0 || limit > 1000)) {
                cJSON_Delete(arr);
                return api_bad_body(call, "limit must be 1-1000");
        }
        pthread_mutex_lock(&srv->api_lock);
        int r = store_channel_history(srv->api_store, api_arg(call, "product"), api_arg(call, "channel"),
                                      limit, add_change, arr);
        pthread_mutex_unlock(&srv->api_lock);
        if (r < 0) {
                cJSON_Delete(arr);
                return api_store_error(call, r, "channel history");
        }
        cJSON *o = cJSON_CreateObject();
        cJSON_AddItemToObject(o, "history", arr);
        return respond_json(call->conn, MHD_HTTP_OK, o);
}
