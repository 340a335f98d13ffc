/* SPDX-License-Identifier: MIT */
/*
 * Products, releases, channels and tokens on PostgreSQL, and loading the catalog snapshot.
 * Every catalog write bumps meta.catalog_version in its own transaction, so every replica
 * sees that it must reload.
 */
#include <errno.h>
#include <string.h>

#include "flota/alloc.h"
#include "flota/strutil.h"
#include "pg-internal.h"

/* Runs one catalog-changing statement and the version bump in one transaction; returns its row count. */
static int catalog_write(Store *s, const char *sql, const PgParams *p, PGresult **ret) {
        int owned = pg_tx_begin(s);
        int r;

        if (owned < 0)
                return owned;
        r = pg_query(s, sql, p, ret);
        if (r >= 0)
                r = pg_catalog_bump(s);
        r = pg_tx_end(s, owned, r);
        if (r < 0 && ret && *ret) {
                PQclear(*ret);
                *ret = NULL;
        }
        return r;
}

int pg_product_create(Store *s, const char *name, const char *key_sha256, Platform platform,
                      int64_t *ret_id) {
        _cleanup_pgresult_ PGresult *res = NULL;
        PgParams p = {};
        int r;

        pg_param_text(&p, name);
        pg_param_text(&p, key_sha256);
        pg_param_text(&p, platform_to_string(platform));
        pg_param_int(&p, (int64_t) now_usec(CLOCK_REALTIME));
        r = catalog_write(
                s,
                "INSERT INTO products (name, key_sha256, platform, created) VALUES ($1, $2, $3, $4)"
                " RETURNING id",
                &p, &res);
        if (r < 0)
                return r;
        if (ret_id)
                *ret_id = pg_int(res, 0, 0);
        return 0;
}

int pg_product_set_signing_key(Store *s, int64_t product_id, const char *pem) {
        _cleanup_pgresult_ PGresult *res = NULL;
        PgParams p = {};
        int r;

        pg_param_text(&p, pem);
        pg_param_int(&p, product_id);
        r = catalog_write(s, "UPDATE products SET signing_key = $1 WHERE id = $2 RETURNING id", &p, &res);
        if (r < 0)
                return r;
        return PQntuples(res) > 0 ? 0 : -ENOENT;
}

int pg_release_insert(Store *s, Release *rel) {
        _cleanup_pgresult_ PGresult *res = NULL;
        usec_t now = now_usec(CLOCK_REALTIME);
        PgParams p = {};
        int r;

        pg_param_int(&p, rel->product_id);
        pg_param_text(&p, rel->version);
        pg_param_text(&p, platform_to_string(rel->platform));
        pg_param_text(&p, image_kind_to_string(rel->kind));
        pg_param_int(&p, (int64_t) rel->size);
        pg_param_text(&p, rel->md5);
        pg_param_text(&p, rel->sha256);
        pg_param_text(&p, rel->payload_md5);
        pg_param_int(&p, (int64_t) rel->min_flash_size);
        pg_param_bool(&p, rel->is_signed);
        pg_param_bool(&p, rel->compressed);
        pg_param_text(&p, rel->chip ? rel->chip : "");
        pg_param_text(&p, rel->notes ? rel->notes : "");
        pg_param_int(&p, (int64_t) now);
        r = catalog_write(
                s,
                "INSERT INTO releases (product_id, version, platform, kind, size, md5, sha256, payload_md5,"
                " min_flash_size, signed, compressed, chip, notes, created)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id",
                &p, &res);
        if (r < 0)
                return r;
        rel->id = pg_int(res, 0, 0);
        rel->created = now;
        return 0;
}

int pg_release_delete(Store *s, int64_t id, const char **reterr_user) {
        static const struct {
                const char *sql;
                const char *what;
        } uses[] = {
                { "SELECT count(*) FROM channels WHERE release_id = $1", "a channel points at it" },
                { "SELECT count(*) FROM device_overrides WHERE pin_release_id = $1",
                  "devices are pinned to it" },
                { "SELECT count(*) FROM device_overrides WHERE assigned_release_id = $1",
                  "devices are assigned to it" },
        };
        PgParams p = {};
        int owned, r = 0;

        pg_param_int(&p, id);
        owned = pg_tx_begin(s);
        if (owned < 0)
                return owned;
        for (size_t i = 0; r >= 0 && i < ELEMENTSOF(uses); i++) {
                _cleanup_pgresult_ PGresult *res = NULL;
                r = pg_query_idempotent(s, uses[i].sql, &p, &res);
                if (r >= 0 && pg_int(res, 0, 0) > 0) {
                        *reterr_user = uses[i].what;
                        r = -EBUSY;
                }
        }
        if (r >= 0)
                r = pg_command(s, "DELETE FROM releases WHERE id = $1", &p);
        if (r == 0)
                r = -ENOENT;
        if (r > 0)
                r = pg_catalog_bump(s);
        return pg_tx_end(s, owned, r);
}

int pg_blob_in_use(Store *s, const char *sha256) {
        _cleanup_pgresult_ PGresult *res = NULL;
        PgParams p = {};
        int r;

        pg_param_text(&p, sha256);
        r = pg_query_idempotent(s, "SELECT 1 FROM releases WHERE sha256 = $1 LIMIT 1", &p, &res);
        if (r < 0)
                return r;
        return PQntuples(res) > 0 ? 1 : 0;
}

int pg_channel_set(Store *s, int64_t product_id, const char *name, ImageKind kind, int64_t release_id,
                   const char *actor) {
        usec_t now = now_usec(CLOCK_REALTIME);
        PgParams p = {}, q = {};
        int owned, r;

        pg_param_int(&p, product_id);
        pg_param_text(&p, name);
        pg_param_text(&p, image_kind_to_string(kind));
        pg_param_int(&p, release_id);
        q = p;
        pg_param_text(&p, actor ? actor : "");
        pg_param_int(&p, (int64_t) now);
        pg_param_int(&q, (int64_t) now);
        owned = pg_tx_begin(s);
        if (owned < 0)
                return owned;
        r = pg_command(s,
                       "INSERT INTO channel_history (product_id, name, kind, release_id, "
                       "previous_release_id, actor, at)"
                       " VALUES ($1, $2, $3, $4, (SELECT release_id FROM channels WHERE product_id = $1 AND "
                       "name = $2"
                       " AND kind = $3 FOR UPDATE), $5, $6)",
                       &p);
        if (r >= 0)
                r = pg_command(s,
                               "INSERT INTO channels (product_id, name, kind, release_id, updated)"
                               " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (product_id, name, kind)"
                               " DO UPDATE SET release_id = excluded.release_id, updated = excluded.updated",
                               &q);
        if (r >= 0)
                r = pg_catalog_bump(s);
        return pg_tx_end(s, owned, r < 0 ? r : 0);
}

int pg_channel_history(Store *s, const char *product, const char *name, size_t limit,
                       int (*cb)(const ChannelChange *c, void *userdata), void *userdata) {
        _cleanup_pgresult_ PGresult *res = NULL;
        PgParams p = {};
        int r;

        pg_param_text(&p, product);
        pg_param_text(&p, name);
        pg_param_int(&p, (int64_t) limit);
        r = pg_query_idempotent(
                s,
                "SELECT h.id, p.name, h.name, h.kind, h.release_id, h.previous_release_id, h.actor, h.at"
                " FROM channel_history h JOIN products p ON p.id = h.product_id"
                " WHERE ($1::text IS NULL OR p.name = $1) AND ($2::text IS NULL OR h.name = $2)"
                " ORDER BY h.id DESC LIMIT $3",
                &p, &res);
        if (r < 0)
                return r;
        for (int i = 0; i < PQntuples(res); i++) {
                ChannelChange c = {
                        .id = pg_int(res, i, 0),
                        .product = pg_text(res, i, 1),
                        .name = pg_text(res, i, 2),
                        .kind = pg_text(res, i, 3),
                        .release_id = pg_int(res, i, 4),
                        .previous_release_id = pg_int(res, i, 5),
                        .actor = pg_text(res, i, 6),
                        .at = (usec_t) pg_int(res, i, 7),
                };
                int k = cb(&c, userdata);
                if (k < 0)
                        return k;
        }
        return 0;
}

static int load_products(Store *s, Catalog *c) {
        _cleanup_pgresult_ PGresult *res = NULL;
        int r = pg_query_idempotent(
                s, "SELECT id, name, key_sha256, created, platform, signing_key FROM products ORDER BY id",
                NULL, &res);

        if (r < 0)
                return r;
        c->n_products = (size_t) PQntuples(res);
        c->products = xcalloc(c->n_products ? c->n_products : 1, sizeof(Product));
        for (size_t i = 0; i < c->n_products; i++) {
                Product *p = &c->products[i];
                *p = (Product) {
                        .id = pg_int(res, (int) i, 0),
                        .name = xstrdup(pg_text(res, (int) i, 1)),
                        .created = (usec_t) pg_int(res, (int) i, 3),
                        .platform = PQgetisnull(res, (int) i, 4)
                                            ? _PLATFORM_INVALID
                                            : platform_from_string(pg_text(res, (int) i, 4)),
                        .signing_key =
                                PQgetisnull(res, (int) i, 5) ? NULL : xstrdup(pg_text(res, (int) i, 5)),
                };
                strscpy(p->key_sha256, sizeof(p->key_sha256), pg_text(res, (int) i, 2));
        }
        return 0;
}

static int load_releases(Store *s, Catalog *c) {
        _cleanup_pgresult_ PGresult *res = NULL;
        int r = pg_query_idempotent(
                s,
                "SELECT r.id, r.product_id, p.name, r.version, r.platform, r.kind, r.size, r.md5, r.sha256,"
                " r.payload_md5, r.min_flash_size, r.signed, r.compressed, r.chip, r.notes, r.created"
                " FROM releases r JOIN products p ON p.id = r.product_id ORDER BY r.id",
                NULL, &res);

        if (r < 0)
                return r;
        c->n_releases = (size_t) PQntuples(res);
        c->releases = xcalloc(c->n_releases ? c->n_releases : 1, sizeof(Release));
        for (size_t i = 0; i < c->n_releases; i++) {
                int row = (int) i;
                Release *rel = &c->releases[i];
                *rel = (Release) {
                        .id = pg_int(res, row, 0),
                        .product_id = pg_int(res, row, 1),
                        .product = xstrdup(pg_text(res, row, 2)),
                        .version = xstrdup(pg_text(res, row, 3)),
                        .platform = platform_from_string(pg_text(res, row, 4)),
                        .kind = image_kind_from_string(pg_text(res, row, 5)),
                        .size = (uint64_t) pg_int(res, row, 6),
                        .min_flash_size = (uint64_t) pg_int(res, row, 10),
                        .is_signed = pg_bool(res, row, 11),
                        .compressed = pg_bool(res, row, 12),
                        .chip = xstrdup(pg_text(res, row, 13)),
                        .notes = xstrdup(pg_text(res, row, 14)),
                        .created = (usec_t) pg_int(res, row, 15),
                };
                strscpy(rel->md5, sizeof(rel->md5), pg_text(res, row, 7));
                strscpy(rel->sha256, sizeof(rel->sha256), pg_text(res, row, 8));
                strscpy(rel->payload_md5, sizeof(rel->payload_md5), pg_text(res, row, 9));
        }
        return 0;
}

static int load_channels(Store *s, Catalog *c) {
        _cleanup_pgresult_ PGresult *res = NULL;
        int r = pg_query_idempotent(s,
                                    "SELECT product_id, name, kind, release_id, updated FROM channels"
                                    " ORDER BY product_id, name, kind",
                                    NULL, &res);

        if (r < 0)
                return r;
        c->n_channels = (size_t) PQntuples(res);
        c->channels = xcalloc(c->n_channels ? c->n_channels : 1, sizeof(ChannelSlot));
        for (size_t i = 0; i < c->n_channels; i++)
                c->channels[i] = (ChannelSlot) {
                        .product_id = pg_int(res, (int) i, 0),
                        .name = xstrdup(pg_text(res, (int) i, 1)),
                        .kind = image_kind_from_string(pg_text(res, (int) i, 2)),
                        .release_id = pg_int(res, (int) i, 3),
                        .updated = (usec_t) pg_int(res, (int) i, 4),
                };
        return 0;
}

static int load_overrides(Store *s, Catalog *c) {
        _cleanup_pgresult_ PGresult *res = NULL;
        int r = pg_query_idempotent(
                s,
                "SELECT device_id, pin_release_id, assigned_release_id, channel FROM device_overrides"
                " WHERE pin_release_id IS NOT NULL OR assigned_release_id IS NOT NULL OR channel IS NOT "
                "NULL",
                NULL, &res);

        if (r < 0)
                return r;
        c->n_overrides = (size_t) PQntuples(res);
        c->overrides = xcalloc(c->n_overrides ? c->n_overrides : 1, sizeof(DeviceOverride));
        for (size_t i = 0; i < c->n_overrides; i++)
                c->overrides[i] = (DeviceOverride) {
                        .device_id = xstrdup(pg_text(res, (int) i, 0)),
                        .pin_release_id = pg_int(res, (int) i, 1),
                        .assigned_release_id = pg_int(res, (int) i, 2),
                        .channel = PQgetisnull(res, (int) i, 3) ? NULL : xstrdup(pg_text(res, (int) i, 3)),
                };
        return 0;
}

int pg_catalog_load(Store *s, Catalog **ret) {
        _cleanup_(catalog_freep) Catalog *c = xcalloc(1, sizeof(Catalog));
        int r;

        /* one snapshot for all four reads, so the catalog is consistent */
        r = pg_command_idempotent(s, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", NULL);
        if (r < 0)
                return r;
        r = load_products(s, c);
        if (r == 0)
                r = load_releases(s, c);
        if (r == 0)
                r = load_channels(s, c);
        if (r == 0)
                r = load_overrides(s, c);
        r = pg_tx_end(s, 1, r);
        if (r < 0)
                return r;
        catalog_seal(c);
        *ret = TAKE_PTR(c);
        return 0;
}

int pg_token_create(Store *s, const char *name, TokenRole role, const char *sha256) {
        PgParams p = {};

        pg_param_text(&p, name);
        pg_param_text(&p, token_role_to_string(role));
        pg_param_text(&p, sha256);
        pg_param_int(&p, (int64_t) now_usec(CLOCK_REALTIME));
        int r = pg_command(s, "INSERT INTO tokens (name, role, sha256, created) VALUES ($1, $2, $3, $4)",
                           &p);
        return r < 0 ? r : 0;
}

int pg_token_delete(Store *s, const char *name) {
        PgParams p = {};

        pg_param_text(&p, name);
        int r = pg_command(s, "DELETE FROM tokens WHERE name = $1", &p);
        return r < 0 ? r : r > 0 ? 0 : -ENOENT;
}

int pg_tokens_list(Store *s, int (*cb)(const Token *t, void *userdata), void *userdata) {
        _cleanup_pgresult_ PGresult *res = NULL;
        int r = pg_query_idempotent(s, "SELECT id, name, role, sha256, created FROM tokens ORDER BY name",
                                    NULL, &res);

        if (r < 0)
                return r;
        for (int i = 0; i < PQntuples(res); i++) {
                Token t = {
                        .id = pg_int(res, i, 0),
                        .name = pg_text(res, i, 1),
                        .role = token_role_from_string(pg_text(res, i, 2)),
                        .sha256 = pg_text(res, i, 3),
                        .created = (usec_t) pg_int(res, i, 4),
                };
                int k = cb(&t, userdata);
                if (k < 0)
                        return k;
        }
        return 0;
}
