/* SPDX-License-Identifier: MIT */
/* Products, releases and channels: the writes, and loading them into a catalog snapshot. */
#include <errno.h>
#include <string.h>

#include "flota/alloc.h"
#include "flota/strutil.h"
#include "store-internal.h"

int lite_product_create(Store *s, const char *name, const char *key_sha256, Platform platform,
                        int64_t *ret_id) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = store_prepare(
                s, "INSERT INTO products (name, key_sha256, platform, created) VALUES (?, ?, ?, ?)", &st);

        if (r < 0)
                return r;
        store_bind_text(st, 1, name);
        store_bind_text(st, 2, key_sha256);
        store_bind_text(st, 3, platform_to_string(platform));
        sqlite3_bind_int64(st, 4, (sqlite3_int64) now_usec(CLOCK_REALTIME));
        r = store_step_done(st);
        if (r < 0)
                return r;
        if (ret_id)
                *ret_id = sqlite3_last_insert_rowid(s->db);
        return 0;
}

int lite_product_set_signing_key(Store *s, int64_t product_id, const char *pem) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = store_prepare(s, "UPDATE products SET signing_key = ? WHERE id = ?", &st);

        if (r < 0)
                return r;
        store_bind_text(st, 1, pem);
        sqlite3_bind_int64(st, 2, product_id);
        r = store_step_done(st);
        if (r < 0)
                return r;
        return sqlite3_changes(s->db) > 0 ? 0 : -ENOENT;
}

int lite_release_insert(Store *s, Release *rel) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        usec_t now = now_usec(CLOCK_REALTIME);
        int r = store_prepare(s,
                              "INSERT INTO releases (product_id, version, platform, kind, size, md5, sha256,"
                              " payload_md5, min_flash_size, signed, compressed, chip, notes, created)"
                              " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                              &st);

        if (r < 0)
                return r;
        sqlite3_bind_int64(st, 1, rel->product_id);
        store_bind_text(st, 2, rel->version);
        store_bind_text(st, 3, platform_to_string(rel->platform));
        store_bind_text(st, 4, image_kind_to_string(rel->kind));
        sqlite3_bind_int64(st, 5, (sqlite3_int64) rel->size);
        store_bind_text(st, 6, rel->md5);
        store_bind_text(st, 7, rel->sha256);
        store_bind_text(st, 8, rel->payload_md5);
        sqlite3_bind_int64(st, 9, (sqlite3_int64) rel->min_flash_size);
        sqlite3_bind_int(st, 10, rel->is_signed);
        sqlite3_bind_int(st, 11, rel->compressed);
        store_bind_text(st, 12, rel->chip ? rel->chip : "");
        store_bind_text(st, 13, rel->notes ? rel->notes : "");
        sqlite3_bind_int64(st, 14, (sqlite3_int64) now);
        r = store_step_done(st);
        if (r < 0)
                return r;
        rel->id = sqlite3_last_insert_rowid(s->db);
        rel->created = now;
        return 0;
}

static int count_of(Store *s, const char *sql, int64_t id, int64_t *ret) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = store_prepare(s, sql, &st);

        if (r < 0)
                return r;
        sqlite3_bind_int64(st, 1, id);
        if (sqlite3_step(st) != SQLITE_ROW)
                return store_errno(sqlite3_errcode(sqlite3_db_handle(st)));
        *ret = sqlite3_column_int64(st, 0);
        return 0;
}

int lite_release_delete(Store *s, int64_t id, const char **reterr_user) {
        static const struct {
                const char *sql;
                const char *what;
        } uses[] = {
                { "SELECT count(*) FROM channels WHERE release_id = ?", "a channel points at it" },
                { "SELECT count(*) FROM devices WHERE pin_release_id = ?", "devices are pinned to it" },
                { "SELECT count(*) FROM devices WHERE assigned_release_id = ?",
                  "devices are assigned to it" },
        };
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int64_t n;
        int r;

        for (size_t i = 0; i < ELEMENTSOF(uses); i++) {
                r = count_of(s, uses[i].sql, id, &n);
                if (r < 0)
                        return r;
                if (n > 0) {
                        *reterr_user = uses[i].what;
                        return -EBUSY;
                }
        }
        r = store_prepare(s, "DELETE FROM releases WHERE id = ?", &st);
        if (r < 0)
                return r;
        sqlite3_bind_int64(st, 1, id);
        r = store_step_done(st);
        if (r < 0)
                return r;
        return sqlite3_changes(s->db) > 0 ? 0 : -ENOENT;
}

int lite_blob_in_use(Store *s, const char *sha256) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = store_prepare(s, "SELECT 1 FROM releases WHERE sha256 = ? LIMIT 1", &st);

        if (r < 0)
                return r;
        store_bind_text(st, 1, sha256);
        r = sqlite3_step(st);
        if (r == SQLITE_ROW)
                return 1;
        return r == SQLITE_DONE ? 0 : store_errno(r);
}

int lite_channel_set(Store *s, int64_t product_id, const char *name, ImageKind kind, int64_t release_id,
                     const char *actor) {
        _cleanup_stmt_ sqlite3_stmt *hist = NULL, *set = NULL;
        usec_t now = now_usec(CLOCK_REALTIME);
        const char *k = image_kind_to_string(kind);
        int r;

        r = store_prepare(
                s,
                "INSERT INTO channel_history (product_id, name, kind, release_id, previous_release_id,"
                " actor, at) VALUES (?1, ?2, ?3, ?4,"
                " (SELECT release_id FROM channels WHERE product_id = ?1 AND name = ?2 AND kind = ?3),"
                " ?5, ?6)",
                &hist);
        if (r < 0)
                return r;
        r = store_prepare(s,
                          "INSERT INTO channels (product_id, name, kind, release_id, updated)"
                          " VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (product_id, name, kind)"
                          " DO UPDATE SET release_id = excluded.release_id, updated = excluded.updated",
                          &set);
        if (r < 0)
                return r;
        sqlite3_bind_int64(hist, 1, product_id);
        store_bind_text(hist, 2, name);
        store_bind_text(hist, 3, k);
        sqlite3_bind_int64(hist, 4, release_id);
        store_bind_text(hist, 5, actor ? actor : "");
        sqlite3_bind_int64(hist, 6, (sqlite3_int64) now);
        sqlite3_bind_int64(set, 1, product_id);
        store_bind_text(set, 2, name);
        store_bind_text(set, 3, k);
        sqlite3_bind_int64(set, 4, release_id);
        sqlite3_bind_int64(set, 5, (sqlite3_int64) now);

        r = lite_begin(s);
        if (r < 0)
                return r;
        r = store_step_done(hist);
        if (r == 0)
                r = store_step_done(set);
        return lite_end(s, r);
}

int lite_channel_history(Store *s, const char *product, const char *name, size_t limit,
                         int (*cb)(const ChannelChange *c, void *userdata), void *userdata) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = store_prepare(
                s,
                "SELECT h.id, p.name, h.name, h.kind, h.release_id, h.previous_release_id, h.actor,"
                " h.at FROM channel_history h JOIN products p ON p.id = h.product_id"
                " WHERE (?1 IS NULL OR p.name = ?1) AND (?2 IS NULL OR h.name = ?2)"
                " ORDER BY h.id DESC LIMIT ?3",
                &st);

        if (r < 0)
                return r;
        store_bind_text(st, 1, product);
        store_bind_text(st, 2, name);
        sqlite3_bind_int64(st, 3, (sqlite3_int64) limit);
        while ((r = sqlite3_step(st)) == SQLITE_ROW) {
                ChannelChange c = {
                        .id = sqlite3_column_int64(st, 0),
                        .product = store_column_text(st, 1),
                        .name = store_column_text(st, 2),
                        .kind = store_column_text(st, 3),
                        .release_id = sqlite3_column_int64(st, 4),
                        .previous_release_id = sqlite3_column_int64(st, 5),
                        .actor = store_column_text(st, 6),
                        .at = (usec_t) sqlite3_column_int64(st, 7),
                };
                int k = cb(&c, userdata);
                if (k < 0)
                        return k;
        }
        return r == SQLITE_DONE ? 0 : store_errno(r);
}

static int load_products(Store *s, Catalog *c) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        size_t allocated = 0;
        int r = store_prepare(s, "SELECT id, name, key_sha256, created, platform, signing_key FROM products",
                              &st);

        if (r < 0)
                return r;
        while ((r = sqlite3_step(st)) == SQLITE_ROW) {
                c->products = xgrow(c->products, &allocated, c->n_products + 1, sizeof(Product));
                Product *p = &c->products[c->n_products++];
                *p = (Product) {
                        .id = sqlite3_column_int64(st, 0),
                        .name = xstrdup(store_column_text(st, 1)),
                        .created = (usec_t) sqlite3_column_int64(st, 3),
                        .platform = platform_from_string((const char *) sqlite3_column_text(st, 4)),
                        .signing_key = sqlite3_column_type(st, 5) == SQLITE_NULL
                                               ? NULL
                                               : xstrdup(store_column_text(st, 5)),
                };
                strscpy(p->key_sha256, sizeof(p->key_sha256), store_column_text(st, 2));
        }
        return r == SQLITE_DONE ? 0 : store_errno(r);
}

static int load_releases(Store *s, Catalog *c) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        size_t allocated = 0;
        int r = store_prepare(
                s,
                "SELECT r.id, r.product_id, p.name, r.version, r.platform, r.kind, r.size, r.md5,"
                " r.sha256, r.payload_md5, r.min_flash_size, r.signed, r.compressed, r.chip, r.notes,"
                " r.created FROM releases r JOIN products p ON p.id = r.product_id",
                &st);

        if (r < 0)
                return r;
        while ((r = sqlite3_step(st)) == SQLITE_ROW) {
                c->releases = xgrow(c->releases, &allocated, c->n_releases + 1, sizeof(Release));
                Release *rel = &c->releases[c->n_releases++];
                *rel = (Release) {
                        .id = sqlite3_column_int64(st, 0),
                        .product_id = sqlite3_column_int64(st, 1),
                        .product = xstrdup(store_column_text(st, 2)),
                        .version = xstrdup(store_column_text(st, 3)),
                        .platform = platform_from_string(store_column_text(st, 4)),
                        .kind = image_kind_from_string(store_column_text(st, 5)),
                        .size = (uint64_t) sqlite3_column_int64(st, 6),
                        .min_flash_size = (uint64_t) sqlite3_column_int64(st, 10),
                        .is_signed = sqlite3_column_int(st, 11),
                        .compressed = sqlite3_column_int(st, 12),
                        .chip = xstrdup(store_column_text(st, 13)),
                        .notes = xstrdup(store_column_text(st, 14)),
                        .created = (usec_t) sqlite3_column_int64(st, 15),
                };
                strscpy(rel->md5, sizeof(rel->md5), store_column_text(st, 7));
                strscpy(rel->sha256, sizeof(rel->sha256), store_column_text(st, 8));
                strscpy(rel->payload_md5, sizeof(rel->payload_md5), store_column_text(st, 9));
        }
        return r == SQLITE_DONE ? 0 : store_errno(r);
}

static int load_channels(Store *s, Catalog *c) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        size_t allocated = 0;
        int r = store_prepare(s,
                              "SELECT product_id, name, kind, release_id, updated FROM channels"
                              " ORDER BY product_id, name, kind",
                              &st);

        if (r < 0)
                return r;
        while ((r = sqlite3_step(st)) == SQLITE_ROW) {
                c->channels = xgrow(c->channels, &allocated, c->n_channels + 1, sizeof(ChannelSlot));
                c->channels[c->n_channels++] = (ChannelSlot) {
                        .product_id = sqlite3_column_int64(st, 0),
                        .name = xstrdup(store_column_text(st, 1)),
                        .kind = image_kind_from_string(store_column_text(st, 2)),
                        .release_id = sqlite3_column_int64(st, 3),
                        .updated = (usec_t) sqlite3_column_int64(st, 4),
                };
        }
        return r == SQLITE_DONE ? 0 : store_errno(r);
}

static int load_overrides(Store *s, Catalog *c) {
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        size_t allocated = 0;
        int r = store_prepare(s,
                              "SELECT id, pin_release_id, assigned_release_id, channel FROM devices"
                              " WHERE pin_release_id IS NOT NULL OR assigned_release_id IS NOT NULL"
                              " OR channel IS NOT NULL",
                              &st);

        if (r < 0)
                return r;
        while ((r = sqlite3_step(st)) == SQLITE_ROW) {
                c->overrides = xgrow(c->overrides, &allocated, c->n_overrides + 1, sizeof(DeviceOverride));
                const unsigned char *channel = sqlite3_column_text(st, 3);
                c->overrides[c->n_overrides++] = (DeviceOverride) {
                        .device_id = xstrdup(store_column_text(st, 0)),
                        .pin_release_id = sqlite3_column_int64(st, 1),
                        .assigned_release_id = sqlite3_column_int64(st, 2),
                        .channel = channel ? xstrdup((const char *) channel) : NULL,
                };
        }
        return r == SQLITE_DONE ? 0 : store_errno(r);
}

int lite_catalog_load(Store *s, Catalog **ret) {
        _cleanup_(catalog_freep) Catalog *c = xcalloc(1, sizeof(Catalog));
        int r;

        /* one read transaction, so the snapshot is consistent */
        r = store_exec(s, "BEGIN");
        if (r < 0)
                return r;
        r = load_products(s, c);
        if (r == 0)
                r = load_releases(s, c);
        if (r == 0)
                r = load_channels(s, c);
        if (r == 0)
                r = load_overrides(s, c);
        (void) store_exec(s, "COMMIT");
        if (r < 0)
                return r;
        catalog_seal(c);
        *ret = TAKE_PTR(c);
        return 0;
}
