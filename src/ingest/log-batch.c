/* SPDX-License-Identifier: MIT */
/*
 * Per-device state between commits. Devices live in one array indexed by an open-addressing
 * table; versions, sketch MD5s and products are interned (a fleet runs few distinct ones), so
 * a device costs about 100 bytes whatever the log size.
 */
#include "flota/log-batch.h"

#include <string.h>

#include "flota/alloc.h"
#include "flota/hash.h"
#include "flota/mac.h"

/*
 * A device is known by a key: its MAC with KEY_MAC set, or for other ids (chip ids) the hash
 * of the id without it, the id itself then kept in id. The fields every line touches come
 * first and fit one cache line.
 */
#define KEY_MAC (UINT64_C(1) << 62)
#define LOG_BATCH_GROUP 16
#define IP_INLINE 16

typedef struct Dev {
        uint64_t key;
        const char *version; /* interned, "" when unknown */
        const char *md5;     /* interned, "" when unknown */
        usec_t first, last;
        char ip[IP_INLINE]; /* IPv4 and short IPv6 text; longer ones in ip_long */
        int8_t platform;
        bool pending;
        const char *ip_long; /* interned */
        const char *product; /* interned */
        char *id;            /* ids that are not MACs */
} Dev;

typedef struct Change {
        uint32_t dev;
        const char *version, *md5;
        usec_t at;
} Change;

/* Open addressing over (key, index + 1); capacity a power of two, at most half full. */
typedef struct Slot {
        uint64_t key;
        uint32_t index; /* 0: empty */
} Slot;

typedef struct Index {
        Slot *slots;
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
        uint32_t *pending;
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

/* Spreads a key over the table (MACs of one vendor share their high bytes). */
static size_t slot_of(uint64_t key, size_t mask) {
        key ^= key >> 33;
        key *= 0xff51afd7ed558ccdull;
        key ^= key >> 33;
        return (size_t) key & mask;
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
                if (streq_n(p->slots[j], s, n))
                        return p->slots[j];
        p->slots[j] = xstrndup(s, n);
        p->n++;
        return p->slots[j];
}

static void index_grow(LogBatch *b) {
        size_t cap = b->index.mask ? 2 * (b->index.mask + 1) : 1024;
        Slot *slots = xcalloc(cap, sizeof(Slot));

        for (size_t i = 0; i < b->n_devs; i++) {
                size_t j = slot_of(b->devs[i].key, cap - 1);
                while (slots[j].index)
                        j = (j + 1) & (cap - 1);
                slots[j] = (Slot) { .key = b->devs[i].key, .index = (uint32_t) i + 1 };
        }
        free(b->index.slots);
        b->index = (Index) { .slots = slots, .mask = cap - 1 };
}

static uint64_t key_of(const char *id, size_t n, const uint64_t *mac) {
        return mac ? *mac | KEY_MAC : hash_bytes(id, n) & ~KEY_MAC;
}

/* The device's index; mac when the id is one (then id is not compared). */
static size_t lookup(LogBatch *b, const char *id, size_t n, const uint64_t *mac) {
        uint64_t key = key_of(id, n, mac);

        if (2 * (b->n_devs + 1) > b->index.mask + 1)
                index_grow(b);
        size_t j = slot_of(key, b->index.mask);
        for (; b->index.slots[j].index; j = (j + 1) & b->index.mask) {
                const Slot *slot = &b->index.slots[j];
                if (slot->key != key)
                        continue;
                const Dev *d = &b->devs[slot->index - 1];
                if (mac || streq_n(d->id, id, n))
                        return slot->index - 1;
        }
        b->devs = xgrow(b->devs, &b->alloc_devs, b->n_devs + 1, sizeof(Dev));
        b->devs[b->n_devs] = (Dev) { .key = key,
                                     .version = "",
                                     .md5 = "",
                                     .product = "",
                                     .platform = _PLATFORM_INVALID,
                                     .id = mac ? NULL : xstrndup(id, n) };
        b->index.slots[j] = (Slot) { .key = key, .index = (uint32_t) ++b->n_devs };
        return b->n_devs - 1;
}

/* The device's id as text: kept, or the MAC formatted into buf. */
static const char *dev_id(const Dev *d, char buf[static MAC_STR_LEN + 1]) {
        return d->id ? d->id : mac_format(d->key & ~KEY_MAC, buf);
}

static const char *dev_ip(const Dev *d) {
        return d->ip_long ? d->ip_long : d->ip;
}

LogBatch *log_batch_new(void) {
        return xcalloc(1, sizeof(LogBatch));
}

LogBatch *log_batch_free(LogBatch *b) {
        if (!b)
                return NULL;
        for (size_t i = 0; i < b->n_devs; i++)
                free(b->devs[i].id);
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
        uint64_t mac;
        bool is_mac = mac_parse(device, &mac) == 0;
        size_t i = lookup(b, device, strlen(device), is_mac ? &mac : NULL);
        Dev *d = &b->devs[i];

        d->version = intern(&b->pool, version, strlen(version));
}

static void set_ip(LogBatch *b, Dev *d, const LogSlice *s) {
        if (s->n == 0)
                return;
        if (s->n < IP_INLINE) {
                memcpy(d->ip, s->p, s->n);
                d->ip[s->n] = 0;
                d->ip_long = NULL;
        } else
                d->ip_long = intern(&b->pool, s->p, s->n);
}

static void apply(LogBatch *b, size_t i, const LogRecord *rec) {
        Dev *d = &b->devs[i];

        if (!d->pending) {
                d->pending = true;
                d->first = d->last = rec->at;
                b->pending = xgrow(b->pending, &b->alloc_pending, b->n_pending + 1, sizeof(uint32_t));
                b->pending[b->n_pending++] = (uint32_t) i;
        }
        if (rec->at < d->first)
                d->first = rec->at;
        if (rec->at > d->last)
                d->last = rec->at;
        set_ip(b, d, &rec->addr);
        if (rec->sketch_md5.n && !streq_n(d->md5, rec->sketch_md5.p, rec->sketch_md5.n))
                d->md5 = intern(&b->pool, rec->sketch_md5.p, rec->sketch_md5.n);
        if (rec->platform >= 0)
                d->platform = (int8_t) rec->platform;
        if (rec->product.n)
                d->product = intern(&b->pool, rec->product.p, rec->product.n);
        if (rec->version.n && !streq_n(d->version, rec->version.p, rec->version.n)) {
                d->version = intern(&b->pool, rec->version.p, rec->version.n);
                b->changes = xgrow(b->changes, &b->alloc_changes, b->n_changes + 1, sizeof(Change));
                b->changes[b->n_changes++] = (Change) {
                        .dev = (uint32_t) i, .version = d->version, .md5 = d->md5, .at = rec->at
                };
        }
}

void log_batch_add(LogBatch *b, const LogRecord *rec) {
        apply(b, lookup(b, rec->device, strlen(rec->device), rec->has_mac ? &rec->mac : NULL), rec);
}

/*
 * Each poll costs two cache misses, its index slot and its device, both at random places.
 * Asking for all the slots of a group first, then all the devices, lets the misses overlap.
 */
void log_batch_add_many(LogBatch *b, const LogRecord *recs, size_t n) {
        size_t idx[LOG_BATCH_GROUP];

        for (size_t done = 0; done < n; done += LOG_BATCH_GROUP) {
                size_t m = n - done < LOG_BATCH_GROUP ? n - done : LOG_BATCH_GROUP;
                const LogRecord *r = recs + done;
                for (size_t k = 0; k < m && b->index.slots; k++) {
                        uint64_t key =
                                key_of(r[k].device, strlen(r[k].device), r[k].has_mac ? &r[k].mac : NULL);
                        __builtin_prefetch(&b->index.slots[slot_of(key, b->index.mask)]);
                }
                for (size_t k = 0; k < m; k++) {
                        idx[k] =
                                lookup(b, r[k].device, strlen(r[k].device), r[k].has_mac ? &r[k].mac : NULL);
                        __builtin_prefetch(&b->devs[idx[k]], 1);
                }
                for (size_t k = 0; k < m; k++)
                        apply(b, idx[k], &r[k]);
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
                char buf[MAC_STR_LEN + 1];
                LogSeen s = {
                        .device = dev_id(d, buf),
                        .version = d->version,
                        .sketch_md5 = d->md5,
                        .ip = dev_ip(d),
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

int log_batch_foreach_change(const LogBatch *b, int (*cb)(const LogChange *c, void *userdata),
                             void *userdata) {
        for (size_t k = 0; k < b->n_changes; k++) {
                const Change *c = &b->changes[k];
                char buf[MAC_STR_LEN + 1];
                LogChange x = { .device = dev_id(&b->devs[c->dev], buf),
                                .version = c->version,
                                .sketch_md5 = c->md5,
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
