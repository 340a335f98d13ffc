/* SPDX-License-Identifier: MIT */
/*
 * Per-device state between commits. Devices live in one array indexed by an open-addressing
 * table; versions and products are interned (a fleet runs few distinct ones), so a device costs
 * about 150 bytes whatever the log size.
 */
#include "flota/log-batch.h"

#include <string.h>

#include "flota/alloc.h"
#include "flota/hash.h"

#define ID_INLINE 24

/* What every line touches comes first, in one cache line: a MAC id fits inline. */
typedef struct Dev {
        uint64_t hash;
        const char *version;            /* interned, "" when unknown */
        usec_t first, last;
        uint8_t id_len;
        bool pending;
        int8_t platform;
        char id_inline[ID_INLINE];      /* ids shorter than ID_INLINE; longer ones in id_heap */
        char *id_heap;
        const char *product;            /* interned */
        char ip[46];
        char md5[MD5_HEX_LEN + 1];
} Dev;

static const char *dev_id(const Dev *d) {
        return d->id_heap ? d->id_heap : d->id_inline;
}

typedef struct Change {
        size_t dev;
        const char *version;
        char md5[MD5_HEX_LEN + 1];
        usec_t at;
} Change;

/* Open addressing over indexes + 1 (0 = empty); capacity a power of two, at most half full. */
typedef struct Index {
        uint32_t *slots;
        size_t mask;
} Index;

typedef struct StrPool {
        char **slots;
        size_t mask, n;
} StrPool;

struct LogBatch {
        Dev *devs;
        size_t n_devs, alloc_devs;
        Index index;
        StrPool pool;
        size_t *pending;
        size_t n_pending, alloc_pending;
        Change *changes;
        size_t n_changes, alloc_changes;
};

/* a (NUL-terminated) equals the n bytes at b */
static bool streq_n(const char *a, const char *b, size_t n) {
        return strncmp(a, b, n) == 0 && a[n] == 0;
}

static uint64_t hash_bytes(const char *s, size_t n) {
        uint64_t h = 14695981039346656037ull;
        for (size_t i = 0; i < n; i++) {
                h ^= (unsigned char) s[i];
                h *= 1099511628211ull;
        }
        return h ^ (h >> 29);
}

static const char *intern(StrPool *p, const char *s, size_t n) {
        if (n == 0)
                return "";
        if (2 * (p->n + 1) > p->mask + 1) {
                size_t cap = p->mask ? 2 * (p->mask + 1) : 64;
                char **slots = xcalloc(cap, sizeof(char *));
                for (size_t i = 0; p->slots && i <= p->mask; i++)
                        if (p->slots[i]) {
                                size_t j = hash_bytes(p->slots[i], strlen(p->slots[i])) & (cap - 1);
                                while (slots[j])
                                        j = (j + 1) & (cap - 1);
                                slots[j] = p->slots[i];
                        }
                free(p->slots);
                p->slots = slots;
                p->mask = cap - 1;
        }
        size_t j = hash_bytes(s, n) & p->mask;
        for (; p->slots[j]; j = (j + 1) & p->mask)
                if (strncmp(p->slots[j], s, n) == 0 && p->slots[j][n] == 0)
                        return p->slots[j];
        p->slots[j] = xstrndup(s, n);
        p->n++;
        return p->slots[j];
}

static void index_grow(LogBatch *b) {
        size_t cap = b->index.mask ? 2 * (b->index.mask + 1) : 1024;
        uint32_t *slots = xcalloc(cap, sizeof(uint32_t));

        for (size_t i = 0; i < b->n_devs; i++) {
                size_t j = b->devs[i].hash & (cap - 1);
                while (slots[j])
                        j = (j + 1) & (cap - 1);
                slots[j] = (uint32_t) i + 1;
        }
        free(b->index.slots);
        b->index = (Index) { .slots = slots, .mask = cap - 1 };
}

static size_t lookup(LogBatch *b, const char *id, size_t n) {
        uint64_t h = hash_bytes(id, n);

        if (2 * (b->n_devs + 1) > b->index.mask + 1)
                index_grow(b);
        size_t j = h & b->index.mask;
        for (; b->index.slots[j]; j = (j + 1) & b->index.mask) {
                Dev *d = &b->devs[b->index.slots[j] - 1];
                if (d->hash == h && d->id_len == n && memcmp(dev_id(d), id, n) == 0)
                        return b->index.slots[j] - 1;
        }
        b->devs = xgrow(b->devs, &b->alloc_devs, b->n_devs + 1, sizeof(Dev));
        Dev *d = &b->devs[b->n_devs];
        *d = (Dev) { .version = "", .product = "", .hash = h, .id_len = (uint8_t) n, .platform = _PLATFORM_INVALID };
        if (n < ID_INLINE)
                memcpy(d->id_inline, id, n);
        else
                d->id_heap = xstrndup(id, n);
        b->index.slots[j] = (uint32_t) ++b->n_devs;
        return b->n_devs - 1;
}

LogBatch *log_batch_new(void) {
        return xcalloc(1, sizeof(LogBatch));
}

LogBatch *log_batch_free(LogBatch *b) {
        if (!b)
                return NULL;
        for (size_t i = 0; i < b->n_devs; i++)
                free(b->devs[i].id_heap);
        for (size_t i = 0; b->pool.slots && i <= b->pool.mask; i++)
                free(b->pool.slots[i]);
        free(b->pool.slots);
        free(b->index.slots);
        free(b->devs);
        free(b->pending);
        free(b->changes);
        free(b);
        return NULL;
}

void log_batch_known(LogBatch *b, const char *device, const char *version) {
        size_t i = lookup(b, device, strlen(device));
        Dev *d = &b->devs[i];

        d->version = intern(&b->pool, version, strlen(version));
}

static void copy_slice(char *dst, size_t size, const LogSlice *s) {
        if (s->n == 0 || s->n >= size)
                return;
        memcpy(dst, s->p, s->n);
        dst[s->n] = 0;
}

void log_batch_add(LogBatch *b, const LogRecord *rec) {
        size_t i = lookup(b, rec->device, strlen(rec->device));
        Dev *d = &b->devs[i];

        if (!d->pending) {
                d->pending = true;
                d->first = d->last = rec->at;
                b->pending = xgrow(b->pending, &b->alloc_pending, b->n_pending + 1, sizeof(size_t));
                b->pending[b->n_pending++] = i;
        }
        if (rec->at < d->first)
                d->first = rec->at;
        if (rec->at > d->last)
                d->last = rec->at;
        copy_slice(d->md5, sizeof(d->md5), &rec->sketch_md5);
        copy_slice(d->ip, sizeof(d->ip), &rec->addr);
        if (rec->platform >= 0)
                d->platform = (int8_t) rec->platform;
        if (rec->product.n)
                d->product = intern(&b->pool, rec->product.p, rec->product.n);
        if (rec->version.n && !streq_n(d->version, rec->version.p, rec->version.n)) {
                d->version = intern(&b->pool, rec->version.p, rec->version.n);
                b->changes = xgrow(b->changes, &b->alloc_changes, b->n_changes + 1, sizeof(Change));
                Change *c = &b->changes[b->n_changes++];
                *c = (Change) { .dev = i, .version = d->version, .at = rec->at };
                memcpy(c->md5, d->md5, sizeof(c->md5));
        }
}

size_t log_batch_pending(const LogBatch *b) {
        return b->n_pending;
}

size_t log_batch_devices(const LogBatch *b) {
        return b->n_devs;
}

int log_batch_foreach_seen(const LogBatch *b, int (*cb)(const LogSeen *s, void *userdata), void *userdata) {
        for (size_t k = 0; k < b->n_pending; k++) {
                const Dev *d = &b->devs[b->pending[k]];
                LogSeen s = {
                        .device = dev_id(d),
                        .version = d->version,
                        .sketch_md5 = d->md5,
                        .ip = d->ip,
                        .product = d->product,
                        .platform = (Platform) d->platform,
                        .first = d->first,
                        .last = d->last,
                };
                int r = cb(&s, userdata);
                if (r < 0)
                        return r;
        }
        return 0;
}

int log_batch_foreach_change(const LogBatch *b, int (*cb)(const LogChange *c, void *userdata), void *userdata) {
        for (size_t k = 0; k < b->n_changes; k++) {
                const Change *c = &b->changes[k];
                LogChange x = { .device = dev_id(&b->devs[c->dev]), .version = c->version, .sketch_md5 = c->md5,
                                .at = c->at };
                int r = cb(&x, userdata);
                if (r < 0)
                        return r;
        }
        return 0;
}

void log_batch_clear(LogBatch *b) {
        for (size_t k = 0; k < b->n_pending; k++)
                b->devs[b->pending[k]].pending = false;
        b->n_pending = 0;
        b->n_changes = 0;
}
