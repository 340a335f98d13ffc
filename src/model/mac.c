/* SPDX-License-Identifier: MIT */
/* MAC address parsing and formatting. */
#include "flota/mac.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "flota/strutil.h"

int mac_parse(const char *s, uint64_t *ret) {
        size_t len = s ? strlen(s) : 0;
        uint64_t v = 0;
        char sep;

        if (len == 12)
                sep = 0;
        else if (len == 17 && (s[2] == ':' || s[2] == '-'))
                sep = s[2];
        else
                return -EINVAL;

        for (size_t i = 0, pos = 0; i < 6; i++) {
                int hi = unhexchar(s[pos]), lo = unhexchar(s[pos + 1]);
                if (hi < 0 || lo < 0)
                        return -EINVAL;
                v = (v << 8) | (uint64_t) (hi << 4 | lo);
                pos += 2;
                if (sep && i < 5) {
                        if (s[pos] != sep)
                                return -EINVAL;
                        pos++;
                }
        }
        *ret = v;
        return 0;
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
