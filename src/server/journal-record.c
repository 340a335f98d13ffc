/* SPDX-License-Identifier: MIT */
/* Check-in journal records: encoding and the distrustful decoder. */
#include "journal-record.h"

#include <string.h>
#include <zlib.h>

#include "flota/strutil.h"

#define MAGIC "FJR1"
#define HEADER_SIZE 12
#define PAYLOAD_MAX (JOURNAL_RECORD_MAX - HEADER_SIZE)

typedef struct Writer {
        uint8_t *p;
} Writer;

static void put_u32(uint8_t *p, uint32_t v) {
        for (int i = 0; i < 4; i++)
                p[i] = (uint8_t) (v >> (8 * i));
}

static uint32_t get_u32(const uint8_t *p) {
        return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
}

static void put_i64(Writer *w, int64_t v) {
        for (int i = 0; i < 8; i++)
                *w->p++ = (uint8_t) ((uint64_t) v >> (8 * i));
}

/* A string as one length byte and its bytes; every Checkin string is shorter than 256. */
static void put_str(Writer *w, const char *s) {
        size_t n = s ? strnlen(s, 255) : 0;
        *w->p++ = (uint8_t) n;
        if (n)
                memcpy(w->p, s, n);
        w->p += n;
}

size_t journal_record_encode(const Checkin *c, uint8_t buf[static JOURNAL_RECORD_MAX]) {
        Writer w = { buf + HEADER_SIZE };

        put_i64(&w, (int64_t) c->at);
        put_str(&w, c->ip);
        put_str(&w, c->product);
        put_str(&w, c->device_id);
        put_str(&w, c->mac);
        put_str(&w, c->ap_mac);
        put_i64(&w, c->has_chip_id ? (int64_t) c->chip_id : -1);
        put_str(&w, c->platform >= 0 ? platform_to_string(c->platform) : "");
        put_str(&w, c->version);
        put_str(&w, c->sketch_md5);
        put_str(&w, c->sketch_sha256);
        put_i64(&w, c->free_space);
        put_i64(&w, c->sketch_size);
        put_i64(&w, c->chip_size);
        put_str(&w, c->sdk);
        put_str(&w, update_mode_to_string(c->mode));
        put_str(&w, c->user_agent);
        put_i64(&w, c->status);
        put_str(&w, reason_to_string(c->reason));
        put_i64(&w, c->release_id);
        put_str(&w, target_source_to_string(c->source));

        size_t payload = (size_t) (w.p - buf) - HEADER_SIZE;
        memcpy(buf, MAGIC, 4);
        put_u32(buf + 4, (uint32_t) payload);
        put_u32(buf + 8, (uint32_t) crc32(0, buf + HEADER_SIZE, (uInt) payload));
        return HEADER_SIZE + payload;
}

typedef struct Reader {
        const uint8_t *p, *end;
        bool bad;
} Reader;

static int64_t get_i64(Reader *r) {
        uint64_t v = 0;

        if (r->end - r->p < 8) {
                r->bad = true;
                return 0;
        }
        for (int i = 0; i < 8; i++)
                v |= (uint64_t) r->p[i] << (8 * i);
        r->p += 8;
        return (int64_t) v;
}

/* Copies a string into dst (size bytes); one that does not fit, or holds a NUL, is bad. */
static void get_str(Reader *r, char *dst, size_t size) {
        if (r->p >= r->end) {
                r->bad = true;
                return;
        }
        size_t n = *r->p++;
        if (n >= size || (size_t) (r->end - r->p) < n || memchr(r->p, 0, n)) {
                r->bad = true;
                return;
        }
        memcpy(dst, r->p, n);
        dst[n] = 0;
        r->p += n;
}

static bool in_range(int64_t v, int64_t lo, int64_t hi) {
        return v >= lo && v <= hi;
}

static bool decode_payload(const uint8_t *p, size_t len, Checkin *c) {
        Reader r = { .p = p, .end = p + len };
        char platform[16], mode[16], reason[32], source[16];

        *c = (Checkin) {};
        c->at = (usec_t) get_i64(&r);
        get_str(&r, c->ip, sizeof(c->ip));
        get_str(&r, c->product, sizeof(c->product));
        get_str(&r, c->device_id, sizeof(c->device_id));
        get_str(&r, c->mac, sizeof(c->mac));
        get_str(&r, c->ap_mac, sizeof(c->ap_mac));
        int64_t chip = get_i64(&r);
        get_str(&r, platform, sizeof(platform));
        get_str(&r, c->version, sizeof(c->version));
        get_str(&r, c->sketch_md5, sizeof(c->sketch_md5));
        get_str(&r, c->sketch_sha256, sizeof(c->sketch_sha256));
        c->free_space = get_i64(&r);
        c->sketch_size = get_i64(&r);
        c->chip_size = get_i64(&r);
        get_str(&r, c->sdk, sizeof(c->sdk));
        get_str(&r, mode, sizeof(mode));
        get_str(&r, c->user_agent, sizeof(c->user_agent));
        int64_t status = get_i64(&r);
        get_str(&r, reason, sizeof(reason));
        c->release_id = get_i64(&r);
        get_str(&r, source, sizeof(source));
        if (r.bad || r.p != r.end || !c->device_id[0])
                return false;

        c->has_chip_id = chip >= 0;
        c->chip_id = c->has_chip_id ? (uint32_t) chip : 0;
        c->platform = platform[0] ? platform_from_string(platform) : _PLATFORM_INVALID;
        c->mode = update_mode_from_string(mode);
        c->reason = reason_from_string(reason);
        c->source = target_source_from_string(source);
        c->status = (int) status;
        return in_range(chip, -1, UINT32_MAX) && in_range(status, 100, 599) && (int64_t) c->at >= 0 &&
               c->release_id >= 0 && (!platform[0] || c->platform >= 0) && c->mode >= 0 && c->reason >= 0 &&
               c->source >= 0;
}

JournalScan journal_record_decode(const uint8_t *buf, size_t len, Checkin *ret, size_t *used) {
        if (len < 4)
                return memcmp(buf, MAGIC, len) == 0 ? JOURNAL_PARTIAL : JOURNAL_DAMAGED;
        if (memcmp(buf, MAGIC, 4) != 0)
                return JOURNAL_DAMAGED;
        if (len < HEADER_SIZE)
                return JOURNAL_PARTIAL;
        uint32_t payload = get_u32(buf + 4);
        if (payload > PAYLOAD_MAX)
                return JOURNAL_DAMAGED;
        if (len - HEADER_SIZE < payload)
                return JOURNAL_PARTIAL;
        if (get_u32(buf + 8) != (uint32_t) crc32(0, buf + HEADER_SIZE, (uInt) payload) ||
            !decode_payload(buf + HEADER_SIZE, payload, ret))
                return JOURNAL_DAMAGED;
        *used = HEADER_SIZE + payload;
        return JOURNAL_RECORD;
}

size_t journal_record_resync(const uint8_t *buf, size_t len) {
        for (size_t i = 1; i < len; i++) {
                const uint8_t *m = memchr(buf + i, MAGIC[0], len - i);
                if (!m)
                        break;
                i = (size_t) (m - buf);
                Checkin c;
                size_t used;
                if (journal_record_decode(m, len - i, &c, &used) != JOURNAL_DAMAGED)
                        return i;
        }
        return len;
}
