/* SPDX-License-Identifier: MIT */
/* MAC address parsing and formatting. */
#include "flota/mac.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "flota/strutil.h"

int mac_parse_n(const char *s, size_t n, uint64_t *ret) {
        /* a digit's value + 1, any case; 0: not a hex digit. Log ingest calls this once a line. */
        static const int8_t hex[256] = {
                ['0'] = 1,  ['1'] = 2,  ['2'] = 3,  ['3'] = 4,  ['4'] = 5,  ['5'] = 6,
                ['6'] = 7,  ['7'] = 8,  ['8'] = 9,  ['9'] = 10, ['A'] = 11, ['B'] = 12,
                ['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16, ['a'] = 11, ['b'] = 12,
                ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
        };
        const unsigned char *p = (const unsigned char *) s;
        size_t step;
        uint64_t v = 0;

        if (n == 12)
                step = 2;
        else if (n == MAC_STR_LEN && (p[2] == ':' || p[2] == '-'))
                step = 3;
        else
                return -EINVAL;
        for (size_t i = 0; i < 6; i++, p += step) {
                int hi = hex[p[0]], lo = hex[p[1]];
                if (!hi || !lo || (step == 3 && i < 5 && p[2] != s[2]))
                        return -EINVAL;
                v = v << 8 | (uint64_t) ((hi - 1) << 4 | (lo - 1));
        }
        *ret = v;
        return 0;
}

int mac_parse(const char *s, uint64_t *ret) {
        return s ? mac_parse_n(s, strlen(s), ret) : -EINVAL;
}

char *mac_format(uint64_t mac, char buf[static MAC_STR_LEN + 1]) {
        static const char digits[] = "0123456789ABCDEF";

        /* on the poll path: no printf */
        for (int i = 0; i < 6; i++) {
                unsigned byte = (unsigned) (mac >> (40 - 8 * i)) & 0xff;
                buf[3 * i] = digits[byte >> 4];
                buf[3 * i + 1] = digits[byte & 15];
                buf[3 * i + 2] = i < 5 ? ':' : 0;
        }
        return buf;
}

int mac_canonicalize(const char *s, char buf[static MAC_STR_LEN + 1]) {
        uint64_t v;
        int r = mac_parse(s, &v);

        if (r < 0)
                return r;
        mac_format(v, buf);
        return 0;
}
