/* SPDX-License-Identifier: MIT */
/* Test fixture: a temporary directory removed (with its contents) afterwards. */
#pragma once

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline char *tmpdir_new(void) {
        char tmpl[] = "/tmp/flota-test-XXXXXX";
        char *d = mkdtemp(tmpl);
        return d ? strdup(d) : NULL;
}

static inline void tmpdir_remove(char *dir) {
        char cmd[512];

        if (!dir)
                return;
        if (strncmp(dir, "/tmp/flota-test-", 16) == 0) {
                snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
                if (system(cmd) != 0)
                        fprintf(stderr, "could not remove %s\n", dir);
        }
        free(dir);
}
