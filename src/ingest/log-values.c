/* SPDX-License-Identifier: MIT */
/*
 * The values a log line's fields hold, whatever the format (text or flotad's JSON lines): its
 * time, the device's identity, a version and an address, each checked. Both line readers
 * (log-parse.c, log-json.c) call these; neither calls the other's.
 */
#include <errno.h>
#include <string.h>

#include "flota/device-request.h"
#include "flota/mac.h"
#include "flota/strutil.h"
#include "log-format-internal.h"

/* ---- time ---- */

static bool digits(const char *s, size_t n, unsigned *ret) {
        return parse_dec_n(s, n, ret) == 0;
}

static int month_from_name(const char *s) {
        static const char names[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
        for (int i = 0; i < 12; i++)
                if (memcmp(s, names + 3 * i, 3) == 0)
                        return i + 1;
        return -1;
}

/* "10/Oct/2000:13:55:36 -0700" */
static int parse_time_local(const char *s, size_t n, usec_t *ret) {
        CivilTime c = {};
        int mon;

        if (n != 26 || s[2] != '/' || s[6] != '/' || s[11] != ':' || s[14] != ':' || s[17] != ':' ||
            s[20] != ' ')
                return -EINVAL;
        mon = month_from_name(s + 3);
        if (mon < 0 || !digits(s, 2, &c.day) || !digits(s + 7, 4, &c.year) || !digits(s + 12, 2, &c.hour) ||
            !digits(s + 15, 2, &c.minute) || !digits(s + 18, 2, &c.second) ||
            parse_utc_offset(s + 21, 5, &c.utc_offset) < 0)
                return -EINVAL;
        c.month = (unsigned) mon;
        return time_from_civil(&c, ret) < 0 ? -EINVAL : 0;
}

/* "1700000000.123" */
static int parse_msec(const char *s, size_t n, usec_t *ret) {
        usec_t sec = 0, frac = 0;
        size_t i = 0;

        for (; i < n && s[i] >= '0' && s[i] <= '9' && i < 12; i++)
                sec = sec * 10 + (usec_t) (s[i] - '0');
        if (i == 0)
                return -EINVAL;
        i += parse_fraction(s + i, n - i, &frac);
        if (i != n)
                return -EINVAL;
        *ret = sec * USEC_PER_SEC + frac;
        return 0;
}

int log_parse_time(LogParser *p, int var, const char *s, size_t n, usec_t *ret) {
        int r;

        if (n == p->time_len && memcmp(s, p->time_raw, n) == 0) {
                *ret = p->time_value;
                return 0;
        }
        if (n > sizeof(p->time_raw))
                return -EINVAL;
        if (var == LOG_VAR_TIME_LOCAL)
                r = parse_time_local(s, n, ret);
        else if (var == LOG_VAR_MSEC)
                r = parse_msec(s, n, ret);
        else
                r = parse_timestamp_n(s, n, ret);
        if (r < 0)
                return r;
        memcpy(p->time_raw, s, n);
        p->time_len = n;
        p->time_value = *ret;
        return 0;
}

/* ---- identity and values ---- */

/*
 * A MAC in any form mac_parse_n() reads is written in the canonical one ("AA:BB:CC:DD:EE:FF",
 * as the cores send it); anything else is a device id, normalised. A MAC header must hold a
 * MAC; flotad's device ids and the query's s= may also be chip ids.
 */
int log_device_from(const LogSlice *s, bool mac_only, LogRecord *ret) {
        char buf[DEVICE_ID_MAX + 1];
        uint64_t mac;

        if (mac_parse_n(s->p, s->n, &mac) == 0) {
                mac_format(mac, ret->device);
                ret->mac = mac;
                ret->has_mac = true;
                return 0;
        }
        if (mac_only || s->n > DEVICE_ID_MAX)
                return -EINVAL;
        memcpy(buf, s->p, s->n);
        buf[s->n] = 0;
        return device_id_normalize(buf, ret->device);
}

/* Byte classes: what may stand in a version, and in an address. */
enum {
        IN_VERSION = 1 << 0,
        IN_ADDR = 1 << 1,
};

static const uint8_t byte_class[256] = {
#define V IN_VERSION
#define VA (IN_VERSION | IN_ADDR)
        ['!'] = V,  ['#'] = V,  ['$'] = V,  ['%'] = V,  ['&'] = V,  ['('] = V,  [')'] = V,  ['*'] = V,
        ['+'] = V,  [','] = V,  ['-'] = V,  ['.'] = VA, ['/'] = V,  ['0'] = VA, ['1'] = VA, ['2'] = VA,
        ['3'] = VA, ['4'] = VA, ['5'] = VA, ['6'] = VA, ['7'] = VA, ['8'] = VA, ['9'] = VA, [':'] = VA,
        [';'] = V,  ['<'] = V,  ['='] = V,  ['>'] = V,  ['?'] = V,  ['@'] = V,  ['A'] = VA, ['B'] = VA,
        ['C'] = VA, ['D'] = VA, ['E'] = VA, ['F'] = VA, ['G'] = V,  ['H'] = V,  ['I'] = V,  ['J'] = V,
        ['K'] = V,  ['L'] = V,  ['M'] = V,  ['N'] = V,  ['O'] = V,  ['P'] = V,  ['Q'] = V,  ['R'] = V,
        ['S'] = V,  ['T'] = V,  ['U'] = V,  ['V'] = V,  ['W'] = V,  ['X'] = V,  ['Y'] = V,  ['Z'] = V,
        ['['] = V,  [']'] = V,  ['^'] = V,  ['_'] = V,  ['`'] = V,  ['a'] = VA, ['b'] = VA, ['c'] = VA,
        ['d'] = VA, ['e'] = VA, ['f'] = VA, ['g'] = V,  ['h'] = V,  ['i'] = V,  ['j'] = V,  ['k'] = V,
        ['l'] = V,  ['m'] = V,  ['n'] = V,  ['o'] = V,  ['p'] = V,  ['q'] = V,  ['r'] = V,  ['s'] = V,
        ['t'] = V,  ['u'] = V,  ['v'] = V,  ['w'] = V,  ['x'] = V,  ['y'] = V,  ['z'] = V,  ['{'] = V,
        ['|'] = V,  ['}'] = V,  ['~'] = V,
#undef V
#undef VA
};

static bool all_in(const LogSlice *s, uint8_t cls) {
        for (size_t i = 0; i < s->n; i++)
                if (!(byte_class[(unsigned char) s->p[i]] & cls))
                        return false;
        return true;
}

/* What version_is_valid() accepts: printable ASCII without blanks, quotes or backslashes. */
bool log_version_ok(const LogSlice *s) {
        return s->n <= VERSION_MAX && all_in(s, IN_VERSION);
}

bool log_addr_ok(const LogSlice *s) {
        return s->n <= 45 && all_in(s, IN_ADDR);
}
