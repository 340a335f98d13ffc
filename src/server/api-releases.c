/* SPDX-License-Identifier: MIT */
/*
 * Releases: uploads stream to a temporary file in the image store while MD5 and
 * SHA-256 are computed; the image is then inspected and committed content-addressed
 * (fsync + rename + fsync dir) before the database row exists, so a crash can leave
 * at most an unreferenced file, never a half image that could be served.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api.h"
#include "flota/alloc.h"
#include "flota/fileio.h"
#include "flota/image.h"
#include "flota/log.h"
#include "flota/strutil.h"

struct Upload {
        int fd;
        char *tmp_path;
        Hasher *hasher;
        uint64_t size;
        uint64_t limit;
        bool too_large;
        int write_error;
};

Upload *upload_free(Upload *u) {
        if (!u)
                return NULL;
        if (u->fd >= 0)
                (void) close(u->fd);
        if (u->tmp_path)
                (void) unlink(u->tmp_path);
        free(u->tmp_path);
        hasher_free(u->hasher);
        free(u);
        return NULL;
}

int upload_begin(ApiCall *call, char *err, size_t errlen, unsigned *ret_status) {
        Server *srv = call->srv;
        const char *cl =
                MHD_lookup_connection_value(call->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        uint64_t len = 0;

        *ret_status = MHD_HTTP_BAD_REQUEST;
        if (cl && parse_u64(cl, &len) < 0) {
                snprintf(err, errlen, "Content-Length is not a number");
                return -EINVAL;
        }
        if (len > srv->config->max_image_size) {
                *ret_status = MHD_HTTP_CONTENT_TOO_LARGE;
                snprintf(err, errlen, "image is %" PRIu64 " bytes; this server accepts at most %" PRIu64,
                         len, srv->config->max_image_size);
                return -EFBIG;
        }
        Upload *u = xcalloc(1, sizeof(Upload));
        u->limit = srv->config->max_image_size;
        u->fd = tmpfile_in(srv->images_dir, &u->tmp_path);
        if (u->fd < 0) {
                *ret_status = MHD_HTTP_INTERNAL_SERVER_ERROR;
                snprintf(err, errlen, "cannot create a temporary file in the image store: %s",
                         strerror(-u->fd));
                u->fd = -1;
                upload_free(u);
                return -EIO;
        }
        u->hasher = hasher_new();
        call->upload = u;
        return 0;
}

void upload_feed(Upload *u, const char *data, size_t size) {
        if (u->too_large || u->write_error)
                return;
        if (u->size + size > u->limit) {
                u->too_large = true;
                return;
        }
        int r = write_all(u->fd, data, size);
        if (r < 0) {
                u->write_error = r;
                return;
        }
        hasher_update(u->hasher, data, size);
        u->size += size;
}

typedef struct Mapped {
        uint8_t *data;
        size_t size;
} Mapped;

static void mapped_done(Mapped *m) {
        if (m->data)
                munmap(m->data, m->size);
}

/* Resolves platform and version from the query and the image; responds on conflict. */
typedef struct ReleaseInput {
        const Product *product;
        const char *version;
        Platform platform;
        ImageKind kind;
} ReleaseInput;

static enum MHD_Result reject(ApiCall *call, unsigned status, const char *code, const char *fmt, ...)
        _printf_(4, 5);
static enum MHD_Result reject(ApiCall *call, unsigned status, const char *code, const char *fmt, ...) {
        char msg[256];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        return respond_error(call->conn, status, code, "%s", msg);
}

/* The platform the product's existing releases (or its declaration) fix, or _PLATFORM_INVALID. */
static Platform product_platform(const Catalog *c, const Product *p) {
        if (p->platform >= 0)
                return p->platform;
        for (size_t i = 0; i < c->n_releases; i++)
                if (c->releases[i].product_id == p->id && c->releases[i].kind == IMAGE_KIND_SKETCH)
                        return c->releases[i].platform;
        return _PLATFORM_INVALID;
}

/* The chip the product's sketch releases are built for ("esp32-s3"), or NULL when it has none yet. */
static const char *product_chip(const Catalog *c, const Product *p) {
        for (size_t i = 0; i < c->n_releases; i++)
                if (c->releases[i].product_id == p->id && c->releases[i].kind == IMAGE_KIND_SKETCH &&
                    !isempty(c->releases[i].chip))
                        return c->releases[i].chip;
        return NULL;
}

static int commit_blob(Server *srv, Upload *u, const char *sha256) {
        _cleanup_free_ char *path = server_image_path(srv, sha256);
        _cleanup_free_ char *dir = xstrndup(path, strrchr(path, '/') - path);
        struct stat st;
        int r;

        r = mkdir_p(dir, 0755);
        if (r < 0)
                return r;
        /* the images/XX/ directory itself must survive a crash before a row refers to it */
        r = fsync_dir(srv->images_dir);
        if (r < 0)
                return r;
        if (stat(path, &st) == 0 && (uint64_t) st.st_size == u->size) {
                /* same content already stored */
                (void) close(u->fd);
                u->fd = -1;
                (void) unlink(u->tmp_path);
                return 0;
        }
        r = file_commit(u->fd, u->tmp_path, path);
        u->fd = -1;
        if (r == 0) {
                free(u->tmp_path);
                u->tmp_path = NULL;
        }
        return r;
}

/* Removes a stored image that no release refers to (after a refused insert). */
static void forget_blob(Server *srv, const char *sha256) {
        if (store_blob_in_use(srv->api_store, sha256) == 0) {
                _cleanup_free_ char *path = server_image_path(srv, sha256);
                if (unlink(path) < 0 && errno != ENOENT)
                        log_error("removing unused image %s: %m", path);
        }
}

static enum MHD_Result create_release(ApiCall *call, const ReleaseInput *in, const ImageInfo *info,
                                      const Mapped *m) {
        Server *srv = call->srv;
        Upload *u = call->upload;
        Release rel = {
                .product_id = in->product->id,
                .version = (char *) in->version,
                .product = in->product->name,
                .platform = in->platform,
                .kind = in->kind,
                .size = u->size,
                .min_flash_size = info->min_flash_size,
                .is_signed = info->is_signed,
                .compressed = info->compressed,
                .chip = (char *) info->chip,
                .notes = (char *) api_arg(call, "notes"),
        };
        int r;

        hasher_final(u->hasher, rel.md5, rel.sha256);
        /* what the device runs, and reports as its sketch MD5, once installed */
        if (info->compressed)
                strscpy(rel.payload_md5, sizeof(rel.payload_md5), info->inflated_md5);
        else if (info->is_signed)
                md5_hex(m->data, info->payload_size, rel.payload_md5);

        r = commit_blob(srv, u, rel.sha256);
        if (r < 0) {
                log_error("storing image %s: %s", rel.sha256, strerror(-r));
                return reject(call,
                              r == -ENOSPC ? MHD_HTTP_INSUFFICIENT_STORAGE : MHD_HTTP_INTERNAL_SERVER_ERROR,
                              "storage", "cannot store the image: %s", strerror(-r));
        }
        r = store_release_insert(srv->api_store, &rel);
        if (r < 0)
                forget_blob(srv, rel.sha256);
        if (r == -EEXIST)
                return reject(call, MHD_HTTP_CONFLICT, "conflict", "%s already has a %s release %s",
                              in->product->name, image_kind_to_string(in->kind), in->version);
        if (r < 0)
                return api_store_error(call, r, "release");
        atomic_fetch_add(&srv->metrics.releases_uploaded, 1);
        log_info("release %" PRId64 ": %s %s (%s, %s, %" PRIu64 " bytes) uploaded by %s", rel.id,
                 rel.product, rel.version, platform_to_string(rel.platform), image_kind_to_string(rel.kind),
                 rel.size, call->actor);
        /* rel borrows from the catalog that the reload replaces: encode first */
        cJSON *body = release_to_json(&rel);
        if (server_catalog_changed(srv) < 0)
                return api_catalog_stale(call, body);
        return respond_json(call->conn, MHD_HTTP_CREATED, body);
}

/* Why an upload without version= cannot take its version from the image. */
static const char *why_no_version(const ReleaseInput *in, const ImageInfo *info) {
        if (in->kind != IMAGE_KIND_SKETCH)
                return "filesystem images do not carry a version";
        if (info->compressed)
                return "a gzip image is an ESP8266 image, and those do not carry their version";
        if (info->platform == PLATFORM_ESP32)
                return info->version[0] ? "the image's app descriptor version is not a valid version string"
                                        : "this ESP32 image has no app descriptor to take the version from";
        return "ESP8266 images do not carry their version";
}

static enum MHD_Result check_and_create(ApiCall *call, const Catalog *cat, const Mapped *m) {
        ReleaseInput in = { .platform = _PLATFORM_INVALID, .kind = IMAGE_KIND_SKETCH };
        ImageInfo info = { .platform = _PLATFORM_INVALID };
        const char *product = api_arg(call, "product"), *version = api_arg(call, "version");
        const char *platform = api_arg(call, "platform"), *kind = api_arg(call, "kind");
        char err[IMAGE_ERROR_MAX];

        if (!product)
                return reject(call, 400, "bad-request", "query argument product= is required");
        in.product = catalog_product(cat, product);
        if (!in.product)
                return reject(call, 404, "not-found", "product '%.64s' does not exist (create it first)",
                              product);
        if (version && !version_is_valid(version))
                return reject(call, 400, "bad-request",
                              "version must be 1-64 printable characters without spaces");
        if (platform && (in.platform = platform_from_string(platform)) < 0)
                return reject(call, 400, "bad-request", "platform must be esp8266 or esp32");
        if (kind && (in.kind = image_kind_from_string(kind)) < 0)
                return reject(call, 400, "bad-request", "kind must be sketch or filesystem");
        if (m->size == 0)
                return reject(call, 400, "bad-request", "request body is empty: send the image as the body");

        if (in.kind == IMAGE_KIND_SKETCH) {
                if (image_inspect(m->data, m->size, &info, err) < 0)
                        return reject(call, 422, "invalid-image", "%s", err);
                if (in.platform >= 0 && in.platform != info.platform)
                        return reject(call, 422, "platform-mismatch", "platform=%s, but the image is for %s",
                                      platform, info.chip);
                in.platform = info.platform;
                if (version && info.version[0] && !streq(version, info.version))
                        return reject(call, 422, "version-mismatch",
                                      "version=%.64s, but the image's app descriptor says %s", version,
                                      info.version);
                if (!version && info.version[0] && version_is_valid(info.version))
                        version = info.version;
        } else if (in.platform < 0)
                in.platform = product_platform(cat, in.product);

        if (in.platform < 0)
                return reject(call, 400, "bad-request", "platform= is required for filesystem images");
        if (!version)
                return reject(call, 400, "bad-request", "version= is required (%s)",
                              why_no_version(&in, &info));
        Platform fixed = product_platform(cat, in.product);
        if (fixed >= 0 && fixed != in.platform)
                return reject(call, 422, "platform-mismatch", "product %s is for %s; this image is for %s",
                              in.product->name, platform_to_string(fixed), platform_to_string(in.platform));
        /* within the ESP32 family an image boots only on its own chip (an S3 image on an S3) */
        const char *chip = product_chip(cat, in.product);
        if (in.kind == IMAGE_KIND_SKETCH && chip && info.chip[0] && !streq(chip, info.chip))
                return reject(call, 422, "chip-mismatch", "product %s runs on %s; this image is for %s",
                              in.product->name, chip, info.chip);
        if (in.product->signing_key &&
            image_verify_signature(m->data, m->size, in.product->signing_key, err) < 0)
                return reject(call, 422, "signature", "%s", err);
        in.version = version;
        return create_release(call, &in, &info, m);
}

enum MHD_Result api_releases_create(ApiCall *call) {
        Server *srv = call->srv;
        Upload *u = call->upload;
        _cleanup_(mapped_done) Mapped m = {};
        enum MHD_Result ret;

        if (u->too_large)
                return reject(call, MHD_HTTP_CONTENT_TOO_LARGE, "too-large",
                              "image is larger than this server's limit of %" PRIu64 " bytes", u->limit);
        if (u->write_error)
                return reject(call, u->write_error == -ENOSPC ? MHD_HTTP_INSUFFICIENT_STORAGE : 500,
                              "storage", "writing the upload failed: %s", strerror(-u->write_error));
        if (u->size > 0) {
                m.data = mmap(NULL, u->size, PROT_READ, MAP_SHARED, u->fd, 0);
                if (m.data == MAP_FAILED) {
                        m.data = NULL;
                        return reject(call, 500, "storage", "cannot read back the upload: %s",
                                      strerror(errno));
                }
                m.size = u->size;
        }
        pthread_mutex_lock(&srv->api_lock);
        pthread_rwlock_rdlock(&srv->catalog_lock);
        /* the catalog only changes under api_lock, which is held: safe to read without the rwlock after this
         */
        const Catalog *cat = srv->served->catalog;
        pthread_rwlock_unlock(&srv->catalog_lock);
        ret = check_and_create(call, cat, &m);
        pthread_mutex_unlock(&srv->api_lock);
        return ret;
}

static const Release *release_arg(ApiCall *call, const Catalog *cat, int64_t *ret_id) {
        int64_t id;
        if (parse_i64(call->segments[1], &id) < 0 || id <= 0)
                return NULL;
        *ret_id = id;
        return catalog_release(cat, id);
}

enum MHD_Result api_releases_list(ApiCall *call) {
        Server *srv = call->srv;
        const char *product = api_arg(call, "product");
        cJSON *arr = cJSON_CreateArray();

        pthread_rwlock_rdlock(&srv->catalog_lock);
        const Catalog *cat = srv->served->catalog;
        for (size_t i = 0; i < cat->n_releases; i++)
                if (!product || streq(product, cat->releases[i].product))
                        cJSON_AddItemToArray(arr, release_to_json(&cat->releases[i]));
        pthread_rwlock_unlock(&srv->catalog_lock);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddItemToObject(o, "releases", arr);
        return respond_json(call->conn, MHD_HTTP_OK, o);
}

enum MHD_Result api_release_get(ApiCall *call) {
        Server *srv = call->srv;
        cJSON *o = NULL;
        int64_t id = 0;

        pthread_rwlock_rdlock(&srv->catalog_lock);
        const Release *r = release_arg(call, srv->served->catalog, &id);
        if (r)
                o = release_to_json(r);
        pthread_rwlock_unlock(&srv->catalog_lock);
        if (!o)
                return respond_error(call->conn, MHD_HTTP_NOT_FOUND, "not-found",
                                     "release '%.40s' not found", call->segments[1]);
        return respond_json(call->conn, MHD_HTTP_OK, o);
}

/* GET /releases/ID/image: the image file itself, for pushes ('flota push --release ID'). */
enum MHD_Result api_release_image(ApiCall *call) {
        Server *srv = call->srv;
        struct MHD_Response *resp = NULL;
        int64_t id = 0;

        pthread_rwlock_rdlock(&srv->catalog_lock);
        const Catalog *cat = srv->served->catalog;
        const Release *r = release_arg(call, cat, &id);
        if (r)
                resp = image_file_response(r, srv->served->image_fds[r - cat->releases]);
        pthread_rwlock_unlock(&srv->catalog_lock);
        if (!r)
                return respond_error(call->conn, MHD_HTTP_NOT_FOUND, "not-found",
                                     "release '%.40s' not found", call->segments[1]);
        if (!resp)
                return respond_error(call->conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal",
                                     "the image file of release %" PRId64 " is missing from the store", id);
        enum MHD_Result ret = MHD_queue_response(call->conn, MHD_HTTP_OK, resp);
        MHD_destroy_response(resp);
        return ret;
}

enum MHD_Result api_release_delete(ApiCall *call) {
        Server *srv = call->srv;
        const char *why = NULL;
        char sha[SHA256_HEX_LEN + 1] = "";
        int64_t id = 0;
        enum MHD_Result ret;

        pthread_mutex_lock(&srv->api_lock);
        const Release *r = release_arg(call, srv->served->catalog, &id);
        if (!r) {
                pthread_mutex_unlock(&srv->api_lock);
                return respond_error(call->conn, MHD_HTTP_NOT_FOUND, "not-found",
                                     "release '%.40s' not found", call->segments[1]);
        }
        strscpy(sha, sizeof(sha), r->sha256);
        int k = store_release_delete(srv->api_store, id, &why);
        if (k == -EBUSY && why)
                ret = respond_error(call->conn, MHD_HTTP_CONFLICT, "in-use",
                                    "release %" PRId64 " is in use: %s", id, why);
        else if (k < 0)
                ret = api_store_error(call, k, "release");
        else {
                if (store_blob_in_use(srv->api_store, sha) == 0) {
                        _cleanup_free_ char *path = server_image_path(srv, sha);
                        (void) unlink(path);
                }
                if (server_catalog_changed(srv) < 0)
                        ret = api_catalog_stale(call, NULL);
                else {
                        log_info("release %" PRId64 " deleted by %s", id, call->actor);
                        ret = respond_json(call->conn, MHD_HTTP_OK, cJSON_CreateObject());
                }
        }
        pthread_mutex_unlock(&srv->api_lock);
        return ret;
}
