/* SPDX-License-Identifier: MIT */
/*
 * Fuzzes the JSON scanner that lays out flota devices --json a device at a time: any input
 * is read within its bounds; what it accepts, cJSON accepts too, and laying its own output out
 * again changes nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "flota/json-scan.h"
#include "fuzz.h"

static int layout(const char *text, size_t len, char **ret, size_t *ret_len) {
        JsonScan s = json_scan_init(text, len);
        FILE *out = open_memstream(ret, ret_len);

        if (!out)
                abort();
        int r = json_scan_value(&s, 0, out);
        if (fclose(out) != 0)
                abort();
        return r == 0 && json_scan_at_end(&s) ? 0 : -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        /* a copy of exactly size bytes: reading past it is an error the sanitizer sees */
        char *text = malloc(size ? size : 1), *once = NULL, *twice = NULL;
        size_t once_len = 0, twice_len = 0;

        if (!text)
                abort();
        memcpy(text, data, size);
        if (layout(text, size, &once, &once_len) == 0) {
                cJSON *j = cJSON_ParseWithLength(once, once_len);
                if (!j)
                        abort();
                cJSON_Delete(j);
                if (layout(once, once_len, &twice, &twice_len) != 0 || once_len != twice_len ||
                    memcmp(once, twice, once_len) != 0)
                        abort();
        }
        free(text);
        free(once);
        free(twice);
        return 0;
}
